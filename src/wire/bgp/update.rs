//! The BGP UPDATE message (RFC 4271 §4.3) with multiprotocol NLRI
//! (RFC 4760), ADD-PATH (RFC 7911) and revised error handling (RFC 7606).
//!
//! [`Update::parse`] walks the attributes once, checks every attribute it
//! knows, decides how each NLRI block is to be read, and records what it
//! noticed in [`Issues`]. Everything after that is infallible and lazy:
//! [`Update::routes`] yields one [`Route`] per NLRI without allocating.
//!
//! Errors that leave the message unusable (lengths that overrun, a broken
//! MP_REACH_NLRI or MP_UNREACH_NLRI) make `parse` fail. Errors in other
//! attributes follow RFC 7606: *treat-as-withdraw* (the UPDATE's
//! announcements are reported as withdrawals) or *attribute discard*.
//! Missing mandatory attributes are only flagged: BMP reports a RIB the
//! router already holds, so a route is not dropped for that.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::afi_safi::{AfiSafi, Encoding, Family, IPV4_UNICAST, NlriKind};
use super::attr::{self, AsPath, AttrIter, Origin, RawAttr, check_as_path, code};
use super::nlri::{Decision, Nlri, NlriIter, Section};
use super::session::SessionContext;
use crate::wire::{Reader, WireError};

const IPV4_PLAIN: NlriKind = NlriKind {
    family: Family::V4,
    encoding: Encoding::Plain,
};

/// What `Update::parse` noticed, as bit flags.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct Issues(u16);

impl Issues {
    /// A malformed attribute made the announcements withdrawals (RFC 7606).
    pub const TREAT_AS_WITHDRAW: Self = Self(1 << 0);
    /// A malformed optional attribute was discarded (RFC 7606).
    pub const ATTRIBUTE_DISCARDED: Self = Self(1 << 1);
    /// An attribute other than MP_(UN)REACH appeared twice; the first kept.
    pub const DUPLICATE_ATTRIBUTE: Self = Self(1 << 2);
    /// ORIGIN, AS_PATH or NEXT_HOP missing where NLRI are announced.
    pub const MISSING_MANDATORY: Self = Self(1 << 3);
    /// NLRI read with ADD-PATH the other way round than negotiated.
    pub const ADD_PATH_MISMATCH: Self = Self(1 << 4);
    /// AS_PATH read with the other ASN width than negotiated.
    pub const AS_WIDTH_MISMATCH: Self = Self(1 << 5);
    /// An NLRI block was malformed; only its valid head was kept.
    pub const NLRI_MALFORMED: Self = Self(1 << 6);
    /// MP NLRI of a family that is kept raw (EVPN, BGP-LS, flowspec, ...).
    pub const UNSUPPORTED_FAMILY: Self = Self(1 << 7);

