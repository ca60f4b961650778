//! Keys, verifiers and circuit ids: deterministic, cached, and rebuilt when the cache is
//! corrupt or made by another compiler.

use std::collections::HashSet;

use provernet_circuits::{Circuit, CircuitError, Prover, SrsSource};
use provernet_protocol::Hash32;

use crate::support::{cache_dir, config, example_proof, prover};

#[test]
fn circuit_ids_are_distinct_and_reproducible_from_a_fresh_cache() {
    let key_ids: HashSet<_> = Circuit::ALL
        .iter()
        .map(|c| prover().keys(*c).expect("keys").key_id)
        .collect();
    assert_eq!(key_ids.len(), Circuit::ALL.len());

    // Another node with an empty cache derives the same SRS, keys, verifier and id.
    let fresh = tempdir("fresh");
    let other = Prover::new(&config(SrsSource::DevInsecure, fresh.clone())).expect("dev SRS");
    assert_eq!(other.srs().fingerprint(), prover().srs().fingerprint());
    let circuit = Circuit::PoseidonChain12;
    let mine = prover().verifier(circuit).expect("verifier");
    let theirs = other.verifier(circuit).expect("verifier");
    assert_eq!(theirs.runtime, mine.runtime, "the same verifier code");
    assert_eq!(theirs.circuit_id, mine.circuit_id);
    // The id is the market's: the verifier's code hash and the proof's shape.
    assert_eq!(
        mine.circuit_id,
        provernet_circuits::verifier::circuit_id_of(
            &mine.code_hash(),
            circuit.num_public_inputs(),
            mine.sample_proof.len()
        )
    );
    // And proofs made by one verify with the other's keys, and carry that id.
    let proof = example_proof(circuit);
    assert_eq!(proof.circuit_id, mine.circuit_id);
    other
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("cross-node verification");

    // A verifier cached by another compiler is rebuilt, not trusted: its code (so its id)
    // would differ from what this compiler makes.
    let cached = cached(&fresh, circuit, "verifier.json");
    let text = std::fs::read_to_string(&cached).expect("read");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["solc_version"] = "Version: 0.8.19+commit.7dd6d404".into();
    json["runtime"] = "6000".into();
    std::fs::write(&cached, json.to_string()).expect("write");
    let again = Prover::new(&config(SrsSource::DevInsecure, fresh.clone())).expect("dev SRS");
    assert_eq!(again.circuit_id(circuit).expect("rebuilt"), mine.circuit_id);
    let _ = std::fs::remove_dir_all(fresh);
}

#[test]
fn a_corrupt_cache_is_rebuilt_not_trusted() {
    let dir = tempdir("corrupt");
    let config = config(SrsSource::DevInsecure, dir.clone());
    let circuit = Circuit::PoseidonChain12;
    let id = Prover::new(&config)
        .expect("srs")
        .keys(circuit)
        .expect("keys")
        .key_id;

    let pk = cached(&dir, circuit, "pk.bin");
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
    assert_eq!(reloaded.keys(circuit).expect("keys rebuilt").key_id, id);
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

/// A node's start reads each circuit's verifying key from the cache its own build wrote
/// (making it takes a second or more); a key written by another build, for another
/// circuit, under another key id or with a flipped bit is made again and rewritten.
#[test]
fn a_verifying_key_is_read_only_from_its_own_builds_cache() {
    use std::os::unix::fs::MetadataExt;

    let dir = tempdir("vk");
    let circuit = Circuit::PoseidonChain12;
    let first = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
    let made = first.verifying_keys(circuit).expect("made");
    let (vk, record) = (
        cached(&dir, circuit, "vk.bin"),
        cached(&dir, circuit, "vk.json"),
    );
    let original = std::fs::read(&vk).expect("read");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).expect("read")).expect("json");
    assert_eq!(json["build"], provernet_circuits::keys::BUILD);
    assert_eq!(json["key_id"], made.key_id.to_string());
    // A rewrite replaces the file (a new inode); a read leaves it.
    let inode = |path: &std::path::Path| std::fs::metadata(path).expect("metadata").ino();

    // Read back: the same key, which verifies a proof and refuses it altered.
    let before = inode(&vk);
    let again = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
    let read = again.verifying_keys(circuit).expect("read");
    assert_eq!(inode(&vk), before, "read from the cache, not made again");
    assert_eq!(read.key_id, made.key_id);
    assert_eq!(read.break_points, made.break_points);
    let proof = example_proof(circuit);
    again
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("a valid proof verifies with the cached key");
    let mut altered = proof.proof.clone();
    altered[40] ^= 1;
    assert!(
        again
            .verify(circuit, &proof.public_inputs, &altered)
            .is_err()
    );

    // Each way the cache can be wrong: the key is made again, the same as before.
    type Edit = fn(&mut serde_json::Value, &mut Vec<u8>);
    let edits: [(&str, Edit); 5] = [
        ("another build", |json, _| {
            json["build"] = "0123456789abcdef".into()
        }),
        ("other break points", |json, _| {
            json["break_points"] = serde_json::json!([[1, 2, 3]])
        }),
        ("another circuit", |json, _| {
            json["circuit"] = "poseidon-chain-16".into()
        }),
        ("another key id", |json, _| {
            json["key_id"] = Hash32([7; 32]).to_string().into()
        }),
        ("a flipped bit", |_, bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 1;
        }),
    ];
    for (what, edit) in edits {
        let (mut json, mut bytes) = (json.clone(), original.clone());
        edit(&mut json, &mut bytes);
        std::fs::write(&record, json.to_string()).expect("write");
        std::fs::write(&vk, &bytes).expect("write");
        let before = inode(&vk);
        let fresh = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
        let keys = fresh.verifying_keys(circuit).expect("made again");
        assert_eq!(keys.key_id, made.key_id, "{what}");
        assert_ne!(inode(&vk), before, "{what}: made again and rewritten");
        assert_eq!(std::fs::read(&vk).expect("read"), original, "{what}");
        fresh
            .verify(circuit, &proof.public_inputs, &proof.proof)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A verifying key cached under this build's name but made by other code (here another
/// circuit's, relabelled, as a patched dependency the build's name misses would leave
/// it) is read as the cache says; the proving key's first build lays the circuit out and
/// catches it: the load fails naming it, the cache is rewritten, and the next start has
/// the right key.
#[test]
fn a_stale_verifying_key_is_caught_when_the_proving_key_is_built() {
    let dir = tempdir("stale");
    // Two circuits of one size: a model's of as many rows as `poseidon-chain-16`.
    let other = Circuit::PoseidonChain16;
    let candidates: Vec<Circuit> = [16, 32, 64, 96, 128, 160, 192]
        .into_iter()
        .map(|h| {
            format!("model-64-{h}r-10-s8")
                .parse::<Circuit>()
                .expect("a model's name")
        })
        .collect();
    let circuit = candidates
        .iter()
        .copied()
        .find(|c| c.k() == other.k())
        .unwrap_or_else(|| {
            let ks: Vec<_> = candidates.iter().map(|c| (c.name(), c.k())).collect();
            panic!("no model of 2^{} rows among {ks:?}", other.k())
        });
    let first = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
    let right = first.verifying_keys(circuit).expect("made").key_id;
    first.verifying_keys(other).expect("made");
    std::fs::copy(
        cached(&dir, other, "vk.bin"),
        cached(&dir, circuit, "vk.bin"),
    )
    .expect("copy");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cached(&dir, other, "vk.json")).expect("read"))
            .expect("json");
    json["circuit"] = circuit.name().into();
    std::fs::write(cached(&dir, circuit, "vk.json"), json.to_string()).expect("write");

    let stale = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
    assert_ne!(
        stale.verifying_keys(circuit).expect("read").key_id,
        right,
        "trusted as this build's"
    );
    let error = stale
        .keys(circuit)
        .expect_err("caught at the proving key's build");
    assert!(
        matches!(error, CircuitError::StaleKeyCache { .. }),
        "{error}"
    );
    let again = Prover::new(&config(SrsSource::DevInsecure, dir.clone())).expect("dev SRS");
    assert_eq!(again.verifying_keys(circuit).expect("read").key_id, right);
    assert_eq!(again.keys(circuit).expect("keys").key_id, right);
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
    let error = Prover::new(&config(missing, cache_dir())).expect_err("missing");
    assert!(matches!(error, CircuitError::Io { .. }), "{error}");
    let garbage = tempdir("garbage").join("params.srs");
    std::fs::write(&garbage, b"not an srs").expect("write");
    let error = Prover::new(&config(SrsSource::File(garbage), cache_dir())).expect_err("garbage");
    assert!(matches!(error, CircuitError::Srs { .. }), "{error}");
}

