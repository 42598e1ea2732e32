//! The field reader: iterates over the fields of a message with absolute offsets into the
//! scanned buffer, and stops after the first error. It is shaped for speed because the
//! pipeline's ingest scanner reads about twelve fields per span with it: the buffer is cut at
//! the message end once, one-byte varints (almost every tag and length) take a single compare,
//! and everything is inlined into the caller. The template encoder uses the same reader.

use super::{Field, Value, WireError};

/// Iterates over the fields of the message in `buf[start..end]`, reporting absolute offsets
/// into `buf`, so nested messages can be scanned without re-slicing arithmetic.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    /// Reads `buf[start..end]`; `end` is clamped to the buffer.
    #[inline]
    pub fn within(buf: &'a [u8], start: usize, end: usize) -> Self {
        let buf = &buf[..end.min(buf.len())];
        Self {
            pos: start.min(buf.len()),
            buf,
        }
    }

    /// Reads a whole buffer.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Reads the body of a length-delimited value found earlier in the same buffer.
    #[inline]
    pub fn nested(buf: &'a [u8], value: Value) -> Option<Self> {
        match value {
            Value::Len { start, end } => Some(Self::within(buf, start, end)),
            _ => None,
        }
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64, WireError> {
        let at = self.pos;
        match self.buf.get(at) {
            Some(&b) if b < 0x80 => {
                self.pos = at + 1;
                Ok(u64::from(b))
            }
            Some(_) => self.varint_slow(at),
            None => Err(WireError::Varint(at)),
        }
    }

    #[cold]
    fn varint_slow(&mut self, at: usize) -> Result<u64, WireError> {
        let mut result = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(WireError::Varint(at));
            };
            self.pos += 1;
            result |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(result);
            }
        }
        Err(WireError::Varint(at))
    }

    #[inline(always)]
    fn take<const N: usize>(&mut self) -> Result<(usize, [u8; N]), WireError> {
        let at = self.pos;
        let bytes = self.buf.get(at..at + N).ok_or(WireError::Truncated(at))?;
        self.pos = at + N;
        Ok((at, bytes.try_into().map_err(|_| WireError::Truncated(at))?))
    }

    #[inline(always)]
    fn field(&mut self) -> Result<Field, WireError> {
        let tag_at = self.pos;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError::Varint(tag_at))?;
        if number == 0 {
            return Err(WireError::FieldZero(tag_at));
        }
        let value = match (key & 7) as u8 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let (at, bytes) = self.take::<8>()?;
                Value::Fixed64 {
                    value: u64::from_le_bytes(bytes),
                    at,
                }
            }
            2 => {
                let len = self.varint()?;
                let start = self.pos;
                let remaining = (self.buf.len() - start) as u64;
                if len > remaining {
                    return Err(WireError::Truncated(start));
                }
                self.pos = start + len as usize;
                Value::Len {
                    start,
                    end: self.pos,
                }
            }
            5 => {
                let (at, bytes) = self.take::<4>()?;
                Value::Fixed32 {
                    value: u32::from_le_bytes(bytes),
                    at,
                }
            }
            other => return Err(WireError::WireType(tag_at, other)),
        };
        Ok(Field {
            number,
            tag_at,
            value,
        })
    }
}

impl Iterator for Fields<'_> {
    type Item = Result<Field, WireError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let item = self.field();
        if item.is_err() {
            // Stop after the first error: what follows cannot be trusted.
            self.pos = self.buf.len();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reference::Reference;

    #[test]
    fn agrees_with_the_reference_reader_on_every_prefix_of_mixed_input() {
        let mut buf = vec![0x08, 0x96, 0x01, 0x12, 0x02, b'a', b'b', 0x19];
        buf.extend_from_slice(&7u64.to_le_bytes());
        buf.push(0x25);
        buf.extend_from_slice(&9u32.to_le_bytes());
        buf.extend_from_slice(&[0x0b, 0xff, 0xff, 0x00, 0x12, 0x80]);
        for end in 0..=buf.len() {
            for start in 0..=end {
                let ours: Vec<_> = Fields::within(&buf, start, end).collect();
                let theirs: Vec<_> = Reference::within(&buf, start, end).collect();
                assert_eq!(ours, theirs, "{start}..{end}");
            }
        }
    }
}
