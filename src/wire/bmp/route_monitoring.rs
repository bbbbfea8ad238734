//! Route Monitoring (RFC 7854 §4.6): a per-peer header and one BGP UPDATE.

use super::header::PerPeerHeader;
use crate::wire::WireError;
use crate::wire::bgp::message::{BgpMessage, MSG_UPDATE};
use crate::wire::bgp::session::SessionContext;
use crate::wire::bgp::update::Update;

/// A Route Monitoring message, borrowed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RouteMonitoring<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// The UPDATE body (after its BGP header).
    pub update_body: &'a [u8],
}

impl<'a> RouteMonitoring<'a> {
    /// Parses a Route Monitoring body (after the common header). The BGP
    /// message must be exactly one UPDATE; the UPDATE itself is parsed by
    /// [`Self::update`], with the peer's session context.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let (peer, rest) = PerPeerHeader::parse(body)?;
        let update_body = BgpMessage::parse(rest)?.expect(MSG_UPDATE)?;
        Ok(Self { peer, update_body })
    }

    /// Parses the UPDATE. The A flag of the per-peer header, when set,
    /// overrides the context's ASN width (RFC 7854 §4.2).
    pub fn update(&self, ctx: &SessionContext) -> Result<Update<'a>, WireError> {
        let mut ctx = *ctx;
        if self.peer.legacy_as_path() {
            ctx.four_octet_as = false;
        }
        Update::parse(self.update_body, &ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::update::Issues;
    use crate::wire::bmp::BmpMessage;
    use crate::wire::bmp::header::RibKind;
    use crate::wire::test_vectors::{self as tv, parse};

    #[test]
    fn vector() {
        let bytes = tv::route_monitoring_v4();
        let BmpMessage::RouteMonitoring(m) = parse(&bytes) else {
            panic!("not a Route Monitoring");
        };
        assert_eq!(m.peer, tv::peer_global_v4());
        assert_eq!(m.update_body, &tv::UPDATE_V4[19..]);
        let u = m.update(&SessionContext::FOUR_OCTET).unwrap();
        assert!(u.issues().is_empty());
        assert_eq!(u.announced_count(), 2);
        assert_eq!(u.withdrawn_count(), 1);
    }

    /// An UPDATE with a 2-octet AS_PATH 65000 64496, after a header with
    /// peer type and flags as given.
    fn two_octet_path(peer_type: u8, flags: u8) -> Vec<u8> {
        #[rustfmt::skip]
        let attrs = [
            0x40, 0x02, 0x06,       // AS_PATH, length 6
            0x02, 0x02,             // AS_SEQUENCE of 2
            0xfd, 0xe8, 0xfb, 0xf0, // 65000 64496
        ];
        let header = tv::peer_header(peer_type, flags, [0; 8], tv::v4_field([192, 0, 2, 1]));
        let update = tv::bgp(0x02, &[&tv::update_body(&[], &attrs, &[])]);
        [header, update].concat()
    }

    #[test]
    fn a_flag_overrides_the_session_asn_width() {
        // A set: the 2-octet reading is what the header says, no mismatch.
        let body = two_octet_path(0x00, 0x20);
        let m = RouteMonitoring::parse(&body).unwrap();
        let u = m.update(&SessionContext::FOUR_OCTET).unwrap();
        assert_eq!(u.issues(), Issues::default());
        let asns: Vec<_> = u.as_path().unwrap().asns().collect();
        assert_eq!(asns, [65000, 64496]);
        // Without A the 4-octet context is wrong for these bytes: read
        // anyway, and flagged.
        let body = two_octet_path(0x00, 0x00);
        let m = RouteMonitoring::parse(&body).unwrap();
        let u = m.update(&SessionContext::FOUR_OCTET).unwrap();
        assert_eq!(u.issues(), Issues::AS_WIDTH_MISMATCH);
        assert_eq!(u.as_path().unwrap().asns().collect::<Vec<_>>(), asns);
    }

    #[test]
    fn loc_rib_has_no_a_flag() {
        // Peer type 3: bit 0x20 is not A, so the 4-octet context stands.
        let body = two_octet_path(0x03, 0x20);
        let m = RouteMonitoring::parse(&body).unwrap();
        assert_eq!(m.peer.rib_kind(), RibKind::LocRib);
        let u = m.update(&SessionContext::FOUR_OCTET).unwrap();
        assert_eq!(u.issues(), Issues::AS_WIDTH_MISMATCH);
    }
}
