//! Initiation (RFC 7854 §4.3), Termination (§4.5) and Route Mirroring
//! (§4.7): the messages that are a header plus information TLVs.

use super::header::PerPeerHeader;
use super::tlv::{
    TLV_BGP_MESSAGE, TLV_MIRRORING_INFO, TLV_SYS_DESCR, TLV_SYS_NAME, TLV_TERMINATION_REASON, Tlvs,
};
use crate::wire::WireError;
use crate::wire::bgp::message::BgpMessage;

/// An Initiation message: information TLVs.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Initiation<'a> {
    /// All TLVs (string, sysDescr, sysName, and any other).
    pub info: Tlvs<'a>,
}

impl<'a> Initiation<'a> {
    /// Parses an Initiation body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        Ok(Self {
            info: Tlvs::parse(body)?,
        })
    }

    /// sysName.
    pub fn sys_name(&self) -> Option<&'a str> {
        self.info.find(TLV_SYS_NAME).and_then(|t| t.as_str())
    }

    /// sysDescr.
    pub fn sys_descr(&self) -> Option<&'a str> {
        self.info.find(TLV_SYS_DESCR).and_then(|t| t.as_str())
    }
}

/// A Termination message: information TLVs.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Termination<'a> {
    /// All TLVs (string, reason, and any other).
    pub info: Tlvs<'a>,
}

impl<'a> Termination<'a> {
    /// Parses a Termination body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        Ok(Self {
            info: Tlvs::parse(body)?,
        })
    }

    /// The reason code: 0 administratively closed, 1 unspecified, 2 out of
    /// resources, 3 redundant connection, 4 permanently administratively
    /// closed.
    pub fn reason(&self) -> Option<u16> {
        let t = self.info.find(TLV_TERMINATION_REASON)?;
        <[u8; 2]>::try_from(t.value).ok().map(u16::from_be_bytes)
    }
}

/// A Route Mirroring message: a per-peer header and TLVs holding BGP
/// messages and information codes. Mirrored messages are recorded, never
/// applied to a RIB.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RouteMirroring<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// The TLVs.
    pub tlvs: Tlvs<'a>,
}

