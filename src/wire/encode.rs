//! Encoders for BMP and BGP messages: the inverse of the decoders, used by
//! the load generator, by tests and by the round-trip fuzz target.
//!
//! Encoders append to a `Vec<u8>` (allocation is fine here: this is not the
//! collector's decode path) and back-patch length fields. A value too long
//! for its length field is a [`WireError::BadLength`], never a truncation.

use core::net::{IpAddr, Ipv4Addr};

use super::WireError;
use super::bgp::afi_safi::{AfiSafi, NlriKind};
use super::bgp::attr::{FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL, FLAG_TRANSITIVE, SegmentType, code};
use super::bgp::message::{HEADER_LEN, MSG_NOTIFICATION, MSG_OPEN, MSG_UPDATE};
use super::bgp::nlri::Nlri;
use super::bgp::open::{AddPathDirection, cap};
use super::bmp::header::{PeerFlags, PeerType, PerPeerHeader};
use super::bmp::peer_down::PeerDownReason;
use super::bmp::stats::{Stat, StatValue};
use super::frame::{BMP_VERSION, MessageType};

/// Appends a big-endian `u16`.
fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a big-endian `u32`.
fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes `len(out) - start - width` into the `width` octets at `start`.
fn patch_len(
    out: &mut [u8],
    start: usize,
    width: usize,
    what: &'static str,
) -> Result<(), WireError> {
    let len = out
        .len()
        .checked_sub(start)
        .and_then(|l| l.checked_sub(width))
        .ok_or(WireError::BadLength(what))?;
    let field = out
        .get_mut(start..)
        .and_then(|s| s.get_mut(..width))
        .ok_or(WireError::BadLength(what))?;
    match width {
        1 => field.copy_from_slice(&[u8::try_from(len).map_err(|_| WireError::BadLength(what))?]),
        2 => field.copy_from_slice(
            &u16::try_from(len)
                .map_err(|_| WireError::BadLength(what))?
                .to_be_bytes(),
        ),
        _ => field.copy_from_slice(
            &u32::try_from(len)
                .map_err(|_| WireError::BadLength(what))?
                .to_be_bytes(),
        ),
    }
    Ok(())
}

/// Appends a length-prefixed block: `body` writes the contents, then the
/// `width`-octet length before them is filled in.
fn block(
    out: &mut Vec<u8>,
    width: usize,
    what: &'static str,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let start = out.len();
    out.resize(start.saturating_add(width), 0);
    body(out)?;
    patch_len(out, start, width, what)
}

/// Appends a BMP message: common header, then what `body` writes.
pub fn bmp_message(
    out: &mut Vec<u8>,
    msg_type: MessageType,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let start = out.len();
    out.extend_from_slice(&[BMP_VERSION, 0, 0, 0, 0, msg_type.to_u8()]);
    body(out)?;
    let len = out.len().saturating_sub(start);
    let len = u32::try_from(len).map_err(|_| WireError::BadLength("BMP message"))?;
    if let Some(f) = out.get_mut(start.saturating_add(1)..start.saturating_add(5)) {
        f.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// Appends a per-peer header.
pub fn per_peer_header(out: &mut Vec<u8>, h: &PerPeerHeader) {
    out.push(h.peer_type.to_u8());
    out.push(h.flags.0);
    out.extend_from_slice(&h.distinguisher.0);
    out.extend_from_slice(&address16(h.address));
    put_u32(out, h.asn);
    out.extend_from_slice(&h.bgp_id.octets());
    put_u32(out, h.ts_sec);
    put_u32(out, h.ts_usec);
}

/// A 16-octet address field: IPv4 in the last four octets.
fn address16(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_compatible().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The peer flags that match an address family, keeping the others.
pub fn flags_for(peer_type: PeerType, flags: u8, address: IpAddr) -> PeerFlags {
    if peer_type == PeerType::LocRib {
        return PeerFlags(flags);
    }
    match address {
        IpAddr::V6(_) => PeerFlags(flags | PeerFlags::V),
        IpAddr::V4(_) => PeerFlags(flags & !PeerFlags::V),
    }
}

/// Appends information TLVs.
pub fn tlvs(out: &mut Vec<u8>, items: &[(u16, &[u8])]) -> Result<(), WireError> {
    for (t, v) in items {
        put_u16(out, *t);
        put_u16(
            out,
            u16::try_from(v.len()).map_err(|_| WireError::BadLength("TLV"))?,
        );
        out.extend_from_slice(v);
    }
    Ok(())
}

/// Appends an Initiation message.
pub fn initiation(out: &mut Vec<u8>, items: &[(u16, &[u8])]) -> Result<(), WireError> {
    bmp_message(out, MessageType::Initiation, |o| tlvs(o, items))
}

/// Appends a Termination message.
pub fn termination(out: &mut Vec<u8>, items: &[(u16, &[u8])]) -> Result<(), WireError> {
    bmp_message(out, MessageType::Termination, |o| tlvs(o, items))
}

/// Appends a BGP message: header, then what `body` writes.
pub fn bgp_message(
    out: &mut Vec<u8>,
    msg_type: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, msg_type]);
    body(out)?;
    let len = out.len().saturating_sub(start);
    if len < HEADER_LEN {
        return Err(WireError::BadLength("BGP message"));
    }
    let len = u16::try_from(len).map_err(|_| WireError::BadLength("BGP message"))?;
    if let Some(f) = out.get_mut(start.saturating_add(16)..start.saturating_add(18)) {
        f.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// What goes into an OPEN.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct OpenSpec {
    /// The speaker's AS (AS_TRANS is put in `my_as` when above 65535).
    pub asn: u32,
    /// Hold time.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Whether to announce 4-octet AS support.
    pub four_octet_as: bool,
    /// Multiprotocol families.
    pub families: Vec<AfiSafi>,
    /// ADD-PATH entries.
    pub add_path: Vec<(AfiSafi, AddPathDirection)>,
    /// Other capabilities, raw (code, value).
    pub other: Vec<(u8, Vec<u8>)>,
}

/// Appends an OPEN message (BGP header included).
pub fn open(out: &mut Vec<u8>, o: &OpenSpec) -> Result<(), WireError> {
    bgp_message(out, MSG_OPEN, |out| {
        out.push(4);
        put_u16(out, u16::try_from(o.asn).unwrap_or(23456));
        put_u16(out, o.hold_time);
        out.extend_from_slice(&o.bgp_id.octets());
        block(out, 1, "OPEN optional parameters", |out| {
            out.push(2);
            block(out, 1, "capabilities parameter", |out| {
                for f in &o.families {
                    out.extend_from_slice(&[cap::MULTIPROTOCOL, 4]);
                    put_u16(out, f.afi);
                    out.extend_from_slice(&[0, f.safi]);
                }
                if o.four_octet_as {
                    out.extend_from_slice(&[cap::FOUR_OCTET_AS, 4]);
                    put_u32(out, o.asn);
                }
                if !o.add_path.is_empty() {
                    out.push(cap::ADD_PATH);
                    block(out, 1, "ADD-PATH capability", |out| {
                        for (f, d) in &o.add_path {
                            put_u16(out, f.afi);
                            out.extend_from_slice(&[f.safi, d.to_u8()]);
                        }
                        Ok(())
                    })?;
                }
                for (c, v) in &o.other {
                    out.push(*c);
                    block(out, 1, "capability", |out| {
                        out.extend_from_slice(v);
                        Ok(())
                    })?;
                }
                Ok(())
            })
        })
    })
}

/// What goes into a Peer Up.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PeerUpSpec<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Remote port.
    pub remote_port: u16,
    /// The OPEN the router sent.
    pub sent: &'a OpenSpec,
    /// The OPEN it received.
    pub received: &'a OpenSpec,
    /// Information TLVs.
    pub info: &'a [(u16, &'a [u8])],
}

