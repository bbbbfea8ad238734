//! NLRI: prefixes with optional ADD-PATH path identifier, label stack and
//! route distinguisher (RFC 4271 §4.3, RFC 4760, RFC 7911, RFC 8277,
//! RFC 4364).
//!
//! NLRI are decoded lazily by [`NlriIter`], with no allocation: a prefix is
//! copied into a 16-octet array, labels and route distinguishers stay
//! borrowed. A block of NLRI is first *scanned* (lengths only) so the
//! iterator can be infallible and so the ADD-PATH mode of the block can be
//! checked against what the bytes allow (see `Section::decide`).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::afi_safi::{Encoding, Family, NlriKind};
use crate::wire::{Reader, WireError};

/// An IP prefix. Host bits beyond `len` are always zero.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    /// `len <= 32` for IPv4, `len <= 128` for IPv6.
    len: u8,
}

impl Prefix {
    /// A prefix from an address and a length; host bits are cleared.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, WireError> {
        let (family, octets) = match addr {
            IpAddr::V4(a) => (Family::V4, a.to_ipv6_mapped().octets()),
            IpAddr::V6(a) => (Family::V6, a.octets()),
        };
        if len > family.max_len() {
            return Err(WireError::BadPrefixLength(len));
        }
        let raw = match family {
            Family::V4 => octets.get(12..).unwrap_or_default(),
            Family::V6 => &octets[..],
        };
        Ok(Self::from_wire(family, raw, len))
    }

    /// A prefix from its wire form: `raw` holds the leading octets of the
    /// address, `len <= family.max_len()`. Host bits are cleared.
    #[inline]
    fn from_wire(family: Family, raw: &[u8], len: u8) -> Self {
        let addr = match family {
            Family::V4 => {
                let a = match *raw {
                    [] => [0; 4],
                    [a] => [a, 0, 0, 0],
                    [a, b] => [a, b, 0, 0],
                    [a, b, c] => [a, b, c, 0],
                    [a, b, c, d, ..] => [a, b, c, d],
                };
                let keep = u32::MAX.checked_shl(32u32.saturating_sub(u32::from(len)));
                IpAddr::V4(Ipv4Addr::from(u32::from_be_bytes(a) & keep.unwrap_or(0)))
            }
            Family::V6 => {
                let mut a = [0u8; 16];
                if let Some(dst) = a.get_mut(..raw.len()) {
                    dst.copy_from_slice(raw);
                }
                let keep = u128::MAX.checked_shl(128u32.saturating_sub(u32::from(len)));
                IpAddr::V6(Ipv6Addr::from(u128::from_be_bytes(a) & keep.unwrap_or(0)))
            }
        };
        Self { addr, len }
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    #[allow(clippy::len_without_is_empty)] // a prefix length, not a size
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether `addr` is inside this prefix (same family only).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let keep = u32::MAX.checked_shl(32u32.saturating_sub(u32::from(self.len)));
                a.to_bits() & keep.unwrap_or(0) == net.to_bits()
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let keep = u128::MAX.checked_shl(128u32.saturating_sub(u32::from(self.len)));
                a.to_bits() & keep.unwrap_or(0) == net.to_bits()
            }
            _ => false,
        }
    }

    /// Whether this is a default route (length zero).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// IPv4 or IPv6.
    pub fn family(&self) -> Family {
        match self.addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A route distinguisher (RFC 4364 §4.2), eight octets.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct RouteDistinguisher(pub [u8; 8]);

impl RouteDistinguisher {
    /// The type field: 0 (2-octet AS), 1 (IPv4 address), 2 (4-octet AS).
    pub fn rd_type(&self) -> u16 {
        let [a, b, ..] = self.0;
        u16::from_be_bytes([a, b])
    }

    /// Whether all eight octets are zero (no RD, as in a global peer).
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 8]
    }
}

impl fmt::Display for RouteDistinguisher {
    /// `type:admin:assigned`, e.g. `0:64499:11`, `1:192.0.2.1:7`,
    /// `2:4226809947:13`; unknown types as hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [_, _, a, b, c, d, e, g] = self.0;
        match self.rd_type() {
            0 => write!(
                f,
                "0:{}:{}",
                u16::from_be_bytes([a, b]),
                u32::from_be_bytes([c, d, e, g])
            ),
            1 => write!(
                f,
                "1:{}:{}",
                Ipv4Addr::new(a, b, c, d),
                u16::from_be_bytes([e, g])
            ),
            2 => write!(
                f,
                "2:{}:{}",
                u32::from_be_bytes([a, b, c, d]),
                u16::from_be_bytes([e, g])
            ),
            t => write!(
                f,
                "{t}:{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                a, b, c, d, e, g
            ),
        }
    }
}

