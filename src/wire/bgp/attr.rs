//! BGP path attributes (RFC 4271 §4.3, §5) and their value types.
//!
//! [`AttrIter`] walks raw attributes; the typed views ([`AsPath`],
//! [`communities`], ...) borrow the attribute value and were validated by
//! [`super::update::Update::parse`], so their accessors cannot fail.

use core::fmt;
use core::net::Ipv4Addr;

use crate::wire::{Reader, WireError};

/// Attribute flag: optional.
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: partial.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: the length field has two octets.
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;

/// Path attribute type codes this codec knows.
pub mod code {
    /// ORIGIN (RFC 4271)
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271)
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271)
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271)
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271)
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271)
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793)
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997)
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456)
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456)
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760)
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760)
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360)
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793)
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793)
    pub const AS4_AGGREGATOR: u8 = 18;
    /// IPv6 Address Specific Extended Community (RFC 5701)
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// LARGE_COMMUNITY (RFC 8092)
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Only to Customer (RFC 9234)
    pub const OTC: u8 = 35;
}

/// One raw path attribute.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct RawAttr<'a> {
    /// The flags octet, as received.
    pub flags: u8,
    /// The type code.
    pub code: u8,
    /// The value.
    pub value: &'a [u8],
}

/// Iterator over the raw path attributes of an UPDATE.
///
/// Yields an error once and stops if an attribute header or length runs
/// past the end of the attributes field.
#[derive(Clone, Debug)]
pub struct AttrIter<'a> {
    r: Reader<'a>,
}

impl<'a> AttrIter<'a> {
    /// Attributes in `buf`, the UPDATE's Path Attributes field.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            r: Reader::new(buf),
        }
    }

    /// Octets not walked yet.
    pub fn remaining(&self) -> usize {
        self.r.len()
    }

    fn read(r: &mut Reader<'a>) -> Result<RawAttr<'a>, WireError> {
        let flags = r.u8("attribute flags")?;
        let code = r.u8("attribute type")?;
        let len = if flags & FLAG_EXTENDED_LENGTH != 0 {
            r.u16("attribute length")?
        } else {
            u16::from(r.u8("attribute length")?)
        };
        let value = r.take(usize::from(len), "attribute value")?;
        Ok(RawAttr { flags, code, value })
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<RawAttr<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.r.next_item(Self::read)
    }
}

/// ORIGIN values.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum Origin {
    /// 0: IGP
    Igp,
    /// 1: EGP
    Egp,
    /// 2: INCOMPLETE
    Incomplete,
}

impl Origin {
    /// The origin for a code, `None` for codes RFC 4271 does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Igp),
            1 => Some(Self::Egp),
            2 => Some(Self::Incomplete),
            _ => None,
        }
    }

    /// The code.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Igp => 0,
            Self::Egp => 1,
            Self::Incomplete => 2,
        }
    }

    /// The usual one-letter form: `i`, `e`, `?`.
    pub fn letter(self) -> &'static str {
        match self {
            Self::Igp => "i",
            Self::Egp => "e",
            Self::Incomplete => "?",
        }
    }
}

/// AS_PATH segment types (RFC 4271, RFC 5065).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum SegmentType {
    /// 1: AS_SET
    Set,
    /// 2: AS_SEQUENCE
    Sequence,
    /// 3: AS_CONFED_SEQUENCE
    ConfedSequence,
    /// 4: AS_CONFED_SET
    ConfedSet,
}

impl SegmentType {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Set),
            2 => Some(Self::Sequence),
            3 => Some(Self::ConfedSequence),
            4 => Some(Self::ConfedSet),
            _ => None,
        }
    }

    /// The code.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Set => 1,
            Self::Sequence => 2,
            Self::ConfedSequence => 3,
            Self::ConfedSet => 4,
        }
    }

    /// How many hops a segment of `n` ASNs counts for in path length
    /// (RFC 4271 §9.1.2.2, RFC 5065 §5.3).
    fn hops(self, n: usize) -> usize {
        match self {
            Self::Sequence => n,
            Self::Set => 1,
            Self::ConfedSequence | Self::ConfedSet => 0,
        }
    }
}

