//! `provernet model …`: bring your own model. `import` reads an ONNX MLP, quantizes it
//! and writes a model package (`provernet_circuits::model::package`); `witness` turns a
//! float input into the witness its circuit proves, for `provernet prove`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::proving::read_bounded;
use clap::{Args, Subcommand};
use provernet_circuits::Circuit;
use provernet_circuits::model::{self, Calibration, Package, quantize};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Import an ONNX MLP: quantize it to fixed point and write a model package (the
    /// architecture, the commitment to the weights, and the weights).
    Import(ImportArgs),
    /// Write the witness of a model package's circuit for an input, for `provernet prove`.
    Witness(WitnessArgs),
    /// Deploy a model package's circuit's EVM verifier and register it on the market
    /// (anyone may): prints the circuit id, which every node derives from the package.
    Register(RegisterArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The model package's directory.
    package: PathBuf,
    #[command(flatten)]
    target: RegisterTarget,
}

/// Where a circuit is registered, from which account, and the SRS its verifier comes from.
#[derive(Debug, Args)]
pub struct RegisterTarget {
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "PROVERNET_RPC_URL")]
    rpc_url: String,
    /// The market contract's address.
    #[arg(long, env = "PROVERNET_MARKET")]
    market: String,
    /// A file holding the paying account's secret key (hex); else $PROVERNET_ETH_KEY.
    #[arg(long)]
    eth_key_file: Option<PathBuf>,
    #[command(flatten)]
    srs: crate::proving::SrsArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX file.
    onnx: PathBuf,
    /// Calibration inputs, `{"inputs": [[...], ...]}`: the scale is chosen from them and
    /// the quantized model's accuracy measured on them.
    #[arg(long)]
    calibrate: Option<PathBuf>,
    /// Fractional bits of the fixed point, instead of choosing them from --calibrate.
    #[arg(long)]
    scale: Option<u32>,
    /// The package's directory (created if missing).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct WitnessArgs {
    /// The model package's directory.
    package: PathBuf,
    /// The input: a JSON array of numbers, or `{"input": [...]}`.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the witness JSON.
    #[arg(long)]
    out: PathBuf,
}

/// Most bytes of a calibration or input file read.
const MAX_JSON_BYTES: usize = 64 << 20;

pub fn run(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Import(args) => import(&args),
        ModelCommand::Witness(args) => witness(&args),
        ModelCommand::Register(args) => register(&args),
    }
}

/// `provernet model register`: the package's circuit, its verifier compiled from this
/// SRS, deployed and registered from the account; nothing sent when the market has the
/// id already.
fn register(args: &RegisterArgs) -> anyhow::Result<()> {
    let package = Package::read(&args.package)
        .with_context(|| format!("model package {}", args.package.display()))?;
    register_circuit(Circuit::Model(package.model.architecture), &args.target)
}

/// `circuits register` and `model register`: `circuit`'s verifier compiled from the SRS,
/// deployed and registered from the account (the market measures its gas on a valid
/// proof and derives the id this build derives); nothing sent when the market has the id
/// already.
pub fn register_circuit(circuit: Circuit, args: &RegisterTarget) -> anyhow::Result<()> {
    use ethers::providers::Middleware as _;
    use provernet_slashing::registration::{VerifierCode, register_verifier};

    let market_address: ethers::types::Address = args
        .market
        .parse()
        .with_context(|| format!("--market `{}` is not an address", args.market))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (client, chain_id) = provernet_node::ops::signing_client(
            &args.rpc_url,
            args.eth_key_file.as_deref(),
            "PROVERNET_ETH_KEY",
            std::time::Duration::from_millis(
                provernet_node::config::ChainSection::default().poll_interval_ms,
            ),
        )
        .await?;
        let code = client
            .get_code(market_address, None)
            .await
            .with_context(|| format!("cannot read the code at {market_address:?}"))?;
        if code.is_empty() {
            bail!("no contract at --market {market_address:?} on chain {chain_id}");
        }
        let market = provernet_slashing::Market::at(market_address, client);
        eprintln!("compiling the verifier of {circuit} (keys are built on first use)");
        let engine = args.srs.prover()?;
        // A verifier of the dev SRS's keys accepts proofs anyone can forge.
        if engine.srs().is_insecure() && chain_id != provernet_node::config::LOCAL_CHAIN_ID {
            bail!(
                "the SRS is the INSECURE dev SRS, for the local chain only; this chain's id is \
                 {chain_id}: nothing sent"
            );
        }
        let compiled = tokio::task::spawn_blocking(move || engine.verifier(circuit))
            .await
            .context("the verifier's build stopped")?
            .with_context(|| format!("the verifier of {circuit}"))?;
        let registered = register_verifier(
            &market,
            VerifierCode {
                circuit_id: compiled.circuit_id,
                creation: &compiled.creation,
                runtime: &compiled.runtime,
                sample_inputs: &compiled.sample_inputs,
                sample_proof: &compiled.sample_proof,
            },
        )
        .await?;
        if registered.already {
            println!("{circuit} was registered already");
        } else {
            println!(
                "{circuit} registered; verification measured at {} gas",
                registered.measured_gas
            );
        }
        println!("circuit id   {}", registered.circuit_id);
        println!("verifier     {:?}", registered.verifier);
        println!("gas limit    {}", registered.gas_limit);
        println!("proof bytes  {}", registered.proof_len);
        Ok(())
    })
}

fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let onnx = read_bounded(&args.onnx, "ONNX file", model::onnx::MAX_FILE_BYTES)?;
    let calibration: Option<Calibration> = match &args.calibrate {
        Some(path) => Some(
            serde_json::from_slice(&read_bounded(path, "calibration file", MAX_JSON_BYTES)?)
                .with_context(|| format!("calibration file {}", path.display()))?,
        ),
        None => None,
    };
    let imported = model::import(&onnx, calibration.as_ref(), args.scale)
        .with_context(|| format!("importing {}", args.onnx.display()))?;
    let package = &imported.package;
    let arch = package.model.architecture;
    let circuit = Circuit::Model(arch);
    package.write(&args.out)?;
    println!(
        "{circuit}: {} parameters, {} fractional bits, 2^{} rows, {} public inputs",
        arch.parameters(),
        arch.scale_bits(),
        circuit.k(),
        arch.num_public_inputs()
    );
    println!("commitment {}", package.description.commitment);
    match package.description.accuracy {
        Some(a) => println!(
            "quantized against float on {} calibration inputs: argmax agrees on {:.1} %, \
             largest output error {:.4}",
            a.samples,
            a.argmax_agreement * 100.0,
            a.max_output_error
        ),
        None => println!("accuracy not measured: no --calibrate"),
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

/// A model's witness for a float input, read from the package in `package` and the
/// input file `input` (an array of numbers or `{"input": [...]}`), with the circuit and
/// the output the model computes (quantized).
pub fn witness_for(
    package: &Path,
    input: &Path,
) -> anyhow::Result<(Circuit, serde_json::Value, Vec<i64>)> {
    let package = Package::read(package)?;
    let text = read_bounded(input, "input file", MAX_JSON_BYTES)?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("input file {}", input.display()))?;
    let values = value.get("input").unwrap_or(&value);
    let floats: Vec<f64> = serde_json::from_value(values.clone()).with_context(|| {
        format!(
            "input file {}: an array of numbers, or {{\"input\": [...]}}",
            input.display()
        )
    })?;
    let (json, output) = package.inference(&floats)?;
    Ok((Circuit::Model(package.model.architecture), json, output))
}

/// One line on a model proof's statement: the model's commitment and the outputs.
pub fn describe(proof: &provernet_circuits::Proof) -> Option<String> {
    let Circuit::Model(arch) = proof.circuit else {
        return None;
    };
    let statement = model::Statement::read(arch, &proof.public_inputs).ok()?;
    let outputs: Vec<String> = statement
        .real_outputs(arch)
        .iter()
        .map(|y| format!("{y:.4}"))
        .collect();
    Some(format!(
        "model {}: output [{}] (argmax {}), input commitment {}",
        statement.model,
        outputs.join(", "),
        quantize::argmax(&statement.outputs).unwrap_or(0),
        statement.input
    ))
}

fn witness(args: &WitnessArgs) -> anyhow::Result<()> {
    let (circuit, json, output) = witness_for(&args.package, &args.input)?;
    fs::write(&args.out, serde_json::to_vec(&json)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let Circuit::Model(arch) = circuit else {
        unreachable!("a package's circuit is a model's");
    };
    let unit = f64::from(1u32 << arch.scale_bits());
    let scaled: Vec<String> = output
        .iter()
        .map(|y| format!("{:.4}", *y as f64 / unit))
        .collect();
    println!(
        "{circuit}: output [{}] (argmax {}); wrote {}",
        scaled.join(", "),
        quantize::argmax(&output).unwrap_or(0),
        args.out.display()
    );
    Ok(())
}
