//! PostgreSQL binary COPY tuples, written and read back. Pure: no IO.
//!
//! The shards encode every row straight into a batch section in this
//! format ([`TupleWriter`]); the PostgreSQL writer sends the sections as
//! they are, between [`HEADER`] and [`TRAILER`], and the embedded store
//! reads them back field by field ([`TupleReader`]). Layout (PostgreSQL
//! docs, "COPY", binary format): per tuple an `int16` field count, then
//! per field an `int32` length (-1 for NULL) and that many octets, in the
//! type's binary send format.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::IpAddr;

/// The binary COPY file header: signature, flags, header extension length.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The binary COPY file trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// The type oid of `text`, as an array's element type.
const TEXT_OID: u32 = 25;

/// Microseconds from the Unix epoch to the PostgreSQL epoch (2000-01-01).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// `inet`/`cidr` address families in their binary format.
const PGSQL_AF_INET: u8 = 2;
const PGSQL_AF_INET6: u8 = 3;

/// Appends tuples to a buffer. Every value is written in place: text is
/// formatted straight into the buffer and its length patched afterwards,
/// so writing a row allocates nothing once the buffer has grown.
#[derive(Debug)]
pub struct TupleWriter<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> TupleWriter<'a> {
    /// Starts a tuple of `fields` fields at the end of `buf`.
    pub fn new(buf: &'a mut Vec<u8>, fields: i16) -> Self {
        buf.extend_from_slice(&fields.to_be_bytes());
        Self { buf }
    }

    /// Goes on with the tuple at the end of `buf` (started by
    /// [`Self::new`]).
    pub fn resume(buf: &'a mut Vec<u8>) -> Self {
        Self { buf }
    }

    /// Fields already encoded (by this writer, in another tuple).
    pub fn raw_fields(&mut self, fields: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(fields);
        self
    }

    /// A NULL.
    pub fn null(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        // Field lengths here are 1 to 20 octets.
        self.buf
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    /// An `int8`.
    pub fn int8(&mut self, v: i64) -> &mut Self {
        self.fixed(&v.to_be_bytes())
    }

    /// An `int4`.
    pub fn int4(&mut self, v: i32) -> &mut Self {
        self.fixed(&v.to_be_bytes())
    }

    /// An `int2`.
    pub fn int2(&mut self, v: i16) -> &mut Self {
        self.fixed(&v.to_be_bytes())
    }

    /// A `bool`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.fixed(&[u8::from(v)])
    }

    /// An `int8`, or NULL.
    pub fn opt_int8(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int8(v),
            None => self.null(),
        }
    }

    /// A `timestamptz` given in microseconds since the Unix epoch.
    pub fn timestamptz(&mut self, unix_us: i64) -> &mut Self {
        self.int8(unix_us.saturating_sub(PG_EPOCH_OFFSET_US))
    }

    /// An `inet` (`cidr: false`, host address) or `cidr` (`cidr: true`)
    /// of `bits` prefix bits.
    pub fn inet(&mut self, addr: IpAddr, bits: u8, cidr: bool) -> &mut Self {
        let mut v = [0u8; 20];
        let n = match addr {
            IpAddr::V4(a) => {
                v[..4].copy_from_slice(&[PGSQL_AF_INET, bits, u8::from(cidr), 4]);
                v[4..8].copy_from_slice(&a.octets());
                8
            }
            IpAddr::V6(a) => {
                v[..4].copy_from_slice(&[PGSQL_AF_INET6, bits, u8::from(cidr), 16]);
                v[4..20].copy_from_slice(&a.octets());
                20
            }
        };
        self.fixed(&v[..n])
    }

    /// A host address as `inet`, or NULL.
    pub fn opt_host(&mut self, addr: Option<IpAddr>) -> &mut Self {
        match addr {
            Some(a) => self.inet(a, if a.is_ipv4() { 32 } else { 128 }, false),
            None => self.null(),
        }
    }

    /// `text` or `bytea` from octets.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = i32::try_from(v.len()).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
        self
    }

    /// `text` or `bytea` from octets, or NULL.
    pub fn opt_bytes(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.bytes(v),
            None => self.null(),
        }
    }

    /// `text`, or NULL.
    pub fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        self.opt_bytes(v.map(str::as_bytes))
    }

    /// A `text[]` of the words of a space-separated list (what
    /// `string_to_array(list, ' ')` makes of it: an empty list is an empty
    /// array), or NULL.
    pub fn text_array(&mut self, list: Option<&[u8]>) -> &mut Self {
        let Some(list) = list else {
            return self.null();
        };
        self.field_with(false, |buf| {
            let words = if list.is_empty() {
                0
            } else {
                list.split(|&b| b == b' ').count()
            };
            // Dimensions, no NULL elements, the element type.
            buf.extend_from_slice(&i32::from(words > 0).to_be_bytes());
            buf.extend_from_slice(&0i32.to_be_bytes());
            buf.extend_from_slice(&TEXT_OID.to_be_bytes());
            if words == 0 {
                return;
            }
            // The one dimension: its length and lower bound.
            let len = i32::try_from(words).unwrap_or(i32::MAX);
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(&1i32.to_be_bytes());
            for word in list.split(|&b| b == b' ') {
                let len = i32::try_from(word.len()).unwrap_or(i32::MAX);
                buf.extend_from_slice(&len.to_be_bytes());
                buf.extend_from_slice(word);
            }
        })
    }

    /// A field whose octets `f` appends in place; NULL when `f` appends
    /// nothing and `null_if_empty`.
    pub fn field_with(&mut self, null_if_empty: bool, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        f(self.buf);
        let len = self.buf.len() - at - 4;
        if len == 0 && null_if_empty {
            self.buf.truncate(at);
            return self.null();
        }
        let len = i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes();
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&len);
        }
        self
    }

    /// `text` formatted in place by `f`; NULL when `f` writes nothing and
    /// `null_if_empty`.
    pub fn text_with(
        &mut self,
        null_if_empty: bool,
        f: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
    ) -> &mut Self {
        // Writing into a Vec cannot fail; a Display impl that fails
        // leaves what it wrote.
        self.field_with(null_if_empty, |buf| {
            let _ = f(&mut Utf8Out(buf));
        })
    }

    /// `text` from a displayable value.
    pub fn display(&mut self, v: impl fmt::Display) -> &mut Self {
        self.text_with(false, |w| write!(w, "{v}"))
    }

    /// Space-separated `text` from displayable values; NULL when there are
    /// none.
    pub fn list<T: fmt::Display>(&mut self, items: impl Iterator<Item = T>) -> &mut Self {
        self.text_with(true, |w| {
            for (i, item) in items.enumerate() {
                if i > 0 {
                    w.write_char(' ')?;
                }
                write!(w, "{item}")?;
            }
            Ok(())
        })
    }
}

