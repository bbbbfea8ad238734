//! The PostgreSQL store: one writer thread per shard, each a tokio
//! current-thread runtime with two connections (from a pool bounded by
//! `DB_POOL_SIZE`), applying its shard's batches in order.
//!
//! A batch is applied in two parts at once, each in one transaction on its
//! own connection (the main part's new attribute sets in a short one before
//! it) and each recorded by stream, number and part in `applied_batches` (a
//! part already applied is skipped, so a retry after an unacknowledged
//! commit, or a spill replay, applies nothing twice; its attribute sets are
//! only looked up again):
//!
//! - main: the attribute sets are added in a short transaction of their
//!   own just before the part's (`add_attrs`: writers that add the same
//!   new sets wait for each other only that long): binary-COPied straight
//!   into `attribute_sets` under a savepoint when none of them is there
//!   yet, otherwise into a temporary staging table from which one
//!   statement adds the new ones. A batch of
//!   announcements only (a dump) is first COPied straight into the current
//!   RIB (`rib`) under a savepoint: when none of its routes is there yet,
//!   that is all (the cost of a plain COPY; an upsert costs PostgreSQL
//!   about three times as much per row, even with nothing to update).
//!   Otherwise (a route already there, one announced twice in the batch,
//!   or any withdrawal), the routes are COPied into a staging table and
//!   one statement merges the last change of each (peer, RD, prefix, path
//!   id) into `rib`: a delete for a withdrawal, an upsert for an
//!   announcement, never moving a route back to an older epoch. Events
//!   follow, in order, a statement each (they are rare).
//! - history: the history and statistics rows are binary-COPied straight
//!   into `route_history` and `stats` (append-only, so the two parts need
//!   no order between them).
//!
//! Peer Down, and a router session lost (or ended by Termination), raise
//! the peer's `flushed_below` to hide its routes from `routes` at once;
//! writer 0 deletes the hidden rows in the background, in chunks, between
//! batches. After a session loss (not a Peer Down) the hidden rows are
//! kept for the stale timeout: the dump after the peer's next Peer Up is
//! a re-dump over kept rows (`prepare`), and a route it re-announces
//! unchanged is neither rewritten nor given a history row (it did not
//! change). The writer compares the re-dump in memory
//! ([`super::redump`]); when its re-dump memory is used up, the kept rows
//! are dropped and the re-dump writes its routes as a first dump does. The stale sweep after a
//! dump deletes the routes of earlier epochs not re-announced (history
//! `stale`); after a re-dump over kept rows it also deletes the kept rows
//! not re-announced unchanged (history `stale` too) and makes the others
//! current again (`sweep`).
//!
//! While the database is down or slow the writer keeps taking batches
//! from its shard into its queue (memory, then spill files: see
//! [`super::spill`]) and reconnects with backoff. A batch the database
//! rejects as invalid (never expected) is saved under
//! `DATA_DIR/rejected/` and logged, so that it cannot stop the stream.
//! At shutdown the writer goes on storing its queue for the shutdown
//! timeout, then spills what it still holds, even while the database holds
//! up a statement, and ends.
//!
//! At startup, before any new batch, writer 0 replays the spill files of
//! the previous run and then ends every peer that run left up as with a
//! session lost ("collector restart"): their routers reconnect and
//! re-dump over the kept rows.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Transaction};
use tracing::{debug, error, info, warn};

use super::batch::{
    ATTR_FIELDS, ATTR_LISTS, Batch, EventKind, EventRow, HISTORY_FIELDS, ROUTE_ACTION,
    ROUTE_ATTRS_ID, ROUTE_EPOCH, ROUTE_FAMILY_LABELS, ROUTE_FIELDS, ROUTE_KEY, ROUTE_PEER_ID,
    ROUTE_TS, RouteTuple,
};
use super::copy::{HEADER, TRAILER, TupleError, TupleReader, TupleWriter};
use super::redump;
use super::spill::{Queue, QueueLimits, Taken};
use crate::metrics::{Metrics, Operation, PeerRoutes};

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "0001_schema",
        include_str!("../../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "0002_redump",
        include_str!("../../migrations/postgres/0002_redump.sql"),
    ),
    (
        3,
        "0003_rib_fillfactor",
        include_str!("../../migrations/postgres/0003_rib_fillfactor.sql"),
    ),
    (
        4,
        "0004_history_prefix_index",
        include_str!("../../migrations/postgres/0004_history_prefix_index.sql"),
    ),
];

/// The key of the advisory lock that serialises migrations and partition
/// maintenance: one per schema (collectors on other schemas of the
/// database go on), from any fixed number.
const MIGRATION_LOCK: &str =
    "hashtextextended(coalesce(current_schema(), ''), 8244244238165107969)";

/// Rows deleted per background cleanup statement.
const CLEANUP_CHUNK: i64 = 20_000;

/// A batch that takes this long to commit is worth a warning.
const SLOW_BATCH: Duration = Duration::from_secs(1);

/// Least time between two slow-batch warnings of one writer.
const SLOW_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The route count for the metrics pauses after each peer for at least
/// this many times as long as the peer took: it takes at most a twentieth
/// of a database core, whatever the size of the RIB (unless a writer waits
/// for a pool connection: see [`count_pause`]).
const COUNT_PAUSE_FACTOR: u32 = 19;

/// How often writer 0 maintains the history partitions.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(3600);