#[test]
fn an_srs_file_is_read_and_checked() {
    // The dev SRS's cache file is a valid SRS file: read as a file it is the same SRS,
    // and still known as the insecure dev SRS (by its hash: `srs::DEV_FINGERPRINT`).
    let srs_dir = cache_dir().join("srs");
    prover()
        .keys(Circuit::PoseidonChain12)
        .expect("keys; writes the k = 12 parameters");
    let dev_file = srs_dir.join("dev-INSECURE-k16.srs");
    let dir = tempdir("file");
    let from_file =
        Prover::new(&config(SrsSource::File(dev_file), dir.clone())).expect("a valid SRS file");
    assert!(from_file.srs().is_insecure());
    assert_eq!(from_file.srs().fingerprint(), prover().srs().fingerprint());

    // A valid file with too few points is refused with the reason.
    let small = srs_dir.join(format!("{}-k12.srs", prover().srs().fingerprint()));
    let error = Prover::new(&config(SrsSource::File(small), dir.clone())).expect_err("2^12 points");
    assert!(error.to_string().contains("need 2^16"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `file` of `circuit`'s cache under `dir` (one SRS's keys directory holds it).
fn cached(dir: &std::path::Path, circuit: Circuit, file: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("keys"))
        .expect("keys dir")
        .flatten()
        .map(|e| e.path().join(circuit.name()).join(file))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no cached {file} of {circuit}"))
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

/// A node that does not prove a circuit never reads its proving key: a fresh engine on
/// the same cache derives the circuit's id and verifies a proof (accepting the valid one,
/// refusing it altered) with the verifying key alone, and the proving key is loaded only
/// when it proves.
#[test]
fn verifying_and_the_circuit_id_need_no_proving_key() {
    let circuit = Circuit::PoseidonChain12;
    let proof = example_proof(circuit);
    let expected = prover().circuit_id(circuit).expect("id");
    let fresh = Prover::new(&config(SrsSource::DevInsecure, cache_dir())).expect("dev SRS");
    assert_eq!(fresh.circuit_id(circuit).expect("id"), expected);
    fresh
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("a valid proof verifies");
    let mut altered = proof.proof.clone();
    altered[40] ^= 1;
    assert!(
        fresh
            .verify(circuit, &proof.public_inputs, &altered)
            .is_err(),
        "an altered proof is refused"
    );
    assert!(
        !fresh.proving_keys_loaded(circuit),
        "the proving key was not read"
    );
    let witness = circuit
        .parse_witness(&circuit.example_witness())
        .expect("example is valid");
    let made = fresh.prove(&witness).expect("proves");
    assert!(fresh.proving_keys_loaded(circuit));
    fresh
        .verify(circuit, &made.public_inputs, &made.proof)
        .expect("its own proof verifies");
}
