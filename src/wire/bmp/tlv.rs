//! BMP information TLVs (RFC 7854 §4.4, §4.5, §4.7; RFC 9069 §5.3;
//! RFC 9736).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |          Information Type     |       Information Length      |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 Information (variable)                        |
//!  ~                                                               ~
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::wire::{Reader, WireError};

/// Initiation / Peer Up TLV: free-form UTF-8 string.
pub const TLV_STRING: u16 = 0;
/// Initiation TLV: sysDescr.
pub const TLV_SYS_DESCR: u16 = 1;
/// Initiation TLV: sysName.
pub const TLV_SYS_NAME: u16 = 2;
/// Peer Up / Peer Down TLV: VRF or table name (RFC 9069).
pub const TLV_VRF_TABLE_NAME: u16 = 3;
/// Peer Up TLV: admin label (RFC 8671 / RFC 9736).
pub const TLV_ADMIN_LABEL: u16 = 4;
/// Termination TLV: reason code.
pub const TLV_TERMINATION_REASON: u16 = 1;
/// Route Mirroring TLV: a BGP message.
pub const TLV_BGP_MESSAGE: u16 = 0;
/// Route Mirroring TLV: information code.
pub const TLV_MIRRORING_INFO: u16 = 1;

/// One TLV.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct Tlv<'a> {
    /// Information type.
    pub tlv_type: u16,
    /// The value.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The value as text (lossy view: invalid UTF-8 is `None`).
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }
}

/// A checked sequence of TLVs filling a buffer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct Tlvs<'a>(&'a [u8]);

impl<'a> Tlvs<'a> {
    /// Checks that `buf` is a whole number of TLVs.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            read_tlv(&mut r)?;
        }
        Ok(Self(buf))
    }

    /// The raw octets.
    pub fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// Whether there is no TLV.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The TLVs in order.
    pub fn iter(&self) -> impl Iterator<Item = Tlv<'a>> + 'a {
        let mut r = Reader::new(self.0);
        core::iter::from_fn(move || read_tlv(&mut r).ok())
    }

    /// The first TLV of a type.
    pub fn find(&self, tlv_type: u16) -> Option<Tlv<'a>> {
        self.iter().find(|t| t.tlv_type == tlv_type)
    }
}

fn read_tlv<'a>(r: &mut Reader<'a>) -> Result<Tlv<'a>, WireError> {
    let mut c = *r;
    let tlv_type = c.u16("TLV type")?;
    let len = c.u16("TLV length")?;
    let value = c.take(usize::from(len), "TLV value")?;
    *r = c;
    Ok(Tlv { tlv_type, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlvs() {
        let buf = [0, 2, 0, 3, b'r', b'1', b'x', 0, 1, 0, 0];
        let t = Tlvs::parse(&buf).unwrap();
        assert_eq!(t.find(TLV_SYS_NAME).unwrap().as_str(), Some("r1x"));
        assert_eq!(t.iter().count(), 2);
        assert_eq!(
            Tlvs::parse(&buf[..5]),
            Err(WireError::Truncated("TLV value"))
        );
        assert_eq!(
            Tlvs::parse(&buf[..9]),
            Err(WireError::Truncated("TLV length"))
        );
    }

    #[test]
    fn tlv_edges() {
        assert_eq!(Tlvs::parse(&[0x00]), Err(WireError::Truncated("TLV type")));
        let empty = Tlvs::parse(&[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.iter().count(), 0);
        assert_eq!(empty.find(TLV_STRING), None);
        // A zero-length value, then invalid UTF-8.
        let buf = [0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0xff];
        let t = Tlvs::parse(&buf).unwrap();
        assert_eq!(t.raw(), &buf);
        assert_eq!(t.find(TLV_STRING).unwrap().as_str(), Some(""));
        assert_eq!(t.find(TLV_SYS_DESCR).unwrap().as_str(), None);
        assert_eq!(t.find(TLV_SYS_DESCR).unwrap().value, &[0xff]);
    }
}