    const NAMES: [(Self, &'static str); 8] = [
        (Self::TREAT_AS_WITHDRAW, "treat_as_withdraw"),
        (Self::ATTRIBUTE_DISCARDED, "attribute_discarded"),
        (Self::DUPLICATE_ATTRIBUTE, "duplicate_attribute"),
        (Self::MISSING_MANDATORY, "missing_mandatory"),
        (Self::ADD_PATH_MISMATCH, "add_path_mismatch"),
        (Self::AS_WIDTH_MISMATCH, "as_width_mismatch"),
        (Self::NLRI_MALFORMED, "nlri_malformed"),
        (Self::UNSUPPORTED_FAMILY, "unsupported_family"),
    ];

    /// Whether nothing was noticed.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether all flags of `other` are set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Names of the flags set, for counters and logs.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

/// The NLRI of MP_REACH_NLRI or MP_UNREACH_NLRI.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum MpNlri<'a> {
    /// A family decoded prefix by prefix.
    Decoded(Section<'a>),
    /// A family kept raw.
    Raw(&'a [u8]),
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct MpReach<'a> {
    /// The family.
    pub afi_safi: AfiSafi,
    /// The raw next hop field.
    pub next_hop_raw: &'a [u8],
    /// The NLRI.
    pub nlri: MpNlri<'a>,
}

impl MpReach<'_> {
    /// The next hop address, for the layouts of RFC 4760, RFC 2545,
    /// RFC 4364/4659 (with an RD of zeros) and RFC 8950.
    pub fn next_hop(&self) -> Option<IpAddr> {
        next_hop_addrs(self.next_hop_raw).0
    }

    /// The IPv6 link-local next hop, if one was sent.
    pub fn link_local_next_hop(&self) -> Option<IpAddr> {
        next_hop_addrs(self.next_hop_raw).1
    }
}

fn next_hop_addrs(raw: &[u8]) -> (Option<IpAddr>, Option<IpAddr>) {
    let v4 = |b: &[u8]| {
        <[u8; 4]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    };
    let v6 = |b: &[u8]| {
        <[u8; 16]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    };
    fn skip_rd(b: &[u8]) -> &[u8] {
        b.get(8..).unwrap_or_default()
    }
    match raw.len() {
        4 => (v4(raw), None),
        16 => (v6(raw), None),
        32 => (
            v6(raw.get(..16).unwrap_or_default()),
            v6(raw.get(16..).unwrap_or_default()),
        ),
        12 => (v4(skip_rd(raw)), None),
        24 => (v6(skip_rd(raw)), None),
        48 => (
            v6(raw.get(8..24).unwrap_or_default()),
            v6(raw.get(32..).unwrap_or_default()),
        ),
        _ => (None, None),
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct MpUnreach<'a> {
    /// The family.
    pub afi_safi: AfiSafi,
    /// The withdrawn NLRI.
    pub nlri: MpNlri<'a>,
}

/// Announce or withdraw.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum Action {
    /// The route is (re)announced with the UPDATE's attributes.
    Announce,
    /// The route is withdrawn.
    Withdraw,
}

/// One route of an UPDATE.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Route<'a> {
    /// Announce or withdraw.
    pub action: Action,
    /// The family.
    pub afi_safi: AfiSafi,
    /// The NLRI.
    pub nlri: Nlri<'a>,
    /// The next hop of an announcement (NEXT_HOP or the MP_REACH next hop).
    pub next_hop: Option<IpAddr>,
}

/// Where the values of the known attributes are in the Path Attributes
/// field, indexed by [`slot`]: `offset << 16 | length`, or 0 when absent
/// (a value never starts at offset 0, after its attribute header). Packed
/// so that an [`Update`] stays small to copy.
type Known = [u32; KNOWN];
const KNOWN: usize = 16;

/// The index of a known attribute's value in [`Known`], or `None` for
/// attributes kept only raw (MP_REACH/MP_UNREACH have their own fields).
fn slot(code: u8) -> Option<usize> {
    Some(match code {
        code::ORIGIN => 0,
        code::AS_PATH => 1,
        code::NEXT_HOP => 2,
        code::MED => 3,
        code::LOCAL_PREF => 4,
        code::ATOMIC_AGGREGATE => 5,
        code::AGGREGATOR => 6,
        code::COMMUNITIES => 7,
        code::ORIGINATOR_ID => 8,
        code::CLUSTER_LIST => 9,
        code::EXTENDED_COMMUNITIES => 10,
        code::AS4_PATH => 11,
        code::AS4_AGGREGATOR => 12,
        code::IPV6_EXTENDED_COMMUNITIES => 13,
        code::LARGE_COMMUNITIES => 14,
        code::OTC => 15,
        _ => return None,
    })
}

/// A parsed UPDATE, borrowing the message.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Update<'a> {
    withdrawn: Section<'a>,
    announced: Section<'a>,
    /// The Path Attributes field; walk it with [`Update::raw_attrs`].
    attrs: &'a [u8],
    known: Known,
    /// Whether any attribute is one this codec does not interpret.
    has_unknown: bool,
    mp_reach: Option<MpReach<'a>>,
    mp_unreach: Option<MpUnreach<'a>>,
    /// Octets per ASN in AS_PATH and AGGREGATOR: 2 or 4.
    as_width: u8,
    issues: Issues,
}

/// Per-attribute RFC 7606 verdict.
enum Verdict {
    Keep,
    Discard,
    TreatAsWithdraw,
}

