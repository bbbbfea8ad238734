//! Metrics: recorded where the work happens, merged when Prometheus
//! scrapes.
//!
//! - Each shard records into its own [`ShardRecorder`] (plain integers and
//!   HDR histograms, no atomics, no locks) from its own thread. About once
//!   a second the shard's accept loop publishes it into the shard's slot
//!   of [`Metrics`] (one short lock per shard per second, never per
//!   message).
//! - Each store writer records per batch into its own slot (one lock per
//!   batch, never per route).
//! - `GET /metrics` ([`http`]) merges the slots into the Prometheus text
//!   format ([`render`]), with the process metrics read from `/proc`.
//!
//! Label cardinality is bounded: `router_ip` by [`MAX_ROUTER_SERIES`] per
//! shard (later routers are counted under `router_ip="other"`), the
//! per-peer route gauge by [`MAX_PEER_SERIES`] (the smallest peers are
//! summed into `peer_ip="other"`), every other label by a fixed list of
//! values. Histograms are merged over shards and carry no labels.
#![forbid(unsafe_code)]

pub mod http;
mod process;
mod render;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub use self::render::render;
use crate::session::SessionCounters;
use crate::shard::ShardCounters;

/// A metric's description, declared once: name, help, type.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Desc {
    /// The metric name (without `_bucket`, `_sum`, ... suffixes).
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The `# TYPE`.
    pub kind: Kind,
}

/// Prometheus metric types.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Kind {
    /// Monotonic.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Quantiles (0.5, 0.9, 0.99, 0.999, and 1 for the maximum), sum,
    /// count.
    Summary,
    /// Cumulative buckets, sum, count.
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Summary => "summary",
            Self::Histogram => "histogram",
        }
    }
}

macro_rules! descs {
    ($($id:ident $kind:ident $name:literal $help:literal;)*) => {
        $(
            #[doc = $help]
            pub const $id: Desc = Desc { name: $name, help: $help, kind: Kind::$kind };
        )*
        /// Every metric Riptide exports (process metrics included).
        pub const ALL: &[Desc] = &[$($id),*];
    };
}

