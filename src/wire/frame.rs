//! BMP framing: finding message boundaries in a byte stream (RFC 7854 §4.1).
//!
//! The framer looks only at the 6-octet common header. It checks the
//! version and bounds the length *before* anyone reserves or reads the body,
//! so a hostile length can never make the collector allocate or wait for
//! gigabytes.

use zerocopy::network_endian::U32;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::WireError;

/// Length of the BMP common header.
pub const COMMON_HEADER_LEN: usize = 6;

/// Default upper bound on one BMP message: a Route Monitoring message with a
/// 65535-octet extended BGP message fits many times over; a larger one is
/// treated as an attack or a desynchronised stream.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 1 << 20;

/// The only BMP version this codec speaks.
pub const BMP_VERSION: u8 = 0x03;

/// The BMP common header as it is on the wire.
///
/// ```text
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +-+-+-+-+-+-+-+-+
///  |    Version    |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                        Message Length                         |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |   Msg. Type   |
///  +---------------+
/// ```
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct RawCommonHeader {
    /// Always 3.
    pub version: u8,
    /// Length of the whole message, common header included.
    pub length: U32,
    /// The message type (see [`MessageType`]).
    pub msg_type: u8,
}

const _: () = assert!(size_of::<RawCommonHeader>() == COMMON_HEADER_LEN);

/// BMP message types (RFC 7854 §10.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum MessageType {
    /// 0
    RouteMonitoring,
    /// 1
    StatisticsReport,
    /// 2
    PeerDown,
    /// 3
    PeerUp,
    /// 4
    Initiation,
    /// 5
    Termination,
    /// 6
    RouteMirroring,
    /// Anything else, kept as is.
    Unknown(u8),
}

impl MessageType {
    /// The type for a code point.
    pub fn from_u8(code: u8) -> Self {
        match code {
            0x00 => Self::RouteMonitoring,
            0x01 => Self::StatisticsReport,
            0x02 => Self::PeerDown,
            0x03 => Self::PeerUp,
            0x04 => Self::Initiation,
            0x05 => Self::Termination,
            0x06 => Self::RouteMirroring,
            other => Self::Unknown(other),
        }
    }

    /// The code point.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::RouteMonitoring => 0x00,
            Self::StatisticsReport => 0x01,
            Self::PeerDown => 0x02,
            Self::PeerUp => 0x03,
            Self::Initiation => 0x04,
            Self::Termination => 0x05,
            Self::RouteMirroring => 0x06,
            Self::Unknown(other) => other,
        }
    }

    /// A stable lower-case name, for logs, metrics and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::RouteMonitoring => "route_monitoring",
            Self::StatisticsReport => "statistics_report",
            Self::PeerDown => "peer_down",
            Self::PeerUp => "peer_up",
            Self::Initiation => "initiation",
            Self::Termination => "termination",
            Self::RouteMirroring => "route_mirroring",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// One complete BMP message, borrowed from the input.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Frame<'a> {
    /// The message type from the common header.
    pub msg_type: MessageType,
    /// The message after the common header; `body.len() + 6` is the
    /// message length.
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Frames the message at the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only the beginning of a message
    /// (read more and call again), and an error when the header can never
    /// start a valid message: then the stream is out of sync and the
    /// connection should be closed.
    pub fn parse(buf: &'a [u8], max_len: usize) -> Result<Option<Self>, WireError> {
        // `transmute_ref!` is checked at compile time (same size, no
        // alignment): no run-time layout computation per message.
        let Some((head, _)) = buf.split_first_chunk::<COMMON_HEADER_LEN>() else {
            // Check the version as soon as its octet is there, so garbage
            // fails fast instead of waiting for six bytes.
            return match buf.first() {
                Some(&v) if v != BMP_VERSION => Err(WireError::BadVersion(v)),
                _ => Ok(None),
            };
        };
        let header: &RawCommonHeader = zerocopy::transmute_ref!(head);
        if header.version != BMP_VERSION {
            return Err(WireError::BadVersion(header.version));
        }
        let len = usize::try_from(header.length.get()).unwrap_or(usize::MAX);
        if len < COMMON_HEADER_LEN || len > max_len {
            return Err(WireError::BadLength("BMP common header"));
        }
        let Some(msg) = buf.get(..len) else {
            return Ok(None);
        };
        let body = msg.get(COMMON_HEADER_LEN..).unwrap_or_default();
        Ok(Some(Self {
            msg_type: MessageType::from_u8(header.msg_type),
            body,
        }))
    }

    /// The length of the whole message on the wire.
    pub fn wire_len(&self) -> usize {
        self.body.len().saturating_add(COMMON_HEADER_LEN)
    }
}