impl<'a> Update<'a> {
    /// Parses an UPDATE body (after the BGP header).
    pub fn parse(body: &'a [u8], ctx: &SessionContext) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let wlen = r.u16("withdrawn routes length")?;
        let withdrawn_raw = r.take(usize::from(wlen), "withdrawn routes")?;
        let alen = r.u16("path attributes length")?;
        let attrs = r.take(usize::from(alen), "path attributes")?;
        let nlri_raw = r.take_rest();

        let mut issues = Issues::default();
        let mut note = |d: Decision, issues: &mut Issues| {
            if d.add_path_mismatch {
                issues.insert(Issues::ADD_PATH_MISMATCH);
            }
            if d.malformed {
                issues.insert(Issues::NLRI_MALFORMED);
            }
        };
        let ap = ctx.add_path(IPV4_UNICAST);
        let (withdrawn, d) = Section::decide(withdrawn_raw, IPV4_PLAIN, ap);
        note(d, &mut issues);
        let (announced, d) = Section::decide(nlri_raw, IPV4_PLAIN, ap);
        note(d, &mut issues);

        let mut u = Self {
            withdrawn,
            announced,
            attrs,
            known: [0; KNOWN],
            has_unknown: false,
            mp_reach: None,
            mp_unreach: None,
            as_width: if ctx.four_octet_as { 4 } else { 2 },
            issues,
        };
        let mut it = AttrIter::new(attrs);
        while let Some(a) = it.next() {
            let Ok(a) = a else {
                // The attribute list cannot be walked past this point:
                // RFC 7606 §4, treat-as-withdraw.
                u.issues.insert(Issues::TREAT_AS_WITHDRAW);
                break;
            };
            // Both fit in 16 bits: the field is at most 65535 octets long.
            let end = attrs.len().saturating_sub(it.remaining());
            let start = end.saturating_sub(a.value.len());
            let packed = (start as u32) << 16 | a.value.len() as u32;
            u.add_attr(a, packed, ctx, &mut note)?;
        }
        u.check_mandatory();
        Ok(u)
    }

    fn add_attr(
        &mut self,
        a: RawAttr<'a>,
        packed: u32,
        ctx: &SessionContext,
        note: &mut impl FnMut(Decision, &mut Issues),
    ) -> Result<(), WireError> {
        match a.code {
            code::MP_REACH_NLRI => {
                if self.mp_reach.is_some() {
                    return Err(WireError::Duplicate("MP_REACH_NLRI"));
                }
                let (reach, d) = parse_mp_reach(a.value, ctx)?;
                self.note_family(&reach.nlri);
                note(d, &mut self.issues);
                self.mp_reach = Some(reach);
                return Ok(());
            }
            code::MP_UNREACH_NLRI => {
                if self.mp_unreach.is_some() {
                    return Err(WireError::Duplicate("MP_UNREACH_NLRI"));
                }
                let (unreach, d) = parse_mp_unreach(a.value, ctx)?;
                self.note_family(&unreach.nlri);
                note(d, &mut self.issues);
                self.mp_unreach = Some(unreach);
                return Ok(());
            }
            _ => {}
        }
        let Some(i) = slot(a.code) else {
            self.has_unknown = true;
            return Ok(());
        };
        if self.known.get(i).is_some_and(|&k| k != 0) {
            self.issues.insert(Issues::DUPLICATE_ATTRIBUTE);
            return Ok(());
        }
        match self.check(a) {
            Verdict::Keep => {
                if let Some(k) = self.known.get_mut(i) {
                    *k = packed;
                }
            }
            Verdict::Discard => self.issues.insert(Issues::ATTRIBUTE_DISCARDED),
            Verdict::TreatAsWithdraw => self.issues.insert(Issues::TREAT_AS_WITHDRAW),
        }
        Ok(())
    }

    fn note_family(&mut self, nlri: &MpNlri<'_>) {
        if matches!(nlri, MpNlri::Raw(_)) {
            self.issues.insert(Issues::UNSUPPORTED_FAMILY);
        }
    }

    /// RFC 7606 §7 checks for one known attribute.
    fn check(&mut self, a: RawAttr<'a>) -> Verdict {
        let len = a.value.len();
        let ok = match a.code {
            code::ORIGIN => matches!(a.value, [0..=2]),
            code::AS_PATH => return self.check_as_path(a.value),
            code::NEXT_HOP | code::MED | code::LOCAL_PREF | code::ORIGINATOR_ID | code::OTC => {
                len == 4
            }
            code::ATOMIC_AGGREGATE => return keep_or_discard(len == 0),
            code::AGGREGATOR => return keep_or_discard(len == 6 || len == 8),
            code::AS4_AGGREGATOR => return keep_or_discard(len == 8),
            code::AS4_PATH => return keep_or_discard(check_as_path(a.value, 4).is_ok()),
            code::COMMUNITIES | code::CLUSTER_LIST => len > 0 && len.is_multiple_of(4),
            code::EXTENDED_COMMUNITIES => len.is_multiple_of(8),
            code::IPV6_EXTENDED_COMMUNITIES => len.is_multiple_of(20),
            code::LARGE_COMMUNITIES => len > 0 && len.is_multiple_of(12),
            _ => true,
        };
        if ok {
            Verdict::Keep
        } else {
            Verdict::TreatAsWithdraw
        }
    }

