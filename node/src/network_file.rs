//! The network file (`network.toml`): what a node needs to join a network besides its own
//! keys, and what it must find when it gets there.
//!
//! `provernet market deploy --network-out FILE` and `provernet testnet up` write one;
//! `provernet node --network FILE` reads it. The file sets the market, its deployment
//! block and the bootstrap peers (the node's config and flags may add peers); at start the
//! node refuses to run unless the chain's id, the keccak256 of the market's runtime code
//! and the keccak256 of its SRS file are the file's ([`check_chain`], [`check_srs`]), so
//! a wrong RPC, a look-alike contract or another trusted setup is an error, not a fork.
//!
//! ```toml
//! name = "provernet-testnet"
//! chain_id = 31337
//! market = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
//! market_code_hash = "0x…"
//! deploy_block = 1
//! bootstrap = ["/ip4/127.0.0.1/tcp/9000/p2p/12D3Koo…"]
//! circuits = ["poseidon-chain-12"]
//!
//! [srs]
//! hash = "0x…"        # keccak256 of the SRS file (`provernet srs import` prints it)
//! source = "powersOfTau28_hez_final_16.ptau, imported with --k 16"
//! dev = false         # true: the INSECURE dev SRS (local chains only)
//! ```

use std::path::Path;

use ethers::types::{Address, H256};
use provernet_protocol::Hash32;
use serde::Deserialize;

use provernet_circuits::srs::DEV_FINGERPRINT;

use crate::config::{LOCAL_CHAIN_ID, NodeConfig};

/// The largest network file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A network file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// A name for people; not checked.
    #[serde(default)]
    pub name: String,
    /// The chain's id.
    pub chain_id: u64,
    /// The `ProverMarket` contract.
    pub market: Address,
    /// keccak256 of the market's runtime code.
    pub market_code_hash: H256,
    /// The block the market was deployed at (where its events begin).
    #[serde(default)]
    pub deploy_block: u64,
    /// Peers to dial at start (multiaddrs ending in `/p2p/<peer id>`).
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// Circuits registered for the network (for people; provers choose their own).
    #[serde(default)]
    pub circuits: Vec<String>,
    /// The trusted setup.
    pub srs: SrsEntry,
}

/// `[srs]`: the trusted setup every node of the network uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrsEntry {
    /// keccak256 of the SRS file.
    pub hash: H256,
    /// Where to get it, for people.
    #[serde(default)]
    pub source: String,
    /// The INSECURE dev SRS: only on a local chain.
    #[serde(default)]
    pub dev: bool,
}

/// Why a network file cannot be used, or the network is not the file's.
#[derive(Debug, thiserror::Error)]
pub enum NetworkFileError {
    /// The file cannot be read.
    #[error("cannot read the network file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not a network file.
    #[error("network file {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message or the rule broken.
        reason: String,
    },
    /// The chain, its market or the SRS is not the network's.
    #[error("{0}")]
    Mismatch(String),
}

