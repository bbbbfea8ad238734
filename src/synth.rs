//! Deterministic synthetic full tables: the routes a router with a full
//! Internet table would report over BMP, shaped like the real table
//! (prefix-length mix, several prefixes per UPDATE sharing one attribute
//! set, AS paths of 1 to 10 four-octet ASNs, communities on about half,
//! large communities on some). Used by `loadgen`, the benchmarks and tests.
//!
//! The same seed always gives the same table; prefixes within a table are
//! unique.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::WireError;
use crate::wire::bgp::afi_safi::{AfiSafi, IPV4_UNICAST, IPV6_UNICAST};
use crate::wire::bgp::attr::SegmentType;
use crate::wire::bgp::nlri::{Labels, Nlri, Prefix};
use crate::wire::bgp::open::AddPathDirection;
use crate::wire::bmp::header::{PeerType, PerPeerHeader};
use crate::wire::bmp::tlv::{TLV_SYS_DESCR, TLV_SYS_NAME};
use crate::wire::encode::{self, OpenSpec, PeerUpSpec, UpdateBuilder};

/// IPv4 prefixes in a default full table.
pub const FULL_V4: u32 = 950_000;
/// IPv6 prefixes in a default full table.
pub const FULL_V6: u32 = 200_000;

/// Share of prefixes per length, in parts per thousand (IPv4).
const V4_MIX: [(u8, u32); 12] = [
    (24, 600),
    (23, 100),
    (22, 120),
    (21, 50),
    (20, 50),
    (19, 30),
    (18, 20),
    (17, 10),
    (16, 14),
    (15, 3),
    (14, 2),
    (12, 1),
];

/// Share of prefixes per length, in parts per thousand (IPv6).
const V6_MIX: [(u8, u32); 10] = [
    (48, 500),
    (32, 120),
    (44, 80),
    (40, 70),
    (36, 50),
    (47, 30),
    (46, 30),
    (29, 30),
    (64, 40),
    (56, 50),
];

/// The seed of the table of peer `peer` on router `router`, from a run's
/// `seed`: one of its own for every (seed, router, peer). (A seed xored
/// with the peer's index gave seeds 1, 2 and 3 the same four tables.)
pub fn table_seed(seed: u64, router: u32, peer: u32) -> u64 {
    let mixed = Rng::new(seed).next_u64();
    Rng::new(mixed ^ (u64::from(router) << 32 | u64::from(peer))).next_u64()
}

/// A small, fast, deterministic PRNG (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi - lo) + 1;
        lo + (self.next_u64() % span) as u32
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }
}

/// The `i`-th prefix of a length: a bijection of `i` over the length's
/// address space, so prefixes are unique and spread out.
fn v4_prefix(len: u8, i: u64) -> Prefix {
    let bits = u32::from(len);
    let space = 1u64 << bits;
    let n = i.wrapping_mul(0x9e37_79b9) % space;
    // Keep clear of 0/8: start at 1.0.0.0 by setting a high bit pattern.
    let addr = ((n << (32 - bits)) as u32) | 0x0100_0000;
    Prefix::new(IpAddr::V4(Ipv4Addr::from(addr)), len).expect("length is at most 32")
}

fn v6_prefix(len: u8, i: u64) -> Prefix {
    let bits = u32::from(len) - 3;
    let n = i.wrapping_mul(0x9e37_79b9_7f4a_7c15 | 1) % (1u64 << bits.min(60));
    let v = (0x2000u128 << 112) | (u128::from(n) << (128 - u32::from(len)));
    Prefix::new(IpAddr::V6(Ipv6Addr::from(v)), len).expect("length is at most 128")
}

/// How many prefixes of each length make up `total`.
fn plan(mix: &[(u8, u32)], total: u32) -> Vec<(u8, u64)> {
    let parts: u32 = mix.iter().map(|(_, p)| p).sum();
    let mut out: Vec<(u8, u64)> = mix
        .iter()
        .map(|&(len, p)| (len, u64::from(total) * u64::from(p) / u64::from(parts)))
        .collect();
    let planned: u64 = out.iter().map(|(_, n)| n).sum();
    if let Some(first) = out.first_mut() {
        first.1 += u64::from(total) - planned;
    }
    out
}

/// The routes of one full table, generated UPDATE by UPDATE.
#[derive(Clone, Debug)]
pub struct FullTable {
    rng: Rng,
    prefixes: Vec<(AfiSafi, Prefix)>,
    at: usize,
    add_path: bool,
    /// Path identifier given to every route when ADD-PATH is on.
    pub path_id: u32,
    nlri_buf: Vec<Nlri<'static>>,
}

