//! The BGP message header (RFC 4271 §4.1) and the small messages:
//! NOTIFICATION (§4.5) and KEEPALIVE.

use crate::wire::{Reader, WireError};

/// BGP message type: OPEN.
pub const MSG_OPEN: u8 = 1;
/// BGP message type: UPDATE.
pub const MSG_UPDATE: u8 = 2;
/// BGP message type: NOTIFICATION.
pub const MSG_NOTIFICATION: u8 = 3;
/// BGP message type: KEEPALIVE.
pub const MSG_KEEPALIVE: u8 = 4;
/// BGP message type: ROUTE-REFRESH.
pub const MSG_ROUTE_REFRESH: u8 = 5;

/// Length of the BGP header.
pub const HEADER_LEN: usize = 19;
/// Largest BGP message, with the extended message capability (RFC 8654).
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// One BGP message, borrowed.
///
/// ```text
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                                                               |
///  +                           Marker (16)                         +
///  |                                                               |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |          Length               |      Type     |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BgpMessage<'a> {
    /// The message type.
    pub msg_type: u8,
    /// The message after the 19-octet header.
    pub body: &'a [u8],
}

impl<'a> BgpMessage<'a> {
    /// Reads the BGP message at the start of `r`, leaving `r` after it.
    pub fn read(r: &mut Reader<'a>) -> Result<Self, WireError> {
        let mut m = *r;
        let marker = m.array::<16>("BGP marker")?;
        if marker != [0xff; 16] {
            return Err(WireError::BadMarker);
        }
        let len = usize::from(m.u16("BGP length")?);
        let msg_type = m.u8("BGP type")?;
        if len < HEADER_LEN {
            return Err(WireError::BadLength("BGP header"));
        }
        let body = m.take(len.saturating_sub(HEADER_LEN), "BGP message")?;
        *r = m;
        Ok(Self { msg_type, body })
    }

    /// Parses exactly one BGP message filling `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        let m = Self::read(&mut r)?;
        r.expect_empty("BGP message")?;
        Ok(m)
    }

    /// The body, if this is a message of type `t`.
    pub fn expect(&self, t: u8) -> Result<&'a [u8], WireError> {
        if self.msg_type == t {
            Ok(self.body)
        } else {
            Err(WireError::UnexpectedBgpType(self.msg_type))
        }
    }
}

/// A NOTIFICATION message.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Notification<'a> {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: &'a [u8],
}

impl<'a> Notification<'a> {
    /// Parses a NOTIFICATION body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        Ok(Self {
            code: r.u8("NOTIFICATION code")?,
            subcode: r.u8("NOTIFICATION subcode")?,
            data: r.take_rest(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&[0, 21, MSG_NOTIFICATION, 6, 2]);
        let msg = BgpMessage::parse(&m).unwrap();
        let n = Notification::parse(msg.expect(MSG_NOTIFICATION).unwrap()).unwrap();
        assert_eq!((n.code, n.subcode, n.data), (6, 2, &[][..]));
        assert_eq!(msg.expect(MSG_OPEN), Err(WireError::UnexpectedBgpType(3)));
        m[0] = 0;
        assert_eq!(BgpMessage::parse(&m), Err(WireError::BadMarker));
        m[0] = 0xff;
        m[17] = 18;
        assert_eq!(
            BgpMessage::parse(&m),
            Err(WireError::BadLength("BGP header"))
        );
        m[17] = 22;
        assert_eq!(
            BgpMessage::parse(&m),
            Err(WireError::Truncated("BGP message"))
        );
        m[17] = 20;
        assert_eq!(
            BgpMessage::parse(&m),
            Err(WireError::TrailingBytes("BGP message"))
        );
    }

    #[test]
    fn small_messages_and_read_leaves_the_rest() {
        let keepalive = crate::wire::test_vectors::bgp(MSG_KEEPALIVE, &[]);
        let refresh = crate::wire::test_vectors::bgp(MSG_ROUTE_REFRESH, &[&[0, 1, 0, 1]]);
        let stream = [&keepalive[..], &refresh].concat();
        let mut r = Reader::new(&stream);
        let k = BgpMessage::read(&mut r).unwrap();
        assert_eq!((k.msg_type, k.body), (MSG_KEEPALIVE, &[][..]));
        assert_eq!(r.len(), refresh.len());
        let rr = BgpMessage::read(&mut r).unwrap();
        assert_eq!(
            (rr.msg_type, rr.body),
            (MSG_ROUTE_REFRESH, &[0, 1, 0, 1][..])
        );
        assert!(r.is_empty());
        // A failed read leaves the reader where it was.
        let mut r = Reader::new(&keepalive[..18]);
        assert_eq!(
            BgpMessage::read(&mut r),
            Err(WireError::Truncated("BGP type"))
        );
        assert_eq!(r.len(), 18);
        // NOTIFICATION data is kept raw.
        let n = Notification::parse(&[2, 2, 0xfd, 0xe8]).unwrap();
        assert_eq!((n.code, n.subcode, n.data), (2, 2, &[0xfd, 0xe8][..]));
        assert_eq!(
            Notification::parse(&[]),
            Err(WireError::Truncated("NOTIFICATION code"))
        );
    }
}