const STAGING: &str = "
CREATE TEMP TABLE IF NOT EXISTS stage_routes (
    seq int8, peer_id int8, rd text, prefix cidr, path_id int8, afi int2, safi int2,
    labels text, action int2, epoch int8, attrs_id int8, ts timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_attrs (
    id int8, origin text, as_path text, origin_as int8, next_hop inet, med int8,
    local_pref int8, atomic_aggregate bool, aggregator text, communities text,
    ext_communities text, large_communities text, originator_id inet,
    cluster_list text, otc int8, other_attrs bytea, first_seen timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_keys (rd text, prefix cidr, path_id int8) ON COMMIT DELETE ROWS;";

const PROGRESS: &str = "
INSERT INTO applied_batches (stream, seq, part, applied) VALUES ($1, $2, $3, now())
ON CONFLICT (stream, seq, part) DO NOTHING";

/// The staged attribute sets not stored yet, in the order of their ids:
/// two writers inserting the same new sets (routers of one network share
/// them) then meet them in one order, and the second waits for the first
/// instead of deadlocking with it.
const ATTRS: &str = "
INSERT INTO attribute_sets
SELECT id, origin, as_path, origin_as, next_hop, med, local_pref,
       atomic_aggregate, aggregator, string_to_array(communities, ' '),
       string_to_array(ext_communities, ' '), string_to_array(large_communities, ' '),
       originator_id, string_to_array(cluster_list, ' '), otc, other_attrs, first_seen
  FROM stage_attrs
 ORDER BY id
ON CONFLICT (id) DO NOTHING";

/// A batch's attribute sets, when none of them is stored yet, straight
/// into `attribute_sets`: rows as [`attr_rows`] writes them (in the order
/// of their ids, as [`ATTRS`]). About half of what staging them and
/// inserting from the stage costs PostgreSQL.
const ATTRS_COPY: &str = "COPY attribute_sets (id, origin, as_path, origin_as, next_hop, med, \
                          local_pref, atomic_aggregate, aggregator, communities, ext_communities, \
                          large_communities, originator_id, cluster_list, otc, other_attrs, \
                          first_seen) FROM STDIN (FORMAT binary)";

/// The batch's last change per route, applied to the current RIB in one
/// statement; `{gone}` is [`RIB_GONE`] when the batch withdraws routes
/// (and nothing otherwise). Changes of a peer session that a later one
/// has replaced (a backlog applied late) are left out: the rows a re-dump
/// kept unchanged carry an older epoch than theirs. An upsert never moves
/// a route back to an older epoch; a route hidden by a peer flush and
/// re-announced before the cleanup removed it starts a new `first_seen`
/// (one kept for a re-dump keeps its own). An update within the route's
/// epoch (churn) keeps its `first_seen` without looking up the peer: the
/// lookup gives a new one only to a row below `coalesce(kept_from,
/// flushed_below)`, which never falls, so such a row of this epoch stays
/// hidden until it is deleted or announced in a later epoch (which takes
/// the lookup).
const RIB: &str = "
WITH last AS MATERIALIZED (
    SELECT DISTINCT ON (s.peer_id, s.rd, s.prefix, s.path_id) s.*
      FROM stage_routes s LEFT JOIN peers p ON p.id = s.peer_id
     WHERE s.epoch >= coalesce(p.epoch, 0)
     ORDER BY s.peer_id, s.rd, s.prefix, s.path_id, s.seq DESC
){gone}
INSERT INTO rib AS r (peer_id, rd, prefix, path_id, afi, safi, labels, attrs_id, epoch, first_seen, last_updated)
SELECT peer_id, rd, prefix, path_id, afi, safi, labels, attrs_id, epoch, ts, ts
  FROM last WHERE action = 1
ON CONFLICT (peer_id, rd, prefix, path_id) DO UPDATE
   SET afi = excluded.afi, safi = excluded.safi, labels = excluded.labels,
       attrs_id = excluded.attrs_id, epoch = excluded.epoch,
       last_updated = excluded.last_updated,
       first_seen = CASE WHEN r.epoch = excluded.epoch THEN r.first_seen
                         WHEN r.epoch < (SELECT coalesce(kept_from, flushed_below)
                                           FROM peers WHERE id = r.peer_id)
                         THEN excluded.first_seen ELSE r.first_seen END
 WHERE r.epoch <= excluded.epoch";

/// A batch of announcements of new routes, straight into the RIB: route
/// tuples as [`rib_rows`] writes them.
const RIB_COPY: &str = "COPY rib (peer_id, rd, prefix, path_id, afi, safi, labels, epoch, attrs_id, \
                        first_seen, last_updated) FROM STDIN (FORMAT binary)";

/// Columns of [`RIB_COPY`].
const RIB_COPY_FIELDS: i16 = 11;

/// The withdrawals of [`RIB`].
const RIB_GONE: &str = ", gone AS (
    DELETE FROM rib r USING last l
     WHERE l.action = 0 AND r.peer_id = l.peer_id AND r.rd = l.rd
       AND r.prefix = l.prefix AND r.path_id = l.path_id AND r.epoch <= l.epoch
)";

/// Whether a peer's dump in epoch `$2` is a re-dump over kept rows (its
/// Peer Up came while rows of its lost session were kept), and whether a
/// writer compares it.
const REDUMP_STATE: &str = "
SELECT coalesce(redump_epoch = $2 AND kept_from IS NOT NULL, false), redump_in_writer
  FROM peers WHERE id = $1";

/// The peer's re-dump in epoch `$2` is compared in a writer's memory.
const REDUMP_IN_WRITER: &str = "
UPDATE peers SET redump_in_writer = true WHERE id = $1 AND redump_epoch = $2";

/// The kept rows of a peer (hidden since its session was lost): the
/// columns [`redump`] hashes, [`KEY_COLUMNS`] then [`VALUE_COLUMNS`].
const KEPT_ROWS: &str = "
SELECT r.rd, r.prefix, r.path_id, r.afi, r.safi, r.labels, r.attrs_id
  FROM rib r JOIN peers p ON p.id = r.peer_id
 WHERE r.peer_id = $1 AND r.epoch >= p.kept_from AND r.epoch < p.flushed_below";

/// Columns of [`KEPT_ROWS`] that make a route's key: rd, prefix, path id
/// (as [`ROUTE_KEY`] of a route tuple).
const KEY_COLUMNS: std::ops::Range<usize> = 0..3;

/// Columns of [`KEPT_ROWS`] that make a route's value: afi, safi, labels,
/// attrs id (as [`ROUTE_FAMILY_LABELS`] and [`ROUTE_ATTRS_ID`]).
const VALUE_COLUMNS: std::ops::Range<usize> = 3..7;

/// The end of a re-dump over kept rows, once those not re-announced
/// unchanged are deleted: the others are current again.
const KEPT_CURRENT: &str = "
UPDATE peers SET flushed_below = kept_from, kept_from = NULL, redump_epoch = NULL
 WHERE id = $1 AND redump_epoch = $2";

/// The kept rows of a re-dump are deleted in the background, as after a
/// Peer Down: when it does not fit in the writer's memory (rewriting every
/// route over them would cost the database more than a first dump), or
/// when it was compared by a collector run that ended (which of them it
/// saw unchanged is lost).
const KEPT_RELEASED: &str = "
UPDATE peers SET kept_from = NULL, redump_epoch = NULL, cleanup_pending = true
 WHERE id = $1 AND redump_epoch = $2";

/// Kept rows of peer `$1` that its re-dump did not re-announce
/// unchanged (rows it re-announced otherwise were rewritten, in a later
/// epoch), or only those of `stage_keys`, as `{which}` says; deleted and
/// recorded in history as `stale` at `$2`.
const KEPT_GONE: &str = "
WITH gone AS (
    DELETE FROM rib r USING peers p
     WHERE p.id = $1 AND r.peer_id = $1 AND r.epoch >= p.kept_from AND r.epoch < p.flushed_below
       AND {which}
    RETURNING r.*
)
INSERT INTO route_history (ts, peer_id, rd, prefix, path_id, afi, safi, labels, action, attrs_id)
SELECT $2, peer_id, rd, prefix, path_id, afi, safi, labels, 'stale', NULL FROM gone";

const ROUTER_CONNECTED: &str = "
WITH r AS (
    INSERT INTO routers (id, address, first_seen, last_seen, connected) VALUES ($1, $2, $3, $3, true)
    ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, connected = true
)
INSERT INTO router_events VALUES ($3, $1, 'connect', NULL)";

const INITIATION: &str = "
WITH r AS (UPDATE routers SET sys_name = $3, sys_descr = $4, last_seen = $2 WHERE id = $1)
INSERT INTO router_events VALUES ($2, $1, 'initiation', $3)";

const ROUTER_GONE: &str = "
WITH r AS (UPDATE routers SET connected = false, last_seen = $2 WHERE id = $1)
INSERT INTO router_events VALUES ($2, $1, $3, $4)";

const PEER_UP: &str = "
WITH p AS (
    INSERT INTO peers (id, router_id, router_address, peer_type, rd, peer_address, peer_as, bgp_id,
                       rib, state, epoch, capabilities, first_seen, last_up)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'up', $10, $11, $12, $12)
    ON CONFLICT (id) DO UPDATE
       SET peer_as = excluded.peer_as, bgp_id = excluded.bgp_id, state = 'up',
           epoch = GREATEST(peers.epoch, excluded.epoch),
           capabilities = excluded.capabilities, last_up = excluded.last_up,
           redump_epoch = CASE WHEN peers.kept_from IS NOT NULL THEN excluded.epoch END,
           redump_in_writer = false
)
INSERT INTO peer_events VALUES ($12, $1, 'up', $10, NULL, $11)";

const PEER_SEEN: &str = "
INSERT INTO peers (id, router_id, router_address, peer_type, rd, peer_address, peer_as, bgp_id,
                   rib, state, epoch, first_seen, last_up)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'up', $10, $11, $11)
ON CONFLICT (id) DO UPDATE SET state = 'up', epoch = excluded.epoch, last_up = excluded.last_up,
                               redump_epoch = CASE WHEN peers.kept_from IS NOT NULL THEN excluded.epoch END,
                               redump_in_writer = false
 WHERE peers.epoch < excluded.epoch";

const PEER_DOWN: &str = "
WITH p AS (
    UPDATE peers SET state = 'down', last_down = $3, last_down_reason = $4,
                     flushed_below = GREATEST(flushed_below, $2 + 1), cleanup_pending = true,
                     kept_from = NULL, redump_epoch = NULL
     WHERE id = $1 AND epoch <= $2
    RETURNING id
)
INSERT INTO peer_events SELECT $3, id, 'down', $2, $4, $5 FROM p";

/// The router session ended: as [`PEER_DOWN`], but the hidden rows are
/// kept (from `kept_from`) for the router's re-dump, until the stale
/// timeout from now (when this is applied: a backlog applied late does
/// not end it at once).
const PEER_LOST: &str = "
WITH p AS (
    UPDATE peers SET state = 'down', last_down = $3, last_down_reason = $4,
                     kept_from = coalesce(kept_from, flushed_below), lost_at = now(),
                     flushed_below = GREATEST(flushed_below, $2 + 1), cleanup_pending = true,
                     redump_epoch = NULL
     WHERE id = $1 AND epoch <= $2
    RETURNING id
)
INSERT INTO peer_events SELECT $3, id, 'down', $2, $4, NULL FROM p";

/// Kept rows of peers not brought up again within `$1` seconds of their
/// session loss: deleted in the background.
const KEPT_EXPIRED: &str = "
UPDATE peers SET kept_from = NULL, cleanup_pending = true
 WHERE kept_from IS NOT NULL AND state <> 'up' AND lost_at < now() - make_interval(secs => $1)";

const END_OF_RIB: &str = "
INSERT INTO peer_events SELECT $2, id, 'end-of-rib', epoch, $3, NULL FROM peers WHERE id = $1";

/// The stale sweep of a dump: routes of earlier epochs not re-announced
/// in it, deleted and recorded in history as `stale`; nothing when a
/// later session of the peer has begun (a sweep applied late).
const STALE_SWEEP: &str = "
WITH p AS (SELECT id, flushed_below FROM peers WHERE id = $1 AND epoch = $2),
gone AS (
    DELETE FROM rib r USING p
     WHERE r.peer_id = p.id AND r.epoch >= p.flushed_below AND r.epoch < $2
    RETURNING r.*
), h AS (
    INSERT INTO route_history (ts, peer_id, rd, prefix, path_id, afi, safi, labels, action, attrs_id)
    SELECT $3, peer_id, rd, prefix, path_id, afi, safi, labels, 'stale', NULL FROM gone
)
INSERT INTO peer_events SELECT $3, $1, 'stale-sweep', $2, NULL, count(*)::text FROM gone
 WHERE EXISTS (SELECT 1 FROM p)";

/// The current routes of peer `$1`, for the metrics (none when it has
/// none).
const PEER_ROUTES: &str = "
SELECT host(p.router_address), host(p.peer_address), p.rib, count(*)
  FROM rib r JOIN peers p ON p.id = r.peer_id AND r.epoch >= p.flushed_below
 WHERE p.id = $1
 GROUP BY p.id, p.router_address, p.peer_address, p.rib";

const MIRRORING: &str = "INSERT INTO peer_events VALUES ($2, $1, 'mirroring', 0, $3, $4)";

/// At startup: every peer the previous run left up ends as with a session
/// lost (its rows kept for its router's re-dump), and the stale timeout
/// of rows kept at a clean shutdown starts over.
const RESTART_FLUSH: &str = "
UPDATE peers SET lost_at = now() WHERE kept_from IS NOT NULL;
WITH p AS (
    UPDATE peers SET state = 'down', last_down = now(), last_down_reason = 'collector restart',
                     kept_from = coalesce(kept_from, flushed_below), lost_at = now(),
                     flushed_below = GREATEST(flushed_below, epoch + 1), cleanup_pending = true,
                     redump_epoch = NULL
     WHERE state = 'up'
    RETURNING id, epoch
)
INSERT INTO peer_events SELECT now(), id, 'down', epoch, 'collector restart', NULL FROM p;
WITH r AS (UPDATE routers SET connected = false WHERE connected RETURNING id)
INSERT INTO router_events SELECT now(), id, 'disconnect', 'collector restart' FROM r;";