impl FullTable {
    /// A table of `v4` IPv4 and `v6` IPv6 prefixes, from `seed`.
    pub fn new(v4: u32, v6: u32, seed: u64) -> Self {
        let mut prefixes = Vec::with_capacity((v4 + v6) as usize);
        for (len, n) in plan(&V4_MIX, v4) {
            prefixes.extend((0..n).map(|i| (IPV4_UNICAST, v4_prefix(len, i))));
        }
        for (len, n) in plan(&V6_MIX, v6) {
            prefixes.extend((0..n).map(|i| (IPV6_UNICAST, v6_prefix(len, i))));
        }
        // Real tables arrive roughly in address order per family; keep
        // families apart but shuffle lengths together.
        prefixes.sort_unstable_by_key(|(f, p)| (f.afi, p.addr(), p.len()));
        Self {
            rng: Rng::new(seed),
            prefixes,
            at: 0,
            add_path: false,
            path_id: 1,
            nlri_buf: Vec::new(),
        }
    }

    /// Sends path identifiers (the peer negotiated ADD-PATH).
    pub fn with_add_path(mut self, on: bool) -> Self {
        self.add_path = on;
        self
    }

    /// Total prefixes in the table.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Starts again from the first prefix (a re-dump), keeping the RNG
    /// state so attributes may differ.
    pub fn rewind(&mut self) {
        self.at = 0;
    }

    /// Builds the next UPDATE into `b`; returns how many prefixes it holds,
    /// 0 when the table is done.
    pub fn next_update(&mut self, b: &mut UpdateBuilder) -> Result<usize, WireError> {
        b.clear();
        let Some(&(family, _)) = self.prefixes.get(self.at) else {
            return Ok(0);
        };
        // 1 to 7 prefixes, about 3.5 on average, all of one family.
        let want = self.rng.range(1, 6) as usize;
        let end = (self.at + want).min(self.prefixes.len());
        let group = self.prefixes[self.at..end]
            .iter()
            .take_while(|(f, _)| *f == family)
            .count();
        let first = self.at;
        self.at += group;

        self.attributes(b, family)?;
        self.reach(b, family, first..first + group)?;
        Ok(group)
    }

    /// The prefix at `i` (in sending order) and its family.
    pub fn prefix(&self, i: usize) -> Option<(AfiSafi, Prefix)> {
        self.prefixes.get(i).copied()
    }

    /// Builds into `b` an UPDATE that announces the prefix at `i` alone,
    /// with fresh attributes (churn); false when there is no such prefix.
    pub fn announce_one(&mut self, i: usize, b: &mut UpdateBuilder) -> Result<bool, WireError> {
        b.clear();
        let Some((family, _)) = self.prefix(i) else {
            return Ok(false);
        };
        self.attributes(b, family)?;
        self.reach(b, family, i..i + 1)?;
        Ok(true)
    }

    /// Builds into `b` an UPDATE that withdraws the prefix at `i`; false
    /// when there is no such prefix.
    pub fn withdraw_one(&mut self, i: usize, b: &mut UpdateBuilder) -> Result<bool, WireError> {
        b.clear();
        let Some((family, prefix)) = self.prefix(i) else {
            return Ok(false);
        };
        let n = Nlri {
            path_id: self.add_path.then_some(self.path_id),
            prefix,
            rd: None,
            labels: Labels::default(),
        };
        if family == IPV4_UNICAST {
            b.withdraw(&n, self.add_path)?;
        } else {
            b.mp_unreach(family, [&n], self.add_path)?;
        }
        Ok(true)
    }

    /// Adds the NLRI of the prefixes in `range`, all of `family`.
    fn reach(
        &mut self,
        b: &mut UpdateBuilder,
        family: AfiSafi,
        range: std::ops::Range<usize>,
    ) -> Result<(), WireError> {
        let path_id = self.add_path.then_some(self.path_id);
        self.nlri_buf.clear();
        self.nlri_buf
            .extend(
                self.prefixes
                    .get(range)
                    .unwrap_or_default()
                    .iter()
                    .map(|&(_, prefix)| Nlri {
                        path_id,
                        prefix,
                        rd: None,
                        labels: Labels::default(),
                    }),
            );
        if family == IPV4_UNICAST {
            for n in &self.nlri_buf {
                b.announce(n, self.add_path)?;
            }
        } else {
            let nh = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, self.rng.range(1, 200) as u16);
            b.mp_reach(family, &nh.octets(), &self.nlri_buf, self.add_path)?;
        }
        Ok(())
    }

    fn attributes(&mut self, b: &mut UpdateBuilder, family: AfiSafi) -> Result<(), WireError> {
        let r = &mut self.rng;
        b.origin(if r.chance(900) { 0 } else { 2 })?;
        let hops = r.range(1, 10) as usize;
        let mut path = [0u32; 10];
        for a in path.iter_mut().take(hops) {
            *a = if r.chance(700) {
                r.range(1, 64_511)
            } else {
                r.range(131_072, 401_308)
            };
        }
        b.as_path(&[(SegmentType::Sequence, &path[..hops])], 4)?;
        if family == IPV4_UNICAST {
            b.next_hop(Ipv4Addr::new(192, 0, 2, r.range(1, 254) as u8))?;
        }
        if r.chance(300) {
            b.med(r.range(0, 1000))?;
        }
        if r.chance(500) {
            b.local_pref(r.range(50, 300))?;
        }
        if r.chance(500) {
            let n = r.range(1, 6) as usize;
            let mut c = [0u32; 6];
            for x in c.iter_mut().take(n) {
                *x = (r.range(1, 65_535) << 16) | r.range(0, 65_535);
            }
            b.communities(&c[..n])?;
        }
        if r.chance(150) {
            let g = path[0];
            b.large_communities(&[[g, r.range(0, 1000), r.range(0, 1000)]])?;
        }
        Ok(())
    }
}