impl<'a> RouteMirroring<'a> {
    /// Parses a Route Mirroring body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let (peer, rest) = PerPeerHeader::parse(body)?;
        Ok(Self {
            peer,
            tlvs: Tlvs::parse(rest)?,
        })
    }

    /// The mirrored BGP messages; one that does not parse is yielded as an
    /// error (type 0 with an errored PDU is the point of mirroring).
    pub fn bgp_messages(&self) -> impl Iterator<Item = Result<BgpMessage<'a>, WireError>> + 'a {
        self.tlvs
            .iter()
            .filter(|t| t.tlv_type == TLV_BGP_MESSAGE)
            .map(|t| BgpMessage::parse(t.value))
    }

    /// Information codes: 0 errored PDU, 1 messages lost.
    pub fn info_codes(&self) -> impl Iterator<Item = u16> + 'a {
        self.tlvs
            .iter()
            .filter(|t| t.tlv_type == TLV_MIRRORING_INFO)
            .filter_map(|t| <[u8; 2]>::try_from(t.value).ok().map(u16::from_be_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::message::{MSG_KEEPALIVE, MSG_UPDATE};
    use crate::wire::bmp::BmpMessage;
    use crate::wire::bmp::tlv::{TLV_STRING, Tlv};
    use crate::wire::test_vectors::{self as tv, parse};

    #[test]
    fn initiation_with_all_tlvs() {
        let BmpMessage::Initiation(m) = parse(&tv::INITIATION) else {
            panic!("not an Initiation");
        };
        assert_eq!(m.sys_name(), Some("r1"));
        assert_eq!(m.sys_descr(), Some("FRR 10"));
        assert_eq!(
            m.info.find(TLV_STRING).and_then(|t| t.as_str()),
            Some("lab")
        );
        assert_eq!(
            m.info.iter().map(|t| t.tlv_type).collect::<Vec<_>>(),
            [TLV_STRING, TLV_SYS_DESCR, TLV_SYS_NAME]
        );
    }

    #[test]
    fn initiation_keeps_unknown_tlvs_and_tolerates_bad_utf8() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x02, 0x00, 0x02, // TLV type 2 (sysName), length 2
            0xc3, 0x28,             //   invalid UTF-8
            0x01, 0x00, 0x00, 0x00, // TLV type 256 (unassigned), length 0
        ];
        let m = Initiation::parse(&body).unwrap();
        assert_eq!(m.sys_name(), None);
        assert_eq!(m.sys_descr(), None);
        assert_eq!(
            m.info.iter().last(),
            Some(Tlv {
                tlv_type: 0x0100,
                value: &[]
            })
        );
        // RFC 7854 wants sysName and sysDescr, but an empty Initiation is
        // recorded rather than dropped.
        assert!(Initiation::parse(&[]).unwrap().info.is_empty());
    }

    #[test]
    fn termination_reasons() {
        let BmpMessage::Termination(m) = parse(&tv::TERMINATION) else {
            panic!("not a Termination");
        };
        assert_eq!(m.reason(), Some(1));
        assert_eq!(m.info.find(TLV_STRING).unwrap().as_str(), Some("bye"));
        // 0 administratively closed .. 4 permanently administratively closed
        for reason in [0u16, 1, 2, 3, 4, 0xffff] {
            let mut body = vec![0x00, 0x01, 0x00, 0x02]; // TLV type 1, length 2
            body.extend_from_slice(&reason.to_be_bytes());
            assert_eq!(Termination::parse(&body).unwrap().reason(), Some(reason));
        }
        // A reason TLV of the wrong length is kept but has no reason.
        let body = [0x00, 0x01, 0x00, 0x01, 0x02];
        assert_eq!(Termination::parse(&body).unwrap().reason(), None);
        assert_eq!(Termination::parse(&[]).unwrap().reason(), None);
    }

    #[test]
    fn route_mirroring_message_and_information() {
        let bytes = tv::route_mirroring();
        let BmpMessage::RouteMirroring(m) = parse(&bytes) else {
            panic!("not a Route Mirroring");
        };
        assert_eq!(m.peer, tv::peer_global_v4());
        let msgs: Vec<_> = m.bgp_messages().collect();
        assert_eq!(
            msgs,
            [Ok(BgpMessage {
                msg_type: MSG_KEEPALIVE,
                body: &[]
            })]
        );
        assert_eq!(m.info_codes().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn route_mirroring_errored_pdu() {
        // An errored PDU (information code 0) whose BGP message is broken is
        // still a valid Route Mirroring message: the error surfaces only
        // when the mirrored message is read.
        let update = tv::bgp(MSG_UPDATE, &[&tv::update_body(&[], &[], &[])]);
        let mut bad = update.clone();
        bad[3] = 0x00; // marker octet 3
        #[rustfmt::skip]
        let body = [
            &tv::PEER_GLOBAL_V4[..],
            &[0x00, 0x01, 0x00, 0x02, 0x00, 0x00], // information: code 0, errored PDU
            &[0x00, 0x00, 0x00, 0x17],             // BGP message TLV, length 23
            &bad,
            &[0x00, 0x00, 0x00, 0x17],             // BGP message TLV, length 23
            &update,
        ]
        .concat();
        let m = RouteMirroring::parse(&body).unwrap();
        assert_eq!(m.info_codes().collect::<Vec<_>>(), [0]);
        let msgs: Vec<_> = m.bgp_messages().collect();
        assert_eq!(msgs[0], Err(WireError::BadMarker));
        assert_eq!(msgs[1].unwrap().msg_type, MSG_UPDATE);
        assert_eq!(msgs[1].unwrap().body, &[0, 0, 0, 0]);
        // An information TLV of the wrong length yields no code.
        let body = [&tv::PEER_GLOBAL_V4[..], &[0x00, 0x01, 0x00, 0x01, 0x00]].concat();
        assert_eq!(
            RouteMirroring::parse(&body).unwrap().info_codes().count(),
            0
        );
    }
}