/// The PostgreSQL store's settings.
#[derive(Clone, Debug)]
pub struct PgSettings {
    /// The connection string.
    pub url: String,
    /// Most connections open at once, over all writers.
    pub pool_size: usize,
    /// Where spill files and rejected batches go.
    pub data_dir: PathBuf,
    /// Queue limits per writer.
    pub limits: QueueLimits,
    /// Days of history and statistics kept (0: all).
    pub retention_days: u32,
    /// After the shards stop, how long writers may take to drain before
    /// what is left is spilled for the next run.
    pub shutdown_timeout: Duration,
    /// How often writer 0 counts the current routes per peer for the
    /// metrics (`None`: never).
    pub peer_routes_interval: Option<Duration>,
    /// How long the rows of a peer whose router session was lost are kept
    /// for its re-dump.
    pub stale_timeout: Duration,
    /// Memory per writer for re-dump indexes ([`super::redump`]).
    pub redump_memory: usize,
}

/// Counters of one writer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct WriterCounters {
    /// Batches committed.
    pub batches: u64,
    /// Route rows committed.
    pub routes: u64,
    /// Batches skipped as already applied.
    pub duplicates: u64,
    /// Batches the database rejected (saved under `rejected/`).
    pub rejected: u64,
    /// Connections made after a failure.
    pub reconnects: u64,
    /// Failed attempts to apply a batch.
    pub failures: u64,
    /// Batches left spilled at exit, for the next run.
    pub left_spilled: u64,
}

/// The running writers.
#[derive(Debug)]
pub struct Writers {
    threads: Vec<JoinHandle<WriterCounters>>,
}

impl Writers {
    /// Waits for every writer to drain and stop (the shards' senders must
    /// be dropped first).
    pub fn join(self) -> Vec<WriterCounters> {
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect()
    }
}

/// What the writers share.
#[derive(Debug)]
struct Shared {
    settings: PgSettings,
    metrics: Arc<Metrics>,
    pool: Arc<Semaphore>,
    /// Writer 0 has replayed the previous run's spill and ended its peers.
    ready: AtomicBool,
    /// Writers waiting for connections from `pool` (the route count does
    /// not pause while one is).
    waiting: AtomicUsize,
}

/// A writer's wait for pool connections, counted in [`Shared::waiting`]
/// while it lasts.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts `n` writers; returns the queue sender of each (one per shard).
///
/// # Errors
///
/// A writer thread or the spill directory cannot be created.
pub fn start(
    settings: PgSettings,
    n: usize,
    queue_depth: usize,
    metrics: Arc<Metrics>,
) -> std::io::Result<(Vec<mpsc::Sender<Batch>>, Writers)> {
    migrate_at_startup(&settings);
    let spill_dir = settings.data_dir.join("spill");
    let recovered = Queue::recover(&spill_dir);
    if !recovered.is_empty() {
        info!(
            files = recovered.len(),
            "replaying batches spilled by the previous run before new data"
        );
    }
    let shared = Arc::new(Shared {
        pool: Arc::new(Semaphore::new(settings.pool_size.max(1))),
        settings,
        metrics,
        ready: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
    });
    let run = super::store::unix_micros();
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    let mut recovered = Some(recovered);
    for id in 0..n {
        let (tx, rx) = mpsc::channel(queue_depth.max(1));
        let old = if id == 0 {
            recovered.take().unwrap_or_default()
        } else {
            Vec::new()
        };
        let queue = Queue::new(
            &spill_dir,
            &format!("w{id}-{run}"),
            shared.settings.limits.clone(),
            old,
        )?;
        let shared = shared.clone();
        let t = std::thread::Builder::new()
            .name(format!("riptide-writer-{id}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        error!(writer = id, error = %e, "cannot build the writer runtime");
                        return WriterCounters::default();
                    }
                };
                let shutdown_timeout = shared.settings.shutdown_timeout;
                let w = Writer {
                    id,
                    shared,
                    inbox: Inbox {
                        rx,
                        queue,
                        stop_by: None,
                        shutdown_timeout,
                    },
                    conn: None,
                    counters: WriterCounters::default(),
                    chores: Chores {
                        cleanup: HashMap::new(),
                        next_maintenance: Instant::now(),
                        next_route_count: Instant::now(),
                        route_count: None,
                        next_expiry: Instant::now(),
                    },
                    outage_since: None,
                    last_slow: None,
                    guesses: Guesses::default(),
                    redumps: Redumps::default(),
                };
                let counters = rt.block_on(w.run());
                // Without waiting for what is left on the runtime (a
                // connection's host name being resolved, on a blocking
                // thread, could hold up the shutdown).
                rt.shutdown_background();
                counters
            })?;
        senders.push(tx);
        threads.push(t);
    }
    Ok((senders, Writers { threads }))
}

/// A writer's two connections with their pool permits: the main one
/// (attribute sets, current RIB, events) and the history one (history and
/// statistics, append-only), which apply each batch's two parts at once.
struct Conn {
    main: Client,
    history: Client,
    _permits: tokio::sync::OwnedSemaphorePermit,
}

/// The two parts of a batch, applied concurrently in their own
/// transactions and recorded apart in `applied_batches`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Part {
    /// Attribute sets (first, in a transaction of their own), the
    /// current RIB (its routes compared as [`prepare`] says), events.
    Main(Compare),
    /// History and statistics.
    History,
}

impl Part {
    /// Its number in `applied_batches`.
    fn number(self) -> i16 {
        match self {
            Self::Main(_) => 0,
            Self::History => 1,
        }
    }
}

/// How a batch's routes are compared with the current RIB.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Compare {
    /// Not at all: a first dump, updates, or a batch with withdrawals.
    No,
    /// A re-dump the writer compared: its unchanged routes are gone from
    /// the batch (route and history tuples).
    Writer,
}

/// How each (peer, epoch) in a writer's batches is dumped.
type Ways = HashMap<(i64, i64), Redump>;

struct Writer {
    id: usize,
    shared: Arc<Shared>,
    inbox: Inbox,
    conn: Option<Conn>,
    counters: WriterCounters,
    /// Writer 0: its work between batches.
    chores: Chores,
    outage_since: Option<Instant>,
    /// When the last slow-batch warning was logged.
    last_slow: Option<Instant>,
    /// Whether batches are worth trying as all new (see [`Odds`]).
    guesses: Guesses,
    /// How the dumps through this writer go.
    redumps: Redumps,
}

/// A writer's batches: the shard's channel, the queue it takes them into
/// (memory, then spill files) and, once the shard has closed the channel
/// (a shutdown), when the writer stops waiting for the database.
struct Inbox {
    rx: mpsc::Receiver<Batch>,
    queue: Queue,
    /// Set when the channel is found closed: then plus `shutdown_timeout`.
    /// By then the writer spills what it still holds and ends.
    stop_by: Option<Instant>,
    shutdown_timeout: Duration,
}

impl Inbox {
    /// The shard closed its channel.
    fn closed(&mut self) {
        if self.stop_by.is_none() {
            self.stop_by = Some(Instant::now() + self.shutdown_timeout);
        }
    }
}

/// Writer 0's work between batches ([`Chores::run`]).
struct Chores {
    /// Rows deleted so far per peer being cleaned up.
    cleanup: HashMap<i64, u64>,
    next_maintenance: Instant,
    next_route_count: Instant,
    /// The route count running, if any.
    route_count: Option<tokio::task::JoinHandle<()>>,
    /// When kept rows are next checked for expiry.
    next_expiry: Instant,
}

/// Entries of [`Redumps::ways`] kept at most (then first dumps are
/// forgotten).
const REDUMPS_KEPT: usize = 4096;

/// How each (peer, epoch) dumped through a writer goes.
#[derive(Debug, Default)]
struct Redumps {
    ways: Ways,
    /// Octets held by the indexes.
    bytes: usize,
}

/// How the dump of one (peer, epoch) goes.
#[derive(Debug)]
enum Redump {
    /// Not a re-dump over kept rows (a first dump, one after Peer Down, a
    /// RIB without a Peer Up of its own): routes are written as they come.
    First,
    /// A re-dump over kept routes, compared in the writer.
    Index(redump::Index),
}

impl Redumps {
    /// Records how the dump of (peer, epoch) goes.
    fn add(&mut self, pair: (i64, i64), way: Redump) {
        if self.ways.len() >= REDUMPS_KEPT {
            // Those of re-dumps are dropped only when swept or ended.
            self.ways.retain(|_, w| !matches!(w, Redump::First));
        }
        if let Redump::Index(ix) = &way {
            self.bytes += ix.bytes();
        }
        self.ways.insert(pair, way);
    }

    /// After `batch` is stored: the indexes of re-dumps it swept, whose
    /// peer it ended, or whose peer it began a later session of, are
    /// dropped.
    fn forget(&mut self, batch: &Batch) {
        let mut events = TupleReader::new(&batch.events);
        while let Ok(Some(e)) = EventRow::next(&mut events) {
            let Some(peer) = e.peer_id else {
                continue;
            };
            let done = |&(p, epoch): &(i64, i64)| match e.kind {
                EventKind::StaleSweep => p == peer && epoch == e.epoch,
                EventKind::PeerDown | EventKind::PeerLost => p == peer && epoch <= e.epoch,
                EventKind::PeerUp | EventKind::PeerSeen => p == peer && epoch < e.epoch,
                _ => false,
            };
            let bytes = &mut self.bytes;
            self.ways.retain(|k, way| {
                if !done(k) {
                    return true;
                }
                if let Redump::Index(ix) = way {
                    *bytes = bytes.saturating_sub(ix.bytes());
                }
                false
            });
        }
    }
}

/// Why a batch did not commit.
enum Failure {
    /// The connection or the server failed: retry on a new connection.
    Retry(tokio_postgres::Error),
    /// The database rejected the batch's content: retrying cannot help.
    Reject(tokio_postgres::Error),
    /// The shutdown's time ran out while the writer waited for the
    /// database ([`receiving`]).
    Stopped,
}

