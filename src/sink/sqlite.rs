//! The embedded default store: one SQLite file (`DATA_DIR/riptide.db`)
//! with the same tables, columns and `routes` view as PostgreSQL, written
//! by a single writer thread that every shard feeds.
//!
//! The writer reads the batches' COPY tuples back ([`super::copy`]) and
//! applies each batch in one transaction, rows in order: history rows,
//! then each route's change to the current RIB (SQLite has no COPY; with
//! prepared statements in one transaction this is its fast path). A Peer
//! Down hides the peer's routes through `flushed_below`, as on
//! PostgreSQL, and deletes them in the same transaction. Batches are
//! recorded by stream and number, so none is applied twice.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::batch::{
    ATTR_FIELDS, Batch, EventKind, EventRow, HISTORY_FIELDS, ROUTE_FIELDS, STAT_FIELDS,
};
use super::copy::{Fields, TupleError, TupleReader};
use crate::metrics::{Metrics, Operation, PeerRoutes};

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "0001_schema",
    include_str!("../../migrations/sqlite/0001_schema.sql"),
)];

const UPSERT_ROUTE: &str = "
INSERT INTO rib AS r (peer_id, rd, prefix, path_id, afi, safi, labels, attrs_id, epoch, first_seen, last_updated)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
ON CONFLICT (peer_id, rd, prefix, path_id) DO UPDATE
   SET afi = excluded.afi, safi = excluded.safi, labels = excluded.labels,
       attrs_id = excluded.attrs_id, epoch = excluded.epoch, last_updated = excluded.last_updated,
       first_seen = CASE WHEN r.epoch < (SELECT flushed_below FROM peers WHERE id = r.peer_id)
                         THEN excluded.first_seen ELSE r.first_seen END
 WHERE r.epoch <= excluded.epoch";

const WITHDRAW_ROUTE: &str = "
DELETE FROM rib WHERE peer_id = ?1 AND rd = ?2 AND prefix = ?3 AND path_id = ?4 AND epoch <= ?5";

