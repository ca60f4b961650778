//! Envelope verification throughput on one core, single versus batched.
//!
//! Run: `./scripts/bench.sh envelope`.
//! Under `cargo test` (no `--bench` flag) it runs a few iterations as a smoke test.
//!
//! Measures the whole inbound path a node runs per gossiped bid — decode, bounds,
//! replay lookup, signature, replay insertion — through [`Validator`], on the calling
//! thread only. Each message is a distinct, validly signed `Bid` envelope from one of
//! 64 signers.

#[path = "../../testnet/src/figure.rs"]
#[allow(dead_code)]
mod figure;

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use figure::Figure;
use provernet_protocol::{
    Address, Bid, Context, EthSignature, JobId, SeenCache, SignedEnvelope, Validator,
};

const CHAIN_ID: u64 = 31337;
const NOW: u64 = 1_800_000_000;

fn messages(count: usize) -> Vec<Vec<u8>> {
    let keys: Vec<SigningKey> = (0..64u8)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect();
    let context = Context::new(CHAIN_ID);
    (0..count)
        .map(|i| {
            let bid = Bid {
                job_id: JobId([(i % 251) as u8; 32]),
                round: 0,
                price: 1_000_000 + i as u128,
                promised_deadline: NOW + 60,
                prover: Address([7; 20]),
                signature: EthSignature([1; 65]),
            };
            SignedEnvelope::sign(&bid, &context, NOW + 300, &keys[i % keys.len()])
                .expect("valid bid")
                .to_bytes()
        })
        .collect()
}

/// Messages per second validating `messages` in chunks of `batch` (1 = no batching).
fn throughput(messages: &[Vec<u8>], batch: usize) -> f64 {
    let mut validator = Validator::new(
        Context::new(CHAIN_ID),
        SeenCache::DEFAULT_CAPACITY.max(messages.len()),
    );
    let start = Instant::now();
    let mut accepted = 0usize;
    for chunk in messages.chunks(batch) {
        if batch == 1 {
            accepted += usize::from(validator.validate(&chunk[0], NOW).is_ok());
        } else {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            accepted += validator
                .validate_batch(&refs, NOW)
                .iter()
                .filter(|r| r.is_ok())
                .count();
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(
        accepted,
        messages.len(),
        "every message is valid and distinct"
    );
    black_box(accepted);
    messages.len() as f64 / elapsed
}

const COMMAND: &str = "./scripts/bench.sh envelope";

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let count = if benchmarking { 60_000 } else { 256 };
    let messages = messages(count);
    let target = 30_000.0;
    println!("envelope validation on one core ({count} distinct Bid envelopes, 64 signers)");
    println!(
        "{:<10} {:>14}  (target: at least 30000 with batching)",
        "batch", "messages/s"
    );
    let mut best_batched: f64 = 0.0;
    let mut figures = Vec::new();
    for batch in [1usize, 16, 64, 256] {
        let rate = throughput(&messages, batch);
        if batch > 1 {
            best_batched = best_batched.max(rate);
        }
        println!("{batch:<10} {rate:>14.0}");
        figures.push(
            Figure::new(
                format!("validation.per_core.batch{batch}"),
                format!("validated messages/s, one core, batch {batch}"),
                rate.round(),
                "msg/s",
                COMMAND,
            )
            .series("validation_vs_batch", batch as f64),
        );
    }
    figures.push(
        Figure::new(
            "validation.per_core.batched_best",
            "validated messages/s, one core, best batch",
            best_batched.round(),
            "msg/s",
            COMMAND,
        )
        .at_least(target)
        .note("decode, bounds, replay lookup, ed25519 (batched), replay insert; 60,000 distinct Bid envelopes from 64 signers"),
    );
    if benchmarking {
        figure::record(&figures).expect("the figures file can be written");
    }
    let verdict = if best_batched >= target {
        "PASS"
    } else {
        "FAIL"
    };
    println!("best batched: {best_batched:.0} messages/s per core: {verdict}");
}