/// Appends a Peer Up message.
pub fn peer_up(out: &mut Vec<u8>, p: &PeerUpSpec<'_>) -> Result<(), WireError> {
    bmp_message(out, MessageType::PeerUp, |out| {
        per_peer_header(out, &p.peer);
        out.extend_from_slice(&address16(p.local_address));
        put_u16(out, p.local_port);
        put_u16(out, p.remote_port);
        open(out, p.sent)?;
        open(out, p.received)?;
        tlvs(out, p.info)
    })
}

/// Appends a NOTIFICATION message (BGP header included).
pub fn notification(
    out: &mut Vec<u8>,
    code: u8,
    subcode: u8,
    data: &[u8],
) -> Result<(), WireError> {
    bgp_message(out, MSG_NOTIFICATION, |out| {
        out.extend_from_slice(&[code, subcode]);
        out.extend_from_slice(data);
        Ok(())
    })
}

/// Appends a Peer Down message.
pub fn peer_down(
    out: &mut Vec<u8>,
    peer: &PerPeerHeader,
    reason: &PeerDownReason<'_>,
) -> Result<(), WireError> {
    bmp_message(out, MessageType::PeerDown, |out| {
        per_peer_header(out, peer);
        out.push(reason.code());
        match reason {
            PeerDownReason::LocalNotification(n) | PeerDownReason::RemoteNotification(n) => {
                notification(out, n.code, n.subcode, n.data)?;
            }
            PeerDownReason::LocalNoNotification(fsm) => put_u16(out, *fsm),
            PeerDownReason::RemoteNoData | PeerDownReason::PeerDeconfigured => {}
            PeerDownReason::LocalSystemClosed(t) => out.extend_from_slice(t.raw()),
            PeerDownReason::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    })
}

/// Appends a Statistics Report.
pub fn stats_report(
    out: &mut Vec<u8>,
    peer: &PerPeerHeader,
    stats: &[Stat<'_>],
) -> Result<(), WireError> {
    bmp_message(out, MessageType::StatisticsReport, |out| {
        per_peer_header(out, peer);
        put_u32(
            out,
            u32::try_from(stats.len()).map_err(|_| WireError::BadLength("stats count"))?,
        );
        for s in stats {
            put_u16(out, s.stat_type);
            block(out, 2, "stat", |out| {
                match s.value {
                    StatValue::Counter32(v) => put_u32(out, v),
                    StatValue::Gauge64(v) => out.extend_from_slice(&v.to_be_bytes()),
                    StatValue::AfiSafiGauge64(f, v) => {
                        put_u16(out, f.afi);
                        out.push(f.safi);
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    StatValue::Raw(r) => out.extend_from_slice(r),
                }
                Ok(())
            })?;
        }
        Ok(())
    })
}

/// Appends a Route Monitoring message around an UPDATE built by `update`.
pub fn route_monitoring(
    out: &mut Vec<u8>,
    peer: &PerPeerHeader,
    update: &UpdateBuilder,
) -> Result<(), WireError> {
    bmp_message(out, MessageType::RouteMonitoring, |out| {
        per_peer_header(out, peer);
        update.write(out)
    })
}

/// Appends a Route Mirroring message.
pub fn route_mirroring(
    out: &mut Vec<u8>,
    peer: &PerPeerHeader,
    items: &[(u16, &[u8])],
) -> Result<(), WireError> {
    bmp_message(out, MessageType::RouteMirroring, |out| {
        per_peer_header(out, peer);
        tlvs(out, items)
    })
}

/// Appends one NLRI in the layout of `kind`.
pub fn nlri(
    out: &mut Vec<u8>,
    n: &Nlri<'_>,
    kind: NlriKind,
    add_path: bool,
) -> Result<(), WireError> {
    use super::bgp::afi_safi::Encoding;
    if add_path {
        put_u32(out, n.path_id.unwrap_or(0));
    }
    let labels = match kind.encoding {
        Encoding::Plain => &[][..],
        Encoding::Labeled | Encoding::Vpn if n.labels.is_empty() => &[0x80, 0, 0][..],
        Encoding::Labeled | Encoding::Vpn => n.labels.raw(),
    };
    let rd_bits = if kind.encoding == Encoding::Vpn {
        64
    } else {
        0
    };
    let bits = labels
        .len()
        .checked_mul(8)
        .and_then(|b| b.checked_add(rd_bits))
        .and_then(|b| b.checked_add(usize::from(n.prefix.len())))
        .and_then(|b| u8::try_from(b).ok())
        .ok_or(WireError::BadLength("NLRI"))?;
    out.push(bits);
    out.extend_from_slice(labels);
    if kind.encoding == Encoding::Vpn {
        out.extend_from_slice(&n.rd.unwrap_or_default().0);
    }
    let octets = usize::from(n.prefix.len()).div_ceil(8);
    let addr = match n.prefix.addr() {
        IpAddr::V4(a) => a.to_ipv6_compatible().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    let skip = if matches!(n.prefix.addr(), IpAddr::V4(_)) {
        12
    } else {
        0
    };
    out.extend(addr.iter().skip(skip).take(octets));
    Ok(())
}

/// An UPDATE under construction.
///
/// Attributes are written in the order they are added; callers add them in
/// type-code order, as RFC 4271 recommends.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct UpdateBuilder {
    withdrawn: Vec<u8>,
    attrs: Vec<u8>,
    nlri: Vec<u8>,
}

impl UpdateBuilder {
    /// An empty UPDATE (as is, an IPv4 unicast End-of-RIB).
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the builder, keeping its buffers.
    pub fn clear(&mut self) {
        self.withdrawn.clear();
        self.attrs.clear();
        self.nlri.clear();
    }

    /// Adds an IPv4 unicast withdrawal to the Withdrawn Routes field.
    pub fn withdraw(&mut self, n: &Nlri<'_>, add_path: bool) -> Result<&mut Self, WireError> {
        nlri(&mut self.withdrawn, n, V4_PLAIN, add_path)?;
        Ok(self)
    }

    /// Adds an IPv4 unicast announcement to the NLRI field.
    pub fn announce(&mut self, n: &Nlri<'_>, add_path: bool) -> Result<&mut Self, WireError> {
        nlri(&mut self.nlri, n, V4_PLAIN, add_path)?;
        Ok(self)
    }

    /// Adds a raw attribute; the extended-length flag is set as needed.
    pub fn attr(&mut self, flags: u8, code: u8, value: &[u8]) -> Result<&mut Self, WireError> {
        let len = u16::try_from(value.len()).map_err(|_| WireError::BadLength("attribute"))?;
        let flags = flags & !FLAG_EXTENDED_LENGTH;
        match u8::try_from(len) {
            Ok(l) => self.attrs.extend_from_slice(&[flags, code, l]),
            Err(_) => {
                self.attrs
                    .extend_from_slice(&[flags | FLAG_EXTENDED_LENGTH, code]);
                put_u16(&mut self.attrs, len);
            }
        }
        self.attrs.extend_from_slice(value);
        Ok(self)
    }

    /// ORIGIN.
    pub fn origin(&mut self, origin: u8) -> Result<&mut Self, WireError> {
        self.attr(FLAG_TRANSITIVE, code::ORIGIN, &[origin])
    }

    /// AS_PATH from segments, with ASNs of `width` octets (2 or 4).
    pub fn as_path(
        &mut self,
        segments: &[(SegmentType, &[u32])],
        width: u8,
    ) -> Result<&mut Self, WireError> {
        let mut v = Vec::new();
        for (t, asns) in segments {
            v.push(t.to_u8());
            v.push(u8::try_from(asns.len()).map_err(|_| WireError::BadLength("AS_PATH segment"))?);
            for a in *asns {
                if width == 2 {
                    put_u16(&mut v, u16::try_from(*a).unwrap_or(23456));
                } else {
                    put_u32(&mut v, *a);
                }
            }
        }
        self.attr(FLAG_TRANSITIVE, code::AS_PATH, &v)
    }

    /// NEXT_HOP.
    pub fn next_hop(&mut self, nh: Ipv4Addr) -> Result<&mut Self, WireError> {
        self.attr(FLAG_TRANSITIVE, code::NEXT_HOP, &nh.octets())
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&mut self, med: u32) -> Result<&mut Self, WireError> {
        self.attr(FLAG_OPTIONAL, code::MED, &med.to_be_bytes())
    }

    /// LOCAL_PREF.
    pub fn local_pref(&mut self, lp: u32) -> Result<&mut Self, WireError> {
        self.attr(FLAG_TRANSITIVE, code::LOCAL_PREF, &lp.to_be_bytes())
    }

    /// COMMUNITIES.
    pub fn communities(&mut self, c: &[u32]) -> Result<&mut Self, WireError> {
        let v: Vec<u8> = c.iter().flat_map(|x| x.to_be_bytes()).collect();
        self.attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, code::COMMUNITIES, &v)
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&mut self, c: &[[u32; 3]]) -> Result<&mut Self, WireError> {
        let v: Vec<u8> = c.iter().flatten().flat_map(|x| x.to_be_bytes()).collect();
        self.attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, code::LARGE_COMMUNITIES, &v)
    }

    /// MP_REACH_NLRI for `family` with a raw next hop.
    pub fn mp_reach<'n>(
        &mut self,
        family: AfiSafi,
        next_hop: &[u8],
        nlris: impl IntoIterator<Item = &'n Nlri<'n>>,
        add_path: bool,
    ) -> Result<&mut Self, WireError> {
        let kind = family
            .nlri_kind()
            .ok_or(WireError::InvalidValue("MP_REACH_NLRI family"))?;
        let mut v = Vec::new();
        put_u16(&mut v, family.afi);
        v.push(family.safi);
        v.push(u8::try_from(next_hop.len()).map_err(|_| WireError::BadLength("next hop"))?);
        v.extend_from_slice(next_hop);
        v.push(0);
        for n in nlris {
            nlri(&mut v, n, kind, add_path)?;
        }
        self.attr(FLAG_OPTIONAL, code::MP_REACH_NLRI, &v)
    }

    /// MP_UNREACH_NLRI for `family` (empty: an End-of-RIB marker).
    pub fn mp_unreach<'n>(
        &mut self,
        family: AfiSafi,
        nlris: impl IntoIterator<Item = &'n Nlri<'n>>,
        add_path: bool,
    ) -> Result<&mut Self, WireError> {
        let mut v = Vec::new();
        put_u16(&mut v, family.afi);
        v.push(family.safi);
        for n in nlris {
            let kind = family
                .nlri_kind()
                .ok_or(WireError::InvalidValue("MP_UNREACH_NLRI family"))?;
            nlri(&mut v, n, kind, add_path)?;
        }
        self.attr(FLAG_OPTIONAL, code::MP_UNREACH_NLRI, &v)
    }

    /// Appends the UPDATE as a BGP message.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        bgp_message(out, MSG_UPDATE, |out| {
            block(out, 2, "withdrawn routes", |o| {
                o.extend_from_slice(&self.withdrawn);
                Ok(())
            })?;
            block(out, 2, "path attributes", |o| {
                o.extend_from_slice(&self.attrs);
                Ok(())
            })?;
            out.extend_from_slice(&self.nlri);
            Ok(())
        })
    }
}