descs! {
    ACTIVE_CONNECTIONS Gauge "bmp_active_connections" "Open BMP connections per router.";
    MESSAGES_RECEIVED Counter "bmp_messages_received_total" "BMP messages received, by router and message type.";
    PROCESSING_RATE Gauge "bmp_message_processing_rate" "BMP messages handled per second, per router, over the last publication interval (about a second).";
    CONNECTIONS_LOST Counter "bmp_connections_lost_total" "Router sessions that ended without Termination.";
    ROUTES_ANNOUNCED Counter "bmp_routes_announced_total" "Routes announced, per router.";
    ROUTES_WITHDRAWN Counter "bmp_routes_withdrawn_total" "Routes withdrawn, per router.";
    PARSE_ERRORS Counter "bmp_parse_errors_total" "Input that did not decode, by router and kind (framing closes the connection; the others skip a message or withdraw its routes).";
    PEER_UP Counter "bmp_peer_up_total" "Peer Up messages, per router.";
    PEER_DOWN Counter "bmp_peer_down_total" "Peers ended (Peer Down, Termination or session loss), per router.";
    PEERS_UP Gauge "bmp_peers_up" "Peers currently up, per router.";
    PEER_ROUTES Gauge "bmp_peer_routes" "Current routes per peer RIB, counted in the store every PEER_ROUTES_INTERVAL_SECONDS.";
    CONNECTIONS_ACCEPTED Counter "riptide_connections_accepted_total" "Router connections accepted.";
    CONNECTIONS_REFUSED Counter "riptide_connections_refused_total" "Router connections refused, by reason (limit: BMP_MAX_CONNECTIONS; not_allowed: BMP_ALLOWED_ROUTERS).";
    QUEUE_BATCHES Gauge "riptide_queue_batches" "Batches waiting for the database in a writer's memory queue.";
    SPILL_BYTES Gauge "riptide_spill_bytes" "Octets of batches spilled to disk and not yet stored, per writer.";
    SHARD_PAUSED Gauge "riptide_shard_paused" "Shards waiting for their writer's full queue (reading from routers paused).";
    BATCHES_WRITTEN Counter "riptide_batches_written_total" "Batches committed to the store.";
    ROWS_WRITTEN Counter "riptide_rows_written_total" "Route rows committed, by table.";
    BATCHES_REJECTED Counter "riptide_batches_rejected_total" "Batches the database rejected (saved under DATA_DIR/rejected).";
    DATABASE_UP Gauge "riptide_database_up" "1 when the store is reachable, 0 during an outage.";
    DATABASE_RECONNECTS Counter "riptide_database_reconnects_total" "Database connections made again after an outage.";
    DATABASE_CONFLICTS Counter "riptide_database_conflicts_total" "Transactions the database aborted for a conflict with another (deadlock, serialization failure), tried again at once.";
    SENTRY_DROPPED Counter "riptide_sentry_events_dropped_total" "Sentry events not sent because identical ones were sent just before (rate limit).";
    BUILD_INFO Gauge "riptide_build_info" "Always 1; the version is a label.";
    DB_QUERIES Counter "database_queries_total" "Database statements or transactions, by operation.";
    DB_POOL Gauge "database_pool_connections" "PostgreSQL connections: active (held by writers), idle (free in the pool), max (DB_POOL_SIZE).";
    DB_QUERY_DURATION Summary "database_query_duration_seconds" "Duration of database operations, by operation.";
    DECODE Histogram "riptide_message_decode_seconds" "Time to decode one BMP message and encode its rows (one message in 32 is timed).";
    DECODE_SUMMARY Summary "riptide_message_decode_summary_seconds" "Time to decode one BMP message and encode its rows (one message in 32 is timed).";
    COMMIT Histogram "riptide_batch_commit_seconds" "Time to commit one batch to the store.";
    COMMIT_SUMMARY Summary "riptide_batch_commit_summary_seconds" "Time to commit one batch to the store.";
    END_TO_END Histogram "riptide_end_to_end_seconds" "From a route's arrival to its commit, per route (each counted at its batch's oldest message: an upper bound).";
    END_TO_END_SUMMARY Summary "riptide_end_to_end_summary_seconds" "From a route's arrival to its commit, per route (each counted at its batch's oldest message: an upper bound).";
    RESIDENT_MEMORY Gauge "process_resident_memory_bytes" "Resident memory size in bytes.";
    VIRTUAL_MEMORY Gauge "process_virtual_memory_bytes" "Virtual memory size in bytes.";
    CPU_SECONDS Counter "process_cpu_seconds_total" "User and system CPU time spent in seconds.";
    OPEN_FDS Gauge "process_open_fds" "Number of open file descriptors.";
    MAX_FDS Gauge "process_max_fds" "Maximum number of open file descriptors.";
    START_TIME Gauge "process_start_time_seconds" "Start time of the process since the Unix epoch in seconds.";
    THREADS Gauge "process_threads" "Number of OS threads in the process.";
}

/// Values of `kind` in [`PARSE_ERRORS`].
pub const PARSE_ERROR_KINDS: [&str; 5] = [
    "framing",
    "bmp_message",
    "bgp_update",
    "treat_as_withdraw",
    "add_path_mismatch",
];

/// Routers with series of their own, per shard.
pub const MAX_ROUTER_SERIES: usize = 1024;

/// Peer RIBs with a `bmp_peer_routes` series of their own.
pub const MAX_PEER_SERIES: usize = 2000;

/// How often a shard publishes what it recorded.
pub const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// One message in this many is timed for [`DECODE`].
const DECODE_SAMPLE: u32 = 32;

/// Bucket bounds of the exported histograms, in seconds: 1 µs to 60 s.
const BUCKETS: [f64; 26] = [
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.5,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
];

