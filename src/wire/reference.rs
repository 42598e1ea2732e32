//! A deliberately plain reader of the same contract as [`super::Fields`], written for
//! clarity rather than speed: the fast reader is tested against it on every prefix of mixed and
//! malformed input, so the two can never disagree on a field, an offset or an error.

use super::{Field, Value, WireError};

/// Iterates over the fields of `buf[start..end]`, one plain step at a time.
#[derive(Debug, Clone)]
pub struct Reference<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reference<'a> {
    /// Scans `buf[start..end]`; `end` is clamped to the buffer.
    pub fn within(buf: &'a [u8], start: usize, end: usize) -> Self {
        let end = end.min(buf.len());
        Self {
            buf,
            pos: start.min(end),
            end,
        }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let at = self.pos;
        let mut result = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf[..self.end].get(self.pos) else {
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

    fn take(&mut self, n: usize) -> Result<usize, WireError> {
        let at = self.pos;
        if self.end - self.pos < n {
            return Err(WireError::Truncated(at));
        }
        self.pos += n;
        Ok(at)
    }

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
                let at = self.take(8)?;
                let value = u64::from_le_bytes(self.buf[at..at + 8].try_into().unwrap());
                Value::Fixed64 { value, at }
            }
            5 => {
                let at = self.take(4)?;
                let value = u32::from_le_bytes(self.buf[at..at + 4].try_into().unwrap());
                Value::Fixed32 { value, at }
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated(tag_at))?;
                let start = self.take(len)?;
                Value::Len {
                    start,
                    end: start + len,
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

impl Iterator for Reference<'_> {
    type Item = Result<Field, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let item = self.field();
        if item.is_err() {
            // Stop after the first error: what follows cannot be trusted.
            self.pos = self.end;
        }
        Some(item)
    }
}