/// `fmt::Write` into the tuple buffer.
struct Utf8Out<'a>(&'a mut Vec<u8>);

impl fmt::Write for Utf8Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A malformed tuple section (never from our own writer, but spill files
/// are read back from disk).
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("malformed COPY tuple: {0}")]
pub struct TupleError(&'static str);

impl TupleError {
    /// A column that must not be NULL is.
    pub fn missing(column: &'static str) -> Self {
        Self(column)
    }

    /// A value that is not what the tuple's use needs.
    pub fn invalid(what: &'static str) -> Self {
        Self(what)
    }
}

/// Reads the tuples of a section back.
#[derive(Clone, Debug)]
pub struct TupleReader<'a> {
    rest: &'a [u8],
}

impl<'a> TupleReader<'a> {
    /// Reads `section`, a run of tuples without header or trailer.
    pub fn new(section: &'a [u8]) -> Self {
        Self { rest: section }
    }

    /// The next tuple's fields, or `None` at the end.
    ///
    /// # Errors
    ///
    /// A truncated tuple, or one with a field count other than `fields`.
    pub fn next_tuple(&mut self, fields: usize) -> Result<Option<Fields<'a>>, TupleError> {
        let Some((count, rest)) = self.rest.split_first_chunk::<2>() else {
            return if self.rest.is_empty() {
                Ok(None)
            } else {
                Err(TupleError("truncated field count"))
            };
        };
        if usize::try_from(i16::from_be_bytes(*count)).ok() != Some(fields) {
            return Err(TupleError("unexpected field count"));
        }
        let mut r = rest;
        let start = r;
        for _ in 0..fields {
            let (len, tail) = r
                .split_first_chunk::<4>()
                .ok_or(TupleError("truncated field length"))?;
            let len = i32::from_be_bytes(*len);
            r = match usize::try_from(len) {
                Ok(n) => tail.get(n..).ok_or(TupleError("truncated field"))?,
                Err(_) => tail,
            };
        }
        let used = start.len() - r.len();
        self.rest = r;
        Ok(Some(Fields {
            rest: start.get(..used).unwrap_or_default(),
        }))
    }
}