/// A per-peer header for a synthetic peer `n` of a router.
pub fn peer_header(n: u32, peer_type: PeerType, flags: u8, ts_sec: u32) -> PerPeerHeader {
    let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n));
    PerPeerHeader {
        peer_type,
        flags: encode::flags_for(peer_type, flags, address),
        distinguisher: Default::default(),
        address,
        asn: 64_512 + n,
        bgp_id: Ipv4Addr::from(0x0a00_0000 | n),
        ts_sec,
        ts_usec: 0,
    }
}

/// The OPEN of a modern full-table speaker: 4-octet AS, IPv4 and IPv6
/// unicast, and optionally ADD-PATH both ways for both.
pub fn open_spec(asn: u32, bgp_id: Ipv4Addr, add_path: bool) -> OpenSpec {
    let families = vec![IPV4_UNICAST, IPV6_UNICAST];
    let add_path = if add_path {
        families
            .iter()
            .map(|&f| (f, AddPathDirection::Both))
            .collect()
    } else {
        Vec::new()
    };
    OpenSpec {
        asn,
        hold_time: 90,
        bgp_id,
        four_octet_as: true,
        families,
        add_path,
        other: Vec::new(),
    }
}

/// Appends an Initiation for a synthetic router.
pub fn initiation(out: &mut Vec<u8>, sys_name: &str) -> Result<(), WireError> {
    encode::initiation(
        out,
        &[
            (TLV_SYS_NAME, sys_name.as_bytes()),
            (TLV_SYS_DESCR, b"riptide synthetic router"),
        ],
    )
}

/// Appends a Peer Up for a synthetic peer.
pub fn peer_up(out: &mut Vec<u8>, peer: &PerPeerHeader, add_path: bool) -> Result<(), WireError> {
    let local = open_spec(65_000, Ipv4Addr::new(192, 0, 2, 254), add_path);
    let remote = open_spec(peer.asn, peer.bgp_id, add_path);
    encode::peer_up(
        out,
        &PeerUpSpec {
            peer: *peer,
            local_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
            local_port: 179,
            remote_port: 40_000,
            sent: &local,
            received: &remote,
            info: &[],
        },
    )
}

/// An UPDATE announcing the IPv4 unicast `prefixes` with the least
/// attributes: ORIGIN IGP, an empty AS_PATH, NEXT_HOP `next_hop`.
pub fn announcement(next_hop: Ipv4Addr, prefixes: &[Prefix]) -> Result<UpdateBuilder, WireError> {
    let mut b = UpdateBuilder::new();
    b.origin(0)?.as_path(&[], 4)?.next_hop(next_hop)?;
    for &prefix in prefixes {
        let n = Nlri {
            path_id: None,
            prefix,
            rd: None,
            labels: Labels::default(),
        };
        b.announce(&n, false)?;
    }
    Ok(b)
}

/// Appends End-of-RIB markers for IPv4 and IPv6 unicast.
pub fn end_of_rib(out: &mut Vec<u8>, peer: &PerPeerHeader) -> Result<(), WireError> {
    let mut b = UpdateBuilder::new();
    encode::route_monitoring(out, peer, &b)?;
    b.mp_unreach(IPV6_UNICAST, [], false)?;
    encode::route_monitoring(out, peer, &b)
}

/// Appends the whole BMP stream of one router with `peers` full-table
/// peers: Initiation, then per peer a Peer Up, its table and End-of-RIB.
/// Returns the number of prefixes.
pub fn router_stream(
    out: &mut Vec<u8>,
    peers: u32,
    v4: u32,
    v6: u32,
    seed: u64,
    add_path: bool,
) -> Result<u64, WireError> {
    initiation(out, "synthetic")?;
    let mut prefixes = 0u64;
    let mut b = UpdateBuilder::new();
    for n in 0..peers {
        let peer = peer_header(n + 1, PeerType::Global, 0, 1_700_000_000);
        peer_up(out, &peer, add_path)?;
        let mut table = FullTable::new(v4, v6, table_seed(seed, 0, n)).with_add_path(add_path);
        loop {
            let k = table.next_update(&mut b)?;
            if k == 0 {
                break;
            }
            prefixes += k as u64;
            encode::route_monitoring(out, &peer, &b)?;
        }
        end_of_rib(out, &peer)?;
    }
    Ok(prefixes)
}
