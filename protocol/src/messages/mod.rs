//! Domain messages and their conversion from and to the wire.
//!
//! Every message type converts from its prost type with `TryFrom`, which checks field
//! lengths (fixed-size values become arrays), ranges and cross-field rules, and back with
//! `From<&T>`. The same rules run in [`Payload::check`] before a message is signed, so a
//! node never signs what its peers would reject.

mod chain;
mod exchange;
mod market;

pub use chain::{ChallengeKind, ChallengeNotice, CommitmentNotice, JobLeaf};
pub use exchange::{
    BatchRequest, BatchResponse, InputRequest, InputResponse, ProofBody, ProofRequest,
    ProofResponse, Refusal, Response,
};
pub use market::{Acceptance, Award, Bid, JobRequest, MAX_CIRCUIT_NAME, ProverAdvert, job_id_of};

use crate::kind::MessageKind;
use crate::primitives::Wei;

/// Why a payload is not a valid message. The payload was signed by its sender, so
/// every variant is the sender's fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    /// The bytes are not a protobuf encoding of the message.
    #[error("payload does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A fixed-size field has another length.
    #[error("field `{field}` must be {expected} bytes, got {got}")]
    Length {
        /// The field.
        field: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// An amount does not fit in 128 bits.
    #[error("amount `{field}` is 2^128 wei or more")]
    AmountTooLarge {
        /// The field.
        field: &'static str,
    },
    /// A field that must be non-zero is zero (or empty).
    #[error("field `{field}` must not be zero or empty")]
    Zero {
        /// The field.
        field: &'static str,
    },
    /// An enum field holds the unspecified value or a value this version does not know.
    #[error("field `{field}` holds an unknown value {value}")]
    UnknownEnum {
        /// The field.
        field: &'static str,
        /// The value on the wire.
        value: i32,
    },
    /// A bytes field or a list is longer than this kind allows.
    #[error("field `{field}` has {got} elements or bytes, at most {max} allowed")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The bound.
        max: usize,
        /// What was sent.
        got: usize,
    },
    /// A number is outside the range this kind allows.
    #[error("field `{field}` is {got}, outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
        /// What was sent.
        got: u64,
    },
    /// A list holds the same element twice.
    #[error("field `{field}` holds a duplicate")]
    Duplicate {
        /// The field.
        field: &'static str,
    },
    /// A key is not a valid, non-weak ed25519 public key.
    #[error("field `{field}` is not a valid ed25519 public key")]
    InvalidKey {
        /// The field.
        field: &'static str,
    },
    /// Fields contradict each other.
    #[error("inconsistent message: {0}")]
    Inconsistent(&'static str),
    /// A commitment notice's Merkle path does not lead from its leaf to its root.
    #[error("the Merkle path does not lead from the leaf to the batch root")]
    MerklePath,
}

/// A message that travels in an envelope.
pub trait Payload: Sized {
    /// The envelope kind that carries it.
    const KIND: MessageKind;
    /// Its prost type.
    type Wire: prost::Message + Default + for<'a> From<&'a Self>;

    /// Parses and validates a wire value; the same as the type's `TryFrom`.
    fn from_wire(wire: Self::Wire) -> Result<Self, PayloadError>;

    /// The rules that arrays cannot enforce: ranges and cross-field rules. Parsing runs
    /// them; signing runs them too, so a node never signs what peers reject.
    fn check(&self) -> Result<(), PayloadError>;

    /// Encodes to protobuf bytes.
    fn encode_to_vec(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(&Self::Wire::from(self))
    }

    /// Decodes protobuf bytes and validates them.
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let wire = <Self::Wire as prost::Message>::decode(bytes)?;
        Self::from_wire(wire)
    }
}

/// Implements [`Payload`] and the `TryFrom` that parses then checks, from a type's
/// `parse` (lengths and enums) and `check_rules` (ranges and cross-field rules).
macro_rules! payload {
    ($ty:ident, $wire:ty, $kind:ident) => {
        impl TryFrom<$wire> for $ty {
            type Error = $crate::messages::PayloadError;
            fn try_from(wire: $wire) -> Result<Self, Self::Error> {
                <Self as $crate::messages::Payload>::from_wire(wire)
            }
        }

        impl $crate::messages::Payload for $ty {
            const KIND: $crate::kind::MessageKind = $crate::kind::MessageKind::$kind;
            type Wire = $wire;
            fn from_wire(wire: $wire) -> Result<Self, $crate::messages::PayloadError> {
                let value = Self::parse(wire)?;
                value.check_rules()?;
                Ok(value)
            }
            fn check(&self) -> Result<(), $crate::messages::PayloadError> {
                self.check_rules()
            }
        }
    };
}
pub(crate) use payload;

/// Helpers shared by the conversions.
pub(crate) mod wire {
    use super::PayloadError;
    use crate::primitives::Wei;

    /// A fixed-size field.
    pub(crate) fn fixed<const N: usize, T: From<[u8; N]>>(
        field: &'static str,
        bytes: &[u8],
    ) -> Result<T, PayloadError> {
        let array: [u8; N] = bytes.try_into().map_err(|_| PayloadError::Length {
            field,
            expected: N,
            got: bytes.len(),
        })?;
        Ok(T::from(array))
    }

    /// A list of fixed-size values, at most `max` long.
    pub(crate) fn fixed_list<const N: usize, T: From<[u8; N]>>(
        field: &'static str,
        items: &[Vec<u8>],
        max: usize,
    ) -> Result<Vec<T>, PayloadError> {
        if items.len() > max {
            return Err(PayloadError::TooLong {
                field,
                max,
                got: items.len(),
            });
        }
        items
            .iter()
            .map(|item| fixed::<N, T>(field, item))
            .collect()
    }

    /// An amount: 32 bytes big-endian whose top 16 bytes are zero.
    pub(crate) fn amount(field: &'static str, bytes: &[u8]) -> Result<Wei, PayloadError> {
        let word: [u8; 32] = fixed(field, bytes)?;
        let (high, low) = word.split_at(16);
        if high.iter().any(|b| *b != 0) {
            return Err(PayloadError::AmountTooLarge { field });
        }
        let mut low_bytes = [0u8; 16];
        low_bytes.copy_from_slice(low);
        Ok(Wei::from_be_bytes(low_bytes))
    }

    /// An amount as 32 bytes big-endian.
    pub(crate) fn amount_bytes(value: Wei) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[16..].copy_from_slice(&value.to_be_bytes());
        word
    }

    /// Fails with [`PayloadError::Zero`] when `value` is its type's zero.
    pub(crate) fn nonzero<T: PartialEq + Default>(
        field: &'static str,
        value: T,
    ) -> Result<T, PayloadError> {
        if value == T::default() {
            Err(PayloadError::Zero { field })
        } else {
            Ok(value)
        }
    }

    /// Fails with [`PayloadError::OutOfRange`] unless `min <= value <= max`.
    pub(crate) fn in_range(
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    ) -> Result<(), PayloadError> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(PayloadError::OutOfRange {
                field,
                min,
                max,
                got: value,
            })
        }
    }
}

/// Converts an amount to its wire bytes.
pub(crate) fn amount_to_wire(value: Wei) -> Vec<u8> {
    wire::amount_bytes(value).to_vec()
}