/// An `int8`/`int4`/`int2`/`bool` field's octets as `i64`.
pub fn int(v: &[u8]) -> Option<i64> {
    Some(match *v {
        [a] => i64::from(a),
        [a, b] => i64::from(i16::from_be_bytes([a, b])),
        [a, b, c, d] => i64::from(i32::from_be_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
        _ => return None,
    })
}

/// The fields of one tuple, read in order.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields not read yet, encoded (all of the tuple's before the
    /// first read), as [`TupleWriter::raw_fields`] takes them.
    pub fn unread(&self) -> &'a [u8] {
        self.rest
    }

    /// The next field's octets, `None` for NULL. Past the last field it
    /// yields NULLs (the tuple was checked by [`TupleReader`]).
    pub fn raw(&mut self) -> Option<&'a [u8]> {
        let (len, tail) = self.rest.split_first_chunk::<4>()?;
        match usize::try_from(i32::from_be_bytes(*len)) {
            Ok(n) => {
                let (v, rest) = tail.split_at_checked(n)?;
                self.rest = rest;
                Some(v)
            }
            Err(_) => {
                self.rest = tail;
                None
            }
        }
    }

    /// An `int8`/`int4`/`int2`/`bool` field as `i64`.
    pub fn int(&mut self) -> Option<i64> {
        int(self.raw()?)
    }

    /// A `timestamptz` field as microseconds since the Unix epoch.
    pub fn timestamptz(&mut self) -> Option<i64> {
        Some(self.int()?.saturating_add(PG_EPOCH_OFFSET_US))
    }

    /// A `text` field.
    pub fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw()?).ok()
    }

    /// An `inet`/`cidr` field as address and prefix bits.
    pub fn inet(&mut self) -> Option<(IpAddr, u8)> {
        match *self.raw()? {
            [PGSQL_AF_INET, bits, _, 4, a, b, c, d] => Some((IpAddr::from([a, b, c, d]), bits)),
            [PGSQL_AF_INET6, bits, _, 16, ref rest @ ..] => {
                let a: [u8; 16] = rest.try_into().ok()?;
                Some((IpAddr::from(a), bits))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut buf = Vec::new();
        TupleWriter::new(&mut buf, 8)
            .int8(-5)
            .int2(7)
            .null()
            .inet("10.1.0.0".parse().unwrap(), 16, true)
            .opt_host(Some("2001:db8::1".parse().unwrap()))
            .list([1, 2, 3].iter())
            .list(std::iter::empty::<u8>())
            .timestamptz(1_000_000);
        TupleWriter::new(&mut buf, 1).bool(true);
        let mut r = TupleReader::new(&buf);
        let mut f = r.next_tuple(8).unwrap().unwrap();
        assert_eq!(f.int(), Some(-5));
        assert_eq!(f.int(), Some(7));
        assert_eq!(f.raw(), None);
        assert_eq!(f.inet(), Some(("10.1.0.0".parse().unwrap(), 16)));
        assert_eq!(f.inet(), Some(("2001:db8::1".parse().unwrap(), 128)));
        assert_eq!(f.text(), Some("1 2 3"));
        assert_eq!(f.text(), None);
        assert_eq!(f.timestamptz(), Some(1_000_000));
        assert_eq!(r.next_tuple(1).unwrap().unwrap().int(), Some(1));
        assert_eq!(r.next_tuple(1).unwrap().map(|_| ()), None);
    }

    #[test]
    fn exact_bytes_of_an_int8_and_a_cidr() {
        let mut buf = Vec::new();
        TupleWriter::new(&mut buf, 2)
            .int8(1)
            .inet("192.0.2.0".parse().unwrap(), 24, true);
        assert_eq!(
            buf,
            [
                0, 2, // two fields
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, // int8 1
                0, 0, 0, 8, 2, 24, 1, 4, 192, 0, 2,
                0, // cidr: AF_INET, /24, is_cidr, 4 octets
            ]
        );
    }

    #[test]
    fn exact_bytes_of_text_arrays() {
        let mut buf = Vec::new();
        TupleWriter::new(&mut buf, 3)
            .text_array(Some(b"1:2 ab"))
            .text_array(Some(b""))
            .text_array(None);
        #[rustfmt::skip]
        let expected = [
            0, 3, // three fields
            0, 0, 0, 33, // 33 octets
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, // one dimension, no NULLs, text
            0, 0, 0, 2, 0, 0, 0, 1, // two elements from 1
            0, 0, 0, 3, b'1', b':', b'2', 0, 0, 0, 2, b'a', b'b',
            0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, // empty
            0xff, 0xff, 0xff, 0xff, // NULL
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn truncated_and_miscounted_tuples_are_errors() {
        let mut buf = Vec::new();
        TupleWriter::new(&mut buf, 1).int8(1);
        assert!(TupleReader::new(&buf).next_tuple(2).is_err());
        assert!(
            TupleReader::new(&buf[..buf.len() - 1])
                .next_tuple(1)
                .is_err()
        );
        assert!(TupleReader::new(&buf[..1]).next_tuple(1).is_err());
    }
}