    /// Checks AS_PATH with the negotiated ASN width, then with the other
    /// one: exporters get the A flag and the OPENs wrong in both ways.
    fn check_as_path(&mut self, value: &[u8]) -> Verdict {
        if check_as_path(value, usize::from(self.as_width)).is_ok() {
            return Verdict::Keep;
        }
        let other = if self.as_width == 4 { 2 } else { 4 };
        if check_as_path(value, usize::from(other)).is_ok() {
            self.as_width = other;
            self.issues.insert(Issues::AS_WIDTH_MISMATCH);
            return Verdict::Keep;
        }
        Verdict::TreatAsWithdraw
    }

    fn check_mandatory(&mut self) {
        let plain = !self.announced.is_empty();
        let mp = matches!(self.mp_reach, Some(MpReach { nlri: MpNlri::Decoded(s), .. }) if !s.is_empty());
        if !(plain || mp) {
            return;
        }
        let missing = self.attr(code::ORIGIN).is_none()
            || self.attr(code::AS_PATH).is_none()
            || (plain && self.attr(code::NEXT_HOP).is_none());
        if missing {
            self.issues.insert(Issues::MISSING_MANDATORY);
        }
    }

    /// The value of a known attribute that passed its checks.
    fn attr(&self, code: u8) -> Option<&'a [u8]> {
        let k = usize::try_from(*self.known.get(slot(code)?)?).ok()?;
        if k == 0 {
            return None;
        }
        let (start, len) = (k >> 16, k & 0xffff);
        self.attrs.get(start..)?.get(..len)
    }

    /// What parsing noticed.
    pub fn issues(&self) -> Issues {
        self.issues
    }

    /// Whether announcements are reported as withdrawals (RFC 7606).
    pub fn treat_as_withdraw(&self) -> bool {
        self.issues.contains(Issues::TREAT_AS_WITHDRAW)
    }

    /// All routes: withdrawals first (withdrawn routes, MP_UNREACH_NLRI),
    /// then announcements (NLRI, MP_REACH_NLRI), in message order.
    pub fn routes(&self) -> Routes<'a> {
        let decoded = |n: Option<MpNlri<'a>>| match n {
            Some(MpNlri::Decoded(s)) => s.iter(),
            _ => Section::empty(IPV4_PLAIN).iter(),
        };
        let announce = if self.treat_as_withdraw() {
            Action::Withdraw
        } else {
            Action::Announce
        };
        let reach = self.mp_reach;
        let unreach = self.mp_unreach;
        Routes {
            parts: [
                Part {
                    iter: self.withdrawn.iter(),
                    family: IPV4_UNICAST,
                    action: Action::Withdraw,
                    next_hop: None,
                },
                Part {
                    iter: decoded(unreach.map(|u| u.nlri)),
                    family: unreach.map_or(IPV4_UNICAST, |u| u.afi_safi),
                    action: Action::Withdraw,
                    next_hop: None,
                },
                Part {
                    iter: self.announced.iter(),
                    family: IPV4_UNICAST,
                    action: announce,
                    next_hop: self.next_hop_attr().map(IpAddr::V4),
                },
                Part {
                    iter: decoded(reach.map(|r| r.nlri)),
                    family: reach.map_or(IPV4_UNICAST, |r| r.afi_safi),
                    action: announce,
                    next_hop: reach.and_then(|r| r.next_hop()),
                },
            ],
            at: 0,
        }
    }

    /// The IPv4 unicast Withdrawn Routes field, as it is to be read.
    pub fn withdrawn_section(&self) -> Section<'a> {
        self.withdrawn
    }

    /// The IPv4 unicast NLRI field, as it is to be read.
    pub fn announced_section(&self) -> Section<'a> {
        self.announced
    }

    /// Number of routes announced (before treat-as-withdraw).
    pub fn announced_count(&self) -> u32 {
        let mp = match self.mp_reach {
            Some(MpReach {
                nlri: MpNlri::Decoded(s),
                ..
            }) => s.count(),
            _ => 0,
        };
        self.announced.count().saturating_add(mp)
    }

    /// Number of routes withdrawn explicitly.
    pub fn withdrawn_count(&self) -> u32 {
        let mp = match self.mp_unreach {
            Some(MpUnreach {
                nlri: MpNlri::Decoded(s),
                ..
            }) => s.count(),
            _ => 0,
        };
        self.withdrawn.count().saturating_add(mp)
    }

    /// The family of an End-of-RIB marker (RFC 4724 §2), if this is one:
    /// an empty UPDATE for IPv4 unicast, or an UPDATE whose only attribute
    /// is an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty() || !self.announced.is_empty() {
            return None;
        }
        if self.attrs.is_empty() {
            return Some(IPV4_UNICAST);
        }
        let u = self.mp_unreach?;
        let empty = match u.nlri {
            MpNlri::Decoded(s) => s.is_empty(),
            MpNlri::Raw(r) => r.is_empty(),
        };
        let only = AttrIter::new(self.attrs).count() == 1;
        (empty && only).then_some(u.afi_safi)
    }

    /// MP_REACH_NLRI, if present.
    pub fn mp_reach(&self) -> Option<MpReach<'a>> {
        self.mp_reach
    }

    /// MP_UNREACH_NLRI, if present.
    pub fn mp_unreach(&self) -> Option<MpUnreach<'a>> {
        self.mp_unreach
    }

    /// All attributes as received, in order (unknown ones included).
    /// The walk was checked by `parse`; a malformed tail ends it.
    pub fn raw_attrs(&self) -> impl Iterator<Item = RawAttr<'a>> + 'a {
        AttrIter::new(self.attrs).map_while(Result::ok)
    }

    /// The Path Attributes field as received.
    pub fn attrs_raw(&self) -> &'a [u8] {
        self.attrs
    }

    /// Attributes this codec does not interpret, in order.
    pub fn unknown_attrs(&self) -> impl Iterator<Item = RawAttr<'a>> + 'a {
        let attrs = if self.has_unknown { self.attrs } else { &[] };
        AttrIter::new(attrs).map_while(Result::ok).filter(|a| {
            slot(a.code).is_none()
                && a.code != code::MP_REACH_NLRI
                && a.code != code::MP_UNREACH_NLRI
        })
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        Origin::from_u8(*self.attr(code::ORIGIN)?.first()?)
    }

    /// The AS path, with AS4_PATH merged in on 2-octet sessions.
    pub fn as_path(&self) -> Option<AsPath<'a>> {
        let p = self.attr(code::AS_PATH)?;
        Some(AsPath::new(p, self.as_width, self.attr(code::AS4_PATH)))
    }

    /// NEXT_HOP.
    pub fn next_hop_attr(&self) -> Option<Ipv4Addr> {
        u32_of(self.attr(code::NEXT_HOP)).map(Ipv4Addr::from)
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        u32_of(self.attr(code::MED))
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        u32_of(self.attr(code::LOCAL_PREF))
    }

    /// Whether ATOMIC_AGGREGATE is present.
    pub fn atomic_aggregate(&self) -> bool {
        self.attr(code::ATOMIC_AGGREGATE).is_some()
    }

    /// AGGREGATOR, with AS4_AGGREGATOR applied on 2-octet sessions
    /// (RFC 6793 §4.2.3).
    pub fn aggregator(&self) -> Option<(u32, Ipv4Addr)> {
        let agg = |v: &[u8]| match *v {
            [a, b, c, d, e, f] => Some((
                u32::from(u16::from_be_bytes([a, b])),
                Ipv4Addr::new(c, d, e, f),
            )),
            [a, b, c, d, e, f, g, h] => {
                Some((u32::from_be_bytes([a, b, c, d]), Ipv4Addr::new(e, f, g, h)))
            }
            _ => None,
        };
        let base = agg(self.attr(code::AGGREGATOR)?)?;
        match self.attr(code::AS4_AGGREGATOR).and_then(agg) {
            Some(as4) if base.0 == 23456 => Some(as4),
            _ => Some(base),
        }
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> impl Iterator<Item = attr::Community> + 'a {
        attr::communities(self.attr(code::COMMUNITIES).unwrap_or_default())
    }

    /// EXTENDED COMMUNITIES.
    pub fn ext_communities(&self) -> impl Iterator<Item = attr::ExtCommunity> + 'a {
        attr::ext_communities(self.attr(code::EXTENDED_COMMUNITIES).unwrap_or_default())
    }

    /// IPv6 address specific extended communities, raw 20-octet values.
    pub fn ipv6_ext_communities(&self) -> impl Iterator<Item = [u8; 20]> + 'a {
        attr::chunks::<20>(
            self.attr(code::IPV6_EXTENDED_COMMUNITIES)
                .unwrap_or_default(),
        )
    }

    /// LARGE_COMMUNITY.
    pub fn large_communities(&self) -> impl Iterator<Item = attr::LargeCommunity> + 'a {
        attr::large_communities(self.attr(code::LARGE_COMMUNITIES).unwrap_or_default())
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        u32_of(self.attr(code::ORIGINATOR_ID)).map(Ipv4Addr::from)
    }

    /// CLUSTER_LIST.
    pub fn cluster_list(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        attr::cluster_list(self.attr(code::CLUSTER_LIST).unwrap_or_default())
    }

    /// Only to Customer (RFC 9234).
    pub fn otc(&self) -> Option<u32> {
        u32_of(self.attr(code::OTC))
    }
}

