//! The shard side of storage: a [`Sink`] that encodes every event into
//! row batches ([`super::batch`]) and hands full batches to the store's
//! writer through a bounded queue.
//!
//! Rows are written straight from the decoded messages into the batch's
//! COPY sections; nothing is allocated per route. Identifiers are stable
//! hashes, so shards need no round trip to the database to name a router,
//! a peer or an attribute set:
//!
//! - router: xxh3 of its address;
//! - peer: xxh3 of router address, peer type, distinguisher, peer address
//!   and RIB kind (each RIB of a BGP session is a row of `peers`);
//! - attribute set: xxh3 of every path attribute as received (type code
//!   and value, unknown attributes included; for MP_REACH_NLRI the family
//!   and next hop, not the NLRI) and the route's next hop.
//!
//! A batch is sent when it holds `BATCH_SIZE` routes, when its oldest row
//! is `BATCH_TIMEOUT_SECONDS` old at a flush, when a route follows an
//! event (so events stay in order with the routes around them), and when
//! a router session ends. When the writer's queue is full the shard waits
//! for it (back-pressure, counted and logged): rows are never dropped.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use tracing::warn;
use xxhash_rust::xxh3::Xxh3Default;

use super::batch::{
    ATTR_FIELDS, Batch, EVENT_FIELDS, EventKind, HISTORY_FIELDS, ROUTE_FIELDS, STAT_FIELDS,
};
use super::copy::TupleWriter;
use super::{PeerEnd, Sink};
use crate::config::canonical;
use crate::metrics::Metrics;
use crate::session::{PeerKey, negotiated_families};
use crate::wire::bgp::afi_safi::AfiSafi;
use crate::wire::bgp::attr::{AsPath, Origin, SegmentType, code};
use crate::wire::bgp::update::{Action, Route, Update};
use crate::wire::bmp::header::{PeerType, PerPeerHeader, RibKind};
use crate::wire::bmp::messages::{Initiation, RouteMirroring, Termination};
use crate::wire::bmp::peer_down::{PeerDown, PeerDownReason};
use crate::wire::bmp::peer_up::PeerUp;
use crate::wire::bmp::stats::{StatisticsReport, stat_name};

/// Entries of the cache of attribute sets already sent (direct-mapped).
const SENT_ATTRS: usize = 1 << 16;

/// Where the rd field starts in a route tuple: after the field count and
/// two `int8` fields (seq, peer id).
const ROUTE_KEYS_AT: usize = 2 + 12 + 12;

/// Least time between two back-pressure warnings.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Counters of one store sink.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct StoreCounters {
    /// Batches handed to the writer.
    pub batches: u64,
    /// Route rows.
    pub routes: u64,
    /// Attribute set rows.
    pub attr_sets: u64,
    /// Event rows.
    pub events: u64,
    /// Statistics rows.
    pub stats: u64,
    /// Times the writer's queue was full and the shard waited.
    pub backpressure: u64,
    /// Batches lost because the writer had stopped (never in normal
    /// operation: the writer outlives the shards).
    pub lost_batches: u64,
}

/// Batching settings.
#[derive(Clone, Copy, Debug)]
pub struct BatchSettings {
    /// Routes per batch.
    pub size: usize,
    /// Longest time a row waits in a batch that is not full.
    pub timeout: Duration,
}

/// A shard's store sink.
#[derive(Debug)]
pub struct StoreSink {
    tx: Sender<Batch>,
    stream: Arc<str>,
    settings: BatchSettings,
    batch: Batch,
    /// The batch holds events: the next route starts a new batch.
    has_events: bool,
    /// Wall-clock time of the rows until the next flush, in microseconds
    /// since the Unix epoch.
    now_us: Option<i64>,
    /// The peer of the previous route: (router, peer, RIB) and its id.
    last_peer: Option<(IpAddr, PeerKey, RibKind, i64)>,
    /// The Path Attributes field of the previous announcement (a copy:
    /// receive buffers are reused, so an address says nothing), its hash,
    /// and the attribute set id for the previous next hop.
    last_attrs: Vec<u8>,
    last_attrs_hash: Option<u64>,
    last_attrs_id: Option<(Option<IpAddr>, i64)>,
    /// The (peer id, epoch) of the previous route, known to have its
    /// `peers` row: spares the map lookup for the routes that follow.
    last_seen: Option<(i64, u64)>,
    /// Attribute set ids already sent in this stream.
    sent_attrs: Box<[i64]>,
    /// Peer ids this stream has a `peers` row for, with their epoch.
    seen_peers: std::collections::HashMap<i64, u64>,
    last_warning: Option<Instant>,
    scratch: String,
    counters: StoreCounters,
    /// Where a wait for the writer's full queue shows.
    metrics: Arc<Metrics>,
}