/// Whether a batch's rows are worth trying as all new (a plain COPY or
/// insert under a savepoint) before the merge that copes with rows
/// already stored. After a miss the next tries are skipped: 2, 4, ... up
/// to 64 after misses in a row, so a stream of updates to stored rows
/// seldom pays for a try.
#[derive(Debug, Default)]
struct Odds {
    /// Tries still to skip: 0, or 2 to the power of `misses` (at most 64).
    skip: Cell<u32>,
    /// Misses in a row, at most 6.
    misses: Cell<u32>,
}

impl Odds {
    fn worth_trying(&self) -> bool {
        let skip = self.skip.get();
        self.skip.set(skip.saturating_sub(1));
        skip == 0
    }

    fn record(&self, all_new: bool) {
        let misses = if all_new {
            0
        } else {
            (self.misses.get() + 1).min(6)
        };
        self.misses.set(misses);
        self.skip.set(if all_new { 0 } else { 1 << misses });
    }
}

/// [`Odds`] of the two kinds of rows tried as new.
#[derive(Debug, Default)]
struct Guesses {
    routes: Odds,
    attrs: Odds,
}

impl Writer {
    async fn run(mut self) -> WriterCounters {
        let mut inflight: Option<Taken> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            self.record_queue();
            // Take whatever the shard sent, without waiting.
            while !self.inbox.queue.is_full() {
                match self.inbox.rx.try_recv() {
                    Ok(b) => self.inbox.queue.push(b),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        self.inbox.closed();
                        break;
                    }
                }
            }
            if self.inbox.stop_by.is_some_and(|d| Instant::now() >= d) {
                return self.stop();
            }
            if self.id != 0 && !self.shared.ready.load(Ordering::Acquire) {
                self.wait(Duration::from_millis(50)).await;
                continue;
            }
            if self.id == 0 && !self.shared.ready.load(Ordering::Acquire) {
                // The previous run's spill is at the head of writer 0's
                // queue: it is replayed before the peers that run left up
                // are ended.
                if !self.inbox.queue.has_recovered() && inflight.is_none() {
                    match self.restart_flush().await {
                        Ok(()) => {
                            self.shared.ready.store(true, Ordering::Release);
                            continue;
                        }
                        Err(Failure::Stopped) => return self.stop(),
                        Err(Failure::Retry(e) | Failure::Reject(e)) => {
                            self.failed(&e, &mut backoff).await;
                            continue;
                        }
                    }
                }
            }
            if inflight.is_none() {
                inflight = self.inbox.queue.pop();
            }
            let Some(taken) = inflight.as_ref() else {
                if self.inbox.stop_by.is_some() {
                    return self.counters;
                }
                // Idle: writer 0 works on the cleanup without pause while
                // there is some.
                let busy = if self.id == 0 && self.conn.is_some() {
                    match self.background().await {
                        Ok(busy) => busy,
                        Err(Failure::Stopped) => return self.stop(),
                        Err(Failure::Retry(e) | Failure::Reject(e)) => {
                            self.failed(&e, &mut backoff).await;
                            continue;
                        }
                    }
                } else {
                    false
                };
                if !busy {
                    self.wait(Duration::from_millis(500)).await;
                }
                continue;
            };
            let started = Instant::now();
            match self.apply_receiving(&taken.batch).await {
                Ok(applied) => {
                    backoff = Duration::from_millis(100);
                    let took = started.elapsed();
                    if took >= SLOW_BATCH
                        && self
                            .last_slow
                            .is_none_or(|t| t.elapsed() >= SLOW_WARNING_INTERVAL)
                    {
                        self.last_slow = Some(Instant::now());
                        warn!(
                            writer = self.id,
                            secs = took.as_secs_f64(),
                            "database slow: a batch took over a second to commit"
                        );
                    }
                    if let Some(t) = inflight.take() {
                        self.committed(t, applied, took);
                    }
                    if self.id == 0 {
                        match self.background().await {
                            Ok(_) => {}
                            Err(Failure::Stopped) => return self.stop(),
                            Err(Failure::Retry(e) | Failure::Reject(e)) => {
                                self.failed(&e, &mut backoff).await;
                            }
                        }
                    }
                }
                Err(Failure::Retry(e)) => {
                    self.counters.failures += 1;
                    self.failed(&e, &mut backoff).await;
                }
                Err(Failure::Reject(e)) => {
                    self.counters.failures += 1;
                    if let Some(t) = inflight.take() {
                        self.reject(t, &e);
                    }
                }
                Err(Failure::Stopped) => return self.stop(),
            }
        }
    }

    /// Waits for a batch or `timeout`.
    async fn wait(&mut self, timeout: Duration) {
        if self.inbox.rx.is_closed() {
            self.inbox.closed();
        }
        if self.inbox.stop_by.is_some() || self.inbox.queue.is_full() {
            tokio::time::sleep(timeout.min(Duration::from_millis(50))).await;
            return;
        }
        match tokio::time::timeout(timeout, self.inbox.rx.recv()).await {
            Ok(Some(b)) => self.inbox.queue.push(b),
            Ok(None) => self.inbox.closed(),
            Err(_) => {}
        }
    }

    /// Drops the connection after a failure and waits before the next
    /// attempt, taking batches meanwhile; a transaction the database
    /// aborted for a conflict with another ([`is_conflict`]) is only
    /// counted, and tried again at once on the same connection.
    async fn failed(&mut self, e: &tokio_postgres::Error, backoff: &mut Duration) {
        if is_conflict(e) {
            warn!(writer = self.id, error = %e, "transaction aborted by a conflict with another: tried again");
            if let Some(mut m) = self.shared.metrics.writer(self.id) {
                m.conflicts += 1;
            }
            return;
        }
        if self.outage_since.is_none() {
            self.outage_since = Some(Instant::now());
            warn!(writer = self.id, error = %e, "database unavailable: batches are queued (then spilled) and retried");
        } else {
            debug!(writer = self.id, error = %e, "database still unavailable");
        }
        self.conn = None;
        if let Some(mut m) = self.shared.metrics.writer(self.id) {
            m.up = Some(false);
            m.connected = false;
        }
        self.inbox.queue.set_outage(true);
        let until = Instant::now() + *backoff;
        // Not past the shutdown's time, if it comes meanwhile.
        while Instant::now() < self.inbox.stop_by.map_or(until, |d| until.min(d)) {
            let left = until.saturating_duration_since(Instant::now());
            self.wait(left).await;
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
    }

    async fn connect(&mut self) -> Result<(), Failure> {
        if self
            .conn
            .as_ref()
            .is_some_and(|c| !c.main.is_closed() && !c.history.is_closed())
        {
            return Ok(());
        }
        self.conn = None;
        let (shared, id) = (&self.shared, self.id);
        let opening = async {
            // Both permits at once: writers never hold one while waiting
            // for another.
            let waiting = Waiting::new(&shared.waiting);
            let Ok(permits) = shared.pool.clone().acquire_many_owned(2).await else {
                unreachable!("the pool semaphore is never closed");
            };
            drop(waiting);
            let main = open_client(&shared.settings.url, id).await?;
            // Waits for migrations another connection is applying (at
            // startup, one that rebuilds an index can take minutes).
            migrate(&main, false, shared.settings.retention_days).await?;
            main.batch_execute(STAGING).await?;
            let history = open_client(&shared.settings.url, id).await?;
            Ok::<_, tokio_postgres::Error>(Conn {
                main,
                history,
                _permits: permits,
            })
        };
        let conn = receiving(&mut self.inbox, opening)
            .await?
            .map_err(Failure::Retry)?;
        let reconnected = self.outage_since.is_some();
        if !reconnected && self.counters.reconnects == 0 {
            info!(writer = self.id, "database connection established");
        }
        if let Some(mut m) = self.shared.metrics.writer(self.id) {
            m.up = Some(true);
            m.connected = true;
            m.reconnects += u64::from(reconnected);
        }
        if let Some(since) = self.outage_since.take() {
            self.counters.reconnects += 1;
            info!(writer = self.id, secs = since.elapsed().as_secs_f64(), queued = ?self.inbox.queue.bytes(), "database reachable again");
        }
        self.conn = Some(conn);
        Ok(())
    }

    /// Connects if need be, and applies `batch` while still taking batches
    /// from the shard.
    async fn apply_receiving(&mut self, batch: &Batch) -> Result<bool, Failure> {
        self.connect().await?;
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        let recorder = (&*self.shared.metrics, self.id);
        let guesses = &self.guesses;
        let redumps = &mut self.redumps;
        // Writer 0 replays the previous run's spill before it is ready.
        let replaying = !self.shared.ready.load(Ordering::Acquire);
        let memory = self.shared.settings.redump_memory;
        let both = async {
            let (filtered, compare) = prepare(&conn.main, batch, redumps, replaying, memory)
                .await
                .map_err(Failure::Retry)?;
            let batch = filtered.as_ref().unwrap_or(batch);
            let with = (guesses, &redumps.ways);
            let (main, history) = tokio::join!(
                timed_apply(&mut conn.main, batch, Part::Main(compare), with, recorder),
                timed_apply(&mut conn.history, batch, Part::History, with, recorder)
            );
            // Applied when either part was new; a part that failed is
            // retried (the other is then recognised as applied).
            Ok(main? | history?)
        };
        receiving(&mut self.inbox, both).await?
    }

    fn committed(&mut self, t: Taken, applied: bool, took: Duration) {
        self.inbox.queue.committed();
        self.redumps.forget(&t.batch);
        self.inbox.queue.set_outage(false);
        if applied {
            self.counters.batches += 1;
            self.counters.routes += u64::from(t.batch.route_count);
            if let Some(mut m) = self.shared.metrics.writer(self.id) {
                m.committed(t.batch.route_count, took, t.batch.arrived_us);
            }
        } else {
            self.counters.duplicates += 1;
        }
        if let Some(p) = t.segment_done {
            let _ = std::fs::remove_file(p);
        }
    }

    fn reject(&mut self, t: Taken, e: &tokio_postgres::Error) {
        self.inbox.queue.committed();
        self.redumps.forget(&t.batch);
        self.counters.rejected += 1;
        if let Some(mut m) = self.shared.metrics.writer(self.id) {
            m.rejected += 1;
        }
        let dir = self.shared.settings.data_dir.join("rejected");
        let path = dir.join(format!("{}-{}.batch", t.batch.stream, t.batch.seq));
        let mut rec = Vec::new();
        t.batch.encode(&mut rec);
        let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &rec));
        let detail = match saved {
            Ok(()) => format!(
                "writer {}: the database rejected the batch; saved in {}, going on with the next",
                self.id,
                path.display()
            ),
            Err(s) => format!(
                "writer {}: the database rejected the batch; saving it in {} failed ({s}), going on with the next",
                self.id,
                path.display()
            ),
        };
        crate::telemetry::route_error(e, t.batch.route_count, &detail);
        if let Some(p) = t.segment_done {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Publishes the queue's size to the metrics.
    fn record_queue(&self) {
        if let Some(mut m) = self.shared.metrics.writer(self.id) {
            m.queue_batches = self.inbox.queue.batches_in_memory() as u64;
            m.spill_bytes = self.inbox.queue.bytes().1;
        }
    }

    /// At exit with batches left: spill them for the next run (a batch
    /// being applied is in the spill already, or the queue's copy of it
    /// goes first).
    fn persist(&mut self) {
        let n = self.inbox.queue.persist();
        self.counters.left_spilled = n;
        if n > 0 {
            warn!(
                writer = self.id,
                batches = n,
                "shutdown timeout: batches not yet stored are spilled for the next run"
            );
        }
    }

    /// Replayed spill done: every peer the previous run left up ends as
    /// with a session lost ([`RESTART_FLUSH`]).
    async fn restart_flush(&mut self) -> Result<(), Failure> {
        self.connect().await?;
        let Some(conn) = self.conn.as_ref() else {
            return Ok(());
        };
        receiving(&mut self.inbox, conn.main.batch_execute(RESTART_FLUSH))
            .await?
            .map_err(Failure::Retry)
    }

    /// Spills what the writer still holds, and ends it: its queue, and
    /// what is still in the channel (past the queue's limits: a full queue
    /// stopped taking from it).
    fn stop(mut self) -> WriterCounters {
        while let Ok(b) = self.inbox.rx.try_recv() {
            self.inbox.queue.push(b);
        }
        self.persist();
        self.counters
    }

    /// Writer 0, between batches: its [`Chores`], while taking batches;
    /// `Ok(true)` when cleanup remains.
    async fn background(&mut self) -> Result<bool, Failure> {
        let Some(conn) = self.conn.as_ref() else {
            return Ok(false);
        };
        let chores = self.chores.run(&conn.main, &self.shared);
        receiving(&mut self.inbox, chores)
            .await?
            .map_err(Failure::Retry)
    }
}

