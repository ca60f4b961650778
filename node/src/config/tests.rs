//! The configuration's checks, field by field.

use super::*;

fn good() -> NodeConfig {
    let mut c = NodeConfig {
        data_dir: "/tmp/x".into(),
        ..NodeConfig::default()
    };
    c.roles.prover = true;
    c.chain.market = "0x5FbDB2315678afecb367f032d93F642f64180aa3".into();
    c.prover.circuits = vec!["poseidon-chain-12".into()];
    c.proving.dev_srs = true;
    c
}

fn field_of(c: &NodeConfig) -> &'static str {
    match c.check() {
        Err(ConfigError::Field { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn each_bad_field_is_named() {
    assert!(good().check().is_ok());
    let mut c = good();
    c.chain.market = "nope".into();
    assert_eq!(field_of(&c), "chain.market");
    let mut c = good();
    c.prover.circuits = vec!["sha-9000".into()];
    assert_eq!(field_of(&c), "prover.circuits");
    let mut c = good();
    c.proving.learn_models = 64;
    assert_eq!(field_of(&c), "proving.learn_models");
    let mut c = good();
    c.network.listen = vec!["127.0.0.1:9000".into()];
    assert_eq!(field_of(&c), "network.listen");
    let mut c = good();
    c.roles.prover = false;
    assert_eq!(field_of(&c), "roles");
    let mut c = good();
    c.chain.rpc_url = "ws://x".into();
    assert_eq!(field_of(&c), "chain.rpc_url");
    for (edit, name) in [
        (
            (|c: &mut NodeConfig| c.chain.max_in_flight = 0) as fn(&mut NodeConfig),
            "chain.max_in_flight",
        ),
        (|c| c.chain.max_in_flight = 17, "chain.max_in_flight"),
        (|c| c.chain.bump_after_ms = 1, "chain.bump_after_ms"),
        (|c| c.chain.bump_percent = 9, "chain.bump_percent"),
        (|c| c.chain.bump_percent = 101, "chain.bump_percent"),
        (|c| c.store.retention_secs = 0, "store.retention_secs"),
        (
            |c| c.store.answer_margin_secs = 59,
            "store.answer_margin_secs",
        ),
        (
            |c| c.store.answer_margin_secs = 30 * 24 * 3_600 + 1,
            "store.answer_margin_secs",
        ),
    ] {
        let mut c = good();
        edit(&mut c);
        assert_eq!(field_of(&c), name);
    }
    let mut c = good();
    c.proving.dev_srs = false;
    assert_eq!(field_of(&c), "proving.srs_file");
    let mut c = good();
    c.prover.price = PricePolicy::FractionOfMax { bps: 0, floor: 1 };
    assert_eq!(field_of(&c), "prover.price");
    let mut c = good();
    c.prover.price = PricePolicy::PerSecond { wei: 0, floor: 1 };
    assert_eq!(field_of(&c), "prover.price");
    // A cheating prover runs with the dev SRS only, at a rate that is a probability.
    let cheat = Cheat {
        mode: CheatMode::Withhold,
        rate: 0.5,
        silent: false,
    };
    let mut c = good();
    c.prover.cheat = Some(cheat.clone());
    assert!(c.check().is_ok());
    c.proving.dev_srs = false;
    c.proving.srs_file = Some("/srs/real.bin".into());
    assert_eq!(field_of(&c), "prover.cheat");
    let mut c = good();
    c.prover.cheat = Some(Cheat { rate: 1.5, ..cheat });
    assert_eq!(field_of(&c), "prover.cheat.rate");
    let mut c = good();
    c.roles.watchtower = true;
    c.watchtower.sample_rate = -0.1;
    assert_eq!(field_of(&c), "watchtower.sample_rate");
    // The dev API (fault injection) only with the dev SRS too.
    let mut c = good();
    c.api.dev = true;
    assert!(c.check().is_ok());
    c.proving.dev_srs = false;
    c.proving.srs_file = Some("/srs/real.bin".into());
    assert_eq!(field_of(&c), "api.dev");
}

#[test]
fn a_cheat_section_reads_from_toml_and_picks_jobs_at_its_rate() {
    let text = "[prover.cheat]\nmode = \"miss-deadline\"\nrate = 0.25\nsilent = true\n";
    let c: NodeConfig = toml::from_str(text).expect("parses");
    let cheat = c.prover.cheat.expect("cheat");
    assert_eq!(cheat.mode, CheatMode::MissDeadline);
    assert!(cheat.silent);
    let hits = (0..4_000u32)
        .filter(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            cheat.applies(&provernet_protocol::JobId(id))
        })
        .count();
    // Binomial(4000, 0.25): mean 1000, sd about 27; the ids are fixed, so this
    // cannot flake.
    assert!((900..1_100).contains(&hits), "{hits}");
    assert!(toml::from_str::<NodeConfig>("[prover.cheat]\nmode = \"lie\"\nrate = 1\n").is_err());
}

#[test]
fn unknown_keys_and_wrong_types_name_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("node.toml");
    std::fs::write(&path, "[prover]\nworkerz = 2\n").expect("write");
    let error = NodeConfig::load(&path)
        .expect_err("unknown key")
        .to_string();
    assert!(error.contains("workerz"), "{error}");
    std::fs::write(&path, "[client]\nbid_window_ms = \"soon\"\n").expect("write");
    let error = NodeConfig::load(&path).expect_err("wrong type").to_string();
    assert!(error.contains("bid_window_ms"), "{error}");
    std::fs::write(
        &path,
        "data_dir = \"/d\"\n[roles]\nclient = true\n[prover]\nprice = { policy = \"fixed\", wei = \"5000000000000000000000\" }\n",
    )
    .expect("write");
    let config = NodeConfig::load(&path).expect("valid");
    assert_eq!(
        config.prover.price,
        PricePolicy::Fixed {
            wei: 5_000_000_000_000_000_000_000
        }
    );
    std::fs::write(
        &path,
        "data_dir = \"/d\"\n[roles]\nprover = true\n[prover]\nprice = { policy = \"per-second\", wei = \"1000000000000\", floor = 7 }\n",
    )
    .expect("write");
    let config = NodeConfig::load(&path).expect("valid");
    assert_eq!(
        config.prover.price,
        PricePolicy::PerSecond {
            wei: 1_000_000_000_000,
            floor: 7
        }
    );
}