impl StoreSink {
    /// A sink for shard `shard` sending to `tx`; `run` tells this process
    /// run apart from others (streams must never repeat).
    pub fn new(
        tx: Sender<Batch>,
        run: u64,
        shard: usize,
        settings: BatchSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let stream: Arc<str> = format!("{run}-{shard}").into();
        Self {
            tx,
            batch: Batch {
                stream: stream.clone(),
                ..Batch::default()
            },
            stream,
            settings,
            has_events: false,
            now_us: None,
            last_peer: None,
            last_attrs: Vec::new(),
            last_attrs_hash: None,
            last_attrs_id: None,
            last_seen: None,
            sent_attrs: vec![0; SENT_ATTRS].into_boxed_slice(),
            seen_peers: std::collections::HashMap::new(),
            last_warning: None,
            scratch: String::new(),
            counters: StoreCounters::default(),
            metrics,
        }
    }

    /// What was counted so far.
    pub fn counters(&self) -> StoreCounters {
        self.counters
    }

    /// Sends what is left and closes this sink's side of the queue.
    pub fn finish(mut self) -> StoreCounters {
        self.send();
        self.counters
    }

    fn now_us(&mut self) -> i64 {
        *self.now_us.get_or_insert_with(unix_micros)
    }

    /// Hands the current batch to the writer, waiting if its queue is
    /// full.
    fn send(&mut self) {
        self.has_events = false;
        if self.batch.is_empty() {
            return;
        }
        // The next batch starts with the room the last one needed, so
        // filling it does not grow (allocate) row by row.
        let room = |v: &Vec<u8>| Vec::with_capacity(v.capacity());
        let next = Batch {
            stream: self.stream.clone(),
            seq: self.batch.seq + 1,
            attrs: room(&self.batch.attrs),
            routes: room(&self.batch.routes),
            history: room(&self.batch.history),
            stats: Vec::new(),
            events: Vec::new(),
            route_count: 0,
            withdraw_count: 0,
            opened: None,
            arrived_us: 0,
        };
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.seq += 1;
        self.counters.batches += 1;
        let batch = match self.tx.try_send(batch) {
            Ok(()) => return,
            Err(TrySendError::Full(b)) => b,
            Err(TrySendError::Closed(b)) => return self.lost(&b),
        };
        self.counters.backpressure += 1;
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= WARNING_INTERVAL)
        {
            self.last_warning = Some(now);
            warn!(
                times = self.counters.backpressure,
                "store writer queue full: processing falls behind, reading from routers pauses"
            );
        }
        self.metrics.set_paused(true);
        let sent = self.tx.blocking_send(batch);
        self.metrics.set_paused(false);
        if let Err(e) = sent {
            self.lost(&e.0);
        }
    }

    /// The writer is gone (it never stops before the shards do): the
    /// batch cannot be stored.
    fn lost(&mut self, batch: &Batch) {
        self.counters.lost_batches += 1;
        crate::telemetry::route_error(
            &"the store writer has stopped",
            batch.route_count,
            "a batch of rows is lost",
        );
    }

    fn opened(&mut self) {
        if self.batch.opened.is_none() {
            self.batch.opened = Some(Instant::now());
            self.batch.arrived_us = self.now_us();
        }
    }

    fn peer_id_cached(&mut self, router: SocketAddr, peer: PeerKey, rib: RibKind) -> i64 {
        let ip = canonical(router.ip());
        match self.last_peer {
            Some((r, p, k, id)) if r == ip && p == peer && k == rib => id,
            _ => {
                let id = peer_id(ip, &peer, rib);
                self.last_peer = Some((ip, peer, rib, id));
                id
            }
        }
    }

    /// The attribute set id of an announcement, writing the set's row the
    /// first time this stream sees it.
    fn attrs_id(&mut self, update: &Update<'_>, next_hop: Option<IpAddr>, ts: i64) -> i64 {
        let raw = update.attrs_raw();
        let base = match self.last_attrs_hash {
            Some(h) if raw == self.last_attrs.as_slice() => h,
            _ => {
                let h = attrs_hash(update);
                self.last_attrs.clear();
                self.last_attrs.extend_from_slice(raw);
                self.last_attrs_hash = Some(h);
                self.last_attrs_id = None;
                h
            }
        };
        // The routes of one UPDATE share their attribute set.
        if let Some((nh, id)) = self.last_attrs_id
            && nh == next_hop
        {
            return id;
        }
        let mut h = Xxh3Default::new();
        h.update(&base.to_be_bytes());
        if let Some(nh) = next_hop {
            hash_ip(&mut h, nh);
        }
        let id = h.digest() as i64;
        self.last_attrs_id = Some((next_hop, id));
        let slot = (id as usize) & (SENT_ATTRS - 1);
        if self.sent_attrs.get(slot) == Some(&id) {
            return id;
        }
        if let Some(s) = self.sent_attrs.get_mut(slot) {
            *s = id;
        }
        self.counters.attr_sets += 1;
        write_attr_set(&mut self.batch.attrs, id, update, next_hop, ts);
        id
    }

    /// Appends an event row.
    #[allow(clippy::too_many_arguments)] // one row, each column distinct
    fn event(
        &mut self,
        kind: EventKind,
        router: SocketAddr,
        peer: PeerRef<'_>,
        epoch: u64,
        a: Option<&str>,
        b: Option<&str>,
    ) {
        self.opened();
        let ts = self.now_us();
        let ip = canonical(router.ip());
        let mut t = TupleWriter::new(&mut self.batch.events, EVENT_FIELDS);
        t.int2(kind.code())
            .timestamptz(ts)
            .int8(router_id(ip))
            .opt_host(Some(ip));
        match peer {
            PeerRef::None => {
                t.null();
            }
            PeerRef::Id(id) | PeerRef::Full(id, ..) => {
                t.int8(id);
            }
        }
        t.int8(epoch as i64);
        match peer {
            PeerRef::Full(_, h, rib) => {
                t.display(h.peer_type.name())
                    .text_with(false, |w| write_rd(w, h))
                    .opt_host(Some(h.address))
                    .int8(i64::from(h.asn))
                    .opt_host(Some(IpAddr::V4(h.bgp_id)))
                    .display(rib.name());
            }
            PeerRef::None | PeerRef::Id(_) => {
                t.null().null().null().null().null().null();
            }
        }
        t.opt_text(a).opt_text(b);
        self.counters.events += 1;
        self.has_events = true;
    }
}

