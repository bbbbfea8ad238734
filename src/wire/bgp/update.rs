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

    /// Both sets of flags.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether any flag of `other` is set.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
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
    /// Bit `slot` set: that known attribute appeared (kept or not).
    seen: u16,
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
            seen: 0,
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
        let bit = 1u16
            .checked_shl(u32::try_from(i).unwrap_or(u32::MAX))
            .unwrap_or(0);
        if self.seen & bit != 0 {
            // RFC 7606 §3(g): only the first occurrence counts, even when
            // it was malformed.
            self.issues.insert(Issues::DUPLICATE_ATTRIBUTE);
            return Ok(());
        }
        self.seen |= bit;
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
            code::EXTENDED_COMMUNITIES => len > 0 && len.is_multiple_of(8),
            code::IPV6_EXTENDED_COMMUNITIES => len > 0 && len.is_multiple_of(20),
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
    pub fn routes(&self) -> Routes<'_, 'a> {
        Routes {
            update: self,
            part: self.part(0).unwrap_or_else(Part::empty),
            next: 1,
        }
    }

    /// The `i`-th block of routes, in the order [`Self::routes`] yields
    /// them; `None` past the last.
    fn part(&self, i: u8) -> Option<Part<'a>> {
        let announced = !self.treat_as_withdraw();
        let announce = if announced {
            Action::Announce
        } else {
            Action::Withdraw
        };
        let decoded = |n: MpNlri<'a>| match n {
            MpNlri::Decoded(s) => s.iter(),
            MpNlri::Raw(_) => Section::empty(IPV4_PLAIN).iter(),
        };
        Some(match i {
            0 => Part {
                iter: self.withdrawn.iter(),
                family: IPV4_UNICAST,
                action: Action::Withdraw,
                next_hop: None,
            },
            1 => match self.mp_unreach {
                Some(u) => Part {
                    iter: decoded(u.nlri),
                    family: u.afi_safi,
                    action: Action::Withdraw,
                    next_hop: None,
                },
                None => Part::empty(),
            },
            2 => Part {
                iter: self.announced.iter(),
                family: IPV4_UNICAST,
                action: announce,
                next_hop: self.next_hop_attr().map(IpAddr::V4).filter(|_| announced),
            },
            3 => match self.mp_reach {
                Some(r) => Part {
                    iter: decoded(r.nlri),
                    family: r.afi_safi,
                    action: announce,
                    next_hop: r.next_hop().filter(|_| announced),
                },
                None => Part::empty(),
            },
            _ => return None,
        })
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
        // A block cut down to nothing by malformed NLRI is not empty.
        if !self.withdrawn.is_empty()
            || !self.announced.is_empty()
            || self.issues.contains(Issues::NLRI_MALFORMED)
        {
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
            Some(as4) if self.as_width == 2 && base.0 == 23456 => Some(as4),
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

impl Part<'_> {
    fn empty() -> Self {
        Self {
            iter: Section::empty(IPV4_PLAIN).iter(),
            family: IPV4_UNICAST,
            action: Action::Withdraw,
            next_hop: None,
        }
    }
}

/// Iterator over the routes of an [`Update`].
#[derive(Clone, Debug)]
pub struct Routes<'u, 'a> {
    update: &'u Update<'a>,
    /// The block being read.
    part: Part<'a>,
    /// Index of the next block; `1 <= next <= 4`.
    next: u8,
}

