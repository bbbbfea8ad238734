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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bmp::BmpMessage;
    use crate::wire::bmp::tlv::TLV_VRF_TABLE_NAME;
    use crate::wire::test_vectors::{self as tv, parse};

    #[test]
    fn local_notification_vector() {
        let bytes = tv::peer_down_local_notification();
        let BmpMessage::PeerDown(m) = parse(&bytes) else {
            panic!("not a Peer Down");
        };
        assert_eq!(m.peer, tv::peer_global_v4());
        assert_eq!(
            m.reason,
            PeerDownReason::LocalNotification(Notification {
                code: 6,
                subcode: 2,
                data: &[]
            })
        );
        assert_eq!(
            (m.reason.code(), m.reason.name()),
            (1, "local-notification")
        );
    }

    /// Reasons 2 to 6 and an unknown one, after the canonical header.
    #[test]
    fn every_reason() {
        // Cease / Maximum Number of Prefixes Reached, with its data:
        // AFI 1, SAFI 1, upper bound 1000 (RFC 4486).
        #[rustfmt::skip]
        let remote = tv::bgp(0x03, &[&[
            0x06, 0x01,                         // code 6, subcode 1
            0x00, 0x01, 0x01,                   // AFI 1, SAFI 1
            0x00, 0x00, 0x03, 0xe8,             // 1000
        ]]);
        let tlvs = [0x00, 0x03, 0x00, 0x04, b'b', b'l', b'u', b'e']; // VRF/table name
        let cases: [(Vec<u8>, PeerDownReason<'_>, &str); 7] = [
            (
                [&[0x02][..], &[0x00, 0x18]].concat(), // reason 2, FSM event 24
                PeerDownReason::LocalNoNotification(24),
                "local-no-notification",
            ),
            (
                [&[0x03][..], &remote].concat(), // reason 3 and the NOTIFICATION
                PeerDownReason::RemoteNotification(Notification {
                    code: 6,
                    subcode: 1,
                    data: &[0x00, 0x01, 0x01, 0x00, 0x00, 0x03, 0xe8],
                }),
                "remote-notification",
            ),
            (vec![0x04], PeerDownReason::RemoteNoData, "remote-no-data"),
            (
                vec![0x05],
                PeerDownReason::PeerDeconfigured,
                "peer-deconfigured",
            ),
            (
                [&[0x06][..], &tlvs].concat(), // reason 6 and information TLVs
                PeerDownReason::LocalSystemClosed(Tlvs::parse(&tlvs).unwrap()),
                "local-system-closed",
            ),
            (
                vec![0x06], // reason 6 with no TLV at all
                PeerDownReason::LocalSystemClosed(Tlvs::default()),
                "local-system-closed",
            ),
            (
                vec![0x07, 0xaa, 0xbb], // unassigned reason 7, data kept raw
                PeerDownReason::Unknown {
                    code: 7,
                    data: &[0xaa, 0xbb],
                },
                "unknown",
            ),
        ];
        for (tail, reason, name) in cases {
            let bytes = tv::bmp(0x02, &[&tv::PEER_GLOBAL_V4, &tail]);
            let BmpMessage::PeerDown(m) = parse(&bytes) else {
                panic!("not a Peer Down");
            };
            assert_eq!(m.reason, reason, "{name}");
            assert_eq!(m.reason.code(), tail[0]);
            assert_eq!(m.reason.name(), name);
        }
    }

    #[test]
    fn loc_rib_peer_down_with_table_name() {
        // RFC 9069 §5.4: a Loc-RIB instance goes down with reason 6 and the
        // table name.
        let header = tv::peer_header(0x03, 0x00, [0; 8], [0; 16]);
        let tlvs = [0x00, 0x03, 0x00, 0x03, b'v', b'r', b'f'];
        let body = [&header[..], &[0x06], &tlvs].concat();
        let m = PeerDown::parse(&body).unwrap();
        let PeerDownReason::LocalSystemClosed(t) = m.reason else {
            panic!("reason {:?}", m.reason);
        };
        assert_eq!(t.find(TLV_VRF_TABLE_NAME).unwrap().as_str(), Some("vrf"));
    }
}
