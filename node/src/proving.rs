//! `provernet circuits …`, `provernet prove` and `provernet verify`: the prover tools,
//! which need no network.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use provernet_circuits::{Circuit, Prover, ProverConfig, SrsSource, evm, proof_file};

/// Where the SRS and the key cache come from.
#[derive(Debug, Args)]
pub struct SrsArgs {
    /// A real SRS file (`ParamsKZG<Bn256>`, at least 2^16 points).
    #[arg(long, env = "PROVERNET_SRS")]
    srs: Option<PathBuf>,
    /// Use the dev SRS from a public seed. INSECURE: anyone can forge proofs. Local
    /// testnets and tests only.
    #[arg(long, env = "PROVERNET_DEV_SRS")]
    dev_srs: bool,
    /// Cache for the dev SRS and the proving keys [default: ~/.cache/provernet/circuits].
    #[arg(long, env = "PROVERNET_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// The solc that compiles EVM verifiers (circuit ids derive from their code)
    /// [default: scripts/solc under the working directory, else solc on the PATH].
    #[arg(long, env = "PROVERNET_SOLC")]
    solc: Option<PathBuf>,
}

impl SrsArgs {
    pub(crate) fn prover(&self) -> anyhow::Result<Prover> {
        let srs = SrsSource::choose(self.srs.clone(), self.dev_srs)?;
        let cache_dir = match &self.cache_dir {
            Some(dir) => dir.clone(),
            None => home_cache()?,
        };
        let mut config = ProverConfig::new(srs, cache_dir);
        if let Some(solc) = &self.solc {
            config.solc = solc.clone();
        }
        Ok(Prover::new(&config)?)
    }
}

fn home_cache() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set: pass --cache-dir")?;
    Ok(PathBuf::from(home).join(".cache/provernet/circuits"))
}

/// Largest witness or proof file read. Both are JSON; the largest valid ones (1 MiB of
/// inputs, a 64 KiB proof with 1,024 public inputs, hex-encoded) are a few MiB at most,
/// so a bigger file is refused before it is read into memory.
const MAX_FILE_BYTES: u64 = 16 << 20;

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    String::from_utf8(read_bounded(path, what, MAX_FILE_BYTES as usize)?)
        .with_context(|| format!("reading {what} {}: not UTF-8", path.display()))
}

/// Reads `path` whole if it has at most `limit` bytes; a larger file is refused before
/// more than `limit + 1` bytes are read into memory.
pub(crate) fn read_bounded(
    path: &std::path::Path,
    what: &str,
    limit: usize,
) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let file =
        fs::File::open(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    if bytes.len() > limit {
        bail!(
            "{what} {} is larger than {} MiB; no valid one is",
            path.display(),
            limit >> 20
        );
    }
    Ok(bytes)
}

