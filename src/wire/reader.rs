//! A cursor over borrowed bytes.
//!
//! Every read either succeeds and advances, or fails with
//! [`WireError::Truncated`] and leaves the reader where it was, so a caller
//! can try an alternative reading of the same bytes.

use super::WireError;

/// A cursor over `&'a [u8]`.
///
/// Invariant: `buf` is the unread rest of the input; reads only shrink it.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// How many bytes are left.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let (head, tail) = self
            .buf
            .split_at_checked(n)
            .ok_or(WireError::Truncated(what))?;
        self.buf = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let (head, tail) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or(WireError::Truncated(what))?;
        self.buf = tail;
        Ok(*head)
    }

    /// Takes a sub-reader over the next `n` bytes.
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Self, WireError> {
        self.take(n, what).map(Self::new)
    }

    /// Takes everything that is left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    /// Reads one octet.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        self.array::<1>(what).map(|[b]| b)
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        self.array(what).map(u16::from_be_bytes)
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        self.array(what).map(u32::from_be_bytes)
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        self.array(what).map(u64::from_be_bytes)
    }

    /// The next item of a sequence: `None` when the input is used up,
    /// else what `read` makes of it. `read` works on a copy that is kept
    /// only on success; after an error the reader is emptied, so a
    /// sequence yields its first error once and then ends.
    pub fn next_item<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Option<Result<T, WireError>> {
        if self.is_empty() {
            return None;
        }
        let mut c = *self;
        let res = read(&mut c);
        *self = if res.is_ok() { c } else { Self::new(&[]) };
        Some(res)
    }

    /// Fails with [`WireError::TrailingBytes`] unless everything was read.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_read_leaves_reader_untouched() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32("x"), Err(WireError::Truncated("x")));
        assert_eq!(r.len(), 3);
        assert_eq!(r.u16("x"), Ok(0x0102));
        assert_eq!(r.take(2, "y"), Err(WireError::Truncated("y")));
        assert_eq!(r.u8("z"), Ok(3));
        assert!(r.is_empty());
        assert_eq!(r.expect_empty("end"), Ok(()));
    }

    #[test]
    fn sub_and_trailing() {
        let mut r = Reader::new(&[0, 1, 2, 3, 4]);
        let mut s = r.sub(2, "s").unwrap();
        assert_eq!(s.u16("v"), Ok(1));
        assert_eq!(r.rest(), &[2, 3, 4]);
        assert_eq!(r.expect_empty("t"), Err(WireError::TrailingBytes("t")));
        assert_eq!(r.array::<2>("a"), Ok([2, 3]));
        assert_eq!(r.take_rest(), &[4]);
    }
}