impl<'a> Iterator for Routes<'_, 'a> {
    type Item = Route<'a>;

    #[inline]
    fn next(&mut self) -> Option<Route<'a>> {
        loop {
            if let Some(nlri) = self.part.iter.next() {
                let p = &self.part;
                return Some(Route {
                    action: p.action,
                    afi_safi: p.family,
                    nlri,
                    next_hop: p.next_hop,
                });
            }
            self.part = self.update.part(self.next)?;
            self.next = self.next.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::afi_safi::{AFI_BGP_LS, AFI_L2VPN, IPV6_UNICAST, SAFI_BGP_LS, SAFI_EVPN};
    use crate::wire::bgp::attr::{Community, LargeCommunity};
    use crate::wire::test_vectors::{self as tv, attr};

    const FOUR: SessionContext = SessionContext::FOUR_OCTET;
    const ORIGIN_IGP: [u8; 4] = [0x40, 0x01, 0x01, 0x00];
    #[rustfmt::skip]
    const AS_PATH_4: [u8; 9] = [
        0x40, 0x02, 0x06,       // AS_PATH, length 6
        0x02, 0x01,             // AS_SEQUENCE of 1
        0x00, 0x00, 0xfd, 0xe8, // 65000
    ];
    #[rustfmt::skip]
    const AS_PATH_2: [u8; 7] = [
        0x40, 0x02, 0x04,       // AS_PATH, length 4
        0x02, 0x01,             // AS_SEQUENCE of 1
        0xfd, 0xe8,             // 65000
    ];
    const NEXT_HOP: [u8; 7] = [0x40, 0x03, 0x04, 192, 0, 2, 1];
    const NLRI_203: [u8; 4] = [0x18, 203, 0, 113]; // 203.0.113.0/24

    fn body(withdrawn: &[u8], attrs: &[&[u8]], nlri: &[u8]) -> Vec<u8> {
        tv::update_body(withdrawn, &attrs.concat(), nlri)
    }

    /// MP_REACH_NLRI for IPv6 unicast, next hop 2001:db8::1, 2001:db8:1::/48.
    #[rustfmt::skip]
    const MP_REACH_V6: [u8; 31] = [
        0x80, 0x0e, 0x1c,       // MP_REACH_NLRI (optional), length 28
        0x00, 0x02, 0x01,       // AFI 2, SAFI 1
        0x10,                   // next hop length 16
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x00,                   // reserved
        0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, // 2001:db8:1::/48
    ];

    /// The routes as `+prefix#path-id via next-hop` / `-prefix`.
    fn routes(u: &Update<'_>) -> Vec<String> {
        u.routes()
            .map(|r| {
                let mut s = match r.action {
                    Action::Announce => "+".to_owned(),
                    Action::Withdraw => "-".to_owned(),
                };
                if let Some(rd) = r.nlri.rd {
                    s += &format!("[{rd}]");
                }
                s += &r.nlri.prefix.to_string();
                if let Some(id) = r.nlri.path_id {
                    s += &format!("#{id}");
                }
                if let Some(nh) = r.next_hop {
                    s += &format!(" via {nh}");
                }
                s
            })
            .collect()
    }

    #[test]
    fn vector_every_accessor() {
        let u = Update::parse(&tv::UPDATE_V4[19..], &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::default());
        assert_eq!(
            routes(&u),
            [
                "-198.51.100.0/24",
                "+203.0.113.0/24 via 192.0.2.1",
                "+10.1.0.0/16 via 192.0.2.1"
            ]
        );
        assert_eq!((u.announced_count(), u.withdrawn_count()), (2, 1));
        assert_eq!(u.origin(), Some(Origin::Igp));
        let p = u.as_path().unwrap();
        assert_eq!(p.asns().collect::<Vec<_>>(), [65000, 64496, 4_200_000_000]);
        assert_eq!(p.origin_asn(), Some(4_200_000_000));
        assert!(!p.is_merged());
        assert_eq!(u.next_hop_attr(), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!((u.med(), u.local_pref()), (Some(100), Some(200)));
        assert_eq!(
            u.communities().collect::<Vec<_>>(),
            [Community(0xfde8_0064), Community(0xffff_ff01)]
        );
        assert_eq!(
            u.large_communities().collect::<Vec<_>>(),
            [LargeCommunity {
                global: 65000,
                local1: 1,
                local2: 2
            }]
        );
        assert!(!u.atomic_aggregate());
        assert_eq!(u.aggregator(), None);
        assert_eq!(u.originator_id(), None);
        assert_eq!(u.cluster_list().count(), 0);
        assert_eq!(u.ext_communities().count(), 0);
        assert_eq!(u.ipv6_ext_communities().count(), 0);
        assert_eq!(u.otc(), None);
        assert_eq!((u.mp_reach(), u.mp_unreach()), (None, None));
        assert_eq!(u.unknown_attrs().count(), 0);
        assert_eq!(u.end_of_rib(), None);
        let codes: Vec<_> = u.raw_attrs().map(|a| a.code).collect();
        assert_eq!(codes, [1, 2, 3, 4, 5, 8, 32]);
        assert_eq!(u.attrs_raw().len(), 68);
        assert!(!u.announced_section().add_path());
        assert_eq!(u.withdrawn_section().count(), 1);
    }

    #[test]
    fn every_other_attribute() {
        #[rustfmt::skip]
        let attrs = [
            0x40, 0x01, 0x01, 0x02,                         // ORIGIN: INCOMPLETE
            0x40, 0x02, 0x0a,                               // AS_PATH, length 10
            0x02, 0x02,                                     //   AS_SEQUENCE of 2
            0x00, 0x00, 0xfd, 0xe8, 0x00, 0x00, 0xfb, 0xf0, //   65000 64496
            0x40, 0x03, 0x04, 192, 0, 2, 1,                 // NEXT_HOP 192.0.2.1
            0x40, 0x06, 0x00,                               // ATOMIC_AGGREGATE
            0xc0, 0x07, 0x08,                               // AGGREGATOR, 4-octet form
            0x00, 0x00, 0xfb, 0xf0, 192, 0, 2, 9,           //   64496, 192.0.2.9
            0x80, 0x09, 0x04, 10, 0, 0, 7,                  // ORIGINATOR_ID 10.0.0.7
            0x80, 0x0a, 0x08, 10, 0, 0, 1, 10, 0, 0, 2,     // CLUSTER_LIST 10.0.0.1 10.0.0.2
            0xc0, 0x10, 0x10,                               // EXTENDED COMMUNITIES, length 16
            0x00, 0x02, 0xfd, 0xe8, 0x00, 0x00, 0x00, 0x64, //   RT:65000:100
            0x01, 0x03, 192, 0, 2, 1, 0x00, 0x07,           //   SoO:192.0.2.1:7
            0xc0, 0x19, 0x14,                               // IPv6 ADDRESS SPECIFIC EXT. COMMUNITY
            0x00, 0x02,                                     //   transitive, route target
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,             //   2001:db8::1
            0, 0, 0, 0, 0, 0, 0, 0x01,
            0x00, 0x07,                                     //   local administrator 7
            0xc0, 0x23, 0x04, 0x00, 0x00, 0xfd, 0xe8,       // OTC 65000
            0xe0, 0xfe, 0x02, 0xbe, 0xef,                   // unknown 254 (optional, transitive, partial)
            0x80, 0x1a, 0x0b,                               // AIGP (26), not interpreted
            0x01, 0x00, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0x64,    //   TLV type 1, length 11, metric 100
        ];
        let body = body(&[], &[&attrs], &NLRI_203);
        let u = Update::parse(&body, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::default());
        assert_eq!(routes(&u), ["+203.0.113.0/24 via 192.0.2.1"]);
        assert_eq!(u.origin(), Some(Origin::Incomplete));
        assert!(u.atomic_aggregate());
        assert_eq!(u.aggregator(), Some((64496, Ipv4Addr::new(192, 0, 2, 9))));
        assert_eq!(u.originator_id(), Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(
            u.cluster_list().collect::<Vec<_>>(),
            [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
        );
        let ext: Vec<_> = u.ext_communities().map(|c| c.to_string()).collect();
        assert_eq!(ext, ["RT:65000:100", "SoO:192.0.2.1:7"]);
        let v6: Vec<_> = u.ipv6_ext_communities().collect();
        assert_eq!(v6.len(), 1);
        assert_eq!(v6[0][..2], [0x00, 0x02]);
        assert_eq!(v6[0][18..], [0x00, 0x07]);
        assert_eq!(u.otc(), Some(65000));
        let unknown: Vec<_> = u
            .unknown_attrs()
            .map(|a| (a.flags, a.code, a.value.len()))
            .collect();
        assert_eq!(unknown, [(0xe0, 0xfe, 2), (0x80, 0x1a, 11)]);
    }

    #[test]
    fn two_octet_session_merges_as4_attributes() {
        #[rustfmt::skip]
        let attrs = [
            0x40, 0x01, 0x01, 0x00,                         // ORIGIN: IGP
            0x40, 0x02, 0x06,                               // AS_PATH, length 6
            0x02, 0x02, 0xfd, 0xe8, 0x5b, 0xa0,             //   AS_SEQUENCE 65000 23456
            0x40, 0x03, 0x04, 192, 0, 2, 1,                 // NEXT_HOP
            0xc0, 0x07, 0x06, 0x5b, 0xa0, 192, 0, 2, 9,     // AGGREGATOR 23456, 192.0.2.9
            0xc0, 0x11, 0x06,                               // AS4_PATH, length 6
            0x02, 0x01, 0xfa, 0x56, 0xea, 0x01,             //   AS_SEQUENCE 4200000001
            0xc0, 0x12, 0x08,                               // AS4_AGGREGATOR
            0xfa, 0x56, 0xea, 0x01, 192, 0, 2, 9,           //   4200000001, 192.0.2.9
        ];
        let body = body(&[], &[&attrs], &NLRI_203);
        let u = Update::parse(&body, &SessionContext::default()).unwrap();
        assert_eq!(u.issues(), Issues::default());
        let p = u.as_path().unwrap();
        assert_eq!(p.asn_width(), 2);
        assert!(p.is_merged());
        assert_eq!(p.asns().collect::<Vec<_>>(), [65000, 4_200_000_001]);
        assert_eq!(
            u.aggregator(),
            Some((4_200_000_001, Ipv4Addr::new(192, 0, 2, 9)))
        );
        // AS4_AGGREGATOR only replaces an AGGREGATOR of AS_TRANS.
        let mut attrs = attrs;
        attrs[23..25].copy_from_slice(&[0xfb, 0xf0]); // AGGREGATOR 64496
        let body = self::body(&[], &[&attrs], &NLRI_203);
        let u = Update::parse(&body, &SessionContext::default()).unwrap();
        assert_eq!(u.aggregator(), Some((64496, Ipv4Addr::new(192, 0, 2, 9))));
    }

    #[test]
    fn as_path_of_the_other_width_is_read_and_flagged() {
        // 4-octet AS_PATH on a 2-octet session.
        let body1 = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP], &NLRI_203);
        let u = Update::parse(&body1, &SessionContext::default()).unwrap();
        assert_eq!(u.issues(), Issues::AS_WIDTH_MISMATCH);
        assert_eq!(u.as_path().unwrap().asn_width(), 4);
        assert_eq!(u.as_path().unwrap().asns().collect::<Vec<_>>(), [65000]);
        // 2-octet AS_PATH on a 4-octet session.
        let body2 = body(&[], &[&ORIGIN_IGP, &AS_PATH_2, &NEXT_HOP], &NLRI_203);
        let u = Update::parse(&body2, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::AS_WIDTH_MISMATCH);
        assert_eq!(u.as_path().unwrap().asns().collect::<Vec<_>>(), [65000]);
    }

    /// RFC 7606 §7: every attribute whose malformation means
    /// treat-as-withdraw. The bad attribute replaces the good one of its
    /// type among ORIGIN, AS_PATH and NEXT_HOP.
    #[test]
    fn treat_as_withdraw_per_attribute() {
        #[rustfmt::skip]
        let cases: [(&str, Vec<u8>); 19] = [
            ("ORIGIN length 2", attr(0x40, 0x01, &[0, 0])),
            ("ORIGIN value 3", attr(0x40, 0x01, &[3])),
            ("AS_PATH segment type 5", attr(0x40, 0x02, &[5, 1, 0, 0, 0xfd, 0xe8])),
            ("AS_PATH empty segment", attr(0x40, 0x02, &[2, 0])),
            ("AS_PATH overrun in both widths", attr(0x40, 0x02, &[2, 3, 0, 0, 0xfd, 0xe8])),
            ("NEXT_HOP length 3", attr(0x40, 0x03, &[192, 0, 2])),
            ("MULTI_EXIT_DISC length 2", attr(0x80, 0x04, &[0, 1])),
            ("LOCAL_PREF length 5", attr(0x40, 0x05, &[0, 0, 0, 0, 1])),
            ("COMMUNITIES empty", attr(0xc0, 0x08, &[])),
            ("COMMUNITIES length 6", attr(0xc0, 0x08, &[0, 0, 0, 1, 0, 2])),
            ("ORIGINATOR_ID length 3", attr(0x80, 0x09, &[10, 0, 0])),
            ("CLUSTER_LIST empty", attr(0x80, 0x0a, &[])),
            ("CLUSTER_LIST length 5", attr(0x80, 0x0a, &[10, 0, 0, 1, 2])),
            ("EXTENDED COMMUNITIES length 7", attr(0xc0, 0x10, &[0; 7])),
            ("IPv6 EXTENDED COMMUNITIES length 19", attr(0xc0, 0x19, &[0; 19])),
            ("LARGE_COMMUNITY empty", attr(0xc0, 0x20, &[])),
            ("LARGE_COMMUNITY length 13", attr(0xc0, 0x20, &[0; 13])),
            ("OTC length 2", attr(0xc0, 0x23, &[0, 1])),
            // COMMUNITIES says 10 octets, the field ends after 2.
            ("attribute runs past the field", vec![0xc0, 0x08, 0x0a, 0, 0]),
        ];
        for (name, bad) in cases {
            let mandatory: [&[u8]; 3] = [&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP];
            let mut attrs: Vec<&[u8]> = mandatory.into_iter().filter(|a| a[1] != bad[1]).collect();
            attrs.push(&bad);
            let body = body(&[], &attrs, &NLRI_203);
            let u = Update::parse(&body, &FOUR).unwrap();
            assert!(u.treat_as_withdraw(), "{name}: {:?}", u.issues());
            assert_eq!(routes(&u), ["-203.0.113.0/24"], "{name}");
            assert_eq!(u.attr(bad[1]), None, "{name}: the value is not offered");
            assert_eq!(
                u.announced_count(),
                1,
                "{name}: counted before treat-as-withdraw"
            );
        }
    }

    #[test]
    fn treat_as_withdraw_applies_to_mp_reach() {
        let bad = attr(0xc0, 0x08, &[0, 0, 0]); // COMMUNITIES of 3 octets
        let body = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &MP_REACH_V6, &bad], &[]);
        let u = Update::parse(&body, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::TREAT_AS_WITHDRAW);
        assert_eq!(routes(&u), ["-2001:db8:1::/48"]);
    }

    /// RFC 7606 §7: malformed attributes that are only discarded; the
    /// routes stay announced. On a 2-octet session, so that AS4_PATH
    /// matters.
    #[test]
    fn attribute_discard() {
        #[rustfmt::skip]
        let cases: [(&str, Vec<u8>); 5] = [
            ("ATOMIC_AGGREGATE length 1", attr(0x40, 0x06, &[0])),
            ("AGGREGATOR length 7", attr(0xc0, 0x07, &[0; 7])),
            ("AS4_AGGREGATOR length 6", attr(0xc0, 0x12, &[0; 6])),
            ("AS4_PATH segment type 9", attr(0xc0, 0x11, &[9, 1, 0, 0, 0, 1])),
            ("AS4_PATH of 2-octet ASNs", attr(0xc0, 0x11, &[2, 2, 0, 1, 0, 2])),
        ];
        for (name, bad) in cases {
            let body = body(&[], &[&ORIGIN_IGP, &AS_PATH_2, &NEXT_HOP, &bad], &NLRI_203);
            let u = Update::parse(&body, &SessionContext::default()).unwrap();
            assert_eq!(u.issues(), Issues::ATTRIBUTE_DISCARDED, "{name}");
            assert_eq!(routes(&u), ["+203.0.113.0/24 via 192.0.2.1"], "{name}");
            assert_eq!(u.attr(bad[1]), None, "{name}");
            assert!(!u.atomic_aggregate(), "{name}");
            assert_eq!(u.aggregator(), None, "{name}");
            assert!(!u.as_path().unwrap().is_merged(), "{name}");
        }
    }

    #[test]
    fn duplicate_attributes_keep_the_first() {
        let origin_incomplete = attr(0x40, 0x01, &[2]);
        let med1 = attr(0x80, 0x04, &[0, 0, 0, 1]);
        let med2 = attr(0x80, 0x04, &[0, 0, 0, 2]);
        let nh2 = attr(0x40, 0x03, &[198, 51, 100, 1]);
        let attrs: [&[u8]; 7] = [
            &ORIGIN_IGP,
            &AS_PATH_4,
            &NEXT_HOP,
            &med1,
            &origin_incomplete,
            &med2,
            &nh2,
        ];
        let body = body(&[], &attrs, &NLRI_203);
        let u = Update::parse(&body, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::DUPLICATE_ATTRIBUTE);
        assert_eq!(u.origin(), Some(Origin::Igp));
        assert_eq!(u.med(), Some(1));
        assert_eq!(routes(&u), ["+203.0.113.0/24 via 192.0.2.1"]);
        assert_eq!(u.raw_attrs().count(), 7, "all kept raw");
    }

    /// RFC 7606 §3 (g): "all the occurrences of the attribute other than
    /// the first one SHALL be discarded", whether or not the first one is
    /// malformed; `Issues::DUPLICATE_ATTRIBUTE` says "the first kept".
    #[test]
    fn duplicate_after_a_discarded_first_is_not_used() {
        let bad = attr(0xc0, 0x07, &[0; 5]); // AGGREGATOR of 5 octets: discarded
        let good = attr(0xc0, 0x07, &[0, 0, 0xfb, 0xf0, 192, 0, 2, 9]);
        let body = body(
            &[],
            &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP, &bad, &good],
            &NLRI_203,
        );
        let u = Update::parse(&body, &FOUR).unwrap();
        assert!(
            u.issues().contains(Issues::DUPLICATE_ATTRIBUTE),
            "{:?}",
            u.issues()
        );
        assert_eq!(u.aggregator(), None);
    }

    /// RFC 7606 §7.14 and §7.15: EXTENDED COMMUNITIES and the IPv6
    /// address specific ones are malformed unless their length is a
    /// *non-zero* multiple of 8 (of 20), as COMMUNITIES and
    /// LARGE_COMMUNITY already are here.
    #[test]
    fn empty_extended_communities_are_malformed() {
        for code in [0x10, 0x19] {
            let empty = attr(0xc0, code, &[]);
            let body = body(
                &[],
                &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP, &empty],
                &NLRI_203,
            );
            let u = Update::parse(&body, &FOUR).unwrap();
            assert!(u.treat_as_withdraw(), "code {code}");
        }
    }

    /// Missing mandatory attributes are flagged, and the routes kept.
    #[test]
    fn missing_mandatory() {
        let w = [0x18, 198, 51, 100];
        let med = attr(0x80, 0x04, &[0, 0, 0, 1]);
        // (case, withdrawn routes, attributes, NLRI, flagged, routes)
        type Case<'a> = (&'a str, &'a [u8], Vec<&'a [u8]>, &'a [u8], bool, usize);
        #[rustfmt::skip]
        let cases: [Case<'_>; 7] = [
            ("no ORIGIN", &[], vec![&AS_PATH_4, &NEXT_HOP], &NLRI_203, true, 1),
            ("no AS_PATH", &[], vec![&ORIGIN_IGP, &NEXT_HOP], &NLRI_203, true, 1),
            ("no NEXT_HOP", &[], vec![&ORIGIN_IGP, &AS_PATH_4], &NLRI_203, true, 1),
            ("MP_REACH needs no NEXT_HOP", &[], vec![&ORIGIN_IGP, &AS_PATH_4, &MP_REACH_V6], &[], false, 1),
            ("MP_REACH without ORIGIN", &[], vec![&AS_PATH_4, &MP_REACH_V6], &[], true, 1),
            ("withdrawals need nothing", &w, vec![], &[], false, 1),
            ("attributes without NLRI", &[], vec![&med], &[], false, 0),
        ];
        for (name, withdrawn, attrs, nlri, missing, n) in cases {
            let body = body(withdrawn, &attrs, nlri);
            let u = Update::parse(&body, &FOUR).unwrap();
            assert_eq!(
                u.issues().contains(Issues::MISSING_MANDATORY),
                missing,
                "{name}"
            );
            assert!(!u.treat_as_withdraw(), "{name}");
            assert_eq!(u.routes().count(), n, "{name}");
            let announced = withdrawn.is_empty();
            assert!(
                u.routes()
                    .all(|r| (r.action == Action::Announce) == announced),
                "{name}"
            );
        }
    }

    /// The MP_REACH_NLRI next hop for a family: IPv4 or IPv6, behind a
    /// zero RD for VPN families.
    fn next_hop_for(family: AfiSafi) -> (Vec<u8>, IpAddr) {
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let (mut raw, addr) = match family.afi {
            0x0001 => (vec![192, 0, 2, 1], IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            _ => (v6.octets().to_vec(), IpAddr::V6(v6)),
        };
        if family.nlri_kind().unwrap().encoding == Encoding::Vpn {
            raw.splice(0..0, [0; 8]);
        }
        (raw, addr)
    }

    fn mp_reach(family: AfiSafi, next_hop: &[u8], nlri: &[u8]) -> Vec<u8> {
        let mut v = family.afi.to_be_bytes().to_vec();
        v.push(family.safi);
        v.push(next_hop.len() as u8);
        v.extend_from_slice(next_hop);
        v.push(0x00); // reserved
        v.extend_from_slice(nlri);
        attr(0x80, 0x0e, &v)
    }

    fn mp_unreach(family: AfiSafi, nlri: &[u8]) -> Vec<u8> {
        let mut v = family.afi.to_be_bytes().to_vec();
        v.push(family.safi);
        v.extend_from_slice(nlri);
        attr(0x80, 0x0f, &v)
    }

    /// Every decoded family (unicast, multicast, labeled, VPN; IPv4 and
    /// IPv6; with and without ADD-PATH) announced and withdrawn.
    #[test]
    fn mp_families_from_shared_vectors() {
        for v in tv::nlri_vectors() {
            let ctx = if v.add_path {
                FOUR.with_add_path(v.family)
            } else {
                FOUR
            };
            let (nh_raw, nh) = next_hop_for(v.family);
            let reach = mp_reach(v.family, &nh_raw, v.bytes);
            let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &reach], &[]);
            let u = Update::parse(&b, &ctx).unwrap();
            assert_eq!(u.issues(), Issues::default(), "{}", v.name);
            let r = u.mp_reach().unwrap();
            assert_eq!(
                (r.afi_safi, r.next_hop(), r.link_local_next_hop()),
                (v.family, Some(nh), None)
            );
            let expected = Route {
                action: Action::Announce,
                afi_safi: v.family,
                nlri: v.nlri,
                next_hop: Some(nh),
            };
            assert_eq!(u.routes().collect::<Vec<_>>(), [expected], "{}", v.name);
            assert_eq!(u.announced_count(), 1);

            let unreach = mp_unreach(v.family, v.bytes);
            let b = body(&[], &[&unreach], &[]);
            let u = Update::parse(&b, &ctx).unwrap();
            assert_eq!(u.issues(), Issues::default(), "{}", v.name);
            let expected = Route {
                action: Action::Withdraw,
                next_hop: None,
                ..expected
            };
            assert_eq!(u.routes().collect::<Vec<_>>(), [expected], "{}", v.name);
            assert_eq!((u.withdrawn_count(), u.end_of_rib()), (1, None));
        }
    }

    /// The ADD-PATH heuristics on every family: path IDs sent without
    /// negotiation, and negotiated but absent, are both read right and
    /// flagged.
    #[test]
    fn add_path_mismatch_in_every_family() {
        for v in tv::nlri_vectors() {
            if v.nlri.prefix.is_default() {
                continue; // ambiguous by design, see Section::decide
            }
            let ctx = if v.add_path {
                FOUR
            } else {
                FOUR.with_add_path(v.family)
            };
            let unreach = mp_unreach(v.family, v.bytes);
            let body = body(&[], &[&unreach], &[]);
            let u = Update::parse(&body, &ctx).unwrap();
            assert_eq!(u.issues(), Issues::ADD_PATH_MISMATCH, "{}", v.name);
            assert_eq!(u.routes().next().unwrap().nlri, v.nlri, "{}", v.name);
        }
    }

    #[test]
    fn add_path_in_the_ipv4_fields() {
        #[rustfmt::skip]
        let with_ids = [
            0x00, 0x00, 0x00, 0x01, 0x18, 192, 0, 2, // path 1: 192.0.2.0/24
            0x00, 0x00, 0x00, 0x02, 0x10, 10, 1,     // path 2: 10.1.0.0/16
        ];
        let attrs: [&[u8]; 3] = [&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP];
        // Path IDs sent without negotiation.
        let b = body(&[], &attrs, &with_ids);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::ADD_PATH_MISMATCH);
        assert_eq!(
            routes(&u),
            [
                "+192.0.2.0/24#1 via 192.0.2.1",
                "+10.1.0.0/16#2 via 192.0.2.1"
            ]
        );
        assert!(u.announced_section().add_path());
        // Negotiated, and sent: no issue.
        let ctx = FOUR.with_add_path(IPV4_UNICAST);
        let b = body(&with_ids, &[], &[]);
        let u = Update::parse(&b, &ctx).unwrap();
        assert_eq!(u.issues(), Issues::default());
        assert_eq!(routes(&u), ["-192.0.2.0/24#1", "-10.1.0.0/16#2"]);
        // Negotiated but absent, in the withdrawn routes.
        let b = body(&[0x18, 192, 0, 2, 0x10, 10, 1, 0x08, 10], &[], &[]);
        let u = Update::parse(&b, &ctx).unwrap();
        assert_eq!(u.issues(), Issues::ADD_PATH_MISMATCH);
        assert_eq!(routes(&u), ["-192.0.2.0/24", "-10.1.0.0/16", "-10.0.0.0/8"]);
        assert!(!u.withdrawn_section().add_path());
        // A block that fits both readings without default routes follows
        // the negotiation: here one path 0x18c00002 for 10.1.0.0/16.
        let b = body(&[0x18, 192, 0, 2, 0x10, 10, 1], &[], &[]);
        let u = Update::parse(&b, &ctx).unwrap();
        assert_eq!(u.issues(), Issues::default());
        assert_eq!(routes(&u), ["-10.1.0.0/16#415236098"]);
    }

    #[test]
    fn malformed_nlri_keeps_the_valid_head() {
        // 192.0.2.0/24, then a /33
        let nlri = [0x18, 192, 0, 2, 0x21, 1, 2, 3, 4, 5];
        let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP], &nlri);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::NLRI_MALFORMED);
        assert_eq!(routes(&u), ["+192.0.2.0/24 via 192.0.2.1"]);
        // The same in MP_REACH_NLRI: a /129
        let reach = mp_reach(IPV6_UNICAST, &[0; 16], &[0x81, 0]);
        let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &reach], &[]);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::NLRI_MALFORMED);
        assert_eq!(u.routes().count(), 0);
    }

    /// Next hop layouts of RFC 4760, RFC 2545 (with link-local), RFC 4364 /
    /// RFC 4659 (behind an RD) and RFC 8950.
    #[test]
    fn next_hop_layouts() {
        let v4 = [192, 0, 2, 1];
        let g = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let rd = [0u8; 8];
        #[rustfmt::skip]
        let cases: [(Vec<u8>, Option<IpAddr>, Option<IpAddr>); 7] = [
            (v4.to_vec(), Some(IpAddr::V4(v4.into())), None),
            (g.octets().to_vec(), Some(IpAddr::V6(g)), None),
            ([g.octets(), ll.octets()].concat(), Some(IpAddr::V6(g)), Some(IpAddr::V6(ll))),
            ([&rd[..], &v4].concat(), Some(IpAddr::V4(v4.into())), None),
            ([&rd[..], &g.octets()].concat(), Some(IpAddr::V6(g)), None),
            (
                [&rd[..], &g.octets(), &rd, &ll.octets()].concat(),
                Some(IpAddr::V6(g)),
                Some(IpAddr::V6(ll)),
            ),
            (vec![1, 2, 3, 4, 5], None, None),
        ];
        for (raw, nh, ll) in cases {
            let r = MpReach {
                afi_safi: IPV6_UNICAST,
                next_hop_raw: &raw,
                nlri: MpNlri::Raw(&[]),
            };
            assert_eq!(
                (r.next_hop(), r.link_local_next_hop()),
                (nh, ll),
                "{} octets",
                raw.len()
            );
        }
        // RFC 8950: IPv4 unicast NLRI with an IPv6 next hop.
        let g_raw = g.octets();
        let reach = mp_reach(IPV4_UNICAST, &g_raw, &NLRI_203);
        let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &reach], &[]);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(routes(&u), ["+203.0.113.0/24 via 2001:db8::1"]);
    }

    #[test]
    fn end_of_rib() {
        let empty = body(&[], &[], &[]);
        assert_eq!(empty, [0, 0, 0, 0]);
        let u = Update::parse(&empty, &FOUR).unwrap();
        assert_eq!(u.end_of_rib(), Some(IPV4_UNICAST));
        assert_eq!(u.routes().count(), 0);
        assert_eq!(u.issues(), Issues::default());
        // MP families: an UPDATE with only an empty MP_UNREACH_NLRI.
        for family in [IPV6_UNICAST, AfiSafi::new(1, 0x80), AfiSafi::new(2, 0x04)] {
            let eor = mp_unreach(family, &[]);
            let b = body(&[], &[&eor], &[]);
            let u = Update::parse(&b, &FOUR).unwrap();
            assert_eq!(u.end_of_rib(), Some(family));
            assert_eq!(u.issues(), Issues::default());
        }
        // A family kept raw has its End-of-RIB too.
        let evpn = AfiSafi::new(AFI_L2VPN, SAFI_EVPN);
        let b = body(&[], &[&mp_unreach(evpn, &[])], &[]);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.end_of_rib(), Some(evpn));
        assert_eq!(u.issues(), Issues::UNSUPPORTED_FAMILY);
        // Not End-of-RIB: another attribute, withdrawals, or NLRI.
        let eor = mp_unreach(IPV6_UNICAST, &[]);
        let not: [Vec<u8>; 4] = [
            body(&[], &[&eor, &ORIGIN_IGP], &[]),
            body(&[], &[&mp_unreach(IPV6_UNICAST, &[0x10, 0x20, 0x01])], &[]),
            body(&[0x18, 198, 51, 100], &[], &[]),
            body(&[0x18, 198, 51, 100], &[&eor], &[]),
        ];
        for b in &not {
            assert_eq!(
                Update::parse(b, &FOUR).unwrap().end_of_rib(),
                None,
                "{b:02x?}"
            );
        }
    }

    /// EVPN, BGP-LS and flowspec NLRI are kept raw and flagged.
    #[test]
    fn unsupported_families_are_kept_raw() {
        #[rustfmt::skip]
        let evpn_route = [
            0x03, 0x11,                                     // type 3 (IMET), length 17
            0x00, 0x01, 192, 0, 2, 1, 0x00, 0x64,           //   RD 1:192.0.2.1:100
            0x00, 0x00, 0x00, 0x00,                         //   Ethernet tag 0
            0x20, 192, 0, 2, 1,                             //   originating router /32
        ];
        let bgp_ls = [0x00, 0x01, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]; // node NLRI, opaque here
        let flowspec = [0x05, 0x01, 0x18, 192, 0, 2]; // length 5: destination 192.0.2.0/24
        let cases = [
            (
                AfiSafi::new(AFI_L2VPN, SAFI_EVPN),
                &[192, 0, 2, 1][..],
                &evpn_route[..],
            ),
            (
                AfiSafi::new(AFI_BGP_LS, SAFI_BGP_LS),
                &[192, 0, 2, 1],
                &bgp_ls,
            ),
            (AfiSafi::new(1, 0x85), &[], &flowspec),
        ];
        for (family, nh, nlri) in cases {
            // with ADD-PATH "negotiated": no slot, no effect
            let ctx = FOUR.with_add_path(family);
            let reach = mp_reach(family, nh, nlri);
            let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &reach], &[]);
            let u = Update::parse(&b, &ctx).unwrap();
            assert_eq!(u.issues(), Issues::UNSUPPORTED_FAMILY, "{}", family.name());
            let r = u.mp_reach().unwrap();
            assert_eq!((r.afi_safi, r.nlri), (family, MpNlri::Raw(nlri)));
            assert_eq!(u.routes().count(), 0);
            assert_eq!(u.announced_count(), 0);

            let b = body(&[], &[&mp_unreach(family, nlri)], &[]);
            let u = Update::parse(&b, &ctx).unwrap();
            assert_eq!(u.issues(), Issues::UNSUPPORTED_FAMILY);
            assert_eq!(u.mp_unreach().unwrap().nlri, MpNlri::Raw(nlri));
            assert_eq!(
                (u.routes().count(), u.withdrawn_count(), u.end_of_rib()),
                (0, 0, None)
            );
        }
    }

    #[test]
    fn extended_length_attribute() {
        // 64 communities: 256 octets, so the length takes two octets.
        let values: Vec<u8> = (0..64u32)
            .flat_map(|i| (0xfde8_0000 | i).to_be_bytes())
            .collect();
        let comms = attr(0xc0, 0x08, &values);
        assert_eq!(&comms[..4], [0xd0, 0x08, 0x01, 0x00]);
        let b = body(
            &[],
            &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP, &comms],
            &NLRI_203,
        );
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.issues(), Issues::default());
        assert_eq!(u.communities().count(), 64);
        assert_eq!(u.communities().last(), Some(Community(0xfde8_003f)));
    }

    #[test]
    fn issue_names() {
        let all = Issues(0xff);
        assert_eq!(
            all.names().collect::<Vec<_>>(),
            [
                "treat_as_withdraw",
                "attribute_discarded",
                "duplicate_attribute",
                "missing_mandatory",
                "add_path_mismatch",
                "as_width_mismatch",
                "nlri_malformed",
                "unsupported_family"
            ]
        );
        assert!(Issues::default().is_empty());
        assert_eq!(Issues::default().names().count(), 0);
        assert!(all.contains(Issues::NLRI_MALFORMED));
        assert!(!Issues::NLRI_MALFORMED.contains(all));
    }

    /// `Section::decide`: "if the negotiated reading does not consume the
    /// block exactly [...] the other reading is taken". With ADD-PATH
    /// negotiated but no path IDs sent, a lone default route (NLRI `00`)
    /// has only the plain reading, and that reading is a default route.
    #[test]
    fn negotiated_but_absent_default_route() {
        let ctx = FOUR.with_add_path(IPV4_UNICAST).with_add_path(IPV6_UNICAST);
        let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP], &[0x00]);
        let u = Update::parse(&b, &ctx).unwrap();
        assert_eq!(routes(&u), ["+0.0.0.0/0 via 192.0.2.1"]);
        assert_eq!(u.issues(), Issues::ADD_PATH_MISMATCH);
        let b = body(&[], &[&mp_unreach(IPV6_UNICAST, &[0x00])], &[]);
        let u = Update::parse(&b, &ctx).unwrap();
        assert_eq!(routes(&u), ["-::/0"]);
    }

    /// `Update::aggregator` says AS4_AGGREGATOR is applied "on 2-octet
    /// sessions (RFC 6793 §4.2.3)", as `AsPath` ignores AS4_PATH on
    /// 4-octet ones.
    #[test]
    fn as4_aggregator_ignored_on_four_octet_sessions() {
        #[rustfmt::skip]
        let aggs = [
            0xc0, 0x07, 0x08, 0x00, 0x00, 0x5b, 0xa0, 192, 0, 2, 9, // AGGREGATOR 23456 (4-octet form)
            0xc0, 0x12, 0x08, 0xfa, 0x56, 0xea, 0x01, 192, 0, 2, 9, // AS4_AGGREGATOR 4200000001
        ];
        let b = body(&[], &[&ORIGIN_IGP, &AS_PATH_4, &NEXT_HOP, &aggs], &NLRI_203);
        let u = Update::parse(&b, &FOUR).unwrap();
        assert_eq!(u.aggregator(), Some((23456, Ipv4Addr::new(192, 0, 2, 9))));
    }
}