fn keep_or_discard(ok: bool) -> Verdict {
    if ok { Verdict::Keep } else { Verdict::Discard }
}

fn u32_of(v: Option<&[u8]>) -> Option<u32> {
    v.and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(u32::from_be_bytes)
}

fn mp_nlri<'a>(family: AfiSafi, raw: &'a [u8], ctx: &SessionContext) -> (MpNlri<'a>, Decision) {
    match family.nlri_kind() {
        Some(kind) => {
            let (s, d) = Section::decide(raw, kind, ctx.add_path(family));
            (MpNlri::Decoded(s), d)
        }
        None => (MpNlri::Raw(raw), Decision::default()),
    }
}

/// ```text
///  +---------------------------------------------------------+
///  | Address Family Identifier (2 octets)                    |
///  | Subsequent Address Family Identifier (1 octet)          |
///  | Length of Next Hop Network Address (1 octet)            |
///  | Network Address of Next Hop (variable)                  |
///  | Reserved (1 octet)                                      |
///  | Network Layer Reachability Information (variable)       |
///  +---------------------------------------------------------+
/// ```
fn parse_mp_reach<'a>(
    v: &'a [u8],
    ctx: &SessionContext,
) -> Result<(MpReach<'a>, Decision), WireError> {
    let mut r = Reader::new(v);
    let afi_safi = AfiSafi::new(r.u16("MP_REACH_NLRI AFI")?, r.u8("MP_REACH_NLRI SAFI")?);
    let nh_len = r.u8("MP_REACH_NLRI next hop length")?;
    let next_hop_raw = r.take(usize::from(nh_len), "MP_REACH_NLRI next hop")?;
    r.u8("MP_REACH_NLRI reserved")?;
    let (nlri, d) = mp_nlri(afi_safi, r.take_rest(), ctx);
    Ok((
        MpReach {
            afi_safi,
            next_hop_raw,
            nlri,
        },
        d,
    ))
}

