//! `provernet srs`: a public trusted setup for the network's proofs.
//!
//! `import` turns a snarkjs powers-of-tau file (the BN254 ceremonies' format) into the
//! SRS file nodes read (`--srs`, `proving.srs_file`), after checking every power it keeps
//! (`provernet_circuits::ptau`). It prints the file's hash, which a network file names.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use provernet_circuits::ptau;
use provernet_circuits::srs::MAX_K;

/// `provernet srs …`
#[derive(Debug, Subcommand)]
pub enum SrsCommand {
    /// Read a powers-of-tau file in snarkjs's `.ptau` format, check its points and the
    /// pairing relation between its G1 and G2 powers, keep 2^K powers and write halo2's
    /// SRS file; prints its hash (keccak256), the SRS fingerprint of the network file.
    Import {
        /// The `.ptau` file (a ceremony's, or one made with `snarkjs powersoftau`).
        file: PathBuf,
        /// Keep powers for circuits of up to 2^K rows (nodes need at least 2^16).
        #[arg(long, default_value_t = MAX_K)]
        k: u32,
        /// Where to write the SRS (replaced atomically, never half written).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `provernet srs …`.
pub fn run(command: SrsCommand) -> anyhow::Result<()> {
    match command {
        SrsCommand::Import { file, k, out } => {
            let started = Instant::now();
            let params = ptau::import(&file, k)?;
            let hash =
                ptau::write(&params, &out).with_context(|| format!("writing {}", out.display()))?;
            println!("srs      {}", out.display());
            println!("rows     2^{k}");
            println!("hash     {hash}");
            println!("took     {:.1} s", started.elapsed().as_secs_f64());
            if k < MAX_K {
                println!(
                    "note     nodes of this build need 2^{MAX_K} rows: this file is for tools and tests"
                );
            }
            Ok(())
        }
    }
}