const V4_PLAIN: NlriKind = NlriKind {
    family: super::bgp::afi_safi::Family::V4,
    encoding: super::bgp::afi_safi::Encoding::Plain,
};

#[cfg(test)]
mod tests {
    //! Round trips: encode, decode, compare with the inputs; and where a
    //! hand-built vector exists (`test_vectors`), the exact bytes.

    use super::*;
    use crate::wire::bgp::afi_safi::{AFI_L2VPN, IPV4_UNICAST, IPV6_UNICAST, SAFI_EVPN};
    use crate::wire::bgp::message::{MSG_KEEPALIVE, Notification};
    use crate::wire::bgp::nlri::{Labels, Prefix, RouteDistinguisher, Section};
    use crate::wire::bgp::open::{Capability, Open};
    use crate::wire::bgp::session::SessionContext;
    use crate::wire::bgp::update::{Action, Issues, Route, Update};
    use crate::wire::bmp::BmpMessage;
    use crate::wire::bmp::tlv::Tlvs;
    use crate::wire::test_vectors::{self as tv, parse};

    fn encoded(f: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        out
    }

    fn sent_open() -> OpenSpec {
        OpenSpec {
            asn: 65000,
            hold_time: 180,
            bgp_id: Ipv4Addr::new(192, 0, 2, 254),
            four_octet_as: true,
            families: vec![IPV4_UNICAST],
            add_path: vec![(IPV4_UNICAST, AddPathDirection::Receive)],
            other: vec![],
        }
    }