/// A latency distribution: an HDR histogram of nanoseconds (two
/// significant digits, 1 ns to one hour) and the exact sum.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    sum_ns: u128,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            // Constant, valid bounds (low 1, high far above twice the low,
            // 2 significant digits): construction cannot fail.
            hist: Histogram::new_with_bounds(1, 3_600_000_000_000, 2)
                .expect("valid histogram bounds"),
            sum_ns: 0,
        }
    }
}

impl Latency {
    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        self.record_n(d, 1);
    }

    /// Records `n` values of one duration.
    pub fn record_n(&mut self, d: Duration, n: u64) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.hist.saturating_record_n(ns.max(1), n);
        self.sum_ns += u128::from(ns) * u128::from(n);
    }

    /// Adds `other`'s values.
    fn add(&mut self, other: &Self) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.hist.add(&other.hist);
        self.sum_ns += other.sum_ns;
    }

    fn reset(&mut self) {
        self.hist.reset();
        self.sum_ns = 0;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }
}

/// What one shard recorded about one router (every connection from its
/// address on this shard).
#[derive(Clone, Debug, Default)]
pub struct RouterStats {
    /// Open connections.
    pub connections: u64,
    /// Messages by BMP message type code (7: any other type).
    pub messages: [u64; 8],
    /// Routes announced.
    pub announced: u64,
    /// Routes withdrawn.
    pub withdrawn: u64,
    /// Parse errors by kind ([`PARSE_ERROR_KINDS`]).
    pub parse_errors: [u64; 5],
    /// Peer Up messages.
    pub peer_up: u64,
    /// Peers ended.
    pub peer_down: u64,
    /// Peers up now.
    pub peers_up: u64,
    /// Sessions ended without Termination.
    pub lost: u64,
    /// Messages per second over the last publication interval.
    pub rate: f64,
    /// Messages counted at the last publication.
    rate_base: u64,
}

impl RouterStats {
    fn messages_total(&self) -> u64 {
        self.messages.iter().sum()
    }
}

/// A shard's published view.
#[derive(Clone, Debug, Default)]
struct ShardView {
    /// Per router; `None` is every router past [`MAX_ROUTER_SERIES`].
    routers: HashMap<Option<IpAddr>, RouterStats>,
    decode: Latency,
    accepted: u64,
    refused_limit: u64,
    refused_not_allowed: u64,
}

/// What a writer records, per batch.
#[derive(Clone, Debug, Default)]
pub struct WriterStats {
    /// `Some(true)` connected, `Some(false)` in an outage, `None` not
    /// tried yet.
    pub up: Option<bool>,
    /// Holds pool connections now.
    pub connected: bool,
    /// Batches in the memory queue.
    pub queue_batches: u64,
    /// Octets in spill files.
    pub spill_bytes: u64,
    /// Batches committed.
    pub batches: u64,
    /// Route rows committed (to the RIB and to history each).
    pub routes: u64,
    /// Batches rejected.
    pub rejected: u64,
    /// Reconnections after an outage.
    pub reconnects: u64,
    /// Transactions aborted by a conflict and tried again.
    pub conflicts: u64,
    /// Commit time per batch.
    pub commit: Latency,
    /// Arrival to commit, per route (a batch without routes counts once).
    pub end_to_end: Latency,
    /// Duration per operation ([`Operation`]).
    pub queries: [Latency; 7],
}

impl WriterStats {
    /// Records a committed batch: its commit time, and, when its arrival
    /// time is known (`arrived_us`, of its oldest message, microseconds
    /// since the Unix epoch; 0: unknown), that age once per route.
    pub fn committed(&mut self, routes: u32, took: Duration, arrived_us: i64) {
        self.batches += 1;
        self.routes += u64::from(routes);
        self.commit.record(took);
        if arrived_us > 0 {
            let age = crate::sink::store::unix_micros().saturating_sub(arrived_us);
            self.end_to_end.record_n(
                Duration::from_micros(age.max(0).unsigned_abs()),
                u64::from(routes.max(1)),
            );
        }
    }