/// ```text
///  +---------------------------------------------------------+
///  | Address Family Identifier (2 octets)                    |
///  | Subsequent Address Family Identifier (1 octet)          |
///  | Withdrawn Routes (variable)                             |
///  +---------------------------------------------------------+
/// ```
fn parse_mp_unreach<'a>(
    v: &'a [u8],
    ctx: &SessionContext,
) -> Result<(MpUnreach<'a>, Decision), WireError> {
    let mut r = Reader::new(v);
    let afi_safi = AfiSafi::new(r.u16("MP_UNREACH_NLRI AFI")?, r.u8("MP_UNREACH_NLRI SAFI")?);
    let (nlri, d) = mp_nlri(afi_safi, r.take_rest(), ctx);
    Ok((MpUnreach { afi_safi, nlri }, d))
}

#[derive(Clone, Debug)]
struct Part<'a> {
    iter: NlriIter<'a>,
    family: AfiSafi,
    action: Action,
    next_hop: Option<IpAddr>,
}

/// Iterator over the routes of an [`Update`].
#[derive(Clone, Debug)]
pub struct Routes<'a> {
    parts: [Part<'a>; 4],
    /// Index of the part being read; `at <= 4`.
    at: usize,
}

impl<'a> Iterator for Routes<'a> {
    type Item = Route<'a>;

    fn next(&mut self) -> Option<Route<'a>> {
        loop {
            let part = self.parts.get_mut(self.at)?;
            if let Some(nlri) = part.iter.next() {
                let next_hop = match part.action {
                    Action::Announce => part.next_hop,
                    Action::Withdraw => None,
                };
                return Some(Route {
                    action: part.action,
                    afi_safi: part.family,
                    nlri,
                    next_hop,
                });
            }
            self.at = self.at.saturating_add(1);
        }
    }
}
