//! Per circuit: keygen, prove, native verify, proof size, EVM verification gas and
//! runtime code size; and the library's prove path against halo2's `create_proof` called
//! directly on the same circuit, measured side by side.
//!
//! Run: `scripts/bench.sh proving`. Under `cargo test` (no `--bench`) it runs
//! `poseidon-chain-12` once, without the EVM, as a smoke test.

#[path = "../../testnet/src/figure.rs"]
#[allow(dead_code)]
mod figure;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ethers::providers::{Http, Middleware, Provider};
use ethers::types::{Bytes, TransactionRequest};
use ethers::utils::Anvil;
use figure::Figure;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::create_proof;
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use provernet_circuits::keys::{self, CircuitKeys};
use provernet_circuits::prover::{prove_with_keys, prover_builder, verify_with_keys};
use provernet_circuits::srs::{Srs, SrsSource};
use provernet_circuits::{Circuit, Witness, evm};
use provernet_protocol::CircuitId;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::{ChallengeEvm, EvmTranscript};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// halo2's `create_proof` on the same layout, with nothing of ours around it.
fn prove_direct(keys: &CircuitKeys, witness: &Witness, seed: u64) -> Vec<u8> {
    let builder = prover_builder(keys, witness);
    let instances: Vec<Fr> = builder.assigned_instances[0]
        .iter()
        .map(|a| *a.value())
        .collect();
    let mut transcript = EvmTranscript::<G1Affine, NativeLoader, Vec<u8>, Vec<u8>>::new(Vec::new());
    create_proof::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        ChallengeEvm<G1Affine>,
        _,
        _,
        _,
    >(
        &keys.params,
        &keys.pk,
        &[builder],
        &[&[&instances]],
        ChaCha20Rng::seed_from_u64(seed),
        &mut transcript,
    )
    .expect("direct create_proof");
    transcript.finalize()
}

/// This process's CPU time so far (every thread, user and system).
fn cpu_time() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .expect("the process CPU clock");
    Duration::new(
        u64::try_from(t.tv_sec()).unwrap_or(0),
        u32::try_from(t.tv_nsec()).unwrap_or(0),
    )
}

/// Wall and CPU time of `f`, and its result.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, Duration, T) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let result = f();
    (wall.elapsed(), cpu_time().saturating_sub(cpu), result)
}

/// The least of `times`, in seconds.
fn least(times: &[Duration]) -> f64 {
    times.iter().min().map_or(f64::NAN, Duration::as_secs_f64)
}

struct Row {
    circuit: Circuit,
    keygen: Duration,
    prove: Duration,
    direct: Duration,
    /// (Least library CPU time ÷ least direct CPU time) − 1, over the runs.
    overhead: f64,
    verify: Duration,
    proof_bytes: usize,
    gas: Option<u64>,
    code_bytes: Option<usize>,
    pairs: u64,
}

const COMMAND: &str = "./scripts/bench.sh proving";

