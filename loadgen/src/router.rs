//! One simulated router: its peers' full tables, the BMP bytes of its
//! dumps, churn, flaps and statistics, and the model of what its peers'
//! RIBs hold now (for `--verify`).
//!
//! Every peer of a router sends the same table in each RIB copy it
//! exports (pre-policy Adj-RIB-In, post-policy, Loc-RIB); the copies get
//! the same churn. A flap (Peer Down, Peer Up, re-dump) concerns the
//! Adj-RIB-In copies; the Loc-RIB copy stays as it is.

use std::net::{IpAddr, Ipv4Addr};

use riptide::synth::{self, FullTable, Rng};
use riptide::wire::WireError;
use riptide::wire::bmp::header::{PeerType, PerPeerHeader, RibKind};
use riptide::wire::bmp::peer_down::PeerDownReason;
use riptide::wire::bmp::stats::{Stat, StatValue};
use riptide::wire::encode::{self, UpdateBuilder};

/// A RIB copy a peer exports.
#[derive(Clone, Copy, Debug, Eq, PartialEq, clap::ValueEnum)]
pub(crate) enum Copy {
    /// Adj-RIB-In, pre-policy.
    Pre,
    /// Adj-RIB-In, post-policy.
    Post,
    /// Loc-RIB (RFC 9069).
    LocRib,
}

impl Copy {
    /// The RIB kind as Riptide names it.
    pub(crate) fn rib(self) -> RibKind {
        match self {
            Self::Pre => RibKind::AdjRibInPre,
            Self::Post => RibKind::AdjRibInPost,
            Self::LocRib => RibKind::LocRib,
        }
    }

    fn header(self, n: u32) -> PerPeerHeader {
        match self {
            Self::Pre => synth::peer_header(n, PeerType::Global, 0, 1_700_000_000),
            Self::Post => synth::peer_header(n, PeerType::Global, 0x40, 1_700_000_000),
            Self::LocRib => synth::peer_header(n, PeerType::LocRib, 0, 1_700_000_000),
        }
    }
}

/// How a router is made.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// Full-table peers.
    pub(crate) peers: u32,
    /// IPv4 prefixes per table.
    pub(crate) v4: u32,
    /// IPv6 prefixes per table.
    pub(crate) v6: u32,
    /// ADD-PATH negotiated and used.
    pub(crate) add_path: bool,
    /// Seed of the tables.
    pub(crate) seed: u64,
    /// RIB copies each peer exports.
    pub(crate) copies: Vec<Copy>,
}

/// One simulated router.
#[derive(Debug)]
pub(crate) struct Router {
    /// Number of the router (from 0).
    pub(crate) index: u32,
    /// The address it connects from (what the collector sees).
    pub(crate) source: IpAddr,
    spec: Spec,
    tables: Vec<FullTable>,
    /// Per peer: whether each prefix of its table is announced now.
    present: Vec<Vec<bool>>,
    /// Per peer: the bytes of its dump (Peer Ups, table and End-of-RIB of
    /// every copy), built once.
    dumps: Vec<Vec<u8>>,
    /// Prefixes in one peer's dump (every copy).
    dump_prefixes: u64,
    rng: Rng,
    b: UpdateBuilder,
    next_flap: u32,
}

impl Router {
    /// Builds router `index` and the bytes of its peers' dumps.
    ///
    /// # Errors
    ///
    /// The encoder refused a message (a table too large for the BMP
    /// message limits).
    pub(crate) fn new(index: u32, source: IpAddr, spec: Spec) -> Result<Self, WireError> {
        let seed = spec.seed.wrapping_add(u64::from(index));
        let mut tables = Vec::new();
        let mut dumps = Vec::new();
        let mut dump_prefixes = 0;
        let mut b = UpdateBuilder::new();
        for n in 0..spec.peers {
            let mut table =
                FullTable::new(spec.v4, spec.v6, synth::table_seed(spec.seed, index, n))
                    .with_add_path(spec.add_path);
            let mut dump = Vec::new();
            let mut prefixes = 0;
            for copy in &spec.copies {
                let peer = copy.header(n + 1);
                synth::peer_up(&mut dump, &peer, spec.add_path)?;
                table.rewind();
                loop {
                    let k = table.next_update(&mut b)?;
                    if k == 0 {
                        break;
                    }
                    prefixes += k as u64;
                    encode::route_monitoring(&mut dump, &peer, &b)?;
                }
                synth::end_of_rib(&mut dump, &peer)?;
            }
            dump_prefixes = prefixes;
            tables.push(table);
            dumps.push(dump);
        }
        let present = tables.iter().map(|t| vec![true; t.len()]).collect();
        Ok(Self {
            index,
            source,
            rng: Rng::new(seed ^ 0x6c6f_6164_6765_6e00),
            spec,
            tables,
            present,
            dumps,
            dump_prefixes,
            b,
            next_flap: 0,
        })
    }

