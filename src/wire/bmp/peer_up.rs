//! Peer Up Notification (RFC 7854 §4.10, RFC 9069 §5.3) and the decoding
//! context derived from its two OPENs.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::header::{PeerFlags, PeerType, PerPeerHeader, RibKind};
use super::tlv::{TLV_VRF_TABLE_NAME, Tlvs};
use crate::wire::bgp::afi_safi::DECODED_FAMILIES;
use crate::wire::bgp::message::{BgpMessage, MSG_OPEN};
use crate::wire::bgp::open::Open;
use crate::wire::bgp::session::SessionContext;
use crate::wire::{Reader, WireError};

/// ```text
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                 Local Address (16 bytes)                      |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |         Local Port            |        Remote Port            |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                    Sent OPEN Message                          |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                  Received OPEN Message                        |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                 Information (variable)                        |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PeerUp<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// Local address of the monitored router's session.
    pub local_address: IpAddr,
    /// Local TCP port.
    pub local_port: u16,
    /// Remote TCP port.
    pub remote_port: u16,
    /// The OPEN the monitored router sent.
    pub sent_open: Open<'a>,
    /// The OPEN it received.
    pub received_open: Open<'a>,
    /// Information TLVs.
    pub info: Tlvs<'a>,
}

impl<'a> PeerUp<'a> {
    /// Parses a Peer Up body (after the common header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let (peer, rest) = PerPeerHeader::parse(body)?;
        let mut r = Reader::new(rest);
        let addr = r.array::<16>("Peer Up local address")?;
        let v6 = peer.peer_type != PeerType::LocRib && peer.flags.has(PeerFlags::V);
        let local_address = if v6 {
            IpAddr::V6(Ipv6Addr::from(addr))
        } else {
            let [.., a, b, c, d] = addr;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        };
        let local_port = r.u16("Peer Up local port")?;
        let remote_port = r.u16("Peer Up remote port")?;
        let sent_open = Open::parse(BgpMessage::read(&mut r)?.expect(MSG_OPEN)?)?;
        let received_open = Open::parse(BgpMessage::read(&mut r)?.expect(MSG_OPEN)?)?;
        let info = Tlvs::parse(r.take_rest())?;
        Ok(Self {
            peer,
            local_address,
            local_port,
            remote_port,
            sent_open,
            received_open,
            info,
        })
    }

    /// The VRF or table name TLV (RFC 9069), if sent.
    pub fn vrf_table_name(&self) -> Option<&'a str> {
        self.info.find(TLV_VRF_TABLE_NAME).and_then(|t| t.as_str())
    }

    /// How to decode this peer's Route Monitoring messages.
    ///
    /// - 4-octet ASNs when both OPENs carry the capability (for Loc-RIB,
    ///   whose OPENs are fabricated copies, the sent one decides).
    /// - ADD-PATH per family by the RIB's direction: Adj-RIB-In when the
    ///   router can receive and the peer can send; Adj-RIB-Out when the
    ///   router can send and the peer can receive (RFC 8671); Loc-RIB when
    ///   the capability is present at all (RFC 9069 §5.3).
    pub fn session_context(&self) -> SessionContext {
        self.session_context_for(self.peer.rib_kind())
    }

    /// The decoding contexts for every RIB kind, in [`RibKind::code`]
    /// order.
    pub fn contexts(&self) -> [SessionContext; 5] {
        RibKind::ALL.map(|rib| self.session_context_for(rib))
    }

    /// The decoding context for Route Monitoring of another RIB of the same
    /// peer (a router may send one Peer Up for pre- and post-policy).
    pub fn session_context_for(&self, rib: RibKind) -> SessionContext {
        let (local, remote) = (&self.sent_open, &self.received_open);
        let mut ctx = SessionContext::default();
        ctx.four_octet_as = match rib {
            RibKind::LocRib => local.four_octet_as().is_some(),
            _ => local.four_octet_as().is_some() && remote.four_octet_as().is_some(),
        };
        for family in DECODED_FAMILIES {
            let (l, r) = (local.add_path(family), remote.add_path(family));
            let on = match rib {
                RibKind::LocRib => l.is_some(),
                RibKind::AdjRibInPre | RibKind::AdjRibInPost => {
                    l.is_some_and(|d| d.receives()) && r.is_some_and(|d| d.sends())
                }
                RibKind::AdjRibOutPre | RibKind::AdjRibOutPost => {
                    l.is_some_and(|d| d.sends()) && r.is_some_and(|d| d.receives())
                }
            };
            ctx.set_add_path(family, on);
        }
        ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::afi_safi::{AfiSafi, IPV4_UNICAST, IPV6_UNICAST};
    use crate::wire::bgp::open::{AddPathDirection, Capability};
    use crate::wire::bmp::BmpMessage;
    use crate::wire::bmp::tlv::{TLV_ADMIN_LABEL, TLV_STRING};
    use crate::wire::test_vectors::{self as tv, parse};

    /// An OPEN message from AS_TRANS with multiprotocol IPv4 unicast, a
    /// 4-octet AS capability when `as4` is set, and one ADD-PATH capability
    /// with the (AFI, SAFI, send/receive) entries of `add_path`.
    fn open(as4: Option<u32>, add_path: &[(u16, u8, u8)]) -> Vec<u8> {
        let mut caps = vec![0x01, 0x04, 0x00, 0x01, 0x00, 0x01]; // MP IPv4 unicast
        if let Some(asn) = as4 {
            caps.extend_from_slice(&[0x41, 0x04]); // 4-octet AS
            caps.extend_from_slice(&asn.to_be_bytes());
        }
        if !add_path.is_empty() {
            caps.extend_from_slice(&[0x45, 4 * add_path.len() as u8]); // ADD-PATH
            for (afi, safi, dir) in add_path {
                caps.extend_from_slice(&afi.to_be_bytes());
                caps.extend_from_slice(&[*safi, *dir]);
            }
        }
        #[rustfmt::skip]
        let mut body = vec![
            0x04,                   // version 4
            0x5b, 0xa0,             // my AS 23456 (AS_TRANS)
            0x00, 0xb4,             // hold time 180
            192, 0, 2, 254,         // BGP identifier
            caps.len() as u8 + 2,   // optional parameters length
            0x02, caps.len() as u8, // capabilities parameter
        ];
        body.extend_from_slice(&caps);
        tv::bgp(0x01, &[&body])
    }

    /// A Peer Up body (after the common header).
    fn body(header: &[u8], local: [u8; 16], sent: &[u8], received: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let ports = [0x00, 0xb3, 0xc3, 0x50]; // 179, 50000
        [header, &local, &ports, sent, received, tlvs].concat()
    }

    #[test]
    fn ipv4_vector() {
        let bytes = tv::peer_up_v4();
        let BmpMessage::PeerUp(m) = parse(&bytes) else {
            panic!("not a Peer Up");
        };
        assert_eq!(m.peer, tv::peer_global_v4());
        assert_eq!(m.local_address, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)));
        assert_eq!((m.local_port, m.remote_port), (179, 50000));
        assert_eq!((m.sent_open.my_as, m.sent_open.asn()), (65000, 65000));
        assert_eq!(m.sent_open.hold_time, 180);
        assert_eq!(m.sent_open.bgp_id, Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(
            (m.received_open.my_as, m.received_open.asn()),
            (65001, 65001)
        );
        assert_eq!(m.received_open.bgp_id, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            m.sent_open.capabilities().collect::<Vec<_>>(),
            [
                Capability::Multiprotocol(IPV4_UNICAST),
                Capability::FourOctetAs(65000),
                Capability::AddPath(&[0x00, 0x01, 0x01, 0x01]),
            ]
        );
        assert_eq!(m.vrf_table_name(), Some("blue"));
        // Adj-RIB-In: the router receives, the peer sends: path IDs on.
        let ctx = m.session_context();
        assert!(ctx.four_octet_as);
        assert_eq!(ctx.add_path_families().collect::<Vec<_>>(), [IPV4_UNICAST]);
    }

    #[test]
    fn ipv6_local_address_and_info_tlvs() {
        let peer = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let local = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);
        let header = tv::peer_header(0x00, 0x80, [0; 8], peer.octets()); // flag V
        #[rustfmt::skip]
        let tlvs = [
            0x00, 0x00, 0x00, 0x02, b'h', b'i',             // string "hi"
            0x00, 0x04, 0x00, 0x04, b'c', b'o', b'r', b'e', // admin label "core"
            0x00, 0x03, 0x00, 0x03, b'r', b'e', b'd',       // VRF/table name "red"
        ];
        let o = open(Some(65000), &[]);
        let body = body(&header, local.octets(), &o, &o, &tlvs);
        let m = PeerUp::parse(&body).unwrap();
        assert_eq!(m.peer.address, IpAddr::V6(peer));
        assert_eq!(m.local_address, IpAddr::V6(local));
        assert_eq!(m.vrf_table_name(), Some("red"));
        assert_eq!(
            m.info.iter().map(|t| t.tlv_type).collect::<Vec<_>>(),
            [TLV_STRING, TLV_ADMIN_LABEL, TLV_VRF_TABLE_NAME]
        );
        assert_eq!(m.info.find(TLV_ADMIN_LABEL).unwrap().as_str(), Some("core"));
        assert_eq!(m.sent_open.my_as, 23456);
        assert_eq!(m.sent_open.asn(), 65000);
    }

    #[test]
    fn loc_rib_peer_up() {
        // Type 3 with F: bit 0x80 is "filtered", not "IPv6".
        let header = tv::peer_header(0x03, 0x80, [0; 8], [0; 16]);
        let tlvs = [0x00, 0x03, 0x00, 0x06, b'g', b'l', b'o', b'b', b'a', b'l'];
        let o = open(Some(65000), &[]);
        let body = body(&header, tv::v4_field([192, 0, 2, 254]), &o, &o, &tlvs);
        let m = PeerUp::parse(&body).unwrap();
        assert_eq!(m.peer.rib_kind(), RibKind::LocRib);
        assert!(m.peer.loc_rib_filtered());
        assert_eq!(m.local_address, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)));
        assert_eq!(m.vrf_table_name(), Some("global"));
        assert_eq!(m.session_context(), SessionContext::FOUR_OCTET);
    }

    /// ADD-PATH per RIB direction (RFC 7911 §4, RFC 8671, RFC 9069 §5.3):
    /// (case, sent direction, received direction, RIB, path IDs expected).
    #[test]
    fn add_path_by_rib_direction() {
        use RibKind::*;
        type Case = (&'static str, Option<u8>, Option<u8>, RibKind, bool);
        #[rustfmt::skip]
        let cases: [Case; 16] = [
            ("in: router receives, peer sends",     Some(1), Some(2), AdjRibInPre,   true),
            ("in: both ways, post-policy",          Some(3), Some(3), AdjRibInPost,  true),
            ("in: router receives, peer sends too", Some(1), Some(3), AdjRibInPre,   true),
            ("in: only the router sends",           Some(2), Some(1), AdjRibInPre,   false),
            ("in: both only receive",               Some(1), Some(1), AdjRibInPost,  false),
            ("in: peer did not announce",           Some(3), None,    AdjRibInPost,  false),
            ("in: router did not announce",         None,    Some(3), AdjRibInPre,   false),
            ("in: unknown directions",              Some(7), Some(7), AdjRibInPre,   false),
            ("out: router sends, peer receives",    Some(2), Some(1), AdjRibOutPre,  true),
            ("out: both ways, post-policy",         Some(3), Some(3), AdjRibOutPost, true),
            ("out: only the router receives",       Some(1), Some(2), AdjRibOutPre,  false),
            ("out: peer did not announce",          Some(2), None,    AdjRibOutPost, false),
            ("loc-rib: receive only",               Some(1), None,    LocRib,        true),
            ("loc-rib: send only",                  Some(2), None,    LocRib,        true),
            ("loc-rib: both",                       Some(3), Some(3), LocRib,        true),
            ("loc-rib: only the received OPEN",     None,    Some(3), LocRib,        false),
        ];
        let header = tv::PEER_GLOBAL_V4;
        for (name, sent, received, rib, expected) in cases {
            let entries = |d: Option<u8>| d.map(|d| vec![(1, 1, d)]).unwrap_or_default();
            let sent = open(Some(65000), &entries(sent));
            let received = open(Some(65001), &entries(received));
            let body = body(
                &header,
                tv::v4_field([192, 0, 2, 254]),
                &sent,
                &received,
                &[],
            );
            let ctx = PeerUp::parse(&body).unwrap().session_context_for(rib);
            assert_eq!(ctx.add_path(IPV4_UNICAST), expected, "{name}");
            assert_eq!(
                ctx.add_path_families().count(),
                usize::from(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn add_path_per_family() {
        // The router receives IPv4 and IPv6 unicast and EVPN paths; the
        // peer sends only IPv6 unicast and EVPN ones.
        let sent = open(None, &[(1, 1, 1), (2, 1, 3), (25, 70, 3)]);
        let received = open(None, &[(2, 1, 2), (25, 70, 3)]);
        let body = body(&tv::PEER_GLOBAL_V4, [0; 16], &sent, &received, &[]);
        let m = PeerUp::parse(&body).unwrap();
        assert_eq!(
            m.sent_open.add_path(AfiSafi::new(25, 70)),
            Some(AddPathDirection::Both)
        );
        let ctx = m.session_context_for(RibKind::AdjRibInPre);
        // EVPN is kept raw, so it has no path-ID setting.
        assert_eq!(ctx.add_path_families().collect::<Vec<_>>(), [IPV6_UNICAST]);
        assert!(!ctx.four_octet_as);
    }

    /// (case, sent 4-octet AS, received 4-octet AS, RIB, expected).
    #[test]
    fn four_octet_as_by_rib() {
        #[rustfmt::skip]
        let cases = [
            ("both",                           true,  true,  RibKind::AdjRibInPre,   true),
            ("only the router",                true,  false, RibKind::AdjRibInPost,  false),
            ("only the peer",                  false, true,  RibKind::AdjRibOutPre,  false),
            ("neither",                        false, false, RibKind::AdjRibOutPost, false),
            ("loc-rib: the sent OPEN decides", true,  false, RibKind::LocRib,        true),
            ("loc-rib: received is ignored",   false, true,  RibKind::LocRib,        false),
        ];
        for (name, s, r, rib, expected) in cases {
            let sent = open(s.then_some(65000), &[]);
            let received = open(r.then_some(4_200_000_000), &[]);
            let body = body(&tv::PEER_GLOBAL_V4, [0; 16], &sent, &received, &[]);
            let ctx = PeerUp::parse(&body).unwrap().session_context_for(rib);
            assert_eq!(ctx.four_octet_as, expected, "{name}");
        }
    }

    #[test]
    fn session_context_follows_the_header_rib() {
        let sent = open(Some(65000), &[(1, 1, 2)]);
        let received = open(Some(65001), &[(1, 1, 1)]);
        // flags L and O: Adj-RIB-Out post-policy
        let header = tv::peer_header(0x00, 0x40 | 0x10, [0; 8], tv::v4_field([192, 0, 2, 1]));
        let body = body(&header, [0; 16], &sent, &received, &[]);
        let m = PeerUp::parse(&body).unwrap();
        assert_eq!(
            m.session_context(),
            m.session_context_for(RibKind::AdjRibOutPost)
        );
        assert!(m.session_context().add_path(IPV4_UNICAST));
        assert!(
            !m.session_context_for(RibKind::AdjRibInPost)
                .add_path(IPV4_UNICAST)
        );
    }
}