/// Which peer an event is about.
#[derive(Clone, Copy, Debug)]
enum PeerRef<'h> {
    /// A router event.
    None,
    /// A peer already known to the store.
    Id(i64),
    /// A peer with every column, for its `peers` row.
    Full(i64, &'h PerPeerHeader, RibKind),
}

impl Sink for StoreSink {
    fn router_connected(&mut self, router: SocketAddr) {
        self.event(
            EventKind::RouterConnected,
            router,
            PeerRef::None,
            0,
            None,
            None,
        );
    }

    fn initiation(&mut self, router: SocketAddr, msg: &Initiation<'_>) {
        self.event(
            EventKind::Initiation,
            router,
            PeerRef::None,
            0,
            msg.sys_name(),
            msg.sys_descr(),
        );
    }

    fn router_disconnected(&mut self, router: SocketAddr, termination: Option<&Termination<'_>>) {
        match termination {
            Some(t) => {
                let reason = t.reason().map(|r| r.to_string());
                self.event(
                    EventKind::Termination,
                    router,
                    PeerRef::None,
                    0,
                    reason.as_deref(),
                    None,
                );
            }
            None => self.event(EventKind::Disconnect, router, PeerRef::None, 0, None, None),
        }
        self.send();
    }

    fn peer_up(&mut self, router: SocketAddr, peer: PeerKey, epoch: u64, msg: &PeerUp<'_>) {
        let rib = msg.peer.rib_kind();
        let id = self.peer_id_cached(router, peer, rib);
        self.seen_peers.insert(id, epoch);
        let mut caps = std::mem::take(&mut self.scratch);
        caps.clear();
        write_capabilities(&mut caps, msg, rib);
        self.event(
            EventKind::PeerUp,
            router,
            PeerRef::Full(id, &msg.peer, rib),
            epoch,
            Some(&caps),
            msg.vrf_table_name(),
        );
        self.scratch = caps;
    }