impl Chores {
    /// Partition maintenance, the start of route counts, the expiry of
    /// kept rows and one chunk of the cleanup of flushed peers, each when
    /// due; `Ok(true)` when cleanup remains.
    async fn run(
        &mut self,
        c: &Client,
        shared: &Arc<Shared>,
    ) -> Result<bool, tokio_postgres::Error> {
        let metrics = &shared.metrics;
        let record = |op: Operation, started: Instant| {
            if let Some(mut m) = metrics.writer(0) {
                m.query(op, started.elapsed());
            }
        };
        if let Some(every) = shared.settings.peer_routes_interval
            && Instant::now() >= self.next_route_count
            && self.route_count.as_ref().is_none_or(|t| t.is_finished())
        {
            self.next_route_count = Instant::now() + every;
            // Counting takes seconds on full tables: on a connection of its
            // own, so that this writer's batches do not wait for it.
            self.route_count = Some(tokio::spawn(count_routes(shared.clone(), every)));
        }
        if Instant::now() >= self.next_maintenance {
            let started = Instant::now();
            self.next_maintenance = Instant::now() + MAINTENANCE_INTERVAL;
            maintain_partitions(c, shared.settings.retention_days).await?;
            c.execute(
                "DELETE FROM applied_batches WHERE applied < now() - interval '7 days'",
                &[],
            )
            .await?;
            record(Operation::Maintenance, started);
        }
        // Not while the previous run's spill is replayed: the restart
        // first starts the stale timeout over.
        if shared.ready.load(Ordering::Acquire) && Instant::now() >= self.next_expiry {
            self.next_expiry = Instant::now() + Duration::from_secs(1);
            let secs = shared.settings.stale_timeout.as_secs_f64();
            let n = c.execute(KEPT_EXPIRED, &[&secs]).await?;
            if n > 0 {
                debug!(
                    peers = n,
                    "rows kept for re-dumps that did not come within the stale timeout: deleted"
                );
            }
        }
        // Hidden rows below `kept_from` (or all of them) are deleted.
        let Some(row) = c
            .query_opt(
                "SELECT id, coalesce(kept_from, flushed_below) FROM peers WHERE cleanup_pending LIMIT 1",
                &[],
            )
            .await?
        else {
            return Ok(false);
        };
        let (peer, below): (i64, i64) = (row.get(0), row.get(1));
        let started = Instant::now();
        let n = c
            .execute(
                "DELETE FROM rib WHERE ctid = ANY(ARRAY(
                     SELECT ctid FROM rib WHERE peer_id = $1 AND epoch < $2 LIMIT $3))",
                &[&peer, &below, &CLEANUP_CHUNK],
            )
            .await?;
        record(Operation::Cleanup, started);
        let total = self.cleanup.entry(peer).or_default();
        *total += n;
        if n < CLEANUP_CHUNK as u64 {
            let total = self.cleanup.remove(&peer).unwrap_or(n);
            c.execute(
                "WITH p AS (UPDATE peers SET cleanup_pending = false
                             WHERE id = $1 AND coalesce(kept_from, flushed_below) = $2 RETURNING id)
                 INSERT INTO peer_events SELECT now(), id, 'flush', $2 - 1, NULL, $3 FROM p",
                &[&peer, &below, &total.to_string()],
            )
            .await?;
            debug!(peer, rows = total, "flushed routes removed");
        }
        Ok(true)
    }
}

/// A connection to the database, driven by a task of its own on this
/// runtime; `writer` names it in the log.
async fn open_client(url: &str, writer: usize) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            debug!(writer, error = %e, "database connection ended");
        }
    });
    Ok(client)
}

/// Runs `work` while still taking batches from the shard into the queue
/// (while it has room): a slow database, or migrations being applied,
/// never hold up the shard's reading while spill space is left. Once the
/// shard has closed its channel (a shutdown), `work` has until the
/// inbox's `stop_by`: `Err(Failure::Stopped)` when that passes first.
///
/// # Cancel safety
///
/// `work` is then dropped where it waits. A transaction it left open is
/// rolled back by the server when the writer's connection closes; the
/// batch it was applying is still the queue's (until
/// [`Writer::committed`]) and is spilled with the rest, and a part of it
/// whose commit had gone through is recognised in `applied_batches` when
/// the spill is replayed.
async fn receiving<T>(inbox: &mut Inbox, work: impl Future<Output = T>) -> Result<T, Failure> {
    let mut work = pin!(work);
    loop {
        if let Some(stop_by) = inbox.stop_by {
            return tokio::time::timeout_at(stop_by.into(), &mut work)
                .await
                .map_err(|_| Failure::Stopped);
        }
        tokio::select! {
            r = &mut work => return Ok(r),
            b = inbox.rx.recv(), if !inbox.queue.is_full() => match b {
                Some(b) => inbox.queue.push(b),
                None => inbox.closed(),
            },
        }
    }
}

/// Counts the current routes per peer RIB into the metrics, on a pool
/// connection of its own (the one `DB_POOL_SIZE` keeps beyond the
/// writers' two each); no count while none is free.
///
/// On full tables the count reads every row of the RIB, which takes
/// seconds of a core; all at once (and by a parallel plan, on every core)
/// it left the writers behind for as long under churn. So one peer at a
/// time, on one core, spread over `every`, each peer followed by a pause
/// ([`count_pause`]); the next count starts once this one has ended, so on
/// a RIB too large for `every` the counts come less often instead.
async fn count_routes(shared: Arc<Shared>, every: Duration) {
    let Ok(_permit) = shared.pool.clone().try_acquire_owned() else {
        debug!("no database connection free in DB_POOL_SIZE for the route count: skipped");
        return;
    };
    let counted = async {
        let c = open_client(&shared.settings.url, 0).await?;
        // One peer's rows by the key's range (a bitmap scan: PostgreSQL
        // would rather read the whole table for a sixteenth of it, and
        // takes about six times as long).
        c.batch_execute("SET max_parallel_workers_per_gather = 0; SET enable_seqscan = off")
            .await?;
        let peers = c.query("SELECT id FROM peers ORDER BY id", &[]).await?;
        let pause = every / u32::try_from(peers.len().max(1)).unwrap_or(u32::MAX);
        let (mut busy, mut last) = (Duration::ZERO, Duration::ZERO);
        let mut routes = Vec::with_capacity(peers.len());
        for (i, peer) in peers.iter().enumerate() {
            if i > 0 {
                count_pause(&shared, pause, last).await;
            }
            let id: i64 = peer.try_get(0)?;
            let started = Instant::now();
            let rows = c.query(PEER_ROUTES, &[&id]).await?;
            last = started.elapsed();
            busy += last;
            for r in rows {
                routes.push(PeerRoutes {
                    router: r.try_get(0)?,
                    peer: r.try_get(1)?,
                    rib: r.try_get(2)?,
                    routes: u64::try_from(r.try_get::<_, i64>(3)?).unwrap_or(0),
                });
            }
        }
        Ok::<_, tokio_postgres::Error>((routes, busy, pause, last))
    };
    match counted.await {
        Ok((routes, busy, pause, last)) => {
            if let Some(mut m) = shared.metrics.writer(0) {
                // The time counting took, without the pauses.
                m.query(Operation::RouteCount, busy);
            }
            shared.metrics.set_peer_routes(routes);
            // After the last peer too, before the next count can start.
            count_pause(&shared, pause, last).await;
        }
        Err(e) => {
            debug!(error = %e, "route count failed; the next one is due in PEER_ROUTES_INTERVAL_SECONDS")
        }
    }
}