    fn received_open() -> OpenSpec {
        OpenSpec {
            asn: 65001,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(192, 0, 2, 1),
            add_path: vec![(IPV4_UNICAST, AddPathDirection::Send)],
            ..sent_open()
        }
    }

    #[test]
    fn initiation_and_termination() {
        let items: [(u16, &[u8]); 3] = [(0, b"lab"), (1, b"FRR 10"), (2, b"r1")];
        let out = encoded(|o| initiation(o, &items));
        assert_eq!(out, tv::INITIATION);
        let BmpMessage::Initiation(m) = parse(&out) else {
            panic!("not an Initiation");
        };
        let decoded: Vec<_> = m.info.iter().map(|t| (t.tlv_type, t.value)).collect();
        assert_eq!(decoded, items);

        let items: [(u16, &[u8]); 2] = [(0, b"bye"), (1, &[0x00, 0x01])];
        let out = encoded(|o| termination(o, &items));
        assert_eq!(out, tv::TERMINATION);
        let BmpMessage::Termination(m) = parse(&out) else {
            panic!("not a Termination");
        };
        assert_eq!(m.reason(), Some(1));
        // No TLV at all: a bare common header.
        assert_eq!(encoded(|o| termination(o, &[])), [0x03, 0, 0, 0, 6, 0x05]);
    }