    fn peer_down(&mut self, router: SocketAddr, peer: PeerKey, epoch: u64, end: PeerEnd<'_>) {
        let mut detail = std::mem::take(&mut self.scratch);
        detail.clear();
        let (kind, reason) = match end {
            PeerEnd::PeerDown(d) => {
                write_down_detail(&mut detail, d);
                (EventKind::PeerDown, d.reason.name())
            }
            PeerEnd::Termination => (EventKind::PeerLost, "router terminated"),
            PeerEnd::Disconnect(why) => (EventKind::PeerLost, why),
            PeerEnd::WithoutPeerUp(why) => (EventKind::PeerDown, why),
        };
        let ip = canonical(router.ip());
        self.last_seen = None;
        for rib in RibKind::ALL {
            let id = peer_id(ip, &peer, rib);
            self.seen_peers.remove(&id);
            self.event(
                kind,
                router,
                PeerRef::Id(id),
                epoch,
                Some(reason),
                (!detail.is_empty()).then_some(detail.as_str()),
            );
        }
        self.scratch = detail;
    }

    fn route(
        &mut self,
        router: SocketAddr,
        peer: PeerKey,
        header: &PerPeerHeader,
        epoch: u64,
        update: &Update<'_>,
        route: &Route<'_>,
    ) {
        if self.has_events {
            self.send();
        }
        self.opened();
        let rib = header.rib_kind();
        let id = self.peer_id_cached(router, peer, rib);
        if self.last_seen != Some((id, epoch)) && self.seen_peers.get(&id) != Some(&epoch) {
            // Routes of a RIB without a Peer Up of its own (a router that
            // sends one Peer Up for all RIBs, or none): its `peers` row.
            self.seen_peers.insert(id, epoch);
            self.event(
                EventKind::PeerSeen,
                router,
                PeerRef::Full(id, header, rib),
                epoch,
                None,
                None,
            );
            // The row goes in the same batch (applied after its routes,
            // in the same transaction): no new batch needed.
            self.has_events = false;
        }
        self.last_seen = Some((id, epoch));
        let ts = self.now_us();
        let attrs = match route.action {
            Action::Announce => Some(self.attrs_id(update, route.next_hop, ts)),
            Action::Withdraw => None,
        };
        let n = &route.nlri;
        let start = self.batch.routes.len();
        let mut t = TupleWriter::new(&mut self.batch.routes, ROUTE_FIELDS);
        t.int8(i64::from(self.batch.route_count))
            .int8(id)
            .text_with(false, |w| match &n.rd {
                Some(rd) => write!(w, "{rd}"),
                None => Ok(()),
            })
            .inet(n.prefix.addr(), n.prefix.len(), true)
            .int8(n.path_id.map_or(0, i64::from))
            .int2(route.afi_safi.afi as i16)
            .int2(i16::from(route.afi_safi.safi))
            .list(n.labels.values());
        let mid = self.batch.routes.len();
        TupleWriter::resume(&mut self.batch.routes)
            .int2(i16::from(route.action == Action::Announce))
            .int8(epoch as i64)
            .opt_int8(attrs)
            .timestamptz(ts);
        // The history row repeats rd, prefix, path id, family and labels
        // as just encoded.
        let keys = self
            .batch
            .routes
            .get(start + ROUTE_KEYS_AT..mid)
            .unwrap_or_default();
        let mut h = TupleWriter::new(&mut self.batch.history, HISTORY_FIELDS);
        h.timestamptz(ts).int8(id).raw_fields(keys);
        h.display(match route.action {
            Action::Announce => "announce",
            Action::Withdraw => "withdraw",
        })
        .opt_int8(attrs);
        self.batch.route_count += 1;
        self.batch.withdraw_count += u32::from(route.action == Action::Withdraw);
        self.counters.routes += 1;
        if self.batch.route_count as usize >= self.settings.size {
            self.send();
        }
    }

