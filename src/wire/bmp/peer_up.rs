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
