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
    }
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
    let arch = package.model.architecture;
    if floats.len() != arch.inputs() {
        bail!(
            "the input has {} values; the model takes {}",
            floats.len(),
            arch.inputs()
        );
    }
    let quantized = quantize::quantize_input(&floats, arch.scale_bits())?;
    let output = package.model.infer(&quantized)?;
    let json = package.model.witness(&quantized);
    Ok((Circuit::Model(arch), json, output))
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