/// Checks an AS_PATH or AS4_PATH value with ASNs of `width` octets.
/// Returns the number of hops it counts for.
pub(crate) fn check_as_path(value: &[u8], width: usize) -> Result<usize, WireError> {
    let mut r = Reader::new(value);
    let mut hops = 0usize;
    while !r.is_empty() {
        let t = r.u8("AS_PATH segment type")?;
        let t = SegmentType::from_u8(t).ok_or(WireError::InvalidValue("AS_PATH segment type"))?;
        let n = usize::from(r.u8("AS_PATH segment length")?);
        if n == 0 {
            return Err(WireError::InvalidValue("AS_PATH segment length"));
        }
        r.take(n.saturating_mul(width), "AS_PATH segment")?;
        hops = hops.saturating_add(t.hops(n));
    }
    Ok(hops)
}

/// An AS path: AS_PATH, merged with AS4_PATH per RFC 6793 §4.2.3 when the
/// session uses 2-octet ASNs.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct AsPath<'a> {
    /// AS_PATH value; checked with `width`.
    path: &'a [u8],
    /// 2 or 4.
    width: u8,
    /// AS4_PATH value (checked, 4-octet), only when it is to be merged.
    as4: Option<&'a [u8]>,
    /// ASN hops of `path` to keep before `as4` takes over.
    keep: usize,
}

impl<'a> AsPath<'a> {
    /// A path over a checked AS_PATH value and an optional checked AS4_PATH.
    pub(crate) fn new(path: &'a [u8], width: u8, as4: Option<&'a [u8]>) -> Self {
        let width_us = usize::from(width);
        let (as4, keep) = match as4 {
            Some(v) if width == 2 => {
                let path_hops = check_as_path(path, width_us).unwrap_or(0);
                let as4_hops = check_as_path(v, 4).unwrap_or(usize::MAX);
                // RFC 6793: an AS4_PATH longer than the AS_PATH is ignored.
                if as4_hops <= path_hops {
                    (Some(v), path_hops.saturating_sub(as4_hops))
                } else {
                    (None, 0)
                }
            }
            _ => (None, 0),
        };
        Self {
            path,
            width,
            as4,
            keep,
        }
    }

    /// The raw AS_PATH value.
    pub fn raw(&self) -> &'a [u8] {
        self.path
    }

    /// Octets per ASN in [`Self::raw`].
    pub fn asn_width(&self) -> u8 {
        self.width
    }

    /// Whether an AS4_PATH was merged in.
    pub fn is_merged(&self) -> bool {
        self.as4.is_some()
    }

    /// The segments, merged.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            first: Reader::new(self.path),
            width: self.width,
            budget: self.as4.map(|_| self.keep),
            second: Reader::new(self.as4.unwrap_or_default()),
        }
    }

    /// All ASNs in order, sets flattened (for display and search).
    pub fn asns(&self) -> Asns<'a> {
        Asns {
            segments: self.segments(),
            current: Segment::EMPTY,
        }
    }

    /// The origin AS: the last ASN of a final AS_SEQUENCE.
    pub fn origin_asn(&self) -> Option<u32> {
        let last = self.segments().last()?;
        (last.kind == SegmentType::Sequence).then(|| last.asns().last())?
    }

    /// Path length for best-path selection.
    pub fn hop_count(&self) -> usize {
        self.segments().map(|s| s.kind.hops(s.len())).sum()
    }
}

/// One AS path segment.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct Segment<'a> {
    /// The segment type.
    pub kind: SegmentType,
    /// ASNs of `width` octets each; `raw.len()` is a multiple of `width`.
    raw: &'a [u8],
    width: u8,
}

impl<'a> Segment<'a> {
    /// Number of ASNs.
    pub fn len(&self) -> usize {
        self.raw
            .len()
            .checked_div(usize::from(self.width))
            .unwrap_or(0)
    }

    /// Whether the segment has no ASN (never true for checked paths).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The ASNs.
    pub fn asns(self) -> Self {
        self
    }

    const EMPTY: Self = Self {
        kind: SegmentType::Sequence,
        raw: &[],
        width: 4,
    };