    fn end_of_rib(&mut self, router: SocketAddr, peer: PeerKey, rib: RibKind, family: AfiSafi) {
        let id = self.peer_id_cached(router, peer, rib);
        let mut f = std::mem::take(&mut self.scratch);
        f.clear();
        let _ = write!(f, "{}", family.name());
        self.event(
            EventKind::EndOfRib,
            router,
            PeerRef::Id(id),
            0,
            Some(&f),
            None,
        );
        self.scratch = f;
    }

    fn sweep_stale(&mut self, router: SocketAddr, peer: PeerKey, rib: RibKind, epoch: u64) {
        let id = self.peer_id_cached(router, peer, rib);
        self.event(
            EventKind::StaleSweep,
            router,
            PeerRef::Id(id),
            epoch,
            None,
            None,
        );
    }

    fn stats(&mut self, router: SocketAddr, peer: PeerKey, msg: &StatisticsReport<'_>) {
        self.opened();
        let ts = self.now_us();
        let ip = canonical(router.ip());
        let rid = router_id(ip);
        let pid = self.peer_id_cached(router, peer, msg.peer.rib_kind());
        for s in msg.stats() {
            let family = s.value.afi_safi();
            let mut t = TupleWriter::new(&mut self.batch.stats, STAT_FIELDS);
            t.timestamptz(ts)
                .int8(rid)
                .int8(pid)
                .int4(i32::from(s.stat_type))
                .display(stat_name(s.stat_type).unwrap_or("unknown"));
            match family {
                Some(f) => t.int2(f.afi as i16).int2(i16::from(f.safi)),
                None => t.null().null(),
            };
            t.opt_int8(s.value.as_u64().map(|v| v.min(i64::MAX as u64) as i64));
            self.counters.stats += 1;
        }
    }

    fn mirroring(&mut self, router: SocketAddr, peer: PeerKey, msg: &RouteMirroring<'_>) {
        let id = self.peer_id_cached(router, peer, msg.peer.rib_kind());
        let mut codes = std::mem::take(&mut self.scratch);
        codes.clear();
        for (i, c) in msg.info_codes().enumerate() {
            let sep = if i > 0 { " " } else { "" };
            let _ = write!(codes, "{sep}{c}");
        }
        let messages = msg.bgp_messages().count().to_string();
        self.event(
            EventKind::Mirroring,
            router,
            PeerRef::Id(id),
            0,
            (!codes.is_empty()).then_some(codes.as_str()),
            Some(&messages),
        );
        self.scratch = codes;
    }

    fn flush(&mut self) {
        self.now_us = None;
        if self
            .batch
            .opened
            .is_some_and(|t| t.elapsed() >= self.settings.timeout)
        {
            self.send();
        }
    }
}

/// Microseconds since the Unix epoch, now.
pub fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The id of the router at `ip`.
pub fn router_id(ip: IpAddr) -> i64 {
    let mut h = Xxh3Default::new();
    h.update(b"router");
    hash_ip(&mut h, ip);
    h.digest() as i64
}

/// The id of one RIB of a peer of the router at `router`.
pub fn peer_id(router: IpAddr, peer: &PeerKey, rib: RibKind) -> i64 {
    let mut h = Xxh3Default::new();
    h.update(b"peer");
    hash_ip(&mut h, router);
    h.update(&[peer.peer_type.to_u8()]);
    h.update(&peer.rd.0);
    hash_ip(&mut h, peer.address);
    h.update(&[rib.code()]);
    h.digest() as i64
}

fn hash_ip(h: &mut Xxh3Default, ip: IpAddr) {
    match canonical(ip) {
        IpAddr::V4(a) => h.update(&a.octets()),
        IpAddr::V6(a) => h.update(&a.octets()),
    }
}

