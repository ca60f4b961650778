//! The length prefix of request-response frames: an unsigned varint (LEB128, at most
//! ten bytes) giving the number of bytes that follow, refused above a maximum before any
//! of them is read (as rust-libp2p's `prost-codec`).
//!
//! This is the pure half of the node's frame codec: the node reads bytes from a stream
//! and pushes them into a [`LengthPrefix`] one at a time, so a fuzzer can drive the same
//! decoder without a network stack. What the frame's bytes mean (a signed envelope, or
//! nothing for an acknowledgement) is not this module's business.

/// The longest prefix, in bytes: ten varint bytes carry 64 bits.
pub const MAX_PREFIX_LEN: usize = 10;

/// Why a length prefix was refused. Both are the sending peer's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame is longer than the limit (the sender's fault when read; the caller's
    /// when written).
    #[error("frame of {len} bytes exceeds the limit of {max_len}")]
    TooLong {
        /// The announced (or given) length.
        len: usize,
        /// The limit.
        max_len: usize,
    },
    /// The prefix did not end within [`MAX_PREFIX_LEN`] bytes (the sender's fault).
    #[error("length prefix too long")]
    PrefixTooLong,
    /// The tenth byte carries bits above 2^64 (the sender's fault).
    #[error("length prefix overflows 64 bits")]
    Overflow,
}

/// An incremental decoder of one length prefix.
///
/// Push bytes until [`LengthPrefix::push`] returns the length or an error; the decoder
/// then starts over, ready for the next prefix.
#[derive(Clone, Copy, Debug)]
pub struct LengthPrefix {
    max_len: usize,
    len: u64,
    read: usize,
}

impl LengthPrefix {
    /// A decoder that refuses lengths above `max_len`.
    pub const fn new(max_len: usize) -> Self {
        Self {
            max_len,
            len: 0,
            read: 0,
        }
    }

    /// Takes the next byte of the prefix: the frame's length once the varint ends,
    /// `None` while it goes on, or an error for a prefix of more than
    /// [`MAX_PREFIX_LEN`] bytes or a length above the maximum.
    pub fn push(&mut self, byte: u8) -> Result<Option<usize>, FrameError> {
        // The tenth byte holds bit 63 only: anything above it would be silently lost.
        if self.read == MAX_PREFIX_LEN - 1 && byte & 0x80 == 0 && byte > 1 {
            *self = Self::new(self.max_len);
            return Err(FrameError::Overflow);
        }
        self.len |= u64::from(byte & 0x7f) << (7 * self.read);
        self.read += 1;
        if byte & 0x80 == 0 {
            let len = usize::try_from(self.len).unwrap_or(usize::MAX);
            *self = Self::new(self.max_len);
            check_len(len, self.max_len)?;
            return Ok(Some(len));
        }
        if self.read >= MAX_PREFIX_LEN {
            *self = Self::new(self.max_len);
            return Err(FrameError::PrefixTooLong);
        }
        Ok(None)
    }
}

/// `Ok` if a frame of `len` bytes is within `max_len`.
pub fn check_len(len: usize, max_len: usize) -> Result<(), FrameError> {
    if len > max_len {
        return Err(FrameError::TooLong { len, max_len });
    }
    Ok(())
}

/// The prefix announcing a frame of `len` bytes (its shortest varint).
pub fn encode_prefix(len: usize) -> Vec<u8> {
    let mut len = len as u64;
    let mut prefix = Vec::with_capacity(MAX_PREFIX_LEN);
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            prefix.push(byte);
            return prefix;
        }
        prefix.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `bytes`; the length and how many bytes it took, or the error.
    fn decode(bytes: &[u8], max_len: usize) -> Result<Option<(usize, usize)>, FrameError> {
        let mut prefix = LengthPrefix::new(max_len);
        for (i, byte) in bytes.iter().enumerate() {
            if let Some(len) = prefix.push(*byte)? {
                return Ok(Some((len, i + 1)));
            }
        }
        Ok(None)
    }

    #[test]
    fn a_prefix_past_64_bits_is_refused_not_wrapped() {
        // Found by the `frame` fuzz target: this used to decode as a length of 0.
        let wraps = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02];
        assert_eq!(decode(&wraps, usize::MAX), Err(FrameError::Overflow));
        let top = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert_eq!(
            decode(&top, usize::MAX),
            Ok(Some((usize::try_from(1u64 << 63).expect("64-bit"), 10)))
        );
    }

    #[test]
    fn prefixes_round_trip() {
        let max = crate::MessageKind::max_envelope_len();
        for (len, width) in [(0, 1), (1, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3)]
            .into_iter()
            .chain([(max, encode_prefix(max).len())])
        {
            let prefix = encode_prefix(len);
            assert_eq!(prefix.len(), width, "{len}");
            assert_eq!(decode(&prefix, max), Ok(Some((len, width))), "{len}");
        }
        assert_eq!(encode_prefix(usize::MAX).len(), MAX_PREFIX_LEN);
        assert_eq!(
            decode(&encode_prefix(usize::MAX), usize::MAX),
            Ok(Some((usize::MAX, MAX_PREFIX_LEN)))
        );
        // A decoder starts over after each prefix.
        let mut prefix = LengthPrefix::new(1_000);
        assert_eq!(prefix.push(0x80 | 3), Ok(None));
        assert_eq!(prefix.push(1), Ok(Some(131)));
        assert_eq!(prefix.push(5), Ok(Some(5)));
    }

    #[test]
    fn over_limit_is_refused() {
        assert_eq!(
            decode(&encode_prefix(1_001), 1_000),
            Err(FrameError::TooLong {
                len: 1_001,
                max_len: 1_000
            })
        );
        assert_eq!(decode(&encode_prefix(1_000), 1_000), Ok(Some((1_000, 2))));
        // 2^40 is refused from its prefix alone.
        assert!(matches!(
            decode(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20], 1 << 20),
            Err(FrameError::TooLong { .. })
        ));
        assert_eq!(
            FrameError::TooLong {
                len: 11,
                max_len: 10
            }
            .to_string(),
            "frame of 11 bytes exceeds the limit of 10"
        );
        assert_eq!(check_len(10, 10), Ok(()));
        assert!(check_len(11, 10).is_err());
    }

    #[test]
    fn an_endless_prefix_is_refused() {
        assert_eq!(
            decode(&[0xff; 11], usize::MAX),
            Err(FrameError::PrefixTooLong)
        );
        // Refused at its tenth byte, before an eleventh is read.
        assert_eq!(
            decode(&[0x80; 10], usize::MAX),
            Err(FrameError::PrefixTooLong)
        );
        assert_eq!(decode(&[0x80; 9], usize::MAX), Ok(None));
        assert_eq!(
            FrameError::PrefixTooLong.to_string(),
            "length prefix too long"
        );
    }
}