    #[test]
    fn per_peer_headers() {
        for v in tv::peer_vectors() {
            let out = encoded(|o| {
                per_peer_header(o, &v.header);
                Ok(())
            });
            assert_eq!(out, v.bytes, "{}", v.name);
            let (h, _) = PerPeerHeader::parse(&out).unwrap();
            assert_eq!(h, v.header, "{}", v.name);
        }
    }

    #[test]
    fn flags_follow_the_address() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = IpAddr::V6("2001:db8::1".parse().unwrap());
        let l = PeerFlags::L;
        assert_eq!(
            flags_for(PeerType::Global, l, v6),
            PeerFlags(PeerFlags::V | l)
        );
        assert_eq!(
            flags_for(PeerType::RdInstance, PeerFlags::V | l, v4),
            PeerFlags(l)
        );
        // Loc-RIB: 0x80 is F, never touched.
        assert_eq!(
            flags_for(PeerType::LocRib, PeerFlags::F, v4),
            PeerFlags(PeerFlags::F)
        );
        assert_eq!(flags_for(PeerType::LocRib, 0, v6), PeerFlags(0));
    }

    #[test]
    fn peer_up() {
        let (sent, received) = (sent_open(), received_open());
        let info: [(u16, &[u8]); 1] = [(3, b"blue")];
        let spec = PeerUpSpec {
            peer: tv::peer_global_v4(),
            local_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
            local_port: 179,
            remote_port: 50000,
            sent: &sent,
            received: &received,
            info: &info,
        };
        let out = encoded(|o| super::peer_up(o, &spec));
        assert_eq!(out, tv::peer_up_v4());
        let BmpMessage::PeerUp(m) = parse(&out) else {
            panic!("not a Peer Up");
        };
        assert_eq!(m.peer, spec.peer);
        assert_eq!(m.local_address, spec.local_address);
        assert_eq!((m.local_port, m.remote_port), (179, 50000));
        assert_eq!(m.sent_open.asn(), 65000);
        assert_eq!(m.received_open.asn(), 65001);
        assert_eq!(m.vrf_table_name(), Some("blue"));

        // IPv6 session, Loc-RIB peer.
        let v6 = IpAddr::V6("2001:db8::fe".parse().unwrap());
        let spec = PeerUpSpec {
            peer: PerPeerHeader {
                peer_type: PeerType::RdInstance,
                flags: flags_for(PeerType::RdInstance, 0, v6),
                address: IpAddr::V6("2001:db8::1".parse().unwrap()),
                distinguisher: RouteDistinguisher([0, 0, 0xfd, 0xe8, 0, 0, 0, 1]),
                ..tv::peer_global_v4()
            },
            local_address: v6,
            info: &[],
            ..spec
        };
        let out = encoded(|o| super::peer_up(o, &spec));
        let BmpMessage::PeerUp(m) = parse(&out) else {
            panic!("not a Peer Up");
        };
        assert_eq!((m.peer, m.local_address), (spec.peer, v6));
        assert!(m.info.is_empty());
    }

    /// Decodes what `open` wrote for `spec` and compares field by field.
    fn open_round_trip(spec: &OpenSpec) {
        let out = encoded(|o| open(o, spec));
        let msg = crate::wire::bgp::message::BgpMessage::parse(&out).unwrap();
        let o = Open::parse(msg.expect(MSG_OPEN).unwrap()).unwrap();
        assert_eq!(o.version, 4);
        assert_eq!(o.my_as, u16::try_from(spec.asn).unwrap_or(23456));
        assert_eq!(
            o.asn(),
            if spec.four_octet_as {
                spec.asn
            } else {
                u32::from(o.my_as)
            }
        );
        assert_eq!((o.hold_time, o.bgp_id), (spec.hold_time, spec.bgp_id));
        let mut expected: Vec<Capability<'_>> = spec
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        if spec.four_octet_as {
            expected.push(Capability::FourOctetAs(spec.asn));
        }
        let caps: Vec<_> = o.capabilities().collect();
        let add_path: Vec<_> = caps
            .iter()
            .filter_map(|c| match c {
                Capability::AddPath(v) => Some(crate::wire::bgp::open::add_path_entries(v)),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(add_path, spec.add_path);
        let other: Vec<_> = caps
            .iter()
            .filter_map(|c| match *c {
                Capability::Unknown { code, value } => Some((code, value.to_vec())),
                Capability::RouteRefresh => Some((cap::ROUTE_REFRESH, vec![])),
                Capability::GracefulRestart(v) => Some((cap::GRACEFUL_RESTART, v.to_vec())),
                _ => None,
            })
            .collect();
        assert_eq!(other, spec.other);
        let known: Vec<_> = caps
            .into_iter()
            .filter(|c| matches!(c, Capability::Multiprotocol(_) | Capability::FourOctetAs(_)))
            .collect();
        assert_eq!(known, expected);
    }

    #[test]
    fn open_with_capabilities() {
        let mut out = Vec::new();
        open(&mut out, &sent_open()).unwrap();
        assert_eq!(out, tv::SENT_OPEN);
        out.clear();
        open(&mut out, &received_open()).unwrap();
        assert_eq!(out, tv::RECEIVED_OPEN);

        let specs = [
            sent_open(),
            OpenSpec {
                asn: 64512,
                four_octet_as: false,
                families: vec![],
                add_path: vec![],
                ..sent_open()
            },
            OpenSpec {
                asn: 4_200_000_000,
                families: vec![
                    IPV4_UNICAST,
                    IPV6_UNICAST,
                    AfiSafi::new(1, 0x80),
                    AfiSafi::new(25, 70),
                ],
                add_path: vec![
                    (IPV4_UNICAST, AddPathDirection::Both),
                    (IPV6_UNICAST, AddPathDirection::Send),
                    (AfiSafi::new(1, 0x80), AddPathDirection::Unknown(0)),
                ],
                other: vec![
                    (cap::ROUTE_REFRESH, vec![]),
                    (cap::GRACEFUL_RESTART, vec![0x80, 0x78]),
                    (73, vec![1, 2, 3]),
                ],
                ..sent_open()
            },
        ];
        for spec in &specs {
            open_round_trip(spec);
        }
    }

    #[test]
    fn open_parameters_too_long() {
        let many = |n: u16| OpenSpec {
            four_octet_as: false,
            families: (0..n).map(|i| AfiSafi::new(i, 1)).collect(),
            add_path: vec![],
            ..sent_open()
        };
        // 42 families: 252 octets of capabilities, 254 of parameters: fits.
        open_round_trip(&many(42));
        let mut out = Vec::new();
        assert_eq!(
            open(&mut out, &many(43)),
            Err(WireError::BadLength("capabilities parameter"))
        );
        // 254 octets of capabilities fit their parameter, not the OPEN.
        let spec = OpenSpec {
            other: vec![(0x80, vec![])],
            ..many(42)
        };
        assert_eq!(
            open(&mut Vec::new(), &spec),
            Err(WireError::BadLength("OPEN optional parameters"))
        );
    }

    #[test]
    fn peer_down_every_reason() {
        let peer = tv::peer_global_v4();
        let n = Notification {
            code: 6,
            subcode: 2,
            data: &[],
        };
        let out = encoded(|o| peer_down(o, &peer, &PeerDownReason::LocalNotification(n)));
        assert_eq!(out, tv::peer_down_local_notification());

        let tlvs = [0x00, 0x03, 0x00, 0x03, b'r', b'e', b'd'];
        let reasons = [
            PeerDownReason::LocalNotification(n),
            PeerDownReason::LocalNoNotification(24),
            PeerDownReason::RemoteNotification(Notification {
                code: 4,
                subcode: 0,
                data: &[0xde, 0xad],
            }),
            PeerDownReason::RemoteNoData,
            PeerDownReason::PeerDeconfigured,
            PeerDownReason::LocalSystemClosed(Tlvs::parse(&tlvs).unwrap()),
            PeerDownReason::LocalSystemClosed(Tlvs::default()),
            PeerDownReason::Unknown {
                code: 0xfe,
                data: &[1, 2, 3],
            },
        ];
        for reason in reasons {
            let out = encoded(|o| peer_down(o, &peer, &reason));
            let BmpMessage::PeerDown(m) = parse(&out) else {
                panic!("not a Peer Down");
            };
            assert_eq!((m.peer, m.reason), (peer, reason));
        }
    }

    #[test]
    fn stats_report() {
        let peer = tv::peer_global_v4();
        let stats = [
            Stat {
                stat_type: 0,
                value: StatValue::Counter32(7),
            },
            Stat {
                stat_type: 7,
                value: StatValue::Gauge64(4_294_967_298),
            },
            Stat {
                stat_type: 9,
                value: StatValue::AfiSafiGauge64(IPV6_UNICAST, 1000),
            },
        ];
        let out = encoded(|o| super::stats_report(o, &peer, &stats));
        assert_eq!(out, tv::stats_report());
        let more = [
            Stat {
                stat_type: 0x8000,
                value: StatValue::Raw(&[1, 2, 3]),
            },
            Stat {
                stat_type: 39,
                value: StatValue::AfiSafiGauge64(AfiSafi::new(AFI_L2VPN, SAFI_EVPN), 3),
            },
        ];
        let all = [&stats[..], &more].concat();
        let out = encoded(|o| super::stats_report(o, &peer, &all));
        let BmpMessage::StatisticsReport(m) = parse(&out) else {
            panic!("not a Statistics Report");
        };
        assert_eq!(m.count(), 5);
        assert_eq!(m.stats().collect::<Vec<_>>(), all);
    }

    #[test]
    fn route_monitoring() {
        let mut b = UpdateBuilder::new();
        let p = |s: &str| {
            let (a, l) = s.split_once('/').unwrap();
            Nlri {
                path_id: None,
                prefix: Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap(),
                rd: None,
                labels: Labels::default(),
            }
        };
        b.withdraw(&p("198.51.100.0/24"), false).unwrap();
        b.origin(0).unwrap();
        b.as_path(
            &[(SegmentType::Sequence, &[65000, 64496, 4_200_000_000])],
            4,
        )
        .unwrap();
        b.next_hop(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        b.med(100).unwrap();
        b.local_pref(200).unwrap();
        b.communities(&[0xfde8_0064, 0xffff_ff01]).unwrap();
        b.large_communities(&[[65000, 1, 2]]).unwrap();
        b.announce(&p("203.0.113.0/24"), false).unwrap();
        b.announce(&p("10.1.0.0/16"), false).unwrap();
        let peer = tv::peer_global_v4();
        let out = encoded(|o| super::route_monitoring(o, &peer, &b));
        assert_eq!(out, tv::route_monitoring_v4());

        let mut update = Vec::new();
        b.write(&mut update).unwrap();
        assert_eq!(update, tv::UPDATE_V4);
        b.clear();
        assert_eq!(b, UpdateBuilder::new());
    }

    #[test]
    fn route_mirroring() {
        let keepalive = tv::bgp(MSG_KEEPALIVE, &[]);
        let items: [(u16, &[u8]); 2] = [(0, &keepalive), (1, &[0x00, 0x01])];
        let peer = tv::peer_global_v4();
        let out = encoded(|o| super::route_mirroring(o, &peer, &items));
        assert_eq!(out, tv::route_mirroring());
        let BmpMessage::RouteMirroring(m) = parse(&out) else {
            panic!("not a Route Mirroring");
        };
        assert_eq!(
            m.bgp_messages().next().unwrap().unwrap().msg_type,
            MSG_KEEPALIVE
        );
        assert_eq!(m.info_codes().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn nlri_every_encoding() {
        for v in tv::nlri_vectors() {
            let kind = v.family.nlri_kind().unwrap();
            let out = encoded(|o| nlri(o, &v.nlri, kind, v.add_path));
            assert_eq!(out, v.bytes, "{}", v.name);
        }
    }

    #[test]
    fn nlri_defaults_and_limits() {
        let base = tv::nlri_vectors()
            .into_iter()
            .find(|v| v.name == "ipv6 vpn add-path")
            .unwrap();
        let kind = base.family.nlri_kind().unwrap();
        // No label: the compatibility label 0x800000 is written.
        let n = Nlri {
            labels: Labels::default(),
            ..base.nlri
        };
        let out = encoded(|o| nlri(o, &n, kind, false));
        assert_eq!(&out[..4], [0x98, 0x80, 0x00, 0x00]);
        let (s, _) = Section::decide(&out, kind, false);
        let back = s.iter().next().unwrap();
        assert_eq!(
            (back.prefix, back.rd, back.labels.raw()),
            (n.prefix, n.rd, &[0x80, 0, 0][..])
        );
        // No path ID with ADD-PATH: 0 is written.
        let out = encoded(|o| nlri(o, &Nlri { path_id: None, ..n }, kind, true));
        assert_eq!(&out[..4], [0, 0, 0, 0]);
        // 3 labels + RD + /128 = 264 bits: too long for the length octet.
        let labels = [0x00, 0x00, 0x10, 0x00, 0x00, 0x20, 0x00, 0x00, 0x31];
        let host = Nlri {
            prefix: Prefix::new("2001:db8::1".parse().unwrap(), 128).unwrap(),
            labels: Labels::new(&labels),
            ..base.nlri
        };
        assert_eq!(
            nlri(&mut Vec::new(), &host, kind, false),
            Err(WireError::BadLength("NLRI"))
        );
    }

    /// MP_REACH_NLRI / MP_UNREACH_NLRI for every decoded family, built and
    /// decoded back into the same routes.
    #[test]
    fn update_builder_every_family() {
        for v in tv::nlri_vectors() {
            for add_path in [false, true] {
                let name = format!("{} add-path {add_path}", v.name);
                let ctx = if add_path {
                    SessionContext::FOUR_OCTET.with_add_path(v.family)
                } else {
                    SessionContext::FOUR_OCTET
                };
                let n = Nlri {
                    path_id: add_path.then_some(9),
                    ..v.nlri
                };
                let (nh, addr): (&[u8], IpAddr) = if v.family.afi == 1 {
                    (&[192, 0, 2, 1], IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
                } else {
                    let a = "2001:db8::1".parse().unwrap();
                    (
                        &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                        IpAddr::V6(a),
                    )
                };
                let mut b = UpdateBuilder::new();
                b.mp_unreach(v.family, [&n], add_path).unwrap();
                b.origin(2).unwrap();
                b.as_path(&[(SegmentType::Set, &[1, 2])], 4).unwrap();
                b.mp_reach(v.family, nh, [&n, &n], add_path).unwrap();
                let mut out = Vec::new();
                b.write(&mut out).unwrap();
                let u = Update::parse(&out[19..], &ctx).unwrap();
                assert_eq!(u.issues(), Issues::default(), "{name}");
                let announce = Route {
                    action: Action::Announce,
                    afi_safi: v.family,
                    nlri: n,
                    next_hop: Some(addr),
                };
                let withdraw = Route {
                    action: Action::Withdraw,
                    next_hop: None,
                    ..announce
                };
                let routes: Vec<_> = u.routes().collect();
                assert_eq!(routes, [withdraw, announce, announce], "{name}");
                assert_eq!(u.mp_reach().unwrap().next_hop_raw, nh);
            }
        }
    }

    #[test]
    fn update_builder_attributes_and_limits() {
        // The IPv4 fields with ADD-PATH, a 2-octet AS_PATH with AS_TRANS.
        let n = tv::nlri_vectors()
            .into_iter()
            .find(|v| v.name == "ipv4 unicast add-path")
            .unwrap()
            .nlri;
        let mut b = UpdateBuilder::new();
        b.withdraw(&n, true).unwrap();
        b.origin(1).unwrap();
        b.as_path(
            &[
                (SegmentType::ConfedSequence, &[65001]),
                (SegmentType::Sequence, &[65000, 4_200_000_000]),
                (SegmentType::ConfedSet, &[65002]),
                (SegmentType::Set, &[1, 2]),
            ],
            2,
        )
        .unwrap();
        b.next_hop(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        b.announce(&n, true).unwrap();
        let mut out = Vec::new();
        b.write(&mut out).unwrap();
        let ctx = SessionContext::default().with_add_path(IPV4_UNICAST);
        let u = Update::parse(&out[19..], &ctx).unwrap();
        assert_eq!(u.issues(), Issues::default());
        let asns: Vec<_> = u.as_path().unwrap().asns().collect();
        assert_eq!(asns, [65001, 65000, 23456, 65002, 1, 2]);
        let kinds: Vec<_> = u.as_path().unwrap().segments().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SegmentType::ConfedSequence,
                SegmentType::Sequence,
                SegmentType::ConfedSet,
                SegmentType::Set
            ]
        );
        let routes: Vec<_> = u.routes().map(|r| (r.action, r.nlri)).collect();
        assert_eq!(routes, [(Action::Withdraw, n), (Action::Announce, n)]);

        // A 300-octet value takes the extended length; 65536 octets do not fit.
        let mut b = UpdateBuilder::new();
        b.attr(FLAG_OPTIONAL | FLAG_TRANSITIVE, 0xfe, &[7; 300])
            .unwrap();
        let mut out = Vec::new();
        b.write(&mut out).unwrap();
        assert_eq!(&out[23..27], [0xd0, 0xfe, 0x01, 0x2c]);
        let u = Update::parse(&out[19..], &SessionContext::FOUR_OCTET).unwrap();
        assert_eq!(u.unknown_attrs().next().unwrap().value.len(), 300);
        assert_eq!(
            b.attr(0, 0xfe, &vec![0; 65536]).map(drop),
            Err(WireError::BadLength("attribute"))
        );
        // Attributes that fit one by one but not the field, or the message.
        let mut b = UpdateBuilder::new();
        b.attr(0xc0, 0xfe, &vec![0; 40_000]).unwrap();
        b.attr(0xc0, 0xfd, &vec![0; 40_000]).unwrap();
        assert_eq!(
            b.write(&mut Vec::new()),
            Err(WireError::BadLength("path attributes"))
        );
        let mut b = UpdateBuilder::new();
        b.attr(0xc0, 0xfe, &vec![0; 65_000]).unwrap();
        b.write(&mut Vec::new()).unwrap();
        for _ in 0..200 {
            b.announce(&n, true).unwrap(); // 9 octets each
        }
        assert_eq!(
            b.write(&mut Vec::new()),
            Err(WireError::BadLength("BGP message"))
        );
    }

    #[test]
    fn update_builder_end_of_rib_and_raw_families() {
        let mut out = Vec::new();
        UpdateBuilder::new().write(&mut out).unwrap();
        assert_eq!(out, tv::bgp(0x02, &[&[0, 0, 0, 0]]));
        let u = Update::parse(&out[19..], &SessionContext::FOUR_OCTET).unwrap();
        assert_eq!(u.end_of_rib(), Some(IPV4_UNICAST));

        let evpn = AfiSafi::new(AFI_L2VPN, SAFI_EVPN);
        for family in [IPV6_UNICAST, AfiSafi::new(2, 0x80), evpn] {
            let mut b = UpdateBuilder::new();
            b.mp_unreach(family, [], false).unwrap();
            let mut out = Vec::new();
            b.write(&mut out).unwrap();
            let u = Update::parse(&out[19..], &SessionContext::FOUR_OCTET).unwrap();
            assert_eq!(u.end_of_rib(), Some(family));
        }
        let n = tv::nlri_vectors().remove(0).nlri;
        let mut b = UpdateBuilder::new();
        assert_eq!(
            b.mp_reach(evpn, &[], [&n], false).map(drop),
            Err(WireError::InvalidValue("MP_REACH_NLRI family"))
        );
        assert_eq!(
            b.mp_unreach(evpn, [&n], false).map(drop),
            Err(WireError::InvalidValue("MP_UNREACH_NLRI family"))
        );
    }

    #[test]
    fn length_limits_of_bmp_and_tlvs() {
        let big = vec![0; 65536];
        assert_eq!(
            initiation(&mut Vec::new(), &[(0, &big)]),
            Err(WireError::BadLength("TLV"))
        );
        let peer = tv::peer_global_v4();
        let raw = [Stat {
            stat_type: 0x8000,
            value: StatValue::Raw(&big),
        }];
        assert_eq!(
            super::stats_report(&mut Vec::new(), &peer, &raw),
            Err(WireError::BadLength("stat"))
        );
        // Messages append: two in a row frame as two.
        let mut out = Vec::new();
        initiation(&mut out, &[(2, b"r1")]).unwrap();
        termination(&mut out, &[]).unwrap();
        let frames: Vec<_> = crate::wire::frame::Frames::new(&out, 1024)
            .map(|f| f.unwrap().msg_type)
            .collect();
        assert_eq!(frames, [MessageType::Initiation, MessageType::Termination]);
    }

    /// The fuzz round trip (decode, encode, decode) holds on the vectors.
    #[test]
    fn fuzz_roundtrip_on_vectors() {
        let four = [0x01, 0x00, 0x00]; // 4-octet ASNs, no ADD-PATH
        crate::wire::fuzzing::roundtrip(&[&four[..], &tv::UPDATE_V4[19..]].concat());
        for v in tv::nlri_vectors() {
            let mut b = UpdateBuilder::new();
            b.origin(0).unwrap();
            b.mp_reach(v.family, &[0; 16], [&v.nlri], false).unwrap();
            let mut out = Vec::new();
            b.write(&mut out).unwrap();
            crate::wire::fuzzing::roundtrip(&[&four[..], &out[19..]].concat());
        }
    }
}