impl NetworkFile {
    /// Reads and checks a network file.
    ///
    /// # Errors
    /// [`NetworkFileError::Read`] or [`NetworkFileError::Parse`].
    pub fn load(path: &Path) -> Result<Self, NetworkFileError> {
        let shown = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|e| NetworkFileError::Read {
                path: shown.clone(),
                reason: e.to_string(),
            })?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(NetworkFileError::Read {
                path: shown,
                reason: format!("{size} bytes; a network file has at most {MAX_FILE_BYTES}"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| NetworkFileError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let file: Self = toml::from_str(&text).map_err(|e| NetworkFileError::Parse {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        file.validate().map_err(|reason| NetworkFileError::Parse {
            path: shown,
            reason,
        })?;
        Ok(file)
    }

    /// The rules of a well-formed file.
    ///
    /// # Errors
    /// The first rule broken, as a sentence.
    pub fn validate(&self) -> Result<(), String> {
        if self.market == Address::zero() {
            return Err("market is the zero address".into());
        }
        if self.srs.hash.0 == DEV_FINGERPRINT.0 && !self.srs.dev {
            return Err(
                "srs.dev = false but srs.hash is the INSECURE dev SRS's: say srs.dev = true".into(),
            );
        }
        if self.srs.dev && self.chain_id != LOCAL_CHAIN_ID {
            return Err(format!(
                "srs.dev = true names the INSECURE dev SRS, allowed on the local chain \
                 {LOCAL_CHAIN_ID} only, not on chain {}",
                self.chain_id
            ));
        }
        for peer in &self.bootstrap {
            let address: libp2p::Multiaddr = peer
                .parse()
                .map_err(|e| format!("bootstrap peer `{peer}` is not a multiaddr: {e}"))?;
            if !matches!(
                address.iter().last(),
                Some(libp2p::multiaddr::Protocol::P2p(_))
            ) {
                return Err(format!(
                    "bootstrap peer `{peer}` does not end in /p2p/<peer id>"
                ));
            }
        }
        Ok(())
    }

    /// The file as TOML (what [`NetworkFile::load`] reads back).
    pub fn to_toml(&self) -> String {
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| toml_string(item)).collect();
            format!("[{}]", quoted.join(", "))
        };
        format!(
            "# A provernet network: `provernet node --network FILE` joins it.\n\
             name = {}\n\
             chain_id = {}\n\
             market = \"{:?}\"\n\
             market_code_hash = \"{:?}\"\n\
             deploy_block = {}\n\
             bootstrap = {}\n\
             circuits = {}\n\
             \n\
             [srs]\n\
             hash = \"{:?}\"\n\
             source = {}\n\
             dev = {}\n",
            toml_string(&self.name),
            self.chain_id,
            self.market,
            self.market_code_hash,
            self.deploy_block,
            list(&self.bootstrap),
            list(&self.circuits),
            self.srs.hash,
            toml_string(&self.srs.source),
            self.srs.dev,
        )
    }

    /// The file's text, checked: its rules hold and it reads back as itself.
    ///
    /// # Errors
    /// The rule broken, or text that does not read back.
    pub fn checked_toml(&self) -> Result<String, String> {
        self.validate()?;
        let text = self.to_toml();
        match toml::from_str::<Self>(&text) {
            Ok(back) if back == *self => Ok(text),
            Ok(_) => Err("the file does not read back as written".into()),
            Err(e) => Err(format!("the file does not read back: {e}")),
        }
    }

    /// Writes the file atomically (a temporary file of this process, then a rename).
    ///
    /// # Errors
    /// A broken rule ([`NetworkFile::checked_toml`]), or the file cannot be written.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = self
            .checked_toml()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".tmp.{}", std::process::id()));
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    }

    /// `market` is this network's market (a `--market` or `chain.market` beside the file).
    ///
    /// # Errors
    /// A sentence naming both.
    pub fn check_market(&self, market: Address) -> Result<(), String> {
        if market == self.market {
            return Ok(());
        }
        Err(format!(
            "{market:?} is not the network file's market {:?}: leave chain.market (--market) \
             unset to act on the network's",
            self.market
        ))
    }

    /// Applies the file to `config`: the market, where its events begin, the bootstrap
    /// peers (added to the config's), the dev SRS when the network uses it, and the
    /// checks [`crate::service::start`] makes.
    pub fn apply(&self, config: &mut NodeConfig) {
        config.chain.market = format!("{:?}", self.market);
        config.chain.from_block = config.chain.from_block.max(self.deploy_block);
        for peer in &self.bootstrap {
            if !config.network.bootstrap.contains(peer) {
                config.network.bootstrap.push(peer.clone());
            }
        }
        config.proving.dev_srs |= self.srs.dev;
        config.joined = Some(self.clone());
    }
}

/// `text` as a TOML basic string: quotes, backslashes and control characters escaped.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The chain a node reached is the network's: its id, and the keccak256 of the code at
/// the market (`market_code`, as `eth_getCode` returns it).
///
/// # Errors
/// [`NetworkFileError::Mismatch`], saying which and what to do.
pub fn check_chain(
    network: &NetworkFile,
    chain_id: u64,
    market_code: &[u8],
) -> Result<(), NetworkFileError> {
    let market_code_hash = H256(provernet_protocol::keccak256(market_code));
    if chain_id != network.chain_id {
        return Err(NetworkFileError::Mismatch(format!(
            "the RPC serves chain {chain_id}, the network file's chain is {}: point \
             chain.rpc_url (--rpc-url) at a node of chain {}",
            network.chain_id, network.chain_id
        )));
    }
    if market_code_hash != network.market_code_hash {
        return Err(NetworkFileError::Mismatch(format!(
            "the code at the market {:?} hashes to {market_code_hash:?}, the network file says \
             {:?}: this is not the network's market (a wrong chain, or a look-alike contract)",
            network.market, network.market_code_hash
        )));
    }
    Ok(())
}