/// Iterates over the messages of a complete in-memory BMP stream.
///
/// Stops at the first error (yielding it once) or at an incomplete tail;
/// [`Frames::remainder`] then tells what was not consumed.
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    buf: &'a [u8],
    max_len: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    /// Frames `buf` with the given bound on one message.
    pub fn new(buf: &'a [u8], max_len: usize) -> Self {
        Self {
            buf,
            max_len,
            failed: false,
        }
    }

    /// The bytes not yet framed: empty after a clean end of stream.
    pub fn remainder(&self) -> &'a [u8] {
        self.buf
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match Frame::parse(self.buf, self.max_len) {
            Ok(Some(frame)) => {
                self.buf = self.buf.get(frame.wire_len()..).unwrap_or_default();
                Some(Ok(frame))
            }
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_more_bytes() {
        let msg = [0x03, 0, 0, 0, 0x0a, 0x04, 0, 0, 0, 0];
        for cut in 0..msg.len() {
            assert_eq!(Frame::parse(&msg[..cut], 64), Ok(None), "cut at {cut}");
        }
        let f = Frame::parse(&msg, 64).unwrap().unwrap();
        assert_eq!(f.msg_type, MessageType::Initiation);
        assert_eq!(f.body, &[0, 0, 0, 0]);
    }

    #[test]
    fn rejects_before_reading_body() {
        assert_eq!(Frame::parse(&[0x01], 64), Err(WireError::BadVersion(1)));
        assert_eq!(
            Frame::parse(&[0x03, 0, 0, 0, 0x05, 0x04], 64),
            Err(WireError::BadLength("BMP common header"))
        );
        assert_eq!(
            Frame::parse(&[0x03, 0xff, 0xff, 0xff, 0xff, 0x00], 64),
            Err(WireError::BadLength("BMP common header"))
        );
    }

    #[test]
    fn frames_iterates_and_reports_tail() {
        let mut stream = vec![0x03, 0, 0, 0, 6, 0x05];
        stream.extend_from_slice(&[0x03, 0, 0, 0, 7, 0x06, 0xaa]);
        stream.extend_from_slice(&[0x03, 0, 0]);
        let mut frames = Frames::new(&stream, 64);
        assert_eq!(
            frames.next().unwrap().unwrap().msg_type,
            MessageType::Termination
        );
        assert_eq!(frames.next().unwrap().unwrap().body, &[0xaa]);
        assert!(frames.next().is_none());
        assert_eq!(frames.remainder(), &[0x03, 0, 0]);
    }

    #[test]
    fn bad_version_in_a_whole_header() {
        for v in [0x00, 0x01, 0x02, 0x04, 0xff] {
            let msg = [v, 0, 0, 0, 6, 0x04];
            assert_eq!(Frame::parse(&msg, 64), Err(WireError::BadVersion(v)));
        }
    }

    #[test]
    fn max_len_is_inclusive() {
        let mut msg = vec![0x03, 0, 0, 0, 10, 0x04];
        msg.extend_from_slice(&[0; 4]);
        assert_eq!(Frame::parse(&msg, 10).unwrap().unwrap().wire_len(), 10);
        assert_eq!(
            Frame::parse(&msg, 9),
            Err(WireError::BadLength("BMP common header"))
        );
        // A header-only message (length 6) is valid: an empty body.
        let f = Frame::parse(&msg[..6], 64);
        assert_eq!(f, Ok(None), "length 10 still needs 4 octets");
        let empty = [0x03, 0, 0, 0, 6, 0x05];
        assert!(Frame::parse(&empty, 6).unwrap().unwrap().body.is_empty());
    }

    #[test]
    fn message_types_round_trip() {
        for code in 0..=u8::MAX {
            let t = MessageType::from_u8(code);
            assert_eq!(t.to_u8(), code);
            assert_eq!(matches!(t, MessageType::Unknown(_)), code > 6);
        }
        let names: Vec<_> = (0..=7).map(|c| MessageType::from_u8(c).name()).collect();
        assert_eq!(
            names,
            [
                "route_monitoring",
                "statistics_report",
                "peer_down",
                "peer_up",
                "initiation",
                "termination",
                "route_mirroring",
                "unknown"
            ]
        );
        let f = Frame::parse(&[0x03, 0, 0, 0, 7, 0xc8, 0x01], 64)
            .unwrap()
            .unwrap();
        assert_eq!(f.msg_type, MessageType::Unknown(200));
    }

    #[test]
    fn frames_yield_an_error_once() {
        let mut stream = vec![0x03, 0, 0, 0, 6, 0x04];
        stream.extend_from_slice(&[0x02, 0, 0, 0, 6, 0x04, 0x03, 0, 0, 0, 6, 0x04]);
        let mut frames = Frames::new(&stream, 64);
        assert!(frames.next().unwrap().is_ok());
        assert_eq!(frames.next(), Some(Err(WireError::BadVersion(2))));
        assert_eq!(frames.next(), None);
        assert_eq!(frames.remainder().len(), 12, "not consumed after the error");
    }
}