fn write(path: &PathBuf, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

#[derive(Debug, Subcommand)]
pub enum CircuitsCommand {
    /// List the circuits: name, rows, public inputs, what a proof shows (and ids with --ids).
    List {
        /// Also derive each circuit's id (needs the SRS and builds keys on first use).
        #[arg(long)]
        ids: bool,
        #[command(flatten)]
        srs: SrsArgs,
    },
    /// Print a valid sample witness for a circuit.
    Example {
        /// The circuit's name.
        circuit: Circuit,
    },
    /// Write a circuit's Solidity verifier, its bytecode, and an example proof with its
    /// calldata to a directory.
    ExportVerifier {
        /// The circuit's name.
        #[arg(long)]
        circuit: Circuit,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        srs: SrsArgs,
    },
    /// Deploy a circuit's EVM verifier and register it on the market (anyone may, once
    /// per id): the market measures its gas on a valid proof and derives the id every
    /// node derives; prints it. A model's circuit is named by its architecture
    /// (`model-4-8r-3-s8`).
    Register {
        /// The circuit's name.
        #[arg(long)]
        circuit: Circuit,
        #[command(flatten)]
        target: crate::model::RegisterTarget,
    },
    /// Print the calldata that verifies a proof file on its circuit's EVM verifier.
    Calldata {
        /// The proof JSON written by `provernet prove`.
        #[arg(long)]
        proof: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The circuit's name.
    #[arg(long)]
    circuit: Circuit,
    /// The witness JSON file (`provernet circuits example C` prints one).
    #[arg(long)]
    input: PathBuf,
    /// Where to write the proof and its public inputs (JSON).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    srs: SrsArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The circuit's name; must match the proof file's.
    #[arg(long)]
    circuit: Circuit,
    /// The proof JSON written by `provernet prove`.
    #[arg(long)]
    proof: PathBuf,
    #[command(flatten)]
    srs: SrsArgs,
}

pub fn circuits(command: CircuitsCommand) -> anyhow::Result<()> {
    match command {
        CircuitsCommand::List { ids, srs } => {
            let prover = if ids { Some(srs.prover()?) } else { None };
            println!(
                "{:<20} {:>6} {:>7}  description",
                "circuit", "rows", "public"
            );
            for circuit in Circuit::ALL {
                println!(
                    "{:<20} {:>6} {:>7}  {}",
                    circuit.name(),
                    format!("2^{}", circuit.k()),
                    circuit.num_public_inputs(),
                    circuit.description()
                );
                if let Some(prover) = &prover {
                    println!("{:<20} id {}", "", prover.circuit_id(circuit)?);
                }
            }
            Ok(())
        }
        CircuitsCommand::Example { circuit } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&circuit.example_witness())?
            );
            Ok(())
        }
        CircuitsCommand::ExportVerifier { circuit, out, srs } => {
            let prover = srs.prover()?;
            let keys = prover.verifying_keys(circuit)?;
            let source = evm::solidity_verifier(&keys);
            let verifier = prover.verifier(circuit)?;
            if verifier.runtime.len() > evm::MAX_CODE_SIZE {
                bail!(
                    "the verifier's runtime code is {} bytes, above the EVM limit of {}",
                    verifier.runtime.len(),
                    evm::MAX_CODE_SIZE
                );
            }
            let witness = circuit.parse_witness(&circuit.example_witness())?;
            let proof = prover.prove(&witness)?;
            fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let hex =
                |bytes: &[u8]| format!("0x{}\n", provernet_protocol::primitives::to_hex(bytes));
            write(&out.join("Halo2Verifier.sol"), &source)?;
            write(&out.join("Halo2Verifier.bin"), hex(&verifier.creation))?;
            write(
                &out.join("Halo2Verifier.runtime.bin"),
                hex(&verifier.runtime),
            )?;
            write(&out.join("example-proof.json"), proof_file::to_json(&proof))?;
            write(
                &out.join("example-calldata.hex"),
                hex(&evm::encode_calldata(&proof.public_inputs, &proof.proof)),
            )?;
            println!(
                "{circuit}: id {} (code hash {}), runtime code {} bytes, proof {} bytes; wrote {}",
                verifier.circuit_id,
                verifier.code_hash(),
                verifier.runtime.len(),
                proof.proof.len(),
                out.display()
            );
            Ok(())
        }
        CircuitsCommand::Register { circuit, target } => {
            crate::model::register_circuit(circuit, &target)
        }
        CircuitsCommand::Calldata { proof } => {
            let proof =
                proof_file::from_json(&read(&proof, "proof file")?).map_err(anyhow::Error::msg)?;
            let calldata = evm::encode_calldata(&proof.public_inputs, &proof.proof);
            println!("0x{}", provernet_protocol::primitives::to_hex(&calldata));
            Ok(())
        }
    }
}

pub fn prove(args: ProveArgs) -> anyhow::Result<()> {
    let witness = args
        .circuit
        .parse_witness_str(&read(&args.input, "witness")?)?;
    let prover = args.srs.prover()?;
    let started = std::time::Instant::now();
    let proof = prover.prove(&witness)?;
    write(&args.out, proof_file::to_json(&proof))?;
    println!(
        "{}: proof of {} bytes with {} public inputs in {:.2?}; wrote {}",
        args.circuit,
        proof.proof.len(),
        proof.public_inputs.len(),
        started.elapsed(),
        args.out.display()
    );
    Ok(())
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let proof =
        proof_file::from_json(&read(&args.proof, "proof file")?).map_err(anyhow::Error::msg)?;
    if proof.circuit != args.circuit {
        bail!(
            "the proof file is for {}, not {}",
            proof.circuit,
            args.circuit
        );
    }
    let prover = args.srs.prover()?;
    let id = prover.circuit_id(args.circuit)?;
    if proof.circuit_id != id {
        bail!(
            "the proof file names circuit id {}, but {} under this SRS is {id}",
            proof.circuit_id,
            args.circuit
        );
    }
    prover.verify(args.circuit, &proof.public_inputs, &proof.proof)?;
    println!(
        "valid: {} proof for {} public inputs",
        args.circuit,
        proof.public_inputs.len()
    );
    Ok(())
}
