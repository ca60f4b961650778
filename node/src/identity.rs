//! The node's keys: its ed25519 identity (libp2p peer id and envelope signer), created
//! on first start in the data dir, and its Ethereum key, from a file or the environment.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;
use ethers::signers::{LocalWallet, Signer};
use provernet_protocol::primitives::{from_hex, to_hex};
use rand_core::{OsRng, RngCore};

/// The identity file's name in the data dir.
pub const IDENTITY_FILE: &str = "identity.key";

/// Why keys cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The contents are not a key.
    #[error("{what} is not a 32-byte hex private key")]
    Malformed {
        /// Which key, and where it came from.
        what: String,
    },
    /// No Ethereum key was configured.
    #[error("no Ethereum key: set chain.key_file, or the environment variable {env}")]
    MissingEth {
        /// The variable looked at.
        env: String,
    },
}

/// Both keys.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The ed25519 identity.
    pub identity: SigningKey,
    /// The Ethereum signer, with the chain id set.
    pub wallet: LocalWallet,
}

impl Keys {
    /// The libp2p keypair of the identity.
    pub fn libp2p(&self) -> libp2p::identity::Keypair {
        let mut secret = self.identity.to_bytes();
        libp2p::identity::Keypair::ed25519_from_bytes(&mut secret)
            .expect("an ed25519 secret key is any 32 bytes")
    }
}

fn io_error(path: &Path, e: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Loads the identity from `data_dir`, creating it (mode 0600) on first start.
///
/// # Errors
/// [`KeyError`].
pub fn load_or_create_identity(data_dir: &Path) -> Result<SigningKey, KeyError> {
    load_or_create_secret(data_dir, IDENTITY_FILE, "identity file")
        .map(|(secret, _)| SigningKey::from_bytes(&secret))
}

/// The API's bearer token file's name in the data dir.
pub const API_TOKEN_FILE: &str = "api-token";

/// Loads the API's bearer token (64 hex characters) from `data_dir`, creating it (mode
/// 0600) on first start: mutating endpoints require it, and reads off loopback (`api.rs`).
///
/// # Errors
/// [`KeyError`].
pub fn load_or_create_api_token(data_dir: &Path) -> Result<String, KeyError> {
    // As the file holds it (an operator may have written it in capitals, or with 0x):
    // clients send the file's text.
    load_or_create_secret(data_dir, API_TOKEN_FILE, "API token file").map(|(_, text)| text)
}

/// 32 secret bytes kept as hex in `data_dir/file`, which is created with fresh random
/// bytes, readable by its owner only, when it does not exist; with the file's text,
/// trimmed.
fn load_or_create_secret(
    data_dir: &Path,
    file: &str,
    what: &str,
) -> Result<([u8; 32], String), KeyError> {
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_secret(text.trim())
            .map(|secret| (secret, text.trim().to_owned()))
            .ok_or_else(|| KeyError::Malformed {
                what: format!("{what} {}", path.display()),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(|e| io_error(data_dir, e))?;
            let mut secret = [0u8; 32];
            OsRng.fill_bytes(&mut secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).map_err(|e| io_error(&path, e))?;
            file.write_all(to_hex(&secret).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(&path, e))?;
            Ok((secret, to_hex(&secret)))
        }
        Err(e) => Err(io_error(&path, e)),
    }
}

fn parse_secret(text: &str) -> Option<[u8; 32]> {
    from_hex(text.strip_prefix("0x").unwrap_or(text))
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

/// The Ethereum key from `file`, else from the environment variable `env`.
///
/// # Errors
/// [`KeyError`].
pub fn load_eth_key(
    file: Option<&Path>,
    env: &str,
    chain_id: u64,
) -> Result<LocalWallet, KeyError> {
    let (text, what) = match file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| io_error(path, e))?,
            format!("Ethereum key file {}", path.display()),
        ),
        None => (
            std::env::var(env).map_err(|_| KeyError::MissingEth {
                env: env.to_owned(),
            })?,
            format!("environment variable {env}"),
        ),
    };
    let secret =
        parse_secret(text.trim()).ok_or_else(|| KeyError::Malformed { what: what.clone() })?;
    LocalWallet::from_bytes(&secret)
        .map(|w| w.with_chain_id(chain_id))
        .map_err(|_| KeyError::Malformed { what })
}

/// The libp2p peer id of an ed25519 public key.
pub fn peer_id_of(key: &provernet_protocol::PeerKey) -> Option<libp2p::PeerId> {
    libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .ok()
        .map(|k| libp2p::identity::PublicKey::from(k).to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_created_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create_identity(dir.path()).expect("create");
        let again = load_or_create_identity(dir.path()).expect("load");
        assert_eq!(first.to_bytes(), again.to_bytes());
        std::fs::write(dir.path().join(IDENTITY_FILE), "zz").expect("write");
        assert!(matches!(
            load_or_create_identity(dir.path()),
            Err(KeyError::Malformed { .. })
        ));
        let keys = Keys {
            identity: first.clone(),
            wallet: LocalWallet::from_bytes(&[1; 32]).expect("key"),
        };
        let key = provernet_protocol::PeerKey::from(first.verifying_key());
        assert_eq!(peer_id_of(&key), Some(keys.libp2p().public().to_peer_id()));
    }

    #[test]
    fn the_api_token_is_created_once_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = load_or_create_api_token(dir.path()).expect("create");
        assert_eq!(token.len(), 64);
        assert_eq!(load_or_create_api_token(dir.path()).expect("load"), token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(API_TOKEN_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another node's data dir, another token.
        let other = tempfile::tempdir().expect("tempdir");
        assert_ne!(
            load_or_create_api_token(other.path()).expect("create"),
            token
        );
    }

    #[test]
    fn eth_key_comes_from_file_or_env_and_says_which_is_missing() {
        let error = load_eth_key(None, "PROVERNET_TEST_NO_SUCH_VAR", 1).expect_err("missing");
        assert!(error.to_string().contains("PROVERNET_TEST_NO_SUCH_VAR"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("eth.key");
        std::fs::write(&path, format!("0x{}\n", "11".repeat(32))).expect("write");
        let wallet = load_eth_key(Some(&path), "X", 31_337).expect("load");
        assert_eq!(wallet.chain_id(), 31_337);
    }
}