/// A label stack (RFC 3032 entries of 3 octets, RFC 8277), borrowed.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct Labels<'a>(&'a [u8]);

impl<'a> Labels<'a> {
    /// A stack over raw 3-octet entries; `raw.len()` is a multiple of 3.
    pub fn new(raw: &'a [u8]) -> Self {
        Self(raw)
    }

    /// The raw entries.
    pub fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The 20-bit label values, top of stack first.
    pub fn values(&self) -> impl Iterator<Item = u32> + 'a {
        self.0
            .as_chunks::<3>()
            .0
            .iter()
            .map(|&[a, b, c]| u32::from_be_bytes([0, a, b, c]) >> 4)
    }
}

/// One NLRI.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct Nlri<'a> {
    /// The ADD-PATH path identifier, when the block carries them.
    pub path_id: Option<u32>,
    /// The prefix.
    pub prefix: Prefix,
    /// The route distinguisher of VPN NLRI.
    pub rd: Option<RouteDistinguisher>,
    /// The label stack of labeled and VPN NLRI (empty otherwise).
    pub labels: Labels<'a>,
}

/// What a scan of an NLRI block found.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct Scan {
    /// Octets that form whole, valid NLRI; `valid <= block length`.
    pub(crate) valid: usize,
    /// NLRI in those octets.
    pub(crate) count: u32,
    /// How many of them are default routes (length zero).
    pub(crate) defaults: u32,
}

/// Reads one NLRI at the start of `r`, advancing it; on error `r` is
/// left untouched.
#[inline]
fn read_one<'a>(r: &mut Reader<'a>, kind: NlriKind, add_path: bool) -> Result<Nlri<'a>, WireError> {
    if kind.encoding == Encoding::Plain {
        read_plain(r, kind.family, add_path)
    } else {
        read_labeled(r, kind, add_path)
    }
}

/// [`read_one`] for plain NLRI: the bulk of every table, kept tight.
#[inline(always)]
fn read_plain<'a>(
    r: &mut Reader<'a>,
    family: Family,
    add_path: bool,
) -> Result<Nlri<'a>, WireError> {
    let buf = r.rest();
    let (path_id, buf) = if add_path {
        let (id, rest) = buf
            .split_first_chunk::<4>()
            .ok_or(WireError::Truncated("path identifier"))?;
        (Some(u32::from_be_bytes(*id)), rest)
    } else {
        (None, buf)
    };
    let (&bits, buf) = buf
        .split_first()
        .ok_or(WireError::Truncated("NLRI length"))?;
    if bits > family.max_len() {
        return Err(WireError::BadPrefixLength(bits));
    }
    let (raw, rest) = buf
        .split_at_checked(usize::from(bits).div_ceil(8))
        .ok_or(WireError::Truncated("prefix"))?;
    *r = Reader::new(rest);
    Ok(Nlri {
        path_id,
        prefix: Prefix::from_wire(family, raw, bits),
        rd: None,
        labels: Labels::default(),
    })
}

/// [`read_one`] for labeled and VPN NLRI.
fn read_labeled<'a>(
    r: &mut Reader<'a>,
    kind: NlriKind,
    add_path: bool,
) -> Result<Nlri<'a>, WireError> {
    let mut c = *r;
    let path_id = if add_path {
        Some(c.u32("path identifier")?)
    } else {
        None
    };
    let mut bits = c.u8("NLRI length")?;
    let mut labels = Labels::default();
    if kind.encoding != Encoding::Plain {
        let start = c.rest();
        let mut n = 0usize;
        // RFC 8277: entries until the bottom-of-stack bit; a withdrawal
        // may carry the compatibility value 0x800000 or 0x000000 instead.
        loop {
            bits = bits
                .checked_sub(24)
                .ok_or(WireError::BadPrefixLength(bits))?;
            let e = c.array::<3>("label")?;
            n = n.saturating_add(3);
            if e[2] & 0x01 != 0 || e == [0x80, 0, 0] || e == [0, 0, 0] {
                break;
            }
        }
        labels = Labels(start.get(..n).unwrap_or_default());
    }
    let rd = if kind.encoding == Encoding::Vpn {
        bits = bits
            .checked_sub(64)
            .ok_or(WireError::BadPrefixLength(bits))?;
        Some(RouteDistinguisher(c.array::<8>("route distinguisher")?))
    } else {
        None
    };
    if bits > kind.family.max_len() {
        return Err(WireError::BadPrefixLength(bits));
    }
    let raw = c.take(usize::from(bits).div_ceil(8), "prefix")?;
    *r = c;
    Ok(Nlri {
        path_id,
        prefix: Prefix::from_wire(kind.family, raw, bits),
        rd,
        labels,
    })
}