    /// Records one database operation.
    pub fn query(&mut self, op: Operation, took: Duration) {
        if let Some(l) = self.queries.get_mut(op as usize) {
            l.record(took);
        }
    }
}

/// Database operations, the `operation` label.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Operation {
    /// A batch's attribute sets (a short transaction of their own), RIB
    /// changes (merged through a staging table) and events (one
    /// transaction).
    BatchRib = 0,
    /// A batch's history and statistics rows (one transaction).
    BatchHistory = 1,
    /// One chunk of the cleanup of a flushed peer.
    Cleanup = 2,
    /// Partition maintenance and bookkeeping.
    Maintenance = 3,
    /// The count of current routes per peer.
    RouteCount = 4,
    /// As [`Self::BatchRib`], for a batch of new routes only, COPied
    /// straight into the RIB.
    BatchRibCopy = 5,
    /// As [`Self::BatchRib`], for a batch of a re-dump over kept routes
    /// that the writer compared: only changed routes written.
    BatchRibRedump = 6,
}

/// Names of [`Operation`]s, by value.
const OPERATIONS: [&str; 7] = [
    "batch_rib",
    "batch_history",
    "cleanup",
    "maintenance",
    "route_count",
    "batch_rib_copy",
    "batch_rib_redump",
];

/// Current routes of one peer RIB, as counted in the store.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PeerRoutes {
    /// The router's address.
    pub router: String,
    /// The peer's address.
    pub peer: String,
    /// The RIB kind.
    pub rib: String,
    /// Current routes.
    pub routes: u64,
}

/// Everything the scrape merges: one per process, shared by shards,
/// writers and the HTTP server.
#[derive(Debug)]
pub struct Metrics {
    shards: Box<[Mutex<ShardView>]>,
    writers: Box<[Mutex<WriterStats>]>,
    peer_routes: Mutex<Vec<PeerRoutes>>,
    /// Shards blocked on a full writer queue.
    paused: AtomicUsize,
    listening: AtomicBool,
    /// Whether a store is configured (the null store has none).
    has_store: bool,
    pool_size: u64,
    sentry_dropped: AtomicU64,
}

impl Metrics {
    /// Slots for `shards` shards and `writers` store writers (0 for the
    /// null store), with a PostgreSQL pool of `pool_size` (0: none).
    pub fn new(shards: usize, writers: usize, pool_size: u64) -> Arc<Self> {
        Arc::new(Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            writers: (0..writers).map(|_| Mutex::default()).collect(),
            peer_routes: Mutex::default(),
            paused: AtomicUsize::new(0),
            listening: AtomicBool::new(false),
            has_store: writers > 0,
            pool_size,
            sentry_dropped: AtomicU64::new(0),
        })
    }

    /// Slots for the shards and store writers `config` asks for.
    pub fn for_config(config: &crate::config::Config) -> Arc<Self> {
        use crate::config::StoreKind;
        let shards = config.shards();
        match config.store_kind() {
            Ok(StoreKind::Postgres | StoreKind::Auto) => {
                Self::new(shards, shards, config.db_pool_size() as u64)
            }
            Ok(StoreKind::Sqlite) => Self::new(shards, 1, 0),
            Ok(StoreKind::Null) | Err(_) => Self::new(shards, 0, 0),
        }
    }

    /// Writer `id`'s slot, to record into.
    pub fn writer(&self, id: usize) -> Option<MutexGuard<'_, WriterStats>> {
        self.writers.get(id).map(lock)
    }

    /// Replaces the per-peer route counts (largest first past the cap).
    pub fn set_peer_routes(&self, mut rows: Vec<PeerRoutes>) {
        if rows.len() > MAX_PEER_SERIES {
            rows.sort_by_key(|r| std::cmp::Reverse(r.routes));
            let rest: u64 = rows.drain(MAX_PEER_SERIES..).map(|r| r.routes).sum();
            let other = || "other".to_owned();
            rows.push(PeerRoutes {
                router: other(),
                peer: other(),
                rib: other(),
                routes: rest,
            });
        }
        *lock(&self.peer_routes) = rows;
    }

    /// A shard starts or stops waiting for its writer's full queue.
    pub fn set_paused(&self, paused: bool) {
        if paused {
            self.paused.fetch_add(1, Ordering::Relaxed);
        } else {
            self.paused.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The shards listen.
    pub fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Relaxed);
    }

    /// A Sentry event was dropped by the rate limit.
    pub fn sentry_dropped(&self) {
        self.sentry_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The store is reachable: every writer that tried is connected, and
    /// one at least has (always true without a store).
    pub fn store_up(&self) -> bool {
        if !self.has_store {
            return true;
        }
        let states: Vec<Option<bool>> = self.writers.iter().map(|w| lock(w).up).collect();
        states.contains(&Some(true)) && !states.contains(&Some(false))
    }

    /// Listening, and the store reachable: `/ready`.
    pub fn ready(&self) -> bool {
        self.listening.load(Ordering::Relaxed) && self.store_up()
    }
}