/// xxh3 of every attribute as received: type code and value; for
/// MP_REACH_NLRI the family and next hop only, MP_UNREACH_NLRI left out.
fn attrs_hash(update: &Update<'_>) -> u64 {
    let mut h = Xxh3Default::new();
    for a in update.raw_attrs() {
        match a.code {
            code::MP_UNREACH_NLRI => continue,
            code::MP_REACH_NLRI => {
                if let Some(mp) = update.mp_reach() {
                    h.update(&[a.code]);
                    h.update(&mp.afi_safi.afi.to_be_bytes());
                    h.update(&[mp.afi_safi.safi]);
                    h.update(mp.next_hop_raw);
                }
            }
            _ => {
                h.update(&[a.code]);
                h.update(
                    &u32::try_from(a.value.len())
                        .unwrap_or(u32::MAX)
                        .to_be_bytes(),
                );
                h.update(a.value);
            }
        }
    }
    h.digest()
}

fn write_attr_set(buf: &mut Vec<u8>, id: i64, u: &Update<'_>, next_hop: Option<IpAddr>, ts: i64) {
    let mut t = TupleWriter::new(buf, ATTR_FIELDS);
    t.int8(id);
    t.opt_text(u.origin().map(origin_name));
    let path = u.as_path();
    match &path {
        Some(p) => t.text_with(false, |w| write_as_path(w, p)),
        None => t.null(),
    };
    t.opt_int8(path.and_then(|p| p.origin_asn()).map(i64::from))
        .opt_host(next_hop)
        .opt_int8(u.med().map(i64::from))
        .opt_int8(u.local_pref().map(i64::from))
        .bool(u.atomic_aggregate());
    match u.aggregator() {
        Some((asn, ip)) => t.text_with(false, |w| write!(w, "{asn}:{ip}")),
        None => t.null(),
    };
    t.list(u.communities())
        .list(u.ext_communities())
        .list(u.large_communities())
        .opt_host(u.originator_id().map(IpAddr::V4))
        .list(u.cluster_list())
        .opt_int8(u.otc().map(i64::from))
        .field_with(true, |out| {
            for a in u.unknown_attrs() {
                out.extend_from_slice(&[a.flags, a.code]);
                out.extend_from_slice(
                    &u16::try_from(a.value.len())
                        .unwrap_or(u16::MAX)
                        .to_be_bytes(),
                );
                out.extend_from_slice(a.value);
            }
        })
        .timestamptz(ts);
}

fn origin_name(o: Origin) -> &'static str {
    match o {
        Origin::Igp => "igp",
        Origin::Egp => "egp",
        Origin::Incomplete => "incomplete",
    }
}

/// `64500 64501 {64502 64503}`: sequences plain, AS_SET in braces,
/// confederation sequences in parentheses, confederation sets in brackets.
fn write_as_path(w: &mut dyn std::fmt::Write, p: &AsPath<'_>) -> std::fmt::Result {
    for (i, seg) in p.segments().enumerate() {
        if i > 0 {
            w.write_char(' ')?;
        }
        let (open, close) = match seg.kind {
            SegmentType::Sequence => ("", ""),
            SegmentType::Set => ("{", "}"),
            SegmentType::ConfedSequence => ("(", ")"),
            SegmentType::ConfedSet => ("[", "]"),
        };
        w.write_str(open)?;
        for (j, asn) in seg.asns().enumerate() {
            if j > 0 {
                w.write_char(' ')?;
            }
            write!(w, "{asn}")?;
        }
        w.write_str(close)?;
    }
    Ok(())
}

fn write_rd(w: &mut dyn std::fmt::Write, h: &PerPeerHeader) -> std::fmt::Result {
    if h.peer_type == PeerType::Global && h.distinguisher.is_zero() {
        return Ok(());
    }
    write!(w, "{}", h.distinguisher)
}

/// What both OPENs of a Peer Up negotiated: families, 4-octet AS, and the
/// families read with ADD-PATH in `rib`.
fn write_capabilities(out: &mut String, up: &PeerUp<'_>, rib: RibKind) {
    let mut first = true;
    let mut item = |out: &mut String, s: std::fmt::Arguments<'_>| {
        if !first {
            out.push(' ');
        }
        first = false;
        let _ = out.write_fmt(s);
    };
    for f in negotiated_families(up) {
        item(out, format_args!("mp:{}", f.name()));
    }
    let ctx = up.session_context_for(rib);
    if ctx.four_octet_as {
        item(out, format_args!("4-octet-as"));
    }
    for f in ctx.add_path_families() {
        item(out, format_args!("add-path:{}", f.name()));
    }
}