const HISTORY: &str = "
INSERT INTO route_history (ts, peer_id, rd, prefix, path_id, afi, safi, labels, action, attrs_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const ATTRS: &str = "INSERT OR IGNORE INTO attribute_sets VALUES
    (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

const STATS: &str = "INSERT INTO stats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Removes what a flush hid and records the flush.
/// Current routes per peer RIB, for the metrics.
const PEER_ROUTES: &str = "
SELECT p.router_address, p.peer_address, p.rib, count(*)
  FROM rib r JOIN peers p ON p.id = r.peer_id AND r.epoch >= p.flushed_below
 GROUP BY p.id";

const FLUSH_HIDDEN: &str = "DELETE FROM rib WHERE peer_id = ?1 AND epoch < ?2";

/// The embedded store's settings.
#[derive(Clone, Debug)]
pub struct SqliteSettings {
    /// The database file.
    pub path: PathBuf,
    /// Days of history and statistics kept (0: all).
    pub retention_days: u32,
    /// How often to count the current routes per peer for the metrics
    /// (`None`: never).
    pub peer_routes_interval: Option<Duration>,
}

/// Counters of the writer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct SqliteCounters {
    /// Batches committed.
    pub batches: u64,
    /// Route rows committed.
    pub routes: u64,
    /// Batches skipped as already applied.
    pub duplicates: u64,
    /// Failed attempts to apply a batch.
    pub failures: u64,
}

/// Errors of the embedded store.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A batch holds a malformed row.
    #[error(transparent)]
    Tuple(#[from] TupleError),
    /// The data directory or thread could not be created.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Opens (creating and migrating) the store, ends what the previous run
/// left up, and starts its writer; returns the queue every shard sends to.
///
/// # Errors
///
/// The file cannot be created or migrated.
pub fn start(
    settings: SqliteSettings,
    queue_depth: usize,
    metrics: Arc<Metrics>,
) -> Result<(mpsc::Sender<Batch>, JoinHandle<SqliteCounters>), SqliteError> {
    let conn = open(&settings.path)?;
    conn.execute_batch(RESTART_FLUSH)?;
    info!(file = %settings.path.display(), "embedded SQLite store (no DATABASE_URL)");
    if let Some(mut m) = metrics.writer(0) {
        m.up = Some(true);
    }
    let (tx, mut rx) = mpsc::channel::<Batch>(queue_depth.max(1));
    let t = std::thread::Builder::new()
        .name("riptide-sqlite".into())
        .spawn(move || {
            let mut conn = conn;
            let mut counters = SqliteCounters::default();
            let mut last_prune = Instant::now();
            prune(&conn, settings.retention_days);
            // Routes changed since the last count: count again when due.
            let mut next_count = Instant::now();
            let mut changed = settings.peer_routes_interval.is_some();
            loop {
                let batch = if changed {
                    match rx.try_recv() {
                        Ok(b) => b,
                        Err(mpsc::error::TryRecvError::Empty) => {
                            if let Some(every) = settings.peer_routes_interval
                                && Instant::now() >= next_count
                            {
                                next_count = Instant::now() + every;
                                changed = false;
                                count_peer_routes(&conn, &metrics);
                            } else {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            continue;
                        }
                        Err(mpsc::error::TryRecvError::Disconnected) => break,
                    }
                } else {
                    match rx.blocking_recv() {
                        Some(b) => b,
                        None => break,
                    }
                };
                changed = settings.peer_routes_interval.is_some();
                let mut wait = Duration::from_millis(100);
                let started = Instant::now();
                loop {
                    match apply(&mut conn, &batch) {
                        Ok(true) => {
                            counters.batches += 1;
                            counters.routes += u64::from(batch.route_count);
                            if let Some(mut m) = metrics.writer(0) {
                                let took = started.elapsed();
                                m.query(Operation::BatchRib, took);
                                m.committed(batch.route_count, took, batch.arrived_us);
                            }
                            break;
                        }
                        Ok(false) => {
                            counters.duplicates += 1;
                            break;
                        }
                        Err(SqliteError::Tuple(e)) => {
                            crate::telemetry::route_error(
                                &e,
                                batch.route_count,
                                "embedded store: malformed batch skipped",
                            );
                            break;
                        }
                        Err(e) => {
                            // Disk full, file locked by another process:
                            // wait and retry; the shards queue meanwhile.
                            counters.failures += 1;
                            warn!(error = %e, "embedded store write failed, retrying");
                            std::thread::sleep(wait);
                            wait = (wait * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                if last_prune.elapsed() >= Duration::from_secs(3600) {
                    last_prune = Instant::now();
                    let started = Instant::now();
                    prune(&conn, settings.retention_days);
                    if let Some(mut m) = metrics.writer(0) {
                        m.query(Operation::Maintenance, started.elapsed());
                    }
                }
            }
            counters
        })?;
    Ok((tx, t))
}

/// Counts the current routes per peer RIB into the metrics.
fn count_peer_routes(conn: &Connection, metrics: &Metrics) {
    let started = Instant::now();
    let rows = conn.prepare_cached(PEER_ROUTES).and_then(|mut st| {
        st.query_map([], |r| {
            Ok(PeerRoutes {
                router: r.get(0)?,
                peer: r.get(1)?,
                rib: r.get(2)?,
                routes: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()
    });
    match rows {
        Ok(rows) => {
            if let Some(mut m) = metrics.writer(0) {
                m.query(Operation::RouteCount, started.elapsed());
            }
            metrics.set_peer_routes(rows);
        }
        Err(e) => warn!(error = %e, "counting the routes per peer failed"),
    }
}

/// Opens the database file with the schema applied.
///
/// # Errors
///
/// The file cannot be opened or a migration fails.
pub fn open(path: &Path) -> Result<Connection, SqliteError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut conn = Connection::open(path)?;
    // WAL: readers (operators' queries) do not block the writer.
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 5000;
         CREATE TABLE IF NOT EXISTS riptide_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
    )?;
    for (version, name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done = tx
            .query_row(
                "SELECT 1 FROM riptide_migrations WHERE version = ?1",
                [version],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO riptide_migrations VALUES (?1, ?2, datetime('now'))",
                params![version, name],
            )?;
            info!(migration = name, "migration applied");
        }
        tx.commit()?;
    }
    Ok(conn)
}

const RESTART_FLUSH: &str = "
BEGIN;
INSERT INTO peer_events
SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), id, 'down', epoch, 'collector restart', NULL
  FROM peers WHERE state = 'up';
UPDATE peers SET state = 'down', last_down = strftime('%Y-%m-%d %H:%M:%f', 'now'),
                 last_down_reason = 'collector restart', flushed_below = max(flushed_below, epoch + 1)
 WHERE state = 'up';
DELETE FROM rib WHERE epoch < (SELECT flushed_below FROM peers WHERE peers.id = rib.peer_id);
INSERT INTO router_events
SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), id, 'disconnect', 'collector restart'
  FROM routers WHERE connected;
UPDATE routers SET connected = 0 WHERE connected;
COMMIT;";

fn prune(conn: &Connection, days: u32) {
    if days == 0 {
        return;
    }
    let cutoff = format!("-{days} days");
    for table in ["route_history", "stats", "peer_events", "router_events"] {
        let sql = format!("DELETE FROM {table} WHERE ts < datetime('now', ?1)");
        if let Err(e) = conn.execute(&sql, [&cutoff]) {
            warn!(table, error = %e, "pruning old rows failed");
        }
    }
    let _ = conn.execute(
        "DELETE FROM applied_batches WHERE applied < datetime('now', '-7 days')",
        [],
    );
}

/// Applies one batch in one transaction; `Ok(false)` when it was applied
/// before.
fn apply(conn: &mut Connection, batch: &Batch) -> Result<bool, SqliteError> {
    let tx = conn.transaction()?;
    let fresh = tx.execute(
        "INSERT OR IGNORE INTO applied_batches VALUES (?1, ?2, 0, datetime('now'))",
        params![&*batch.stream, i64::try_from(batch.seq).unwrap_or(i64::MAX)],
    )?;
    if fresh == 0 {
        return Ok(false);
    }
    let mut text = Text::default();
    apply_attrs(&tx, &batch.attrs, &mut text)?;
    apply_routes(&tx, &batch.routes, &mut text)?;
    apply_history(&tx, &batch.history, &mut text)?;
    apply_stats(&tx, &batch.stats, &mut text)?;
    let mut events = TupleReader::new(&batch.events);
    while let Some(e) = EventRow::next(&mut events)? {
        apply_event(&tx, &e)?;
    }
    tx.commit()?;
    Ok(true)
}

/// Reusable buffers for the text forms of addresses and times.
#[derive(Default)]
struct Text {
    a: String,
    b: String,
    c: String,
}

fn apply_attrs(tx: &Transaction<'_>, section: &[u8], t: &mut Text) -> Result<(), SqliteError> {
    let mut stmt = tx.prepare_cached(ATTRS)?;
    let mut r = TupleReader::new(section);
    while let Some(mut f) = r.next_tuple(ATTR_FIELDS as usize)? {
        let id = f.int();
        let (origin, as_path, origin_as) = (f.text(), f.text(), f.int());
        let next_hop = host(&mut f, &mut t.a);
        let (med, local_pref, atomic) = (f.int(), f.int(), f.int());
        let (aggregator, communities, ext, large) = (f.text(), f.text(), f.text(), f.text());
        let originator = host(&mut f, &mut t.b);
        let (cluster, otc, other) = (f.text(), f.int(), f.raw());
        let first_seen = time(f.timestamptz(), &mut t.c);
        stmt.execute(params![
            id,
            origin,
            as_path,
            origin_as,
            next_hop,
            med,
            local_pref,
            atomic,
            aggregator,
            communities,
            ext,
            large,
            originator,
            cluster,
            otc,
            other,
            first_seen
        ])?;
    }
    Ok(())
}

fn apply_routes(tx: &Transaction<'_>, section: &[u8], t: &mut Text) -> Result<(), SqliteError> {
    let mut upsert = tx.prepare_cached(UPSERT_ROUTE)?;
    let mut withdraw = tx.prepare_cached(WITHDRAW_ROUTE)?;
    let mut r = TupleReader::new(section);
    while let Some(mut f) = r.next_tuple(ROUTE_FIELDS as usize)? {
        let _seq = f.int();
        let peer = f.int();
        let rd = f.text().unwrap_or_default();
        prefix(&mut f, &mut t.a);
        let (path_id, afi, safi, labels) = (f.int(), f.int(), f.int(), f.text());
        let announce = f.int() == Some(1);
        let (epoch, attrs) = (f.int(), f.int());
        let ts = time(f.timestamptz(), &mut t.c);
        if announce {
            upsert.execute(params![
                peer, rd, t.a, path_id, afi, safi, labels, attrs, epoch, ts
            ])?;
        } else {
            withdraw.execute(params![peer, rd, t.a, path_id, epoch])?;
        }
    }
    Ok(())
}

fn apply_history(tx: &Transaction<'_>, section: &[u8], t: &mut Text) -> Result<(), SqliteError> {
    let mut stmt = tx.prepare_cached(HISTORY)?;
    let mut r = TupleReader::new(section);
    while let Some(mut f) = r.next_tuple(HISTORY_FIELDS as usize)? {
        let ts = time(f.timestamptz(), &mut t.c);
        let (peer, rd) = (f.int(), f.text().unwrap_or_default());
        prefix(&mut f, &mut t.a);
        stmt.execute(params![
            ts,
            peer,
            rd,
            t.a,
            f.int(),
            f.int(),
            f.int(),
            f.text(),
            f.text(),
            f.int()
        ])?;
    }
    Ok(())
}

fn apply_stats(tx: &Transaction<'_>, section: &[u8], t: &mut Text) -> Result<(), SqliteError> {
    let mut stmt = tx.prepare_cached(STATS)?;
    let mut r = TupleReader::new(section);
    while let Some(mut f) = r.next_tuple(STAT_FIELDS as usize)? {
        let ts = time(f.timestamptz(), &mut t.c);
        stmt.execute(params![
            ts,
            f.int(),
            f.int(),
            f.int(),
            f.text(),
            f.int(),
            f.int(),
            f.int()
        ])?;
    }
    Ok(())
}

fn apply_event(tx: &Transaction<'_>, e: &EventRow<'_>) -> Result<(), SqliteError> {
    let mut ts = String::new();
    let ts = time(Some(e.ts), &mut ts).unwrap_or_default();
    let router = e.router_address.to_string();
    let peer = e.peer_id.unwrap_or(0);
    match e.kind {
        EventKind::RouterConnected => {
            tx.execute(
                "INSERT INTO routers (id, address, first_seen, last_seen, connected)
                 VALUES (?1, ?2, ?3, ?3, 1)
                 ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, connected = 1",
                params![e.router_id, router, ts],
            )?;
            router_event(tx, ts, e.router_id, "connect", None)?;
        }
        EventKind::Initiation => {
            tx.execute(
                "UPDATE routers SET sys_name = ?2, sys_descr = ?3, last_seen = ?4 WHERE id = ?1",
                params![e.router_id, e.a, e.b, ts],
            )?;
            router_event(tx, ts, e.router_id, "initiation", e.a)?;
        }
        EventKind::Termination | EventKind::Disconnect => {
            tx.execute(
                "UPDATE routers SET connected = 0, last_seen = ?2 WHERE id = ?1",
                params![e.router_id, ts],
            )?;
            let name = if e.kind == EventKind::Termination {
                "termination"
            } else {
                "disconnect"
            };
            router_event(tx, ts, e.router_id, name, e.a)?;
        }
        EventKind::PeerUp | EventKind::PeerSeen => {
            let Some(p) = e.peer else {
                return Ok(());
            };
            let up = e.kind == EventKind::PeerUp;
            let caps = if up { e.a } else { None };
            tx.execute(
                "INSERT INTO peers (id, router_id, router_address, peer_type, rd, peer_address,
                                    peer_as, bgp_id, rib, state, epoch, capabilities, first_seen, last_up)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'up', ?10, ?11, ?12, ?12)
                 ON CONFLICT (id) DO UPDATE
                    SET peer_as = excluded.peer_as, bgp_id = excluded.bgp_id, state = 'up',
                        epoch = max(peers.epoch, excluded.epoch),
                        capabilities = coalesce(excluded.capabilities, peers.capabilities),
                        last_up = excluded.last_up
                  WHERE ?13 OR peers.epoch < excluded.epoch",
                params![
                    peer,
                    e.router_id,
                    router,
                    p.peer_type,
                    p.rd,
                    p.address.to_string(),
                    p.asn,
                    p.bgp_id.to_string(),
                    p.rib,
                    e.epoch,
                    caps,
                    ts,
                    up
                ],
            )?;
            if up {
                peer_event(tx, ts, peer, "up", e.epoch, None, caps)?;
            }
        }
        // A session lost keeps nothing here: re-dumps rewrite their routes.
        EventKind::PeerDown | EventKind::PeerLost => {
            let n = tx.execute(
                "UPDATE peers SET state = 'down', last_down = ?3, last_down_reason = ?4,
                                  flushed_below = max(flushed_below, ?2 + 1)
                  WHERE id = ?1 AND epoch <= ?2",
                params![peer, e.epoch, ts, e.a],
            )?;
            if n > 0 {
                peer_event(tx, ts, peer, "down", e.epoch, e.a, e.b)?;
                let gone = tx.execute(FLUSH_HIDDEN, params![peer, e.epoch.saturating_add(1)])?;
                let detail = gone.to_string();
                peer_event(tx, ts, peer, "flush", e.epoch, None, Some(&detail))?;
            }
        }
        EventKind::EndOfRib => {
            tx.execute(
                "INSERT INTO peer_events SELECT ?2, id, 'end-of-rib', epoch, ?3, NULL
                   FROM peers WHERE id = ?1",
                params![peer, ts, e.a],
            )?;
        }
        EventKind::StaleSweep => {
            let below: Option<i64> = tx
                .query_row(
                    "SELECT flushed_below FROM peers WHERE id = ?1",
                    [peer],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(below) = below else {
                return Ok(());
            };
            tx.execute(
                "INSERT INTO route_history
                 SELECT ?4, peer_id, rd, prefix, path_id, afi, safi, labels, 'stale', NULL
                   FROM rib WHERE peer_id = ?1 AND epoch >= ?2 AND epoch < ?3",
                params![peer, below, e.epoch, ts],
            )?;
            let n = tx.execute(
                "DELETE FROM rib WHERE peer_id = ?1 AND epoch >= ?2 AND epoch < ?3",
                params![peer, below, e.epoch],
            )?;
            let detail = n.to_string();
            peer_event(tx, ts, peer, "stale-sweep", e.epoch, None, Some(&detail))?;
        }
        EventKind::Mirroring => {
            peer_event(tx, ts, peer, "mirroring", 0, e.a, e.b)?;
        }
    }
    Ok(())
}

fn router_event(
    tx: &Transaction<'_>,
    ts: &str,
    router: i64,
    event: &str,
    detail: Option<&str>,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO router_events VALUES (?1, ?2, ?3, ?4)",
        params![ts, router, event, detail],
    )
}

fn peer_event(
    tx: &Transaction<'_>,
    ts: &str,
    peer: i64,
    event: &str,
    epoch: i64,
    reason: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO peer_events VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ts, peer, event, epoch, reason, detail],
    )
}

/// A `cidr` field as text (`192.0.2.0/24`), empty for NULL.
fn prefix(f: &mut Fields<'_>, out: &mut String) {
    out.clear();
    if let Some((addr, bits)) = f.inet() {
        let _ = write!(out, "{addr}/{bits}");
    }
}

/// An `inet` field as text (`192.0.2.1`), or `None`.
fn host<'b>(f: &mut Fields<'_>, out: &'b mut String) -> Option<&'b str> {
    let (addr, _): (IpAddr, u8) = f.inet()?;
    out.clear();
    let _ = write!(out, "{addr}");
    Some(out)
}

/// Microseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS.ffffff`
/// (UTC), the text form SQLite's date functions compare with.
fn time(unix_us: Option<i64>, out: &mut String) -> Option<&str> {
    out.clear();
    let frac = crate::clock::write_utc(out, unix_us?).ok()?;
    let _ = write!(out, ".{frac:06}");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_sqlite_text_form() {
        let mut s = String::new();
        assert_eq!(time(Some(0), &mut s), Some("1970-01-01 00:00:00.000000"));
        // 2024-02-29 12:34:56.789 UTC
        assert_eq!(
            time(Some(1_709_210_096_789_000), &mut s),
            Some("2024-02-29 12:34:56.789000")
        );
        assert_eq!(time(None, &mut s), None);
    }
}
