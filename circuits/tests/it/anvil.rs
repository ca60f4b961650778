//! Each circuit's exported verifier, deployed on a real anvil: the valid proof passes,
//! a corrupted proof and a wrong public input revert, and the code fits the EVM's limit.

use std::path::PathBuf;

use ethers::providers::{Http, Middleware, Provider};
use ethers::types::{Address, Bytes, TransactionRequest};
use ethers::utils::{Anvil, AnvilInstance};
use provernet_circuits::evm::{self, MAX_CODE_SIZE};
use provernet_circuits::{Circuit, Proof, Prover};

use crate::support::{example_proof, prover};

fn repo_path(relative: &str) -> PathBuf {
    crate::support::checkout().join(relative)
}

/// anvil from the npm package scripts/setup.sh installs, on 127.0.0.1 and a free port.
pub fn start_anvil() -> AnvilInstance {
    let path = repo_path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    Anvil::at(path).arg("--host").arg("127.0.0.1").spawn()
}

async fn deploy(provider: &Provider<Http>, from: Address, creation: Vec<u8>) -> Address {
    let tx = TransactionRequest::new()
        .from(from)
        .data(creation)
        .gas(30_000_000u64);
    let receipt = provider
        .send_transaction(tx, None)
        .await
        .expect("send deployment")
        .await
        .expect("mined")
        .expect("receipt");
    assert_eq!(
        receipt.status.map(|s| s.as_u64()),
        Some(1),
        "deployment succeeded"
    );
    receipt.contract_address.expect("contract address")
}

/// Whether the verifier accepts `calldata`, and the gas of the call when it does.
async fn call(
    provider: &Provider<Http>,
    from: Address,
    verifier: Address,
    calldata: Vec<u8>,
) -> Option<u64> {
    let tx = TransactionRequest::new()
        .from(from)
        .to(verifier)
        .data(Bytes::from(calldata));
    provider.call(&tx.clone().into(), None).await.ok()?;
    Some(provider.estimate_gas(&tx.into(), None).await.ok()?.as_u64())
}

fn calldata(proof: &Proof) -> Vec<u8> {
    evm::encode_calldata(&proof.public_inputs, &proof.proof)
}

/// Compiles `circuit`'s verifier (from `prover`'s keys), deploys it and checks it on chain: `proof` passes, the
/// proof corrupted, a public input changed and the calldata truncated each revert.
/// Returns the gas of the valid call.
pub async fn check_on_chain(
    provider: &Provider<Http>,
    from: Address,
    prover: &Prover,
    circuit: Circuit,
    proof: &Proof,
) -> u64 {
    let solc = repo_path("scripts/solc");
    let keys = prover.verifying_keys(circuit).expect("keys");
    let source = evm::solidity_verifier(&keys);
    assert!(
        source.contains("pragma solidity ^0.8.19;"),
        "pragma relaxed"
    );
    let compiled = evm::compile_verifier(&source, &solc).expect("solc compiles the verifier");
    assert!(
        compiled.runtime.len() <= MAX_CODE_SIZE,
        "{circuit}: {} bytes of runtime code",
        compiled.runtime.len()
    );
    let verifier = deploy(provider, from, compiled.creation).await;
    let code = provider.get_code(verifier, None).await.expect("code");
    assert_eq!(code.len(), compiled.runtime.len());

    let gas = call(provider, from, verifier, calldata(proof)).await;
    assert!(
        gas.is_some(),
        "{circuit}: the valid proof is accepted on chain"
    );

    let mut corrupted = proof.clone();
    let middle = corrupted.proof.len() / 2;
    corrupted.proof[middle] ^= 1;
    assert_eq!(
        call(provider, from, verifier, calldata(&corrupted)).await,
        None,
        "{circuit}: corrupted proof"
    );

    let mut wrong_input = proof.clone();
    wrong_input.public_inputs[0].0[31] ^= 1;
    assert_eq!(
        call(provider, from, verifier, calldata(&wrong_input)).await,
        None,
        "{circuit}: wrong input"
    );

    let truncated = &calldata(proof)[..calldata(proof).len() - 32];
    assert_eq!(
        call(provider, from, verifier, truncated.to_vec()).await,
        None,
        "{circuit}: truncated"
    );
    let gas = gas.unwrap_or_default();
    eprintln!(
        "{circuit}: runtime {} bytes, verify call {gas} gas",
        compiled.runtime.len(),
    );
    gas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_verifiers_accept_valid_proofs_and_reject_bad_ones() {
    let anvil = start_anvil();
    let provider = Provider::<Http>::try_from(anvil.endpoint()).expect("provider");
    let from = anvil.addresses()[0];
    for circuit in Circuit::ALL {
        check_on_chain(&provider, from, &prover(), circuit, &example_proof(circuit)).await;
    }
}
