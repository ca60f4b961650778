//! Request-response framing: one unsigned-varint length prefix, then that many bytes,
//! refused above a maximum before anything is read (as rust-libp2p's `prost-codec`).
//!
//! Requests and responses are signed envelopes; an empty response frame acknowledges a
//! pushed proof. What the bytes mean is the node's business, not the codec's.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::Codec;

/// The protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/provernet/exchange/1");

/// Length-limited frames of bytes.
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    /// The longest frame read or written.
    pub max_len: usize,
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max_len: usize,
) -> io::Result<Vec<u8>> {
    let mut len: u64 = 0;
    let mut byte = [0u8; 1];
    for i in 0..10 {
        io.read_exact(&mut byte).await?;
        len |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > max_len {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("frame of {len} bytes exceeds the limit of {max_len}"),
                ));
            }
            let mut buffer = vec![0u8; len];
            io.read_exact(&mut buffer).await?;
            return Ok(buffer);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "length prefix too long",
    ))
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    data: &[u8],
    max_len: usize,
) -> io::Result<()> {
    if data.len() > max_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "frame of {} bytes exceeds the limit of {max_len}",
                data.len()
            ),
        ));
    }
    let mut len = data.len() as u64;
    let mut prefix = Vec::with_capacity(10);
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            prefix.push(byte);
            break;
        }
        prefix.push(byte | 0x80);
    }
    io.write_all(&prefix).await?;
    io.write_all(data).await?;
    io.close().await
}

impl Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.max_len).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_len).await
    }
}

#[cfg(test)]
mod tests {
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;

    use super::*;

    #[test]
    fn frames_round_trip_and_oversize_is_refused_before_reading() {
        block_on(async {
            for len in [0usize, 1, 127, 128, 300, 70_000] {
                let data = vec![7u8; len];
                let mut out = Cursor::new(Vec::new());
                write_frame(&mut out, &data, 100_000).await.expect("write");
                let mut input = Cursor::new(out.into_inner());
                assert_eq!(read_frame(&mut input, 100_000).await.expect("read"), data);
            }
            // A prefix announcing 2^40 bytes is refused without allocating them.
            let mut input = Cursor::new(vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
            let error = read_frame(&mut input, 1 << 20)
                .await
                .expect_err("oversized");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            // An endless prefix is refused.
            let mut input = Cursor::new(vec![0xff; 11]);
            assert!(read_frame(&mut input, 1 << 20).await.is_err());
            // A truncated body is an error, not a short frame.
            let mut input = Cursor::new(vec![5, 1, 2]);
            assert!(read_frame(&mut input, 1 << 20).await.is_err());
            let mut out = Cursor::new(Vec::new());
            assert!(write_frame(&mut out, &[0; 11], 10).await.is_err());
        });
    }
}