fn write_down_detail(out: &mut String, d: &PeerDown<'_>) {
    let _ = match &d.reason {
        PeerDownReason::LocalNotification(n) | PeerDownReason::RemoteNotification(n) => {
            write!(out, "notification {}/{}", n.code, n.subcode)
        }
        PeerDownReason::LocalNoNotification(fsm) => write!(out, "fsm event {fsm}"),
        PeerDownReason::Unknown { code, .. } => write!(out, "reason code {code}"),
        PeerDownReason::RemoteNoData
        | PeerDownReason::PeerDeconfigured
        | PeerDownReason::LocalSystemClosed(_) => Ok(()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::copy::TupleReader;

    #[test]
    fn ids_are_stable_and_distinct_per_rib() {
        let r: IpAddr = "192.0.2.1".parse().unwrap();
        let key = PeerKey {
            peer_type: PeerType::Global,
            rd: crate::wire::bgp::nlri::RouteDistinguisher([0; 8]),
            address: "198.51.100.1".parse().unwrap(),
        };
        let ids: Vec<i64> = RibKind::ALL.iter().map(|k| peer_id(r, &key, *k)).collect();
        for (i, a) in ids.iter().enumerate() {
            assert!(ids[i + 1..].iter().all(|b| a != b));
        }
        assert_eq!(peer_id(r, &key, RibKind::LocRib), ids[2]);
        // An IPv4-mapped router address is the same router.
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(router_id(mapped), router_id(r));
    }

    /// Two UPDATEs read into the same place of a reused receive buffer,
    /// attributes of the same length but different values, are two
    /// attribute sets.
    #[test]
    fn attribute_sets_of_successive_updates_in_one_buffer_are_told_apart() {
        use crate::session::Session;
        use crate::wire::encode;
        use crate::wire::frame::{DEFAULT_MAX_MESSAGE_LEN, Frames};

        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let settings = BatchSettings {
            size: 1000,
            timeout: Duration::from_secs(60),
        };
        let mut sink = StoreSink::new(tx, 1, 0, settings, Metrics::new(1, 1, 0));
        let router: SocketAddr = "192.0.2.1:1790".parse().unwrap();
        let mut session = Session::new(router, Duration::from_secs(60), &mut sink);
        let header = crate::synth::peer_header(1, PeerType::Global, 0, 1);
        let message = |med: u32| {
            let p = crate::wire::bgp::nlri::Prefix::new("10.0.0.0".parse().unwrap(), 8).unwrap();
            let mut b = crate::synth::announcement("192.0.2.9".parse().unwrap(), &[p]).unwrap();
            b.med(med).unwrap();
            let mut out = Vec::new();
            encode::route_monitoring(&mut out, &header, &b).unwrap();
            out
        };
        let mut buf = Vec::new();
        for med in [10, 20] {
            buf.clear();
            buf.extend_from_slice(&message(med));
            for f in Frames::new(&buf, DEFAULT_MAX_MESSAGE_LEN) {
                session.handle(f.unwrap(), Instant::now(), &mut sink);
            }
        }
        assert_eq!(sink.counters().attr_sets, 2);
    }

    #[test]
    fn events_wait_for_the_timeout_or_the_end() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let settings = BatchSettings {
            size: 1000,
            timeout: Duration::from_secs(60),
        };
        let mut sink = StoreSink::new(tx, 1, 0, settings, Metrics::new(1, 1, 0));
        let router: SocketAddr = "192.0.2.1:1790".parse().unwrap();
        sink.router_connected(router);
        sink.flush();
        assert!(rx.try_recv().is_err(), "nothing sent before the timeout");
        let counters = sink.finish();
        assert_eq!(counters.batches, 1);
        let b = rx.try_recv().unwrap();
        assert_eq!((b.seq, b.route_count), (1, 0));
        let mut r = TupleReader::new(&b.events);
        let mut f = r.next_tuple(EVENT_FIELDS as usize).unwrap().unwrap();
        assert_eq!(f.int(), Some(i64::from(EventKind::RouterConnected.code())));
    }
}