/// The route count's pause after a peer that took `took` to count: the
/// rest of its share of the interval (`pause`), and at least
/// [`COUNT_PAUSE_FACTOR`] times `took`. None while a writer waits for a
/// pool connection (the count's may be the one it needs: it finishes at
/// once instead).
async fn count_pause(shared: &Shared, pause: Duration, took: Duration) {
    if shared.waiting.load(Ordering::Relaxed) == 0 {
        let rest = pause
            .saturating_sub(took)
            .max(took.saturating_mul(COUNT_PAUSE_FACTOR));
        tokio::time::sleep(rest).await;
    }
}

/// Applies the migrations before the collector starts, so the schema is
/// there as soon as it listens. A database that cannot be reached, or
/// migrations that take longer (one that rebuilds an index over a large
/// history), do not stop the start for more than a few seconds: the
/// migrations go on in their own thread, the writers wait for their lock
/// (or retry), and batches spill meanwhile.
fn migrate_at_startup(settings: &PgSettings) {
    let url = settings.url.clone();
    let retention_days = settings.retention_days;
    let (done, result) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("riptide-migrate".into())
        .spawn(move || {
            let r = startup_migrations(&url, retention_days);
            if let Err(std::sync::mpsc::SendError(r)) = done.send(r) {
                // The start went on without them.
                match r {
                    Ok(()) => info!("startup migrations done"),
                    Err(e) => warn!(error = %e, "startup migrations failed; the writers retry"),
                }
            }
        });
    if let Err(e) = thread {
        warn!(error = %e, "cannot run the startup migrations; the writers will");
        return;
    }
    match result.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            warn!(error = %e, "database not ready at startup: the writers retry, batches spill meanwhile")
        }
        Err(_) => warn!(
            "database not reachable, or migrations still running, after 10 s at startup: \
             the writers wait for them, batches spill meanwhile"
        ),
    }
}

/// Why the startup migrations did not run.
#[derive(Debug, thiserror::Error)]
enum StartupError {
    #[error("no runtime for the startup migrations: {0}")]
    Runtime(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// The startup migrations and partition maintenance, on a connection of
/// their own.
fn startup_migrations(url: &str, retention_days: u32) -> Result<(), StartupError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let attempt = async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = match migrate(&client, true, retention_days).await {
            Ok(()) => maintain_partitions(&client, retention_days).await,
            Err(e) => Err(e),
        };
        drop(client);
        let _ = driver.await;
        result
    };
    Ok(rt.block_on(attempt)?)
}

/// Creates the coming days' history partitions and drops those past
/// `retention_days` (`riptide_maintain_partitions`), under the migrations'
/// lock: the startup's run and writer 0's hourly one can meet, and would
/// both create the same day's partition.
async fn maintain_partitions(
    client: &Client,
    retention_days: u32,
) -> Result<(), tokio_postgres::Error> {
    let days = i32::try_from(retention_days).unwrap_or(i32::MAX);
    let done = client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); \
             SELECT riptide_maintain_partitions({days}); COMMIT"
        ))
        .await;
    if done.is_err() {
        // The failed statement left the transaction open, aborted.
        let _ = client.batch_execute("ROLLBACK").await;
    }
    done
}