/// Locks a slot; a panic elsewhere while it was held leaves numbers that
/// are still worth showing.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A shard's recorder: owned by the shard's thread, published to
/// [`Metrics`] by [`ShardRecorder::publish`].
#[derive(Debug)]
pub struct ShardRecorder {
    id: usize,
    metrics: Arc<Metrics>,
    view: ShardView,
    last_publish: Instant,
    /// Counts messages towards the next timed one.
    sample: u32,
}

impl ShardRecorder {
    /// The recorder of shard `id`.
    pub fn new(id: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            id,
            metrics,
            view: ShardView::default(),
            last_publish: Instant::now(),
            sample: 0,
        }
    }

    /// The shared metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The stats of the router at `ip`.
    pub fn router(&mut self, ip: IpAddr) -> &mut RouterStats {
        let full = self.view.routers.len() >= MAX_ROUTER_SERIES;
        let key = if full && !self.view.routers.contains_key(&Some(ip)) {
            None
        } else {
            Some(ip)
        };
        self.view.routers.entry(key).or_default()
    }

    /// Whether to time the next message (one in 32).
    pub fn time_next(&mut self) -> Option<Instant> {
        self.sample += 1;
        if self.sample < DECODE_SAMPLE {
            return None;
        }
        self.sample = 0;
        Some(Instant::now())
    }

    /// Records the decode time of a timed message.
    pub fn decoded(&mut self, started: Option<Instant>) {
        if let Some(t) = started {
            self.view.decode.record(t.elapsed());
        }
    }

    /// Adds what a session counted since `seen` (its counters at the last
    /// call) to its router's stats, and remembers them in `seen`.
    pub fn session(&mut self, ip: IpAddr, now: &SessionCounters, seen: &mut SessionCounters) {
        let r = self.router(ip);
        for (total, (n, s)) in r
            .messages
            .iter_mut()
            .zip(now.by_type.iter().zip(seen.by_type.iter()))
        {
            *total += n - s;
        }
        r.announced += now.announced - seen.announced;
        r.withdrawn += now.withdrawn - seen.withdrawn;
        let errors = [
            0,
            now.bad_messages - seen.bad_messages,
            now.bad_updates - seen.bad_updates,
            now.treat_as_withdraw - seen.treat_as_withdraw,
            now.add_path_mismatch - seen.add_path_mismatch,
        ];
        for (total, n) in r.parse_errors.iter_mut().zip(errors) {
            *total += n;
        }
        r.peer_up += now.peer_ups - seen.peer_ups;
        r.peer_down += now.peer_downs - seen.peer_downs;
        r.peers_up = (r.peers_up + now.peers_up).saturating_sub(seen.peers_up);
        *seen = *now;
    }

    /// Publishes what was recorded, with the shard's connection counters,
    /// at most once per [`PUBLISH_INTERVAL`] unless `force`d.
    pub fn publish(&mut self, now: Instant, force: bool, counters: &ShardCounters) {
        let secs = now.duration_since(self.last_publish).as_secs_f64();
        if !force && secs < PUBLISH_INTERVAL.as_secs_f64() {
            return;
        }
        self.last_publish = now;
        self.view.accepted = counters.accepted;
        self.view.refused_limit = counters.refused_limit;
        self.view.refused_not_allowed = counters.refused_not_allowed;
        for r in self.view.routers.values_mut() {
            let total = r.messages_total();
            r.rate = (total - r.rate_base) as f64 / secs.max(1e-3);
            r.rate_base = total;
        }
        let Some(slot) = self.metrics.shards.get(self.id) else {
            return;
        };
        let mut shared = lock(slot);
        let decode = std::mem::take(&mut shared.decode);
        shared.clone_from(&self.view);
        shared.decode = decode;
        shared.decode.add(&self.view.decode);
        self.view.decode.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_unique_and_prometheus_names() {
        let mut names: Vec<_> = ALL.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for d in ALL {
            assert!(
                d.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                d.name
            );
            if d.kind == Kind::Counter {
                assert!(d.name.ends_with("_total"), "{}", d.name);
            }
        }
    }

    #[test]
    fn router_series_are_capped() {
        let mut r = ShardRecorder::new(0, Metrics::new(1, 0, 0));
        for i in 0..MAX_ROUTER_SERIES + 10 {
            let ip = IpAddr::from([10, 0, (i >> 8) as u8, i as u8]);
            r.router(ip).connections += 1;
        }
        assert_eq!(r.view.routers.len(), MAX_ROUTER_SERIES + 1);
        assert_eq!(r.view.routers[&None].connections, 10);
    }

    #[test]
    fn peer_series_are_capped_keeping_the_largest() {
        let m = Metrics::new(1, 1, 0);
        let rows = (0..MAX_PEER_SERIES as u64 + 5)
            .map(|i| PeerRoutes {
                router: "r".into(),
                peer: i.to_string(),
                rib: "loc-rib".into(),
                routes: i,
            })
            .collect();
        m.set_peer_routes(rows);
        let kept = lock(&m.peer_routes);
        assert_eq!(kept.len(), MAX_PEER_SERIES + 1);
        assert_eq!(kept.last().map(|r| r.routes), Some(10));
    }

    #[test]
    fn publishing_merges_histograms_and_keeps_counters() {
        let m = Metrics::new(1, 0, 0);
        let mut r = ShardRecorder::new(0, m.clone());
        r.view.decode.record(Duration::from_micros(3));
        r.router(IpAddr::from([127, 0, 0, 1])).messages[0] = 5;
        r.publish(Instant::now(), true, &ShardCounters::default());
        r.view.decode.record(Duration::from_micros(4));
        r.publish(Instant::now(), true, &ShardCounters::default());
        let s = lock(&m.shards[0]);
        assert_eq!(s.decode.count(), 2);
        assert_eq!(s.decode.sum_ns, 7_000);
        assert_eq!(
            s.routers[&Some(IpAddr::from([127, 0, 0, 1]))].messages[0],
            5
        );
    }

    #[test]
    fn end_to_end_counts_each_route_of_a_batch() {
        let mut w = WriterStats::default();
        let arrived = crate::sink::store::unix_micros() - 200_000;
        w.committed(9_999, Duration::from_millis(5), arrived);
        w.committed(0, Duration::from_millis(5), arrived);
        w.committed(7, Duration::from_millis(5), 0);
        assert_eq!(w.batches, 3);
        assert_eq!(w.commit.count(), 3);
        // The first batch's routes, and the second batch once; the third
        // has no arrival time.
        assert_eq!(w.end_to_end.count(), 10_000);
        let p50 = w.end_to_end.hist.value_at_quantile(0.5);
        assert!((200_000_000..2_000_000_000).contains(&p50), "{p50}");
    }
}