    /// Takes the first ASN.
    #[inline]
    fn pop(&mut self) -> Option<u32> {
        if self.width == 2 {
            let (a, rest) = self.raw.split_first_chunk::<2>()?;
            self.raw = rest;
            Some(u32::from(u16::from_be_bytes(*a)))
        } else {
            let (a, rest) = self.raw.split_first_chunk::<4>()?;
            self.raw = rest;
            Some(u32::from_be_bytes(*a))
        }
    }
}

impl Iterator for Segment<'_> {
    type Item = u32;

    /// The segment's ASNs in order.
    fn next(&mut self) -> Option<u32> {
        self.pop()
    }
}

/// The ASNs of an [`AsPath`], sets flattened, with no per-segment
/// iterator overhead.
#[derive(Clone, Debug)]
pub struct Asns<'a> {
    segments: Segments<'a>,
    current: Segment<'a>,
}

impl Iterator for Asns<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some(a) = self.current.pop() {
                return Some(a);
            }
            self.current = self.segments.next()?;
        }
    }
}

/// Iterator over the segments of an [`AsPath`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    first: Reader<'a>,
    width: u8,
    /// With an AS4_PATH to merge: hops of `first` still to yield.
    budget: Option<usize>,
    second: Reader<'a>,
}

fn read_segment<'a>(r: &mut Reader<'a>, width: u8) -> Option<Segment<'a>> {
    let t = SegmentType::from_u8(r.u8("segment type").ok()?)?;
    let n = usize::from(r.u8("segment length").ok()?);
    let raw = r
        .take(n.saturating_mul(usize::from(width)), "segment")
        .ok()?;
    Some(Segment {
        kind: t,
        raw,
        width,
    })
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let Some(budget) = self.budget else {
            return read_segment(&mut self.first, self.width);
        };
        if budget > 0
            && let Some(mut seg) = read_segment(&mut self.first, self.width)
        {
            let hops = seg.kind.hops(seg.len());
            if seg.kind == SegmentType::Sequence && hops > budget {
                let cut = budget.saturating_mul(usize::from(self.width));
                seg.raw = seg.raw.get(..cut).unwrap_or_default();
            }
            self.budget = Some(budget.saturating_sub(hops));
            return Some(seg);
        }
        read_segment(&mut self.second, 4)
    }
}

/// A standard community (RFC 1997).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl fmt::Display for Community {
    /// `asn:value`, the usual form for all communities, well-known included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// An extended community (RFC 4360), eight octets.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

impl fmt::Display for ExtCommunity {
    /// Route targets and origins as `RT:asn:n` / `SoO:asn:n` (two-octet AS,
    /// IPv4 and four-octet AS forms), anything else as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [t, s, a, b, c, d, e, g] = self.0;
        let name = match s {
            0x02 => "RT",
            0x03 => "SoO",
            _ => "",
        };
        match (t & 0x3f, name) {
            (0x00, n) if !n.is_empty() => write!(
                f,
                "{n}:{}:{}",
                u16::from_be_bytes([a, b]),
                u32::from_be_bytes([c, d, e, g])
            ),
            (0x01, n) if !n.is_empty() => {
                write!(
                    f,
                    "{n}:{}:{}",
                    Ipv4Addr::new(a, b, c, d),
                    u16::from_be_bytes([e, g])
                )
            }
            (0x02, n) if !n.is_empty() => write!(
                f,
                "{n}:{}:{}",
                u32::from_be_bytes([a, b, c, d]),
                u16::from_be_bytes([e, g])
            ),
            _ => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
        }
    }
}

/// A large community (RFC 8092).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator.
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// Iterates over fixed-size values of an attribute (communities, cluster
/// list, ...). The value length was checked to be a multiple of `N`.
pub fn chunks<const N: usize>(value: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    value.as_chunks::<N>().0.iter().copied()
}

/// COMMUNITIES values.
pub fn communities(value: &[u8]) -> impl Iterator<Item = Community> + '_ {
    chunks::<4>(value).map(|c| Community(u32::from_be_bytes(c)))
}

/// EXTENDED COMMUNITIES values.
pub fn ext_communities(value: &[u8]) -> impl Iterator<Item = ExtCommunity> + '_ {
    chunks::<8>(value).map(ExtCommunity)
}

