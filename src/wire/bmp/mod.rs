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
