//! BMP messages (RFC 7854, RFC 8671, RFC 9069).
//!
//! [`BmpMessage::parse`] turns a framed message into a typed, borrowed view.
//! The BGP UPDATE inside a Route Monitoring message is parsed separately,
//! with the peer's context ([`route_monitoring::RouteMonitoring::update`]),
//! so that a bad UPDATE never costs the BMP session.

pub mod header;
pub mod messages;
pub mod peer_down;
pub mod peer_up;
pub mod route_monitoring;
pub mod stats;
pub mod tlv;

use self::messages::{Initiation, RouteMirroring, Termination};
use self::peer_down::PeerDown;
use self::peer_up::PeerUp;
use self::route_monitoring::RouteMonitoring;
use self::stats::StatisticsReport;
use super::WireError;
use super::frame::{Frame, MessageType};

/// One BMP message, borrowed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum BmpMessage<'a> {
    /// Route Monitoring.
    RouteMonitoring(RouteMonitoring<'a>),
    /// Statistics Report.
    StatisticsReport(StatisticsReport<'a>),
    /// Peer Down Notification.
    PeerDown(PeerDown<'a>),
    /// Peer Up Notification.
    PeerUp(PeerUp<'a>),
    /// Initiation.
    Initiation(Initiation<'a>),
    /// Termination.
    Termination(Termination<'a>),
    /// Route Mirroring.
    RouteMirroring(RouteMirroring<'a>),
    /// A message type this codec does not know, kept raw.
    Unknown {
        /// The type code.
        msg_type: u8,
        /// The body.
        body: &'a [u8],
    },
}

impl<'a> BmpMessage<'a> {
    /// Parses a framed message.
    pub fn parse(frame: Frame<'a>) -> Result<Self, WireError> {
        let b = frame.body;
        Ok(match frame.msg_type {
            MessageType::RouteMonitoring => Self::RouteMonitoring(RouteMonitoring::parse(b)?),
            MessageType::StatisticsReport => Self::StatisticsReport(StatisticsReport::parse(b)?),
            MessageType::PeerDown => Self::PeerDown(PeerDown::parse(b)?),
            MessageType::PeerUp => Self::PeerUp(PeerUp::parse(b)?),
            MessageType::Initiation => Self::Initiation(Initiation::parse(b)?),
            MessageType::Termination => Self::Termination(Termination::parse(b)?),
            MessageType::RouteMirroring => Self::RouteMirroring(RouteMirroring::parse(b)?),
            MessageType::Unknown(msg_type) => Self::Unknown { msg_type, body: b },
        })
    }

    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Self::RouteMonitoring(_) => MessageType::RouteMonitoring,
            Self::StatisticsReport(_) => MessageType::StatisticsReport,
            Self::PeerDown(_) => MessageType::PeerDown,
            Self::PeerUp(_) => MessageType::PeerUp,
            Self::Initiation(_) => MessageType::Initiation,
            Self::Termination(_) => MessageType::Termination,
            Self::RouteMirroring(_) => MessageType::RouteMirroring,
            Self::Unknown { msg_type, .. } => MessageType::Unknown(*msg_type),
        }
    }

    /// The per-peer header, for messages that have one.
    pub fn peer(&self) -> Option<&header::PerPeerHeader> {
        match self {
            Self::RouteMonitoring(m) => Some(&m.peer),
            Self::StatisticsReport(m) => Some(&m.peer),
            Self::PeerDown(m) => Some(&m.peer),
            Self::PeerUp(m) => Some(&m.peer),
            Self::RouteMirroring(m) => Some(&m.peer),
            Self::Initiation(_) | Self::Termination(_) | Self::Unknown { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_vectors::{self as tv, parse};

    #[test]
    fn every_message_type_dispatches() {
        let peer = Some(tv::peer_global_v4());
        let cases = [
            (
                tv::route_monitoring_v4(),
                MessageType::RouteMonitoring,
                peer,
            ),
            (tv::stats_report(), MessageType::StatisticsReport, peer),
            (
                tv::peer_down_local_notification(),
                MessageType::PeerDown,
                peer,
            ),
            (tv::peer_up_v4(), MessageType::PeerUp, peer),
            (tv::INITIATION.to_vec(), MessageType::Initiation, None),
            (tv::TERMINATION.to_vec(), MessageType::Termination, None),
            (tv::route_mirroring(), MessageType::RouteMirroring, peer),
        ];
        for (bytes, msg_type, peer) in cases {
            let m = parse(&bytes);
            assert_eq!(m.msg_type(), msg_type);
            assert_eq!(m.peer().copied(), peer, "{msg_type:?}");
        }
    }

    #[test]
    fn unknown_message_type_is_kept_raw() {
        #[rustfmt::skip]
        let bytes = [
            0x03,                   // version 3
            0x00, 0x00, 0x00, 0x09, // message length 9
            0x2a,                   // type 42: unassigned
            0xde, 0xad, 0x01,       // body, not interpreted
        ];
        let m = parse(&bytes);
        assert_eq!(
            m,
            BmpMessage::Unknown {
                msg_type: 42,
                body: &[0xde, 0xad, 0x01]
            }
        );
        assert_eq!(m.msg_type(), MessageType::Unknown(42));
        assert_eq!(m.msg_type().name(), "unknown");
        assert_eq!(m.peer(), None);
    }
}
