//! Request-response framing: one unsigned-varint length prefix, then that many bytes,
//! refused above a maximum before anything is read (as rust-libp2p's `prost-codec`).
//! The prefix itself is [`provernet_protocol::frame`]'s; this module reads and writes it
//! on a stream.
//!
//! Requests and responses are signed envelopes; an empty response frame acknowledges a
//! pushed proof. What the bytes mean is the node's business, not the codec's.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::Codec;
use provernet_protocol::frame::{self, LengthPrefix};

/// The protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/provernet/exchange/1");

/// Length-limited frames of bytes.
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    /// The longest request frame read or written.
    pub max_request: usize,
    /// The longest response frame read or written.
    pub max_response: usize,
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max_len: usize,
) -> io::Result<Vec<u8>> {
    let mut prefix = LengthPrefix::new(max_len);
    let mut byte = [0u8; 1];
    let len = loop {
        io.read_exact(&mut byte).await?;
        match prefix.push(byte[0]) {
            Ok(Some(len)) => break len,
            Ok(None) => {}
            Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
        }
    };
    let mut buffer = vec![0u8; len];
    io.read_exact(&mut buffer).await?;
    Ok(buffer)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    data: &[u8],
    max_len: usize,
) -> io::Result<()> {
    frame::check_len(data.len(), max_len)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    io.write_all(&frame::encode_prefix(data.len())).await?;
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
        read_frame(io, self.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response).await
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
        write_frame(io, &req, self.max_request).await
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
        write_frame(io, &res, self.max_response).await
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