/// Applies the migrations not yet applied, under an advisory lock.
///
/// # Errors
///
/// A failing migration (nothing of it stays: each runs in a transaction).
pub async fn migrate(
    client: &Client,
    announce: bool,
    retention_days: u32,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS riptide_migrations (
                 version int4 PRIMARY KEY, name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    // The key once: the schema it comes from could change before the
    // unlock (a search_path schema created meanwhile).
    let key: i64 = client
        .query_one(&format!("SELECT {MIGRATION_LOCK}"), &[])
        .await?
        .try_get(0)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await?;
    let result = async {
        for (version, name, sql) in MIGRATIONS {
            let done = client
                .query_opt(
                    "SELECT 1 FROM riptide_migrations WHERE version = $1",
                    &[version],
                )
                .await?
                .is_some();
            if done {
                continue;
            }
            info!(migration = name, "applying migration");
            // However long it takes (an index rebuilt over a large
            // history): a timeout of the role's would fail it every time.
            client
                .batch_execute("BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
                .await?;
            let applied = async {
                client.batch_execute(sql).await?;
                client
                    .execute(
                        "INSERT INTO riptide_migrations (version, name) VALUES ($1, $2)",
                        &[version, name],
                    )
                    .await
            }
            .await;
            match applied {
                Ok(_) => client.batch_execute("COMMIT").await?,
                Err(e) => {
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(e);
                }
            }
            info!(migration = name, "migration applied");
        }
        let timescale = client
            .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'", &[])
            .await?
            .is_some();
        if timescale && retention_days > 0 {
            let interval = format!("{retention_days} days");
            for table in ["route_history", "stats"] {
                client
                    .execute(
                        "SELECT add_retention_policy($1::regclass, $2::text::interval, if_not_exists => true)",
                        &[&table, &interval],
                    )
                    .await?;
            }
        }
        if announce {
            if timescale {
                info!(retention_days, "PostgreSQL store with TimescaleDB: history and statistics are hypertables");
            } else {
                info!(retention_days, "PostgreSQL store without TimescaleDB: history and statistics are partitioned by day");
            }
        }
        Ok(())
    }
    .await;
    match client
        .query_one("SELECT pg_advisory_unlock($1)", &[&key])
        .await
        .and_then(|r| r.try_get::<_, bool>(0))
    {
        Ok(true) => {}
        // Held until this connection closes: other connections' migrations
        // wait for that.
        Ok(false) => warn!("the migration lock was not held at its release"),
        Err(e) => debug!(error = %e, "releasing the migration lock"),
    }
    result
}

/// Whether an error is about the batch's content rather than the
/// connection or the server's state.
fn is_rejection(e: &tokio_postgres::Error) -> bool {
    let Some(db) = e.as_db_error() else {
        return false;
    };
    let code = db.code().code();
    // 22: data exception; 23: integrity constraint violation; 42: syntax
    // error or access rule violation (a schema that does not match).
    code.starts_with("22") || code.starts_with("23") || *db.code() == SqlState::UNDEFINED_COLUMN
}

/// Whether the database aborted a transaction for a conflict with another
/// (a deadlock, a serialization failure): trying it again can succeed.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

/// Applies one part of a batch in one transaction (the main part's
/// attribute sets in one before it): how (the operation), or `None` when
/// that part was applied before.
async fn apply(
    client: &mut Client,
    batch: &Batch,
    part: Part,
    with: (&Guesses, &Ways),
) -> Result<Option<Operation>, Failure> {
    let classify = |e: tokio_postgres::Error| {
        if is_rejection(&e) {
            Failure::Reject(e)
        } else {
            Failure::Retry(e)
        }
    };
    if let Part::Main(_) = part
        && !batch.attrs.is_empty()
    {
        add_attrs(client, batch, &with.0.attrs)
            .await
            .map_err(classify)?;
    }
    let tx = client.transaction().await.map_err(classify)?;
    let seq = i64::try_from(batch.seq).unwrap_or(i64::MAX);
    let fresh = tx
        .execute(PROGRESS, &[&&*batch.stream, &seq, &part.number()])
        .await
        .map_err(classify)?;
    if fresh == 0 {
        tx.rollback().await.map_err(classify)?;
        return Ok(None);
    }
    let op = match part {
        Part::Main(compare) => apply_main(&tx, batch, compare, with).await,
        Part::History => apply_history(&tx, batch)
            .await
            .map(|()| Operation::BatchHistory),
    }
    .map_err(classify)?;
    tx.commit().await.map_err(classify)?;
    Ok(Some(op))
}

/// [`apply`], timed into writer `id`'s metrics.
async fn timed_apply(
    client: &mut Client,
    batch: &Batch,
    part: Part,
    with: (&Guesses, &Ways),
    (metrics, id): (&Metrics, usize),
) -> Result<bool, Failure> {
    let started = Instant::now();
    let op = apply(client, batch, part, with).await?;
    if let Some(op) = op
        && let Some(mut m) = metrics.writer(id)
    {
        m.query(op, started.elapsed());
    }
    Ok(op.is_some())
}

/// Binary COPY of `tuples` (a section without header or trailer).
async fn copy_in(
    tx: &Transaction<'_>,
    statement: &str,
    tuples: Bytes,
) -> Result<(), tokio_postgres::Error> {
    let sink = tx.copy_in::<_, Bytes>(statement).await?;
    let mut sink = pin!(sink);
    sink.feed(Bytes::from_static(HEADER)).await?;
    sink.feed(tuples).await?;
    sink.feed(Bytes::from_static(TRAILER)).await?;
    sink.finish().await?;
    Ok(())
}

/// The history part of a batch: its history and statistics rows.
async fn apply_history(tx: &Transaction<'_>, batch: &Batch) -> Result<(), tokio_postgres::Error> {
    let history = "COPY route_history (ts, peer_id, rd, prefix, path_id, afi, safi, labels, action, attrs_id) \
                   FROM STDIN (FORMAT binary)";
    let stats = "COPY stats (ts, router_id, peer_id, stat_type, stat_name, afi, safi, value) \
                 FROM STDIN (FORMAT binary)";
    for (statement, tuples) in [(history, &batch.history), (stats, &batch.stats)] {
        if !tuples.is_empty() {
            copy_in(tx, statement, Bytes::copy_from_slice(tuples)).await?;
        }
    }
    Ok(())
}

/// The attribute sets of a batch not stored yet, in a transaction of
/// their own before its main part: another writer adding one of the same
/// new sets (routers of one network share them) waits for this short
/// transaction, not for the whole of the batch's. Its commit does not
/// wait for the WAL to reach the disk: the main part's commit, later in
/// the WAL, does, and no stored route refers to these sets before that
/// (a crash in between loses at most sets that the batch's retry adds
/// again). Another writer's route can refer to them only by a commit
/// later in the WAL too.
async fn add_attrs(
    client: &mut Client,
    batch: &Batch,
    odds: &Odds,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .await?;
    if !copied_as_new(&tx, odds, ATTRS_COPY, &batch.attrs, attr_rows).await? {
        copy_in(
            &tx,
            "COPY stage_attrs FROM STDIN (FORMAT binary)",
            Bytes::copy_from_slice(&batch.attrs),
        )
        .await?;
        tx.execute(ATTRS, &[]).await?;
    }
    tx.commit().await
}

/// The main part of a batch, after [`add_attrs`]; returns which way its
/// routes went.
async fn apply_main(
    tx: &Transaction<'_>,
    batch: &Batch,
    compare: Compare,
    (guesses, ways): (&Guesses, &Ways),
) -> Result<Operation, tokio_postgres::Error> {
    let mut op = Operation::BatchRib;
    if batch.routes.is_empty() {
        // Events only (or a re-dump's batch with nothing changed).
    } else if batch.withdraw_count == 0
        && copied_as_new(tx, &guesses.routes, RIB_COPY, &batch.routes, rib_rows).await?
    {
        op = Operation::BatchRibCopy;
    } else {
        copy_in(
            tx,
            "COPY stage_routes FROM STDIN (FORMAT binary)",
            Bytes::copy_from_slice(&batch.routes),
        )
        .await?;
        // A first dump withdraws nothing: no delete to plan.
        let gone = if batch.withdraw_count > 0 {
            RIB_GONE
        } else {
            ""
        };
        tx.execute(&RIB.replace("{gone}", gone), &[]).await?;
    }
    if compare == Compare::Writer {
        op = Operation::BatchRibRedump;
    }
    let mut events = TupleReader::new(&batch.events);
    loop {
        let e = match EventRow::next(&mut events) {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(err) => {
                error!(error = %err, stream = &*batch.stream, seq = batch.seq, "malformed event row skipped");
                break;
            }
        };
        apply_event(tx, &e, ways).await?;
    }
    Ok(op)
}

/// The distinct (peer, epoch) pairs of route tuples, in order.
fn route_peers(routes: &[u8]) -> Vec<(i64, i64)> {
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    let mut tuples = TupleReader::new(routes);
    while let Ok(Some(r)) = RouteTuple::next(&mut tuples) {
        let pair = (r.peer_id(), r.epoch());
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    pairs
}

/// How `batch` is compared with the current RIB, and the batch to apply
/// when the writer compared it (its unchanged routes removed).
///
/// A peer's dump is a re-dump over kept rows when its Peer Up came while
/// the rows of its lost session were kept (hidden). At the first batch of
/// such a (peer, epoch) the writer reads the kept rows into an index
/// ([`redump::Index`]) within `memory`; a re-dump that does not fit drops
/// the kept rows and writes its routes as a first dump does. Batches
/// replayed from the previous run's spill (`replaying`) are not compared:
/// that run's indexes are lost.
async fn prepare(
    client: &Client,
    batch: &Batch,
    redumps: &mut Redumps,
    replaying: bool,
    memory: usize,
) -> Result<(Option<Batch>, Compare), tokio_postgres::Error> {
    if batch.routes.is_empty() || replaying {
        return Ok((None, Compare::No));
    }
    let pairs = route_peers(&batch.routes);
    for &(peer, epoch) in &pairs {
        if !redumps.ways.contains_key(&(peer, epoch)) {
            let way = redump_way(client, peer, epoch, memory.saturating_sub(redumps.bytes)).await?;
            redumps.add((peer, epoch), way);
        }
    }
    let indexed = |p| matches!(redumps.ways.get(p), Some(Redump::Index(_)));
    if !pairs.iter().any(indexed) {
        return Ok((None, Compare::No));
    }
    if batch.withdraw_count > 0 {
        // Applied as usual: what it says of a route replaces the kept one.
        replaced(batch, &mut redumps.ways);
        return Ok((None, Compare::No));
    }
    Ok((unchanged_removed(batch, &mut redumps.ways), Compare::Writer))
}

/// How the dump of `peer` in `epoch` goes (an index within `memory`).
async fn redump_way(
    client: &Client,
    peer: i64,
    epoch: i64,
    memory: usize,
) -> Result<Redump, tokio_postgres::Error> {
    let redump = client
        .query_opt(REDUMP_STATE, &[&peer, &epoch])
        .await?
        .is_some_and(|r| r.get::<_, bool>(0));
    if !redump {
        return Ok(Redump::First);
    }
    let limit = memory / redump::BYTES_PER_ROUTE;
    let mut entries = Vec::new();
    let all = kept_rows(client, peer, |key, row| {
        if entries.len() == limit {
            return false;
        }
        if entries.len() == entries.capacity() {
            // Doubling, but never past the budget.
            entries.reserve_exact(entries.capacity().max(4096).min(limit - entries.len()));
        }
        let value = redump::hash_fields(VALUE_COLUMNS.map(|i| raw(row, i)));
        entries.push((key, value));
        true
    })
    .await?;
    if !all {
        info!(
            peer,
            "re-dump over kept rows: REDUMP_MEMORY_MB used up, its kept rows are dropped and its routes written as a first dump's"
        );
        client.execute(KEPT_RELEASED, &[&peer, &epoch]).await?;
        return Ok(Redump::First);
    }
    client.execute(REDUMP_IN_WRITER, &[&peer, &epoch]).await?;
    info!(
        peer,
        routes = entries.len(),
        "re-dump over kept rows: compared in the writer"
    );
    Ok(Redump::Index(redump::Index::new(entries)))
}

/// The key hash and row of each of [`KEPT_ROWS`], in turn, while `each`
/// says to go on; whether it went through them all.
async fn kept_rows(
    client: &impl tokio_postgres::GenericClient,
    peer: i64,
    mut each: impl FnMut(u64, &tokio_postgres::Row) -> bool,
) -> Result<bool, tokio_postgres::Error> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&peer];
    let rows = client.query_raw(KEPT_ROWS, params).await?;
    let mut rows = pin!(rows);
    while let Some(row) = rows.try_next().await? {
        let key = redump::hash_fields(KEY_COLUMNS.map(|i| raw(&row, i)));
        if !each(key, &row) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Column `i` of `row` in its binary encoding (`None`: NULL).
fn raw(row: &tokio_postgres::Row, i: usize) -> Option<&[u8]> {
    row.get::<_, Option<redump::Raw<'_>>>(i).map(|r| r.0)
}

/// The index of the re-dump `r` belongs to, if the writer compares it.
fn index_of<'w>(ways: &'w mut Ways, r: &RouteTuple<'_>) -> Option<&'w mut redump::Index> {
    match ways.get_mut(&(r.peer_id(), r.epoch())) {
        Some(Redump::Index(ix)) => Some(ix),
        _ => None,
    }
}

/// The hash of a route tuple's key, as [`KEY_COLUMNS`] of a kept row.
fn key_hash(r: &RouteTuple<'_>) -> u64 {
    redump::hash_fields(r.get(ROUTE_KEY).iter().copied())
}

/// The hash of a route tuple's value, as [`VALUE_COLUMNS`] of a kept row.
fn value_hash(r: &RouteTuple<'_>) -> u64 {
    let attrs = r.get(ROUTE_ATTRS_ID..ROUTE_ATTRS_ID + 1);
    redump::hash_fields(r.get(ROUTE_FAMILY_LABELS).iter().chain(attrs).copied())
}

/// Every route of `batch` in a writer-compared re-dump is replaced.
fn replaced(batch: &Batch, ways: &mut Ways) {
    let mut tuples = TupleReader::new(&batch.routes);
    while let Ok(Some(r)) = RouteTuple::next(&mut tuples) {
        if let Some(ix) = index_of(ways, &r) {
            ix.replaced(key_hash(&r));
        }
    }
}

/// `batch` without its announcements that leave a route as it is (seen
/// in its re-dump's index; their history rows too: the route did not
/// change), or `None` when it has none, or cannot be read.
fn unchanged_removed(batch: &Batch, ways: &mut Ways) -> Option<Batch> {
    let mut routes = Vec::with_capacity(batch.routes.len());
    let mut history = Vec::with_capacity(batch.history.len());
    let mut removed = 0;
    let mut r = TupleReader::new(&batch.routes);
    let mut h = TupleReader::new(&batch.history);
    while let Some(route) = RouteTuple::next(&mut r).ok()? {
        // One history tuple per route tuple.
        let hist = h.next_tuple(HISTORY_FIELDS as usize).ok()??;
        if let Some(ix) = index_of(ways, &route)
            && ix.announced(key_hash(&route), value_hash(&route))
        {
            removed += 1;
            continue;
        }
        TupleWriter::new(&mut routes, ROUTE_FIELDS).raw_fields(route.encoded);
        TupleWriter::new(&mut history, HISTORY_FIELDS).raw_fields(hist.unread());
    }
    (removed > 0).then(|| Batch {
        stream: batch.stream.clone(),
        seq: batch.seq,
        attrs: batch.attrs.clone(),
        routes,
        history,
        stats: batch.stats.clone(),
        events: batch.events.clone(),
        route_count: batch.route_count,
        withdraw_count: batch.withdraw_count,
        opened: None,
        arrived_us: batch.arrived_us,
    })
}

/// The stale sweep of a dump: routes of earlier epochs not re-announced
/// are deleted and recorded in history as `stale` ([`STALE_SWEEP`]). Of a
/// re-dump over kept rows, the kept rows not re-announced unchanged are
/// deleted (they left the current RIB with the session) and the others
/// are current again ([`KEPT_CURRENT`]); of one compared by a run that
/// ended, the kept rows are dropped ([`KEPT_RELEASED`]).
async fn sweep(
    tx: &Transaction<'_>,
    peer: i64,
    epoch: i64,
    ts: SystemTime,
    ways: &Ways,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(STALE_SWEEP, &[&peer, &epoch, &ts]).await?;
    let (redump, in_writer) = tx
        .query_opt(REDUMP_STATE, &[&peer, &epoch])
        .await?
        .map_or((false, false), |r| (r.get(0), r.get(1)));
    if !redump {
        return Ok(());
    }
    match ways.get(&(peer, epoch)) {
        Some(Redump::Index(ix)) => {
            let mut keys = Vec::new();
            kept_rows(tx, peer, |key, row| {
                if !ix.seen(key) {
                    let mut t = TupleWriter::new(&mut keys, 3);
                    for i in KEY_COLUMNS {
                        t.opt_bytes(raw(row, i));
                    }
                }
                true
            })
            .await?;
            tx.execute("DELETE FROM stage_keys", &[]).await?;
            if !keys.is_empty() {
                copy_in(
                    tx,
                    "COPY stage_keys FROM STDIN (FORMAT binary)",
                    Bytes::from(keys),
                )
                .await?;
            }
            let which =
                "(r.rd, r.prefix, r.path_id) IN (SELECT rd, prefix, path_id FROM stage_keys)";
            tx.execute(&KEPT_GONE.replace("{which}", which), &[&peer, &ts])
                .await?;
        }
        _ if in_writer => {
            warn!(
                peer,
                epoch,
                "re-dump compared by a collector run that ended: its kept rows are dropped, the routes it re-announced unchanged come back with the next re-dump"
            );
            tx.execute(KEPT_RELEASED, &[&peer, &epoch]).await?;
            tx.execute(
                "INSERT INTO peer_events VALUES ($3, $1, 'stale-sweep', $2,
                     'kept rows dropped: the re-dump was compared by a collector run that ended', NULL)",
                &[&peer, &epoch, &ts],
            )
            .await?;
            return Ok(());
        }
        _ => {
            tx.execute(&KEPT_GONE.replace("{which}", "true"), &[&peer, &ts])
                .await?;
        }
    }
    tx.execute(KEPT_CURRENT, &[&peer, &epoch]).await?;
    Ok(())
}

/// COPies `tuples`, made rows of `statement` by `rows`, straight into
/// their table under a savepoint, on the guess that none of them is
/// stored yet (when `odds` says the guess is worth trying), and records
/// the outcome in `odds`; `Ok(false)`, with nothing written, when one of
/// them was there already (a unique violation: for routes, also one
/// announced twice in the batch).
async fn copied_as_new(
    tx: &Transaction<'_>,
    odds: &Odds,
    statement: &'static str,
    tuples: &[u8],
    rows: fn(&[u8], &mut Vec<u8>) -> Result<(), TupleError>,
) -> Result<bool, tokio_postgres::Error> {
    if !odds.worth_trying() {
        return Ok(false);
    }
    let mut out = Vec::with_capacity(tuples.len() + tuples.len() / 4);
    if let Err(e) = rows(tuples, &mut out) {
        // Never expected (the tuples are ours): the statement that
        // copes with stored rows reports it.
        debug!(error = %e, statement, "tuples not copied straight");
        return Ok(false);
    }
    tx.batch_execute("SAVEPOINT fresh").await?;
    let all_new = match copy_in(tx, statement, Bytes::from(out)).await {
        Ok(()) => true,
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT fresh").await?;
            false
        }
        Err(e) => return Err(e),
    };
    // The rest of the batch runs outside the savepoint either way.
    tx.batch_execute("RELEASE SAVEPOINT fresh").await?;
    odds.record(all_new);
    Ok(all_new)
}

/// Route tuples ([`ROUTE_FIELDS`]) as rows of [`RIB_COPY`]
/// ([`RIB_COPY_FIELDS`]): without `seq` and `action` (which must be an
/// announcement), the time as both `first_seen` and `last_updated`.
fn rib_rows(routes: &[u8], out: &mut Vec<u8>) -> Result<(), TupleError> {
    let mut tuples = TupleReader::new(routes);
    while let Some(r) = RouteTuple::next(&mut tuples)? {
        if !r.announces() {
            return Err(TupleError::invalid("a withdrawal among announcements"));
        }
        let mut row = TupleWriter::new(out, RIB_COPY_FIELDS);
        let ts = r.get(ROUTE_TS..ROUTE_TS + 1);
        // peer_id, rd, prefix, path_id, afi, safi, labels; epoch, attrs_id;
        // the time twice
        let fields = r
            .get(ROUTE_PEER_ID..ROUTE_ACTION)
            .iter()
            .chain(r.get(ROUTE_EPOCH..ROUTE_TS))
            .chain(ts)
            .chain(ts);
        for &v in fields {
            row.opt_bytes(v);
        }
    }
    Ok(())
}

/// Attribute set tuples ([`ATTR_FIELDS`]) as rows of [`ATTRS_COPY`], in
/// the order of their ids, with their lists ([`ATTR_LISTS`]) as `text[]`.
fn attr_rows(attrs: &[u8], out: &mut Vec<u8>) -> Result<(), TupleError> {
    let mut sets = Vec::new();
    let mut tuples = TupleReader::new(attrs);
    while let Some(fields) = tuples.next_tuple(ATTR_FIELDS as usize)? {
        let id = fields.clone().int().ok_or(TupleError::missing("id"))?;
        sets.push((id, fields));
    }
    sets.sort_unstable_by_key(|&(id, _)| id);
    for (_, mut fields) in sets {
        let mut row = TupleWriter::new(out, ATTR_FIELDS);
        for i in 0..ATTR_FIELDS as usize {
            let v = fields.raw();
            if ATTR_LISTS.contains(&i) {
                row.text_array(v)
            } else {
                row.opt_bytes(v)
            };
        }
    }
    Ok(())
}

fn system_time(unix_us: i64) -> SystemTime {
    let us = u64::try_from(unix_us).unwrap_or(0);
    UNIX_EPOCH + Duration::from_micros(us)
}

async fn apply_event(
    tx: &Transaction<'_>,
    e: &EventRow<'_>,
    ways: &Ways,
) -> Result<(), tokio_postgres::Error> {
    let ts = system_time(e.ts);
    let peer = e.peer_id.unwrap_or(0);
    match e.kind {
        EventKind::RouterConnected => {
            tx.execute(ROUTER_CONNECTED, &[&e.router_id, &e.router_address, &ts])
                .await?;
        }
        EventKind::Initiation => {
            tx.execute(INITIATION, &[&e.router_id, &ts, &e.a, &e.b])
                .await?;
        }
        EventKind::Termination | EventKind::Disconnect => {
            let name = if e.kind == EventKind::Termination {
                "termination"
            } else {
                "disconnect"
            };
            tx.execute(ROUTER_GONE, &[&e.router_id, &ts, &name, &e.a])
                .await?;
        }
        EventKind::PeerUp | EventKind::PeerSeen => {
            let Some(p) = e.peer else {
                return Ok(());
            };
            let common: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
                &peer,
                &e.router_id,
                &e.router_address,
                &p.peer_type,
                &p.rd,
                &p.address,
                &p.asn,
                &p.bgp_id,
                &p.rib,
                &e.epoch,
            ];
            if e.kind == EventKind::PeerUp {
                let mut params = common.to_vec();
                params.extend([&e.a as &(dyn tokio_postgres::types::ToSql + Sync), &ts]);
                tx.execute(PEER_UP, &params).await?;
            } else {
                let mut params = common.to_vec();
                params.push(&ts);
                tx.execute(PEER_SEEN, &params).await?;
            }
        }
        EventKind::PeerDown => {
            tx.execute(PEER_DOWN, &[&peer, &e.epoch, &ts, &e.a, &e.b])
                .await?;
        }
        EventKind::PeerLost => {
            tx.execute(PEER_LOST, &[&peer, &e.epoch, &ts, &e.a]).await?;
        }
        EventKind::EndOfRib => {
            tx.execute(END_OF_RIB, &[&peer, &ts, &e.a]).await?;
        }
        EventKind::StaleSweep => sweep(tx, peer, e.epoch, ts, ways).await?,
        EventKind::Mirroring => {
            tx.execute(MIRRORING, &[&peer, &ts, &e.a, &e.b]).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attribute set tuple: `id`, a number in every field but the
    /// lists, which `list` writes.
    fn tuple(buf: &mut Vec<u8>, id: i64, list: impl Fn(&mut TupleWriter<'_>)) {
        let mut t = TupleWriter::new(buf, ATTR_FIELDS);
        t.int8(id);
        for i in 1..ATTR_FIELDS as usize {
            if ATTR_LISTS.contains(&i) {
                list(&mut t);
            } else {
                t.int8(i as i64);
            }
        }
    }

    #[test]
    fn attr_rows_go_in_the_order_of_their_ids_with_their_lists_as_arrays() {
        let mut sets = Vec::new();
        tuple(&mut sets, 5, |t| {
            t.opt_text(Some("1:2 3:4"));
        });
        tuple(&mut sets, -3, |t| {
            t.null();
        });
        let mut rows = Vec::new();
        attr_rows(&sets, &mut rows).unwrap();
        let mut expected = Vec::new();
        tuple(&mut expected, -3, |t| {
            t.text_array(None);
        });
        tuple(&mut expected, 5, |t| {
            t.text_array(Some(b"1:2 3:4"));
        });
        assert_eq!(rows, expected);
        assert!(attr_rows(&sets[..sets.len() - 1], &mut rows).is_err());
    }
}
