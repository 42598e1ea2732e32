//! Reading request bodies within limits: the wire size is capped while the body streams in (and
//! up front from `Content-Length`), and gzip and zstd are decompressed into a buffer that stops
//! growing at the decompressed limit, so neither a huge body nor a compression bomb is ever held
//! in memory.

use std::io::Read;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::IngestError;

/// Reads a whole body of at most `limit` bytes.
pub async fn read_limited(
    parts: &http::request::Parts,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(IngestError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(IngestError::TooLarge { limit })
        }
        Err(err) => Err(IngestError::Malformed(format!(
            "could not read the body: {err}"
        ))),
    }
}

/// Inflates gzip into at most `limit` bytes, without ever reserving more than that.
///
/// A gzip member ends with its inflated size (mod 2^32): a body that declares more than
/// `limit` is refused before anything is inflated (the true size is the declared one plus a
/// multiple of 2^32, so it is larger still). A body that lies about it is inflated in
/// chunks into a buffer whose capacity grows by at most doubling and never past `limit + 1`
/// bytes, and refused as soon as it passes `limit`.
pub fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, IngestError> {
    let declared = declared_size(compressed);
    if declared.is_some_and(|n| n > limit) {
        return Err(IngestError::TooLarge { limit });
    }
    let decoder = flate2::read::GzDecoder::new(compressed);
    read_bounded(decoder, declared, compressed.len(), limit, "gzip")
}

/// Decompresses a zstd frame into at most `limit` bytes, as [`gunzip`] inflates gzip: a frame
/// that declares a larger content size is refused before anything is decompressed, and one
/// that lies is cut off as soon as it passes `limit`.
pub fn unzstd(compressed: &[u8], limit: usize) -> Result<Bytes, IngestError> {
    let declared = zstd::zstd_safe::get_frame_content_size(compressed)
        .ok()
        .flatten()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared.is_some_and(|n| n > limit) {
        return Err(IngestError::TooLarge { limit });
    }
    let decoder = zstd::stream::read::Decoder::with_buffer(compressed)
        .map_err(|err| IngestError::Malformed(format!("invalid zstd body: {err}")))?;
    read_bounded(decoder, declared, compressed.len(), limit, "zstd")
}

/// Reads `decoder` to its end into a buffer whose capacity starts at the declared size (or 4
/// times the compressed one), grows by at most doubling and never past `limit + 1` bytes.
fn read_bounded(
    mut decoder: impl Read,
    declared: Option<usize>,
    compressed_len: usize,
    limit: usize,
    codec: &str,
) -> Result<Bytes, IngestError> {
    let cap = limit.saturating_add(1);
    let first = declared
        .unwrap_or(compressed_len.saturating_mul(4))
        .min(cap);
    let mut out = Vec::with_capacity(first);
    let mut chunk = [0u8; 16 << 10];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|err| IngestError::Malformed(format!("invalid {codec} body: {err}")))?;
        if n == 0 {
            return Ok(out.into());
        }
        if out.len() + n > limit {
            return Err(IngestError::TooLarge { limit });
        }
        if out.capacity() - out.len() < n {
            let grown = (out.capacity() * 2).max(out.len() + n).min(cap);
            out.reserve_exact(grown - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// The inflated size a gzip body declares in its trailer (ISIZE, the last four bytes).
fn declared_size(compressed: &[u8]) -> Option<usize> {
    if compressed.len() < 18 || compressed[..2] != [0x1f, 0x8b] {
        return None;
    }
    let tail: [u8; 4] = compressed[compressed.len() - 4..].try_into().ok()?;
    Some(u32::from_le_bytes(tail) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn zstd_round_trips_and_a_zstd_bomb_stops_at_the_limit() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let frame = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(&unzstd(&frame, 1 << 20).unwrap()[..], &data[..]);
        assert!(matches!(
            unzstd(&frame, 1000),
            Err(IngestError::TooLarge { limit: 1000 })
        ));
        // A streamed frame declares no size: it is cut off while decompressing.
        let mut streamed = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut streamed, 3).unwrap();
        encoder.write_all(&vec![0u8; 8 << 20]).unwrap();
        encoder.finish().unwrap();
        assert!(streamed.len() < 4096, "{} bytes", streamed.len());
        assert!(matches!(
            unzstd(&streamed, 1 << 20),
            Err(IngestError::TooLarge { .. })
        ));
        assert!(matches!(
            unzstd(b"not zstd", 1 << 20),
            Err(IngestError::Malformed(_))
        ));
    }

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 64 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 200_000);
        assert!(matches!(
            gunzip(&bomb, 1 << 20),
            Err(IngestError::TooLarge { .. })
        ));
        assert!(matches!(
            gunzip(b"not gzip", 1 << 20),
            Err(IngestError::Malformed(_))
        ));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_declared_bomb_is_refused_before_inflating() {
        // About 1 KiB on the wire, 1 MiB inflated: refused from its trailer alone, so the
        // inflated size is never allocated (an inflating refusal would take the other path).
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(bomb.len() <= 1100, "{}", bomb.len());
        assert_eq!(declared_size(&bomb), Some(1 << 20));
        assert!(matches!(
            gunzip(&bomb, 64 << 10),
            Err(IngestError::TooLarge { limit }) if limit == 64 << 10
        ));
    }

    #[test]
    fn a_lying_trailer_is_still_stopped_at_the_limit() {
        let mut bomb = gzip(&vec![7u8; 4 << 20]);
        let n = bomb.len();
        bomb[n - 4..].copy_from_slice(&100u32.to_le_bytes());
        assert!(matches!(
            gunzip(&bomb, 1 << 20),
            Err(IngestError::TooLarge { .. })
        ));
    }

    #[test]
    fn valid_bodies_inflate_exactly() {
        for len in [0, 1, 100_000, 1 << 20] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let out = gunzip(&gzip(&data), 1 << 20).unwrap();
            assert_eq!(&out[..], &data[..]);
        }
        let data = vec![1u8; (1 << 20) + 1];
        assert!(gunzip(&gzip(&data), 1 << 20).is_err());
    }
}
