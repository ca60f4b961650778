//! Keys and circuit ids: deterministic, cached, and rebuilt when the cache is corrupt.

use std::collections::HashSet;

use provernet_circuits::{Circuit, CircuitError, Prover, ProverConfig, SrsSource};

use crate::support::{cache_dir, example_proof, prover};

#[test]
fn circuit_ids_are_distinct_and_reproducible_from_a_fresh_cache() {
    let ids: HashSet<_> = Circuit::ALL
        .iter()
        .map(|c| prover().circuit_id(*c).expect("keys"))
        .collect();
    assert_eq!(ids.len(), Circuit::ALL.len());

    // Another node with an empty cache derives the same SRS, keys and ids.
    let fresh = tempdir("fresh");
    let other = Prover::new(&ProverConfig {
        srs: SrsSource::DevInsecure,
        cache_dir: fresh.clone(),
    })
    .expect("dev SRS");
    assert_eq!(other.srs().fingerprint(), prover().srs().fingerprint());
    let circuit = Circuit::PoseidonChain12;
    assert_eq!(
        other.circuit_id(circuit).expect("keys"),
        prover().circuit_id(circuit).expect("keys")
    );
    // And proofs made by one verify with the other's keys.
    let proof = example_proof(circuit);
    other
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("cross-node verification");
    let _ = std::fs::remove_dir_all(fresh);
}

#[test]
fn a_corrupt_cache_is_rebuilt_not_trusted() {
    let dir = tempdir("corrupt");
    let config = ProverConfig {
        srs: SrsSource::DevInsecure,
        cache_dir: dir.clone(),
    };
    let circuit = Circuit::PoseidonChain12;
    let id = Prover::new(&config)
        .expect("srs")
        .circuit_id(circuit)
        .expect("keys");

    let pk = std::fs::read_dir(dir.join("keys"))
        .expect("keys dir")
        .flatten()
        .map(|e| e.path().join(circuit.name()).join("pk.bin"))
        .find(|p| p.exists())
        .expect("cached proving key");
    let mut bytes = std::fs::read(&pk).expect("read pk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&pk, &bytes).expect("corrupt pk");
    // The dev SRS cache too.
    let srs = dir.join("srs").join("dev-INSECURE-k16.srs");
    let mut srs_bytes = std::fs::read(&srs).expect("read srs");
    srs_bytes.truncate(srs_bytes.len() - 7);
    std::fs::write(&srs, &srs_bytes).expect("truncate srs");

    let reloaded = Prover::new(&config).expect("srs regenerated");
    assert_eq!(reloaded.circuit_id(circuit).expect("keys rebuilt"), id);
    assert_ne!(
        std::fs::read(&pk).expect("rewritten"),
        bytes,
        "the corrupt key was replaced"
    );
    let witness = circuit
        .parse_witness(&circuit.example_witness())
        .expect("valid");
    let proof = reloaded.prove(&witness).expect("proves with rebuilt keys");
    prover()
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("and verifies elsewhere");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_dev_srs_must_be_asked_for() {
    assert!(matches!(
        SrsSource::choose(None, false),
        Err(CircuitError::DevSrsNotAllowed)
    ));
    assert_eq!(
        SrsSource::choose(None, true).expect("dev"),
        SrsSource::DevInsecure
    );
    assert!(prover().srs().is_insecure());
    let missing = SrsSource::choose(Some("/nonexistent/params.srs".into()), false).expect("file");
    let error = Prover::new(&ProverConfig {
        srs: missing,
        cache_dir: cache_dir(),
    })
    .expect_err("missing");
    assert!(matches!(error, CircuitError::Io { .. }), "{error}");
    let garbage = tempdir("garbage").join("params.srs");
    std::fs::write(&garbage, b"not an srs").expect("write");
    let error = Prover::new(&ProverConfig {
        srs: SrsSource::File(garbage),
        cache_dir: cache_dir(),
    })
    .expect_err("garbage");
    assert!(matches!(error, CircuitError::Srs { .. }), "{error}");
}

#[test]
fn an_srs_file_is_read_and_checked() {
    // The dev SRS's cache file is a valid SRS file: read as a file it is the same SRS,
    // no longer marked insecure by provernet (the file's provenance is the operator's).
    let srs_dir = cache_dir().join("srs");
    prover()
        .keys(Circuit::PoseidonChain12)
        .expect("keys; writes the k = 12 parameters");
    let dev_file = srs_dir.join("dev-INSECURE-k16.srs");
    let dir = tempdir("file");
    let from_file = Prover::new(&ProverConfig {
        srs: SrsSource::File(dev_file),
        cache_dir: dir.clone(),
    })
    .expect("a valid SRS file");
    assert!(!from_file.srs().is_insecure());
    assert_eq!(from_file.srs().fingerprint(), prover().srs().fingerprint());

    // A valid file with too few points is refused with the reason.
    let small = srs_dir.join(format!("{}-k12.srs", prover().srs().fingerprint()));
    let error = Prover::new(&ProverConfig {
        srs: SrsSource::File(small),
        cache_dir: dir.clone(),
    })
    .expect_err("2^12 points");
    assert!(error.to_string().contains("need 2^16"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("circuits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create tempdir");
    dir
}

#[test]
fn every_circuit_fits_three_advice_columns_and_no_lookups() {
    // The EVM verifier's size and gas grow with every column and with a lookup argument:
    // at three advice columns and no lookup each verifier stays under 360k gas.
    for circuit in Circuit::ALL {
        let keys = prover().keys(circuit).expect("keys");
        assert_eq!(keys.config.k, circuit.k() as usize);
        assert_eq!(
            keys.config.num_advice_per_phase,
            vec![3],
            "{circuit}: {:?}",
            keys.config
        );
        assert!(
            keys.config
                .num_lookup_advice_per_phase
                .iter()
                .all(|n| *n == 0),
            "{circuit}"
        );
        assert_eq!(keys.config.lookup_bits, None, "{circuit}");
    }
}
