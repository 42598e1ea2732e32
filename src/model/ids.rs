//! Deterministic trace and span IDs: bijective 64-bit mixing of (seed, stream, sequence, node).
//!
//! `mix64` is the SplitMix64 finaliser, a bijection on u64, so distinct sequence numbers of one
//! stream always give distinct trace keys, and distinct nodes of one trace distinct span IDs.
//! IDs are never all-zero (OTLP treats an all-zero ID as invalid).

/// Golden-ratio increment used to spread consecutive integers over the 64-bit space.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
/// A second odd constant, so node and sequence strides never line up.
const NODE_STRIDE: u64 = 0xd6e8_feb8_6659_fd93;

/// The SplitMix64 finaliser: a fast bijective mix of all 64 bits.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of one stream within a run.
#[inline]
pub fn stream_key(seed: u64, stream: u32) -> u64 {
    mix64(seed ^ mix64(u64::from(stream).wrapping_add(GOLDEN)))
}

/// The key of one trace: a bijection of `seq` for a given stream key.
#[inline(always)]
pub fn trace_key(stream_key: u64, seq: u64) -> u64 {
    stream_key ^ seq.wrapping_mul(GOLDEN)
}

/// The 16-byte trace ID of a trace key (big-endian halves), never all-zero.
#[inline(always)]
pub fn trace_id(trace_key: u64) -> [u8; 16] {
    let hi = mix64(trace_key.wrapping_add(1));
    let mut lo = mix64(trace_key.wrapping_add(2));
    if hi == 0 && lo == 0 {
        lo = 1;
    }
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hi.to_be_bytes());
    id[8..].copy_from_slice(&lo.to_be_bytes());
    id
}

/// The hash of one span, from which its ID and its other random choices derive.
#[inline(always)]
pub fn span_hash(trace_key: u64, node: u16) -> u64 {
    mix64(trace_key.wrapping_add(u64::from(node).wrapping_add(1).wrapping_mul(NODE_STRIDE)))
}

/// The 8-byte span ID of a span hash, never all-zero.
#[inline(always)]
pub fn span_id(span_hash: u64) -> [u8; 8] {
    span_hash.max(1).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_and_never_zero() {
        let key = stream_key(42, 3);
        let mut traces = HashSet::new();
        let mut spans = HashSet::new();
        for seq in 0..10_000u64 {
            let tk = trace_key(key, seq);
            assert!(traces.insert(trace_id(tk)));
            for node in 0..8 {
                let id = span_id(span_hash(tk, node));
                assert_ne!(id, [0; 8]);
                assert!(spans.insert(id));
            }
        }
    }

    #[test]
    fn seed_and_stream_change_every_id() {
        let a = trace_id(trace_key(stream_key(1, 0), 7));
        assert_eq!(a, trace_id(trace_key(stream_key(1, 0), 7)));
        assert_ne!(a, trace_id(trace_key(stream_key(2, 0), 7)));
        assert_ne!(a, trace_id(trace_key(stream_key(1, 1), 7)));
    }
}
