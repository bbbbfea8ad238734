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
