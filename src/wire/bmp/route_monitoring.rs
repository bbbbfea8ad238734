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