    /// The router's sysName.
    pub(crate) fn name(&self) -> String {
        format!("loadgen-{}", self.index + 1)
    }

    /// The Initiation that opens a session.
    pub(crate) fn initiation(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        synth::initiation(out, &self.name())
    }

    /// Number of peers.
    pub(crate) fn peers(&self) -> usize {
        self.dumps.len()
    }

    /// The dump of peer `p` (empty if there is none).
    pub(crate) fn dump(&self, p: usize) -> &[u8] {
        self.dumps.get(p).map_or(&[], Vec::as_slice)
    }

    /// Prefixes in one peer's dump (every copy).
    pub(crate) fn dump_prefixes(&self) -> u64 {
        self.dump_prefixes
    }

    /// After a (re-)dump of peer `p`, all its routes are announced.
    pub(crate) fn dumped(&mut self, p: usize) {
        if let Some(v) = self.present.get_mut(p) {
            v.fill(true);
        }
    }

    /// Appends `n` churn updates (one prefix each, to every copy): a
    /// prefix that is announced is announced again with new attributes
    /// (7 times in 10) or withdrawn; one that is withdrawn comes back.
    /// Returns the routes sent (one per update and copy).
    pub(crate) fn churn(&mut self, n: u32, out: &mut Vec<u8>) -> Result<u64, WireError> {
        let mut sent = 0;
        for _ in 0..n {
            let p = self.rng.range(0, self.spec.peers.saturating_sub(1)) as usize;
            let (Some(table), Some(present)) = (self.tables.get_mut(p), self.present.get_mut(p))
            else {
                break;
            };
            if table.is_empty() {
                break;
            }
            let i = (self.rng.next_u64() % table.len() as u64) as usize;
            let Some(was) = present.get_mut(i) else {
                continue;
            };
            let withdraw = *was && !self.rng.chance(700);
            let built = if withdraw {
                table.withdraw_one(i, &mut self.b)?
            } else {
                table.announce_one(i, &mut self.b)?
            };
            if !built {
                continue;
            }
            *was = !withdraw;
            for copy in &self.spec.copies {
                encode::route_monitoring(out, &copy.header(p as u32 + 1), &self.b)?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Withdraws, without recording it, the first `n` routes of peer 0 in
    /// every copy: a deliberate gap for `--verify` to find.
    pub(crate) fn omit(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), WireError> {
        let Some(table) = self.tables.get_mut(0) else {
            return Ok(());
        };
        for i in 0..n.min(table.len()) {
            table.withdraw_one(i, &mut self.b)?;
            for copy in &self.spec.copies {
                encode::route_monitoring(out, &copy.header(1), &self.b)?;
            }
        }
        Ok(())
    }

    /// The next peer to flap (round robin), with its Peer Down appended;
    /// the caller sends it, then [`Self::dump`] of that peer.
    pub(crate) fn flap(&mut self, out: &mut Vec<u8>) -> Result<Option<usize>, WireError> {
        if self.spec.peers == 0 {
            return Ok(None);
        }
        let p = self.next_flap % self.spec.peers;
        self.next_flap = self.next_flap.wrapping_add(1);
        for copy in &self.spec.copies {
            if *copy != Copy::LocRib {
                let reason = PeerDownReason::RemoteNoData;
                encode::peer_down(out, &copy.header(p + 1), &reason)?;
                // One Peer Down ends every Adj-RIB-In copy of the session.
                break;
            }
        }
        Ok(Some(p as usize))
    }

    /// A Statistics Report per peer and copy: routes held (type 7), and
    /// no rejected prefixes (type 0).
    pub(crate) fn stats(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        for (p, present) in self.present.iter().enumerate() {
            let held = present.iter().filter(|x| **x).count() as u64;
            for copy in &self.spec.copies {
                let stats = [
                    Stat {
                        stat_type: 0,
                        value: StatValue::Counter32(0),
                    },
                    Stat {
                        stat_type: 7,
                        value: StatValue::Gauge64(held),
                    },
                ];
                encode::stats_report(out, &copy.header(p as u32 + 1), &stats)?;
            }
        }
        Ok(())
    }

    /// A marker: a Statistics Report of peer 1 whose rejected-prefixes
    /// counter (type 0) is `nonce`. Once the store has it, it has all
    /// the router sent before it.
    pub(crate) fn marker(&self, nonce: u32, out: &mut Vec<u8>) -> Result<(), WireError> {
        let Some(copy) = self.spec.copies.first() else {
            return Ok(());
        };
        let stats = [Stat {
            stat_type: 0,
            value: StatValue::Counter32(nonce),
        }];
        encode::stats_report(out, &copy.header(1), &stats)
    }

    /// The routes the collector should hold for this router now: per
    /// (peer address, RIB kind), the prefixes (as text) and path id.
    pub(crate) fn expected(&self) -> Vec<Expected> {
        let mut out = Vec::new();
        for (p, (table, present)) in self.tables.iter().zip(&self.present).enumerate() {
            for copy in &self.spec.copies {
                let peer = copy.header(p as u32 + 1);
                out.push(Expected {
                    router: self.source,
                    peer: peer.address,
                    rib: copy.rib(),
                    path_id: if self.spec.add_path { table.path_id } else { 0 },
                    prefixes: present
                        .iter()
                        .enumerate()
                        .filter(|(_, on)| **on)
                        .filter_map(|(i, _)| table.prefix(i))
                        .map(|(_, prefix)| prefix.to_string())
                        .collect(),
                });
            }
        }
        out
    }
}

/// What one peer RIB should hold.
#[derive(Clone, Debug)]
pub(crate) struct Expected {
    /// The router's address.
    pub(crate) router: IpAddr,
    /// The peer's address.
    pub(crate) peer: IpAddr,
    /// The RIB.
    pub(crate) rib: RibKind,
    /// Path id of every route (0 without ADD-PATH).
    pub(crate) path_id: u32,
    /// The prefixes, as text (`198.51.100.0/24`).
    pub(crate) prefixes: Vec<String>,
}

/// The source address of router `index` counting up from `base`.
pub(crate) fn source(base: Ipv4Addr, index: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(base).wrapping_add(index)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            peers: 2,
            v4: 300,
            v6: 100,
            add_path: false,
            seed: 3,
            copies: vec![Copy::Pre, Copy::Post],
        }
    }

    #[test]
    fn every_peer_of_every_router_has_a_table_of_its_own() {
        let spec = Spec {
            peers: 4,
            v4: 50,
            v6: 0,
            copies: vec![Copy::Pre],
            ..spec()
        };
        // The first updates of every table, attributes included (the
        // peers' dumps differ anyway, by their per-peer headers): of four
        // routers of one run, and of four runs of one router each (as
        // perf/scripts/vs-pmbmpd makes its files, seeds 1 to 4).
        let mut tables = Vec::new();
        let mut b = UpdateBuilder::new();
        let routers = (0..4).map(|i| (i, 100)).chain((1..=4).map(|s| (0, s)));
        for (index, seed) in routers {
            let source = source(Ipv4Addr::new(127, 0, 1, 1), index);
            let r = Router::new(
                index,
                source,
                Spec {
                    seed,
                    ..spec.clone()
                },
            )
            .unwrap();
            for mut t in r.tables {
                t.rewind();
                let mut updates = Vec::new();
                for _ in 0..5 {
                    t.next_update(&mut b).unwrap();
                    b.write(&mut updates).unwrap();
                }
                tables.push(updates);
            }
        }
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[..i] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn churn_keeps_the_model_and_flaps_restore_it() {
        let mut r = Router::new(0, source(Ipv4Addr::new(127, 0, 1, 1), 0), spec()).unwrap();
        assert_eq!(r.dump_prefixes(), 800);
        let mut out = Vec::new();
        assert_eq!(r.churn(200, &mut out).unwrap(), 400);
        let held: usize = r.expected().iter().map(|e| e.prefixes.len()).sum();
        assert!(held < 4 * 400, "some routes were withdrawn");
        out.clear();
        let p = r.flap(&mut out).unwrap().unwrap();
        r.dumped(p);
        assert_eq!(p, 0);
        assert!(!out.is_empty());
    }

    #[test]
    fn sources_count_up() {
        let base = Ipv4Addr::new(127, 0, 1, 1);
        assert_eq!(source(base, 0).to_string(), "127.0.1.1");
        assert_eq!(source(base, 255).to_string(), "127.0.2.0");
    }
}
