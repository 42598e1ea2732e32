//! The one reader of the protobuf wire format in the crate: minimal and allocation-free.
//!
//! The template encoder uses it to find the byte offsets of fixed-width fields in a batch that
//! prost encoded (so offsets come from parsing, never from searching for magic bytes), and the
//! reference pipeline's ingest scans every request with it without building prost structs. It is
//! safe on any input: every length is checked against the buffer before it is used.

mod fields;
#[cfg(test)]
mod reference;

pub use fields::Fields;

use thiserror::Error;

/// Why a buffer is not valid protobuf.
#[derive(Debug, Error, PartialEq, Eq, Clone, Copy)]
pub enum WireError {
    /// A varint ran past the end of the buffer or over 10 bytes.
    #[error("malformed varint at byte {0}")]
    Varint(usize),
    /// A length-delimited or fixed field runs past the end of the buffer.
    #[error("field at byte {0} runs past the end of its message")]
    Truncated(usize),
    /// Wire types 3, 4 (groups), 6 and 7 are not used by OTLP.
    #[error("unsupported wire type {1} at byte {0}")]
    WireType(usize, u8),
    /// Field number 0 is never valid.
    #[error("field number 0 at byte {0}")]
    FieldZero(usize),
}

/// The value of one field, as positions into the scanned buffer where it has a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1; `at` is the offset of its 8 little-endian bytes.
    Fixed64 { value: u64, at: usize },
    /// Wire type 5; `at` is the offset of its 4 little-endian bytes.
    Fixed32 { value: u32, at: usize },
    /// Wire type 2; the body is `buf[start..end]`.
    Len { start: usize, end: usize },
}

/// One field: its number and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The protobuf field number.
    pub number: u32,
    /// Offset of the field's tag in the buffer.
    pub tag_at: usize,
    /// The value.
    pub value: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type_with_offsets() {
        // field 1 varint 150, field 2 bytes "ab", field 3 fixed64 7, field 4 fixed32 9
        let mut buf = vec![0x08, 0x96, 0x01, 0x12, 0x02, b'a', b'b', 0x19];
        buf.extend_from_slice(&7u64.to_le_bytes());
        buf.push(0x25);
        buf.extend_from_slice(&9u32.to_le_bytes());
        let fields: Vec<_> = Fields::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(fields[0].value, Value::Varint(150));
        assert_eq!(fields[1].value, Value::Len { start: 5, end: 7 });
        assert_eq!(fields[2].value, Value::Fixed64 { value: 7, at: 8 });
        assert_eq!(fields[3].value, Value::Fixed32 { value: 9, at: 17 });
    }

    #[test]
    fn truncated_and_garbage_input_is_an_error_not_a_panic() {
        for buf in [
            &[0x12, 0x05, b'a'][..],
            &[0xff; 11],
            &[0x0b],
            &[0x00, 0x01],
            &[0x19, 1, 2],
        ] {
            let last = Fields::new(buf).last().unwrap();
            assert!(last.is_err(), "{buf:?}");
        }
    }
}