/// LARGE_COMMUNITY values.
pub fn large_communities(value: &[u8]) -> impl Iterator<Item = LargeCommunity> + '_ {
    chunks::<12>(value).map(|c| {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3] = c;
        LargeCommunity {
            global: u32::from_be_bytes([a0, a1, a2, a3]),
            local1: u32::from_be_bytes([b0, b1, b2, b3]),
            local2: u32::from_be_bytes([c0, c1, c2, c3]),
        }
    })
}

/// CLUSTER_LIST values.
pub fn cluster_list(value: &[u8]) -> impl Iterator<Item = Ipv4Addr> + '_ {
    chunks::<4>(value).map(Ipv4Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(asns: &[u32], width: usize) -> Vec<u8> {
        let mut v = vec![2, asns.len() as u8];
        for a in asns {
            v.extend_from_slice(&a.to_be_bytes()[4 - width..]);
        }
        v
    }

    #[test]
    fn attr_iter_lengths() {
        // ORIGIN igp, extended-length MED, then a truncated header
        let buf = [0x40, 1, 1, 0, 0x90, 4, 0, 4, 0, 0, 0, 7, 0x40];
        let mut it = AttrIter::new(&buf);
        assert_eq!(
            it.next(),
            Some(Ok(RawAttr {
                flags: 0x40,
                code: 1,
                value: &[0]
            }))
        );
        assert_eq!(it.next().unwrap().unwrap().value, &[0, 0, 0, 7]);
        assert_eq!(it.next(), Some(Err(WireError::Truncated("attribute type"))));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn as_path_four_octet() {
        let v = seq(&[64496, 4_226_809_947, 65000], 4);
        assert_eq!(check_as_path(&v, 4), Ok(3));
        let p = AsPath::new(&v, 4, None);
        assert_eq!(p.asns().collect::<Vec<_>>(), [64496, 4_226_809_947, 65000]);
        assert_eq!(p.origin_asn(), Some(65000));
        // The same bytes do not fit 2-octet reading exactly.
        assert!(check_as_path(&v, 2).is_err());
    }

    #[test]
    fn as_path_set_and_confed() {
        let mut v = vec![3, 1, 0, 1]; // confed seq [1]
        v.extend_from_slice(&seq(&[10, 20], 2));
        v.extend_from_slice(&[1, 2, 0, 30, 0, 40]); // set {30, 40}
        assert_eq!(check_as_path(&v, 2), Ok(3));
        let p = AsPath::new(&v, 2, None);
        assert_eq!(p.hop_count(), 3);
        assert_eq!(p.origin_asn(), None);
        assert_eq!(p.asns().collect::<Vec<_>>(), [1, 10, 20, 30, 40]);
    }

    #[test]
    fn as4_path_merge() {
        // AS_PATH 100 23456 23456 200, AS4_PATH 4200000001 4200000002 200
        let path = seq(&[100, 23456, 23456, 200], 2);
        let as4 = seq(&[4_200_000_001, 4_200_000_002, 200], 4);
        let p = AsPath::new(&path, 2, Some(&as4));
        assert!(p.is_merged());
        assert_eq!(
            p.asns().collect::<Vec<_>>(),
            [100, 4_200_000_001, 4_200_000_002, 200]
        );
        // An AS4_PATH longer than AS_PATH is ignored.
        let long = seq(&[1, 2, 3, 4, 5], 4);
        let p = AsPath::new(&path, 2, Some(&long));
        assert!(!p.is_merged());
        assert_eq!(p.asns().count(), 4);
        // On a 4-octet session AS4_PATH is ignored.
        let path4 = seq(&[100, 200], 4);
        assert!(!AsPath::new(&path4, 4, Some(&as4)).is_merged());
    }

    #[test]
    fn bad_segments() {
        assert_eq!(
            check_as_path(&[5, 1, 0, 1], 2),
            Err(WireError::InvalidValue("AS_PATH segment type"))
        );
        assert_eq!(
            check_as_path(&[2, 0], 2),
            Err(WireError::InvalidValue("AS_PATH segment length"))
        );
        assert_eq!(
            check_as_path(&[2, 2, 0, 1], 2),
            Err(WireError::Truncated("AS_PATH segment"))
        );
    }

    #[test]
    fn community_formats() {
        assert_eq!(Community(64496 << 16 | 299).to_string(), "64496:299");
        let rt = ExtCommunity([0x00, 0x02, 0xfb, 0xf1, 0, 0, 0, 42]);
        assert_eq!(rt.to_string(), "RT:64497:42");
        let soo = ExtCommunity([0x00, 0x03, 0xfb, 0xf1, 0, 0, 0, 12]);
        assert_eq!(soo.to_string(), "SoO:64497:12");
        let rt4 = ExtCommunity([0x02, 0x02, 0xfb, 0xf0, 0x00, 0x5b, 0, 1]);
        assert_eq!(rt4.to_string(), "RT:4226809947:1");
        let other = ExtCommunity([0x80, 0x06, 0, 0, 0, 0, 0, 0]);
        assert_eq!(other.to_string(), "0x8006000000000000");
        let lc = large_communities(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
            .next()
            .unwrap();
        assert_eq!(lc.to_string(), "1:2:3");
    }

    #[test]
    fn attr_iter_truncations() {
        // extended length flag with one length octet
        let mut it = AttrIter::new(&[0x90, 0x04, 0x00]);
        assert_eq!(
            it.next(),
            Some(Err(WireError::Truncated("attribute length")))
        );
        assert_eq!(it.next(), None);
        // length 4, two value octets
        let mut it = AttrIter::new(&[0x40, 0x03, 0x04, 192, 0]);
        assert_eq!(
            it.next(),
            Some(Err(WireError::Truncated("attribute value")))
        );
        assert_eq!(it.remaining(), 0);
        // extended length used for a short value is fine
        let mut it = AttrIter::new(&[0x50, 0x20, 0x00, 0x00]);
        assert_eq!(
            it.next(),
            Some(Ok(RawAttr {
                flags: 0x50,
                code: code::LARGE_COMMUNITIES,
                value: &[]
            }))
        );
    }

    #[test]
    fn origin_and_segment_codes() {
        let origins: Vec<_> = (0..4).map(Origin::from_u8).collect();
        assert_eq!(
            origins,
            [
                Some(Origin::Igp),
                Some(Origin::Egp),
                Some(Origin::Incomplete),
                None
            ]
        );
        for o in [Origin::Igp, Origin::Egp, Origin::Incomplete] {
            assert_eq!(Origin::from_u8(o.to_u8()), Some(o));
        }
        let letters: Vec<_> = origins.iter().flatten().map(|o| o.letter()).collect();
        assert_eq!(letters, ["i", "e", "?"]);
        for t in [
            SegmentType::Set,
            SegmentType::Sequence,
            SegmentType::ConfedSequence,
            SegmentType::ConfedSet,
        ] {
            assert_eq!(SegmentType::from_u8(t.to_u8()), Some(t));
        }
        assert_eq!(SegmentType::from_u8(0), None);
    }

    #[test]
    fn as_path_segments_and_hops() {
        #[rustfmt::skip]
        let v = [
            0x03, 0x02, 0x00, 0x00, 0xfd, 0xe9, 0x00, 0x00, 0xfd, 0xea, // AS_CONFED_SEQUENCE 65001 65002
            0x04, 0x01, 0x00, 0x00, 0xfd, 0xeb,                         // AS_CONFED_SET {65003}
            0x02, 0x01, 0x00, 0x00, 0xfd, 0xe8,                         // AS_SEQUENCE 65000
            0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, // AS_SET {1 2 3}
            0x00, 0x00, 0x00, 0x03,
        ];
        assert_eq!(
            check_as_path(&v, 4),
            Ok(2),
            "confeds count 0, a set counts 1"
        );
        let p = AsPath::new(&v, 4, None);
        assert_eq!(p.raw(), &v);
        assert_eq!(p.asn_width(), 4);
        let segs: Vec<_> = p.segments().map(|s| (s.kind, s.len())).collect();
        assert_eq!(
            segs,
            [
                (SegmentType::ConfedSequence, 2),
                (SegmentType::ConfedSet, 1),
                (SegmentType::Sequence, 1),
                (SegmentType::Set, 3),
            ]
        );
        assert!(p.segments().all(|s| !s.is_empty()));
        assert_eq!(p.hop_count(), 2);
        assert_eq!(p.origin_asn(), None, "the path ends in a set");
        assert_eq!(
            p.asns().collect::<Vec<_>>(),
            [65001, 65002, 65003, 65000, 1, 2, 3]
        );
        // An empty AS_PATH (iBGP) is valid and has no origin.
        let p = AsPath::new(&[], 4, None);
        assert_eq!((p.hop_count(), p.origin_asn()), (0, None));
    }

    #[test]
    fn as4_path_merge_keeps_leading_set_and_confed() {
        // AS_PATH: confed-seq (65001), seq 100 23456 23456, set {300 400}
        // AS4_PATH: seq 4200000001 4200000002, set {300 400}
        // AS_PATH counts 4 hops, AS4_PATH 3: keep 1 hop (100) of AS_PATH.
        #[rustfmt::skip]
        let path = [
            0x03, 0x01, 0xfd, 0xe9,
            0x02, 0x03, 0x00, 0x64, 0x5b, 0xa0, 0x5b, 0xa0,
            0x01, 0x02, 0x01, 0x2c, 0x01, 0x90,
        ];
        let mut as4 = seq(&[4_200_000_001, 4_200_000_002], 4);
        as4.extend_from_slice(&[0x01, 0x02, 0, 0, 0x01, 0x2c, 0, 0, 0x01, 0x90]);
        let p = AsPath::new(&path, 2, Some(&as4));
        assert!(p.is_merged());
        let segs: Vec<_> = p
            .segments()
            .map(|s| (s.kind, s.asns().collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            segs,
            [
                (SegmentType::ConfedSequence, vec![65001]),
                (SegmentType::Sequence, vec![100]),
                (SegmentType::Sequence, vec![4_200_000_001, 4_200_000_002]),
                (SegmentType::Set, vec![300, 400]),
            ]
        );
        assert_eq!(p.hop_count(), 4);
        // Equal lengths: AS4_PATH replaces AS_PATH entirely.
        let path = seq(&[23456, 23456], 2);
        let as4 = seq(&[4_200_000_001, 4_200_000_002], 4);
        let p = AsPath::new(&path, 2, Some(&as4));
        assert_eq!(p.asns().collect::<Vec<_>>(), [4_200_000_001, 4_200_000_002]);
        assert_eq!(p.origin_asn(), Some(4_200_000_002));
    }

    #[test]
    fn value_iterators_and_formats() {
        let c: Vec<_> = communities(&[0xff, 0xff, 0xff, 0x01, 0xfd, 0xe8, 0x00, 0x64]).collect();
        assert_eq!(c, [Community(0xffff_ff01), Community(0xfde8_0064)]);
        assert_eq!(c[0].to_string(), "65535:65281");
        let clusters: Vec<_> = cluster_list(&[10, 0, 0, 1, 10, 0, 0, 2]).collect();
        assert_eq!(
            clusters,
            [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
        );
        let e: Vec<_> = ext_communities(&[0x01, 0x02, 192, 0, 2, 1, 0x00, 0x07]).collect();
        assert_eq!(e[0].to_string(), "RT:192.0.2.1:7");
        let soo4 = ExtCommunity([0x02, 0x03, 0xfa, 0x56, 0xea, 0x00, 0x00, 0x09]);
        assert_eq!(soo4.to_string(), "SoO:4200000000:9");
        let soo_ip = ExtCommunity([0x01, 0x03, 10, 0, 0, 1, 0x00, 0x02]);
        assert_eq!(soo_ip.to_string(), "SoO:10.0.0.1:2");
        // Non-transitive (0x40) route target: same rendering.
        let rt_nt = ExtCommunity([0x40, 0x02, 0xfd, 0xe8, 0, 0, 0, 1]);
        assert_eq!(rt_nt.to_string(), "RT:65000:1");
        // Type 0x03 (opaque) with subtype 0x02 is not a route target.
        let opaque = ExtCommunity([0x03, 0x02, 0, 0, 0, 0, 0, 1]);
        assert_eq!(opaque.to_string(), "0x0302000000000001");
        let lc: Vec<_> = large_communities(&[0; 24]).collect();
        assert_eq!(lc.len(), 2);
        let big = LargeCommunity {
            global: 4_200_000_000,
            local1: 0,
            local2: u32::MAX,
        };
        assert_eq!(big.to_string(), "4200000000:0:4294967295");
    }
}
