//! Fixed-size values shared by every message: hashes, ids, addresses, amounts, keys.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use sha3::{Digest, Keccak256};

/// keccak256 of `data`, as Ethereum computes it.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak256 over the concatenation of `parts`, without allocating.
pub fn keccak256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Lower-case hex of `bytes`, without a `0x` prefix.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The bytes of a hex string (no prefix; either case), or `None` if it is not hex or
/// has an odd number of digits.
pub fn from_hex(digits: &str) -> Option<Vec<u8>> {
    // `from_str_radix` alone would accept a sign ("+1"): check the digits first.
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(0x{})", stringify!($name), to_hex(&self.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", to_hex(&self.0))
            }
        }
    };
}

fixed_bytes!(
    /// A 32-byte hash (keccak256 unless stated otherwise).
    Hash32,
    32
);
fixed_bytes!(
    /// A job's id: keccak256 of the client's address and nonce (see
    /// [`crate::JobRequest::job_id`]).
    JobId,
    32
);
impl JobId {
    /// A job id from hex text, as API paths carry it: 32 bytes of hex digits (either
    /// case), with or without a `0x` prefix; `None` for anything else.
    pub fn parse_hex(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        from_hex(digits)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Self)
    }
}

fixed_bytes!(
    /// A circuit's id, derived from its verifying key by the circuits crate.
    CircuitId,
    32
);
fixed_bytes!(
    /// An Ethereum account address.
    Address,
    20
);
fixed_bytes!(
    /// A BN254 scalar field element as 32 bytes big-endian: one Halo2 public input.
    /// Range checks against the field modulus belong to the circuits crate.
    FieldBytes,
    32
);
fixed_bytes!(
    /// An envelope's id: keccak256 of its signed bytes. Gossip deduplication and the
    /// replay cache key on it.
    MessageId,
    32
);
fixed_bytes!(
    /// A 65-byte secp256k1 signature (r, s, v) over EIP-712 typed data. Recovering the
    /// signer is the slashing crate's job; here it is carried as opaque bytes.
    EthSignature,
    65
);

/// An amount of wei. The wire carries 32 bytes (the ABI `uint256` layout); this
/// version accepts values below 2^128, which is far beyond any price or stake.
pub type Wei = u128;

/// A peer's ed25519 public key: its libp2p identity and the signer of its envelopes.
///
/// Only keys that decompress to a curve point and are not of small order exist as
/// values of this type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PeerKey(VerifyingKey);

impl PeerKey {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// Parses a compressed public key, refusing points that do not decompress and
    /// weak (small-order) keys, which would let anyone forge signatures.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        (!key.is_weak()).then_some(Self(key))
    }

    /// The compressed key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The dalek key, for verification.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl From<VerifyingKey> for PeerKey {
    fn from(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl std::hash::Hash for PeerKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerKey(0x{})", to_hex(self.as_bytes()))
    }
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", to_hex(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_matches_ethereum() {
        // keccak256("") as every Ethereum client knows it.
        assert_eq!(
            to_hex(&keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(keccak256(b"ab"), keccak256_concat(&[b"a", b"b"]));
    }

    #[test]
    fn hex_round_trips_and_refuses_non_hex() {
        assert_eq!(
            from_hex(&to_hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(from_hex("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(from_hex(""), Some(vec![]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
    }

    #[test]
    fn job_ids_parse_from_hex() {
        let id = JobId([0xab; 32]);
        assert_eq!(JobId::parse_hex(&id.to_string()), Some(id));
        assert_eq!(JobId::parse_hex(&to_hex(&id.0)), Some(id));
        assert_eq!(JobId::parse_hex(&"AB".repeat(32)), Some(id));
        assert_eq!(JobId::parse_hex(&"ab".repeat(31)), None);
        assert_eq!(JobId::parse_hex(&"ab".repeat(33)), None);
        assert_eq!(JobId::parse_hex(&format!("0x0x{}", "ab".repeat(31))), None);
        assert_eq!(JobId::parse_hex(&format!("{}g", "a".repeat(63))), None);
        assert_eq!(JobId::parse_hex(""), None);
        assert_eq!(JobId::parse_hex("0x"), None);
        // Multi-byte characters are refused, not split.
        assert_eq!(JobId::parse_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PeerKey::from_bytes(&identity).is_none());
        // A y-coordinate with no point on the curve.
        let mut not_on_curve = [0u8; 32];
        not_on_curve[0] = 2;
        assert!(PeerKey::from_bytes(&not_on_curve).is_none());
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert!(PeerKey::from_bytes(key.as_bytes()).is_some());
    }
}