/// A row's figures: proving time (a point of the cost-by-k series), the library's overhead
/// over `create_proof`, and the EVM verification gas.
fn figures_of(row: &Row) -> Vec<Figure> {
    let name = row.circuit.name();
    let k = row.circuit.k();
    let mut figures = vec![
        Figure::new(
            format!("proving.prove_s.{name}"),
            format!("prove time, {name} (k = {k}), median"),
            (row.prove.as_secs_f64() * 1e3).round() / 1e3,
            "s",
            COMMAND,
        )
        .series("prove_vs_k", f64::from(k)),
        Figure::new(
            format!("proving.overhead_pct.{name}"),
            format!("library prove ÷ direct create_proof − 1 (CPU time), {name}"),
            (row.overhead * 1e3).round() / 10.0,
            "%",
            COMMAND,
        )
        .at_most(3.0)
        .note(format!(
            "least process CPU time (all threads) over {} runs of each path, in alternating pairs; wall-clock medians {:.3} s vs {:.3} s",
            row.pairs,
            row.prove.as_secs_f64(),
            row.direct.as_secs_f64()
        )),
    ];
    if let Some(gas) = row.gas {
        figures.push(
            Figure::new(
                format!("gas.evm_verify.{name}"),
                format!("EVM verification gas, {name}"),
                gas as f64,
                "gas",
                COMMAND,
            )
            .at_most(360_000.0)
            .series("verify_gas_vs_k", f64::from(k)),
        );
    }
    figures
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let circuits: Vec<Circuit> = if benchmarking {
        // The built-ins and a model's circuit (the zkML path; the digits model and EZKL:
        // `./scripts/bench.sh zkml`).
        let model: Circuit = "model-4-8r-3-s8".parse().expect("a model's name");
        Circuit::ALL.into_iter().chain([model]).collect()
    } else {
        vec![Circuit::PoseidonChain12]
    };
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provernet-circuits-cache");
    let srs = Srs::load(&SrsSource::DevInsecure, &cache).expect("dev SRS");
    let repo = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("..");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let anvil = benchmarking.then(|| {
        Anvil::at(repo.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"))
            .arg("--host")
            .arg("127.0.0.1")
            .spawn()
    });

    let mut rows = Vec::new();
    for circuit in circuits {
        let witness = circuit
            .parse_witness(&circuit.example_witness())
            .expect("example");
        let params = srs.for_k(circuit.k()).expect("params");
        let started = Instant::now();
        let keys = keys::build(circuit, params).expect("keygen");
        let keygen = started.elapsed();

        // A warm-up of each path, then pairs in alternating order, so caches and drift on
        // the machine hit both paths alike. The overhead compares each path's least CPU
        // time: CPU time, unlike wall time, does not count what other processes take,
        // and what disturbs a run (a descheduled thread that rayon's workers spin for,
        // a neighbour on the VM) only ever adds to it, so the least is the path's own
        // cost.
        let runs: u64 = if !benchmarking {
            1
        } else if circuit.k() >= 16 {
            8
        } else if circuit.k() >= 15 {
            12
        } else {
            24
        };
        if benchmarking {
            std::hint::black_box(prove_direct(&keys, &witness, 0));
            std::hint::black_box(
                prove_with_keys(
                    &keys,
                    CircuitId([0; 32]),
                    &witness,
                    ChaCha20Rng::seed_from_u64(0),
                )
                .expect("prove"),
            );
        }
        let (mut ours, mut direct, mut verify) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cpu_ours, mut cpu_direct) = (Vec::new(), Vec::new());
        let mut proof = None;
        for run in 0..runs {
            let time_ours = || {
                timed(|| {
                    prove_with_keys(
                        &keys,
                        CircuitId([0; 32]),
                        &witness,
                        ChaCha20Rng::seed_from_u64(run),
                    )
                    .expect("prove")
                })
            };
            let time_direct = || timed(|| std::hint::black_box(prove_direct(&keys, &witness, run)));
            let ((wall_ours, cpu_ours_run, made), (wall_direct, cpu_direct_run, _)) =
                if run % 2 == 0 {
                    let d = time_direct();
                    (time_ours(), d)
                } else {
                    let o = time_ours();
                    (o, time_direct())
                };
            ours.push(wall_ours);
            direct.push(wall_direct);
            cpu_ours.push(cpu_ours_run);
            cpu_direct.push(cpu_direct_run);
            let started = Instant::now();
            verify_with_keys(&keys, &made.public_inputs, &made.proof).expect("verify");
            verify.push(started.elapsed());
            proof = Some(made);
        }
        let proof = proof.expect("at least one run");

        let (gas, code_bytes) = match &anvil {
            Some(anvil) => runtime.block_on(async {
                let provider = Provider::<Http>::try_from(anvil.endpoint()).expect("provider");
                let from = anvil.addresses()[0];
                let compiled = evm::compile_verifier(
                    &evm::solidity_verifier(&keys),
                    &repo.join("scripts/solc"),
                )
                .expect("solc");
                let deploy = TransactionRequest::new()
                    .from(from)
                    .data(compiled.creation)
                    .gas(30_000_000u64);
                let receipt = provider
                    .send_transaction(deploy, None)
                    .await
                    .expect("deploy")
                    .await
                    .expect("mined")
                    .expect("receipt");
                let call = TransactionRequest::new()
                    .from(from)
                    .to(receipt.contract_address.expect("address"))
                    .data(Bytes::from(evm::encode_calldata(
                        &proof.public_inputs,
                        &proof.proof,
                    )));
                let gas = provider
                    .estimate_gas(&call.into(), None)
                    .await
                    .expect("valid proof verifies on chain");
                (Some(gas.as_u64()), Some(compiled.runtime.len()))
            }),
            None => (None, None),
        };
        rows.push(Row {
            circuit,
            keygen,
            prove: median(ours),
            direct: median(direct),
            overhead: least(&cpu_ours) / least(&cpu_direct).max(1e-9) - 1.0,
            pairs: runs,
            verify: median(verify),
            proof_bytes: proof.proof.len(),
            gas,
            code_bytes,
        });
    }

    println!("circuit proving on this machine (dev SRS; medians; EVM gas of the verify call)");
    println!(
        "{:<18} {:>4} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>9} {:>7}",
        "circuit",
        "k",
        "keygen",
        "prove",
        "direct",
        "overhead",
        "verify",
        "proof B",
        "EVM gas",
        "code B"
    );
    let mut pass = true;
    let mut figures = Vec::new();
    for row in &rows {
        let overhead = row.overhead;
        pass &= overhead <= 0.03 && row.gas.is_none_or(|g| g <= 360_000);
        figures.extend(figures_of(row));
        println!(
            "{:<18} {:>4} {:>8.2}s {:>8.3}s {:>8.3}s {:>7.1}% {:>8.1}ms {:>7} {:>9} {:>7}",
            row.circuit.name(),
            row.circuit.k(),
            row.keygen.as_secs_f64(),
            row.prove.as_secs_f64(),
            row.direct.as_secs_f64(),
            overhead * 100.0,
            row.verify.as_secs_f64() * 1e3,
            row.proof_bytes,
            row.gas.map_or("-".into(), |g| g.to_string()),
            row.code_bytes.map_or("-".into(), |c| c.to_string()),
        );
    }
    if benchmarking {
        figure::record(&figures).expect("the figures file can be written");
        println!(
            "targets: EVM verify <= 360000 gas; library prove within 3% of direct create_proof: {}",
            if pass { "PASS" } else { "FAIL" }
        );
    } else {
        println!(
            "smoke run (one proof, no warm-up): figures are not measurements; run scripts/bench.sh proving"
        );
    }
}