/// The node's SRS is the network's.
///
/// # Errors
/// [`NetworkFileError::Mismatch`], saying what to do.
pub fn check_srs(network: &NetworkFile, fingerprint: Hash32) -> Result<(), NetworkFileError> {
    if H256(fingerprint.0) != network.srs.hash {
        let source = if network.srs.source.is_empty() {
            String::new()
        } else {
            format!(" (source: {})", network.srs.source)
        };
        let what = if network.srs.dev {
            "the network runs on the dev SRS: drop proving.srs_file (--srs)"
        } else {
            "pass the network's SRS file (proving.srs_file, --srs)"
        };
        return Err(NetworkFileError::Mismatch(format!(
            "this node's SRS hashes to {fingerprint}, the network's to {:?}{source}: its proofs \
             and keys would not be the network's; {what}",
            network.srs.hash
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &[u8] = b"the market's runtime code";

    fn example() -> NetworkFile {
        NetworkFile {
            name: "test \"net\" \\ \u{7}".into(),
            chain_id: LOCAL_CHAIN_ID,
            market: Address::repeat_byte(0x11),
            market_code_hash: H256(provernet_protocol::keccak256(CODE)),
            deploy_block: 7,
            bootstrap: vec![
                "/ip4/127.0.0.1/tcp/9000/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                    .into(),
            ],
            circuits: vec!["poseidon-chain-12".into()],
            srs: SrsEntry {
                hash: H256(DEV_FINGERPRINT.0),
                source: "dev".into(),
                dev: true,
            },
        }
    }

    fn load_text(text: &str) -> Result<NetworkFile, NetworkFileError> {
        let dir = std::env::temp_dir().join(format!("netfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(format!("{:x}.toml", text.len()));
        std::fs::write(&path, text).expect("write");
        NetworkFile::load(&path)
    }

    #[test]
    fn a_written_file_reads_back() {
        let file = example();
        assert_eq!(load_text(&file.to_toml()).expect("loads"), file);
    }

    #[test]
    fn bad_files_are_refused_with_the_rule() {
        let text = example().to_toml();
        let cases = [
            (
                text.replace("dev = true", "dev = true\nextra = 1"),
                "unknown field",
            ),
            (
                text.replace("chain_id = 31337", "chain_id = 1"),
                "local chain 31337 only",
            ),
            (
                text.replace(
                    &format!("{:?}", Address::repeat_byte(0x11)),
                    &format!("{:?}", Address::zero()),
                ),
                "zero address",
            ),
            (
                text.replace(
                    "/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
                    "",
                ),
                "does not end in /p2p",
            ),
            (
                text.replace("market_code_hash", "# market_code_hash"),
                "missing field",
            ),
            (
                text.replace("dev = true", "dev = false"),
                "srs.dev = false but srs.hash is",
            ),
        ];
        for (text, expected) in cases {
            let error = load_text(&text).expect_err(expected).to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn another_chain_market_or_srs_is_refused() {
        let file = example();
        assert!(check_chain(&file, LOCAL_CHAIN_ID, CODE).is_ok());
        let error = check_chain(&file, 1, CODE).expect_err("chain");
        assert!(error.to_string().contains("serves chain 1"), "{error}");
        let error = check_chain(&file, LOCAL_CHAIN_ID, b"a look-alike").expect_err("code");
        assert!(file.check_market(file.market).is_ok());
        let error_market = file
            .check_market(Address::repeat_byte(9))
            .expect_err("market");
        assert!(
            error_market.contains("is not the network file's market"),
            "{error_market}"
        );
        assert!(
            error.to_string().contains("not the network's market"),
            "{error}"
        );
        assert!(check_srs(&file, Hash32(file.srs.hash.0)).is_ok());
        let error = check_srs(&file, Hash32([1; 32])).expect_err("srs");
        assert!(error.to_string().contains("(source: dev)"), "{error}");
    }

    #[test]
    fn applying_sets_the_market_and_adds_peers() {
        let file = example();
        let mut config = NodeConfig::default();
        config.network.bootstrap = vec![file.bootstrap[0].clone(), "/ip4/10.0.0.1/tcp/1".into()];
        file.apply(&mut config);
        assert_eq!(config.chain.market, format!("{:?}", file.market));
        assert_eq!(config.chain.from_block, 7);
        assert_eq!(config.network.bootstrap.len(), 2, "no peer twice");
        assert!(config.proving.dev_srs);
        assert_eq!(config.joined.as_ref(), Some(&file));
    }
}
