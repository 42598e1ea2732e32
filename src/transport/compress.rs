//! Request-body compression (`--compression gzip|zstd|none`, `--compression-level N`).
//!
//! The generator's CPU is the scarce resource, so a compressor keeps its codec's state from one
//! body to the next (a zstd context, a deflate stream that is reset rather than rebuilt) and
//! each worker thread holds its own ([`with_thread_compressor`]): nothing is allocated per body
//! but the output. gzip is written as one member by hand around a reused raw-deflate stream:
//! the 10-byte header, the deflate data, then the CRC-32 and the length.

use std::cell::RefCell;

use flate2::{Compress, Crc, FlushCompress, Status};

/// Which codec compresses request bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Bodies as they are.
    #[default]
    None,
    /// gzip (`Content-Encoding: gzip`, `grpc-encoding: gzip`).
    Gzip,
    /// Zstandard (`Content-Encoding: zstd`, `grpc-encoding: zstd`).
    Zstd,
}

impl Codec {
    /// The name on the wire (`Content-Encoding`, `grpc-encoding`) and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }

    /// The level used when none is given: the fastest level that still compresses the default
    /// stream well (`scripts/compression.sh` measures every level this offers).
    pub fn default_level(self) -> i32 {
        match self {
            Codec::None => 0,
            Codec::Gzip => 1,
            Codec::Zstd => 1,
        }
    }

    /// The levels this codec accepts, inclusive.
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Codec::None => 0..=0,
            Codec::Gzip => 1..=9,
            // zstd's fast levels go far lower; below -7 the ratio of OTLP falls under 2.
            Codec::Zstd => -7..=19,
        }
    }
}

impl std::str::FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" | "identity" => Ok(Codec::None),
            "gzip" => Ok(Codec::Gzip),
            "zstd" => Ok(Codec::Zstd),
            _ => Err(format!(
                "{s:?} is not a compression; use gzip, zstd or none"
            )),
        }
    }
}

/// A codec and its level, validated: the level is inside [`Codec::levels`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compression {
    codec: Codec,
    level: i32,
}

impl Compression {
    /// No compression.
    pub const NONE: Compression = Compression {
        codec: Codec::None,
        level: 0,
    };

    /// `codec` at `level` (its default when `None`); the error says which levels it accepts.
    pub fn new(codec: Codec, level: Option<i32>) -> Result<Self, String> {
        let range = codec.levels();
        let level = level.unwrap_or(codec.default_level());
        if codec == Codec::None && level != 0 {
            return Err("a level needs a codec (gzip or zstd)".into());
        }
        if !range.contains(&level) {
            return Err(format!(
                "{level} is not a {} level; use {} to {}",
                codec.name(),
                range.start(),
                range.end()
            ));
        }
        Ok(Self { codec, level })
    }

    /// gzip at its default level (what `--gzip` means).
    pub fn gzip() -> Self {
        Self::new(Codec::Gzip, None).expect("the default level is valid")
    }

    /// The codec.
    pub fn codec(self) -> Codec {
        self.codec
    }

    /// The level (0 without a codec).
    pub fn level(self) -> i32 {
        self.level
    }

    /// True unless bodies go out as they are.
    pub fn is_on(self) -> bool {
        self.codec != Codec::None
    }
}

/// Compresses bodies in one [`Compression`], reusing its codec state between bodies.
pub struct Compressor {
    compression: Compression,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    deflate: Option<Compress>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// The fixed gzip member header: magic, deflate, no flags, no time, no extra flags, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

impl Compressor {
    /// A compressor for `compression`.
    pub fn new(compression: Compression) -> Self {
        let zstd = (compression.codec == Codec::Zstd).then(|| {
            zstd::bulk::Compressor::new(compression.level).expect("a validated zstd level")
        });
        let deflate = (compression.codec == Codec::Gzip)
            .then(|| Compress::new(flate2::Compression::new(compression.level as u32), false));
        Self {
            compression,
            zstd,
            deflate,
        }
    }

    /// What this compressor was made for.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// `body` compressed (copied as it is without a codec).
    pub fn compress(&mut self, body: &[u8]) -> Vec<u8> {
        match self.compression.codec {
            Codec::None => body.to_vec(),
            Codec::Zstd => self
                .zstd
                .as_mut()
                .expect("made for zstd")
                .compress(body)
                .expect("zstd compresses into a Vec sized by its bound"),
            Codec::Gzip => gzip_member(self.deflate.as_mut().expect("made for gzip"), body),
        }
    }
}

/// One gzip member of `body`, deflated by `deflate` (reset first).
fn gzip_member(deflate: &mut Compress, body: &[u8]) -> Vec<u8> {
    deflate.reset();
    // A bound deflate never exceeds (stored blocks: 5 bytes per 16 KiB, plus slack).
    let mut out = Vec::with_capacity(GZIP_HEADER.len() + body.len() + body.len() / 1000 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    loop {
        let consumed = deflate.total_in() as usize;
        let status = deflate
            .compress_vec(&body[consumed..], &mut out, FlushCompress::Finish)
            .expect("deflate into a Vec does not fail");
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    let mut crc = Crc::new();
    crc.update(body);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out
}

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's compressor for `compression` (made on first use, and again
/// when another compression is asked for). Each load worker runs on its own thread, so the
/// exporters and the discard sink share one compressor per worker without a lock.
pub fn with_thread_compressor<R>(
    compression: Compression,
    f: impl FnOnce(&mut Compressor) -> R,
) -> R {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(Compressor::compression) != Some(compression) {
            *slot = Some(Compressor::new(compression));
        }
        f(slot.as_mut().expect("just filled"))
    })
}

/// `body` compressed by this thread's compressor for `compression`.
pub fn compress(compression: Compression, body: &[u8]) -> Vec<u8> {
    with_thread_compressor(compression, |c| c.compress(body))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn body() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn gzip_members_inflate_to_the_body_again_and_again() {
        let body = body();
        let mut c = Compressor::new(Compression::new(Codec::Gzip, Some(6)).unwrap());
        for _ in 0..3 {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&c.compress(&body)[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, body);
        }
    }

    #[test]
    fn zstd_frames_decompress_to_the_body() {
        let body = body();
        for level in [-7, 1, 19] {
            let z = compress(Compression::new(Codec::Zstd, Some(level)).unwrap(), &body);
            assert_eq!(zstd::decode_all(&z[..]).unwrap(), body, "level {level}");
            assert!(z.len() < body.len() / 3, "level {level}: {} bytes", z.len());
        }
    }

    #[test]
    fn levels_outside_the_codec_s_range_are_refused() {
        assert!(Compression::new(Codec::Gzip, Some(0)).is_err());
        assert!(Compression::new(Codec::Gzip, Some(10)).is_err());
        assert!(Compression::new(Codec::Zstd, Some(23)).is_err());
        assert!(Compression::new(Codec::None, Some(3)).is_err());
        assert_eq!(
            Compression::new(Codec::None, None).unwrap(),
            Compression::NONE
        );
    }
}
