//! Peer Down Notification (RFC 7854 §4.9, RFC 9069 §5.4).

use super::header::PerPeerHeader;
use super::tlv::Tlvs;
use crate::wire::bgp::message::{BgpMessage, MSG_NOTIFICATION, Notification};
use crate::wire::{Reader, WireError};

/// Why the session went down.
///
/// ```text
///   0 1 2 3 4 5 6 7 8
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |    Reason     |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |            Data (present if Reason = 1, 2, 3 or 6)            |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PeerDownReason<'a> {
    /// 1: the local system closed the session with this NOTIFICATION.
    LocalNotification(Notification<'a>),
    /// 2: the local system closed the session without a NOTIFICATION;
    /// the FSM event code.
    LocalNoNotification(u16),
    /// 3: the remote system closed the session with this NOTIFICATION.
    RemoteNotification(Notification<'a>),
    /// 4: the remote system closed the session without a NOTIFICATION.
    RemoteNoData,
    /// 5: the peer was de-configured.
    PeerDeconfigured,
    /// 6: the local system closed the session, with information TLVs
    /// (RFC 9069).
    LocalSystemClosed(Tlvs<'a>),
    /// Any other reason, data kept raw.
    Unknown {
        /// Reason code.
        code: u8,
        /// Data.
        data: &'a [u8],
    },
}

impl PeerDownReason<'_> {
    /// The reason code.
    pub fn code(&self) -> u8 {
        match self {
            Self::LocalNotification(_) => 1,
            Self::LocalNoNotification(_) => 2,
            Self::RemoteNotification(_) => 3,
            Self::RemoteNoData => 4,
            Self::PeerDeconfigured => 5,
            Self::LocalSystemClosed(_) => 6,
            Self::Unknown { code, .. } => *code,
        }
    }

    /// A stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LocalNotification(_) => "local-notification",
            Self::LocalNoNotification(_) => "local-no-notification",
            Self::RemoteNotification(_) => "remote-notification",
            Self::RemoteNoData => "remote-no-data",
            Self::PeerDeconfigured => "peer-deconfigured",
            Self::LocalSystemClosed(_) => "local-system-closed",
            Self::Unknown { .. } => "unknown",
        }
    }
}

/// A Peer Down message.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PeerDown<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// The reason, with its data.
    pub reason: PeerDownReason<'a>,
}

impl<'a> PeerDown<'a> {
    /// Parses a Peer Down body (after the common header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let (peer, rest) = PerPeerHeader::parse(body)?;
        let mut r = Reader::new(rest);
        let code = r.u8("Peer Down reason")?;
        let notification = |r: &mut Reader<'a>| -> Result<Notification<'a>, WireError> {
            let m = BgpMessage::read(r)?;
            Notification::parse(m.expect(MSG_NOTIFICATION)?)
        };
        let reason = match code {
            1 => PeerDownReason::LocalNotification(notification(&mut r)?),
            2 => PeerDownReason::LocalNoNotification(r.u16("Peer Down FSM event code")?),
            3 => PeerDownReason::RemoteNotification(notification(&mut r)?),
            4 => PeerDownReason::RemoteNoData,
            5 => PeerDownReason::PeerDeconfigured,
            6 => PeerDownReason::LocalSystemClosed(Tlvs::parse(r.take_rest())?),
            code => PeerDownReason::Unknown {
                code,
                data: r.take_rest(),
            },
        };
        r.expect_empty("Peer Down")?;
        Ok(Self { peer, reason })
    }
}
