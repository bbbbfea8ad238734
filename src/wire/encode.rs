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