/// Scans a block of NLRI, reading lengths only.
#[inline]
pub(crate) fn scan(buf: &[u8], kind: NlriKind, add_path: bool) -> Scan {
    let mut s = Scan {
        valid: 0,
        count: 0,
        defaults: 0,
    };
    if kind.encoding != Encoding::Plain {
        let mut r = Reader::new(buf);
        while let Ok(n) = read_one(&mut r, kind, add_path) {
            s.count = s.count.saturating_add(1);
            s.defaults = s.defaults.saturating_add(u32::from(n.prefix.is_default()));
        }
        s.valid = buf.len().saturating_sub(r.len());
        return s;
    }
    // Plain NLRI, the bulk of every table: hop over length octets only.
    // `pos <= buf.len()` throughout, so the additions cannot overflow.
    let skip = if add_path { 4 } else { 0 };
    let max = kind.family.max_len();
    let mut pos = 0usize;
    while let Some(&bits) = buf.get(pos.wrapping_add(skip)) {
        let next = pos
            .wrapping_add(skip)
            .wrapping_add(1)
            .wrapping_add(usize::from(bits).div_ceil(8));
        if bits > max || next > buf.len() {
            break;
        }
        pos = next;
        s.count = s.count.saturating_add(1);
        s.defaults = s.defaults.saturating_add(u32::from(bits == 0));
    }
    s.valid = pos;
    s
}

/// How a block of NLRI is to be read, decided once when the UPDATE is
/// parsed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Section<'a> {
    /// The octets that hold whole, valid NLRI.
    pub(crate) bytes: &'a [u8],
    pub(crate) kind: NlriKind,
    pub(crate) add_path: bool,
    /// Number of NLRI in `bytes`.
    pub(crate) count: u32,
}

/// What deciding a section's reading noticed.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) struct Decision {
    /// The block was read with ADD-PATH the other way round than
    /// negotiated, because only that reading fits the bytes.
    pub(crate) add_path_mismatch: bool,
    /// The block did not parse in either mode: only the valid leading part
    /// is kept.
    pub(crate) malformed: bool,
}

impl<'a> Section<'a> {
    /// An empty section.
    pub(crate) fn empty(kind: NlriKind) -> Self {
        Self {
            bytes: &[],
            kind,
            add_path: false,
            count: 0,
        }
    }

    /// Decides how to read `buf`, given whether ADD-PATH was negotiated.
    ///
    /// Exporters are known to send path identifiers they never announced
    /// (and the reverse). Reading such a block the negotiated way yields
    /// junk such as runs of `0.0.0.0/0`, because the high octets of a small
    /// path identifier look like zero-length prefixes. So the other
    /// reading is taken, and the mismatch reported, when it consumes the
    /// block exactly and either the negotiated reading does not, or the
    /// plain reading yields default routes where the ADD-PATH one yields
    /// none. A block neither reading consumes keeps its valid head.
    #[inline(always)]
    pub(crate) fn decide(buf: &'a [u8], kind: NlriKind, negotiated: bool) -> (Self, Decision) {
        // Most UPDATEs leave most blocks empty: decide those in place.
        if buf.is_empty() {
            return (Self::empty(kind), Decision::default());
        }
        Self::decide_nonempty(buf, kind, negotiated)
    }

    fn decide_nonempty(buf: &'a [u8], kind: NlriKind, negotiated: bool) -> (Self, Decision) {
        let primary = scan(buf, kind, negotiated);
        let fits = |s: &Scan| s.valid == buf.len();
        let make = |s: Scan, add_path| Self {
            bytes: buf.get(..s.valid).unwrap_or_default(),
            kind,
            add_path,
            count: s.count,
        };
        if fits(&primary) && (negotiated || primary.defaults == 0) {
            return (make(primary, negotiated), Decision::default());
        }
        let alt = scan(buf, kind, !negotiated);
        if fits(&alt) && (!fits(&primary) || alt.defaults == 0) {
            let d = Decision {
                add_path_mismatch: true,
                malformed: false,
            };
            return (make(alt, !negotiated), d);
        }
        let d = Decision {
            add_path_mismatch: false,
            malformed: !fits(&primary),
        };
        (make(primary, negotiated), d)
    }

