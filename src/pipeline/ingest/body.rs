//! Reading request bodies within limits: the wire size is capped while the body streams in (and
//! up front from `Content-Length`), and gzip is inflated into a buffer that stops growing at
//! the decompressed limit, so neither a huge body nor a gzip bomb is ever held in memory.

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

/// Inflates gzip into at most `limit` bytes.
pub fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, IngestError> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    let mut decoder = flate2::read::GzDecoder::new(compressed).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|err| IngestError::Malformed(format!("invalid gzip body: {err}")))?;
    if out.len() > limit {
        return Err(IngestError::TooLarge { limit });
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
}