    /// Number of NLRI.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether there is no NLRI.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the NLRI carry path identifiers.
    pub fn add_path(&self) -> bool {
        self.add_path
    }

    /// The NLRI.
    pub fn iter(&self) -> NlriIter<'a> {
        NlriIter {
            rest: Reader::new(self.bytes),
            kind: self.kind,
            add_path: self.add_path,
        }
    }
}

/// Iterator over a validated block of NLRI.
#[derive(Clone, Debug)]
pub struct NlriIter<'a> {
    rest: Reader<'a>,
    kind: NlriKind,
    add_path: bool,
}

impl<'a> Iterator for NlriIter<'a> {
    type Item = Nlri<'a>;

    #[inline]
    fn next(&mut self) -> Option<Nlri<'a>> {
        // The block was scanned when the section was made, so this read
        // cannot fail; stop cleanly all the same if it did.
        read_one(&mut self.rest, self.kind, self.add_path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: NlriKind = NlriKind {
        family: Family::V4,
        encoding: Encoding::Plain,
    };
    const V6: NlriKind = NlriKind {
        family: Family::V6,
        encoding: Encoding::Plain,
    };
    const V4_VPN: NlriKind = NlriKind {
        family: Family::V4,
        encoding: Encoding::Vpn,
    };
    const V4_LU: NlriKind = NlriKind {
        family: Family::V4,
        encoding: Encoding::Labeled,
    };

    fn collect(s: &Section<'_>) -> Vec<String> {
        s.iter()
            .map(|n| match n.path_id {
                Some(id) => format!("{}#{id}", n.prefix),
                None => n.prefix.to_string(),
            })
            .collect()
    }

    #[test]
    fn plain_prefixes_and_host_bits() {
        // 10.0.0.0/8, 192.0.2.0/24, 0.0.0.0/0, 198.51.100.128/25 with a stray host bit
        let buf = [8, 10, 24, 192, 0, 2, 0, 25, 198, 51, 100, 0xff];
        let (s, d) = Section::decide(&buf, V4, false);
        assert_eq!(d, Decision::default());
        assert_eq!(
            collect(&s),
            [
                "10.0.0.0/8",
                "192.0.2.0/24",
                "0.0.0.0/0",
                "198.51.100.128/25"
            ]
        );
    }

    #[test]
    fn ipv6_prefix() {
        let buf = [48, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01];
        let (s, _) = Section::decide(&buf, V6, false);
        assert_eq!(collect(&s), ["2001:db8:1::/48"]);
    }

    #[test]
    fn add_path_negotiated() {
        let buf = [0, 0, 0, 1, 24, 192, 0, 2, 0, 0, 0, 2, 24, 192, 0, 2];
        let (s, d) = Section::decide(&buf, V4, true);
        assert_eq!(d, Decision::default());
        assert_eq!(collect(&s), ["192.0.2.0/24#1", "192.0.2.0/24#2"]);
    }

    #[test]
    fn unannounced_path_ids_are_not_junk_defaults() {
        // Path IDs sent without ADD-PATH negotiated: the plain reading
        // parses exactly but as 0/0, 0/0, 0/0, 0.0.0.0/1 ... junk.
        let buf = [0, 0, 0, 1, 24, 192, 0, 2, 0, 0, 0, 2, 16, 10, 1];
        let plain = scan(&buf, V4, false);
        assert!(plain.defaults > 0);
        let (s, d) = Section::decide(&buf, V4, false);
        assert!(d.add_path_mismatch);
        assert_eq!(collect(&s), ["192.0.2.0/24#1", "10.1.0.0/16#2"]);
    }

    #[test]
    fn negotiated_path_ids_missing() {
        let buf = [24, 192, 0, 2, 16, 10, 1, 8, 10];
        let (s, d) = Section::decide(&buf, V4, true);
        assert!(d.add_path_mismatch);
        assert_eq!(collect(&s), ["192.0.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]);
    }

    #[test]
    fn lone_default_route_is_kept() {
        let (s, d) = Section::decide(&[0], V4, false);
        assert_eq!(d, Decision::default());
        assert_eq!(collect(&s), ["0.0.0.0/0"]);
    }

    #[test]
    fn malformed_keeps_valid_head() {
        let buf = [24, 192, 0, 2, 33, 1, 2, 3, 4, 5];
        let (s, d) = Section::decide(&buf, V4, false);
        assert!(d.malformed);
        assert_eq!(collect(&s), ["192.0.2.0/24"]);
    }

    #[test]
    fn vpn_nlri() {
        // len = 24 (label) + 64 (RD) + 32 = 120; label 917584 with BOS;
        // RD type 0 64499:11; prefix 12.34.56.78/32
        let label: u32 = 917_584 << 4 | 1;
        let l = label.to_be_bytes();
        let mut buf = vec![120, l[1], l[2], l[3]];
        buf.extend_from_slice(&[0, 0, 0xfb, 0xf3, 0, 0, 0, 11]);
        buf.extend_from_slice(&[12, 34, 56, 78]);
        let (s, d) = Section::decide(&buf, V4_VPN, false);
        assert_eq!(d, Decision::default());
        let n = s.iter().next().unwrap();
        assert_eq!(n.prefix.to_string(), "12.34.56.78/32");
        assert_eq!(n.rd.unwrap().to_string(), "0:64499:11");
        assert_eq!(n.labels.values().collect::<Vec<_>>(), [917_584]);
    }

    #[test]
    fn labeled_withdraw_with_compat_label() {
        let buf = [24 + 24, 0x80, 0, 0, 203, 0, 113];
        let (s, d) = Section::decide(&buf, V4_LU, false);
        assert_eq!(d, Decision::default());
        let n = s.iter().next().unwrap();
        assert_eq!(n.prefix.to_string(), "203.0.113.0/24");
        assert_eq!(n.labels.raw(), &[0x80, 0, 0]);
    }

    #[test]
    fn rd_formats() {
        let rd = RouteDistinguisher([0, 2, 0xfb, 0xf0, 0x00, 0x5b, 0, 13]);
        assert_eq!(rd.to_string(), "2:4226809947:13");
        let rd = RouteDistinguisher([0, 1, 192, 0, 2, 1, 0, 7]);
        assert_eq!(rd.to_string(), "1:192.0.2.1:7");
    }

    #[test]
    fn prefix_new_masks() {
        let p = Prefix::new("10.1.2.3".parse().unwrap(), 12).unwrap();
        assert_eq!(p.to_string(), "10.0.0.0/12");
        assert!(Prefix::new("10.0.0.0".parse().unwrap(), 33).is_err());
    }

    #[test]
    fn shared_vectors_decode() {
        for v in crate::wire::test_vectors::nlri_vectors() {
            let kind = v.family.nlri_kind().unwrap();
            let (s, d) = Section::decide(v.bytes, kind, v.add_path);
            assert_eq!(d, Decision::default(), "{}", v.name);
            assert_eq!((s.count(), s.add_path()), (1, v.add_path), "{}", v.name);
            assert_eq!(s.iter().collect::<Vec<_>>(), [v.nlri], "{}", v.name);
        }
    }

    /// Every way one NLRI can be malformed, and the reader left untouched.
    #[test]
    fn read_one_errors() {
        const V6_VPN: NlriKind = NlriKind {
            family: Family::V6,
            encoding: Encoding::Vpn,
        };
        #[rustfmt::skip]
        let cases: [(&str, NlriKind, bool, &[u8], WireError); 16] = [
            ("plain: path ID cut", V4, true, &[0, 0, 1], WireError::Truncated("path identifier")),
            ("plain: no length", V4, true, &[0, 0, 0, 1], WireError::Truncated("NLRI length")),
            ("plain: /33", V4, false, &[33, 1, 2, 3, 4, 5], WireError::BadPrefixLength(33)),
            ("plain: /129", V6, false, &[129], WireError::BadPrefixLength(129)),
            ("plain: prefix cut", V4, false, &[24, 192, 0], WireError::Truncated("prefix")),
            ("labeled: path ID cut", V4_LU, true, &[0, 0], WireError::Truncated("path identifier")),
            ("labeled: no length", V4_LU, false, &[], WireError::Truncated("NLRI length")),
            ("labeled: shorter than a label", V4_LU, false, &[16, 0, 0], WireError::BadPrefixLength(16)),
            ("labeled: label cut", V4_LU, false, &[48, 0x00, 0x3e], WireError::Truncated("label")),
            // two labels without bottom-of-stack, then not enough bits for a third
            ("labeled: stack runs past the length", V4_LU, false, &[56, 0, 0x3e, 0x80, 0, 0x7d, 0x00, 10], WireError::BadPrefixLength(8)),
            ("labeled: /33 after the label", V4_LU, false, &[57, 0, 0, 0x31, 1, 2, 3, 4, 5], WireError::BadPrefixLength(33)),
            ("labeled: prefix cut", V4_LU, false, &[48, 0, 0, 0x31, 203, 0], WireError::Truncated("prefix")),
            ("vpn: shorter than label and RD", V4_VPN, false, &[80, 0, 0, 0x31], WireError::BadPrefixLength(56)),
            ("vpn: RD cut", V4_VPN, false, &[88, 0, 0, 0x31, 0, 0, 0xfd, 0xe8], WireError::Truncated("route distinguisher")),
            ("vpn: /33 after the RD", V4_VPN, false, &[121, 0, 0, 0x31, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5], WireError::BadPrefixLength(33)),
            ("vpn v6: /129 after the RD", V6_VPN, false, &[217, 0, 0, 0x31, 0, 0, 0, 0, 0, 0, 0, 0], WireError::BadPrefixLength(129)),
        ];
        for (name, kind, add_path, buf, err) in cases {
            let mut r = Reader::new(buf);
            assert_eq!(read_one(&mut r, kind, add_path), Err(err), "{name}");
            assert_eq!(r.len(), buf.len(), "{name}: reader moved");
        }
    }

    #[test]
    fn labels_and_withdraw_compat_values() {
        let l = Labels::new(&[0x00, 0x3e, 0x80, 0x00, 0x7d, 0x01, 0xff, 0xff, 0xf1]);
        assert_eq!(l.values().collect::<Vec<_>>(), [1000, 2000, 0xfffff]);
        assert!(Labels::default().is_empty());
        // RFC 8277 §2.4: a withdrawal may carry 0x000000 instead of a
        // bottom-of-stack label.
        let buf = [48, 0x00, 0x00, 0x00, 203, 0, 113];
        let (s, d) = Section::decide(&buf, V4_LU, false);
        assert_eq!(d, Decision::default());
        let n = s.iter().next().unwrap();
        assert_eq!(
            (n.prefix.to_string(), n.labels.raw()),
            ("203.0.113.0/24".to_owned(), &[0u8, 0, 0][..])
        );
    }

    #[test]
    fn prefixes() {
        let p = Prefix::new("2001:db8:ffff::1".parse().unwrap(), 32).unwrap();
        assert_eq!(p.to_string(), "2001:db8::/32");
        assert_eq!(
            (p.len(), p.family(), p.is_default()),
            (32, Family::V6, false)
        );
        let d = Prefix::new("::".parse().unwrap(), 0).unwrap();
        assert!(d.is_default());
        assert_eq!(d.to_string(), "::/0");
        let host = Prefix::new("2001:db8::1".parse().unwrap(), 128).unwrap();
        assert_eq!(host.addr().to_string(), "2001:db8::1");
        assert_eq!(
            Prefix::new("2001:db8::".parse().unwrap(), 129),
            Err(WireError::BadPrefixLength(129))
        );
        // Host bits in the last octet of an IPv6 wire prefix are cleared.
        let (s, _) = Section::decide(&[33, 0x20, 0x01, 0x0d, 0xb8, 0xff], V6, false);
        assert_eq!(collect(&s), ["2001:db8:8000::/33"]);
    }

    #[test]
    fn rd_types() {
        let rd = RouteDistinguisher([0, 0, 0xfd, 0xe8, 0, 0, 0, 100]);
        assert_eq!(
            (rd.rd_type(), rd.to_string()),
            (0, "0:65000:100".to_owned())
        );
        assert!(!rd.is_zero());
        assert!(RouteDistinguisher::default().is_zero());
        let rd = RouteDistinguisher([0, 3, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            (rd.rd_type(), rd.to_string()),
            (3, "3:010203040506".to_owned())
        );
    }

    #[test]
    fn empty_and_counted_sections() {
        let (s, d) = Section::decide(&[], V4, true);
        assert_eq!(
            (s.count(), s.is_empty(), s.add_path(), d),
            (0, true, false, Decision::default())
        );
        let buf = [8, 10, 16, 10, 1, 24, 10, 1, 2];
        let (s, _) = Section::decide(&buf, V4, false);
        assert_eq!(s.count(), 3);
        let scanned = scan(&buf, V4, false);
        assert_eq!((scanned.valid, scanned.count, scanned.defaults), (9, 3, 0));
    }
}
