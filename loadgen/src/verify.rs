//! `--verify`: waits until the collector's store holds exactly the
//! current RIB the routers sent, and says how it differs when it does not.
//!
//! The store is PostgreSQL (`postgres://...`) or Riptide's embedded SQLite
//! file (a path). Convergence is first watched through the route counts
//! per router, peer and RIB (cheap); once they match, every stored route
//! is compared with the expected ones.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::pin::pin;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::TryStreamExt as _;

use crate::router::Expected;

/// (router, peer, RIB) as the store prints them.
type Key = (String, String, String);

/// The routes expected in one (router, peer, RIB): (prefix, path id), each
/// numbered from 0.
type Routes<'a> = HashMap<(&'a str, u32), usize>;

/// How the store compares with what was sent.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// From the start of the check until the store matched, or `None`.
    pub(crate) converged_after: Option<Duration>,
    /// Routes expected.
    pub(crate) expected: u64,
    /// A summary of the differences (empty when exact).
    pub(crate) diff: String,
}

/// Polls `store` until it holds exactly `expected`, or `timeout` (it
/// waits for a store it cannot open yet within that time too): first
/// until every router's marker statistic (`nonce`) is stored (so all they
/// sent before it is), then until the route counts match, then route by
/// route (again until `timeout`, as the two parts of a batch commit
/// apart).
///
/// # Errors
///
/// The store cannot be opened or queried.
pub(crate) fn verify(
    store: &str,
    expected: &[Expected],
    nonce: u32,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    // The database may be away for now (restarting): wait for it.
    let db = loop {
        match Store::open(store) {
            Ok(db) => break db,
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    };
    let mut want: BTreeMap<Key, Routes<'_>> = BTreeMap::new();
    for e in expected {
        let routes = want
            .entry((
                e.router.to_string(),
                e.peer.to_string(),
                e.rib.name().to_owned(),
            ))
            .or_default();
        for p in &e.prefixes {
            let n = routes.len();
            routes.entry((p.as_str(), e.path_id)).or_insert(n);
        }
    }
    let total: u64 = want.values().map(|s| s.len() as u64).sum();
    let want_counts: BTreeMap<&Key, u64> = want.iter().map(|(k, s)| (k, s.len() as u64)).collect();
    let routers: HashSet<&str> = want.keys().map(|k| k.0.as_str()).collect();
    while db.markers(nonce)? < routers.len() as u64 && start.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(100));
    }
    loop {
        // Each look at the store costs it a scan of the RIB: look at most
        // a fifth of the time.
        let looked = Instant::now();
        let counts = db.counts()?;
        let ours: BTreeMap<&Key, u64> = counts
            .iter()
            .filter(|(k, _)| routers.contains(k.0.as_str()))
            .map(|(k, n)| (k, *n))
            .collect();
        if ours == want_counts {
            let diff = compare(&db, &want, &routers)?;
            if diff.is_empty() || start.elapsed() >= timeout {
                return Ok(Outcome {
                    converged_after: diff.is_empty().then(|| start.elapsed()),
                    expected: total,
                    diff,
                });
            }
        } else if start.elapsed() >= timeout {
            return Ok(Outcome {
                converged_after: None,
                expected: total,
                diff: compare(&db, &want, &routers)?,
            });
        }
        std::thread::sleep((looked.elapsed() * 4).max(Duration::from_millis(250)));
    }
}

/// Every stored route of `routers` against `want`: the differences, as
/// lines (empty when exact). The store's routes are matched as they are
/// read, so memory holds the expected routes and the differences, never
/// the store's RIB (tens of millions of rows for full tables).
fn compare(
    db: &Store,
    want: &BTreeMap<Key, Routes<'_>>,
    routers: &HashSet<&str>,
) -> anyhow::Result<String> {
    // The expected routes of each (router, peer, RIB), found by borrowed
    // text so that a stored row needs no allocation, and which of them the
    // store holds.
    let entries: Vec<(&Key, &Routes<'_>)> = want.iter().collect();
    let index: HashMap<(&str, &str, &str), usize> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _))| ((k.0.as_str(), k.1.as_str(), k.2.as_str()), i))
        .collect();
    let mut seen: Vec<Vec<bool>> = entries.iter().map(|(_, r)| vec![false; r.len()]).collect();
    let mut extra: BTreeMap<Key, Differences> = BTreeMap::new();
    let mut twice: BTreeMap<Key, Differences> = BTreeMap::new();
    let key =
        |router: &str, peer: &str, rib: &str| (router.to_owned(), peer.to_owned(), rib.to_owned());
    db.each_route(|router, peer, rib, prefix, path_id| {
        if !routers.contains(router) {
            return;
        }
        let hit = index.get(&(router, peer, rib)).and_then(|&i| {
            let n = *entries[i].1.get(&(prefix, path_id))?;
            Some((i, n))
        });
        let differs = match hit {
            Some((i, n)) if !seen[i][n] => {
                seen[i][n] = true;
                return;
            }
            Some(_) => twice.entry(key(router, peer, rib)).or_default(),
            None => extra.entry(key(router, peer, rib)).or_default(),
        };
        differs.add(format!("{prefix} path {path_id}"));
    })?;
    let mut missing: BTreeMap<Key, Differences> = BTreeMap::new();
    for ((key, routes), seen) in entries.iter().zip(&seen) {
        let mut gone = Differences::default();
        for ((p, id), n) in routes.iter() {
            if !seen[*n] {
                gone.add(format!("{p} path {id}"));
            }
        }
        if gone.count > 0 {
            missing.insert((*key).clone(), gone);
        }
    }
    let mut diff = String::new();
    for (what, map) in [
        ("missing", &missing),
        ("unexpected", &extra),
        ("stored twice", &twice),
    ] {
        for ((router, peer, rib), d) in map {
            let sample: Vec<&str> = d.sample.iter().map(String::as_str).collect();
            let _ = writeln!(
                diff,
                "{what}: router {router} peer {peer} {rib}: {} routes, e.g. {}",
                d.count,
                sample.join(", ")
            );
        }
    }
    Ok(diff)
}

/// Routes of one (router, peer, RIB) that differ in one way: how many,
/// and the first few in text order (the others are only counted, so a
/// store that differs in millions of routes costs no memory for them).
#[derive(Debug, Default)]
struct Differences {
    count: u64,
    sample: BTreeSet<String>,
}

impl Differences {
    /// Routes a difference line shows.
    const SAMPLE: usize = 5;

    fn add(&mut self, route: String) {
        self.count += 1;
        self.sample.insert(route);
        if self.sample.len() > Self::SAMPLE {
            self.sample.pop_last();
        }
    }
}

/// The collector's store, read-only.
enum Store {
    Postgres {
        client: tokio_postgres::Client,
        rt: tokio::runtime::Runtime,
    },
    Sqlite(rusqlite::Connection),
}

const MARKERS: &str =
    "SELECT count(DISTINCT router_id) FROM stats WHERE stat_type = 0 AND value = $1";
const MARKERS_LITE: &str =
    "SELECT count(DISTINCT router_id) FROM stats WHERE stat_type = 0 AND value = ?1";
/// Counts per peer RIB from the RIB and peers only (the `routes` view
/// also joins the attribute sets, which a count does not need).
const PG_COUNTS: &str = "SELECT host(p.router_address), host(p.peer_address), p.rib, count(*)
  FROM rib r JOIN peers p ON p.id = r.peer_id AND r.epoch >= p.flushed_below
 GROUP BY p.id, p.router_address, p.peer_address, p.rib";
const PG_ROUTES: &str =
    "SELECT host(router_address), host(peer_address), rib, prefix::text, path_id FROM routes";
const LITE_COUNTS: &str = "SELECT p.router_address, p.peer_address, p.rib, count(*)
  FROM rib r JOIN peers p ON p.id = r.peer_id AND r.epoch >= p.flushed_below
 GROUP BY p.id";
const LITE_ROUTES: &str = "SELECT router_address, peer_address, rib, prefix, path_id FROM routes";

impl Store {
    fn open(store: &str) -> anyhow::Result<Self> {
        if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let client = rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(store, tokio_postgres::NoTls)
                    .await
                    .context("connecting to the PostgreSQL store")?;
                tokio::spawn(conn);
                anyhow::Ok(client)
            })?;
            Ok(Self::Postgres { client, rt })
        } else {
            let conn = rusqlite::Connection::open_with_flags(
                store,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .with_context(|| format!("opening the SQLite store {store}"))?;
            conn.busy_timeout(Duration::from_secs(10))?;
            Ok(Self::Sqlite(conn))
        }
    }

    /// Routers whose marker statistic `nonce` is stored.
    fn markers(&self, nonce: u32) -> anyhow::Result<u64> {
        let n: i64 = match self {
            Self::Postgres { client, rt } => rt
                .block_on(client.query_one(MARKERS, &[&i64::from(nonce)]))?
                .get(0),
            Self::Sqlite(c) => c.query_row(MARKERS_LITE, [i64::from(nonce)], |r| r.get(0))?,
        };
        Ok(n.unsigned_abs())
    }

    fn counts(&self) -> anyhow::Result<Vec<(Key, u64)>> {
        match self {
            Self::Postgres { client, rt } => {
                let rows = rt.block_on(client.query(PG_COUNTS, &[]))?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let n: i64 = r.get(3);
                        ((r.get(0), r.get(1), r.get(2)), n.unsigned_abs())
                    })
                    .collect())
            }
            Self::Sqlite(c) => {
                let mut st = c.prepare(LITE_COUNTS)?;
                let rows = st.query_map([], |r| {
                    let n: i64 = r.get(3)?;
                    Ok(((r.get(0)?, r.get(1)?, r.get(2)?), n.unsigned_abs()))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            }
        }
    }

    /// Calls `f` with every stored route: router, peer, RIB, prefix, path
    /// id, one row at a time.
    fn each_route(&self, mut f: impl FnMut(&str, &str, &str, &str, u32)) -> anyhow::Result<()> {
        let path_id = |id: i64| u32::try_from(id).unwrap_or(u32::MAX);
        match self {
            Self::Postgres { client, rt } => rt.block_on(async {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 0] = [];
                let rows = client.query_raw(PG_ROUTES, params).await?;
                let mut rows = pin!(rows);
                while let Some(r) = rows.try_next().await? {
                    f(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        path_id(r.try_get(4)?),
                    );
                }
                Ok(())
            }),
            Self::Sqlite(c) => {
                let mut st = c.prepare(LITE_ROUTES)?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let text = |i| {
                        let v = r.get_ref(i)?;
                        v.as_str()
                            .with_context(|| format!("column {i} of routes: {:?}", v.data_type()))
                    };
                    f(text(0)?, text(1)?, text(2)?, text(3)?, path_id(r.get(4)?));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite store whose `routes` has the columns [`LITE_ROUTES`]
    /// reads, holding `rows`.
    fn store(rows: &[(&str, &str, &str, String, i64)]) -> Store {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE routes (router_address, peer_address, rib, prefix, path_id)")
            .unwrap();
        for r in rows {
            c.execute(
                "INSERT INTO routes VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![r.0, r.1, r.2, r.3, r.4],
            )
            .unwrap();
        }
        Store::Sqlite(c)
    }

    #[test]
    fn compare_names_missing_unexpected_and_doubled_routes_of_the_checked_routers() {
        let key = |peer: &str| {
            (
                "192.0.2.1".to_owned(),
                peer.to_owned(),
                "adj-rib-in-pre".to_owned(),
            )
        };
        let mut want: BTreeMap<Key, Routes<'_>> = BTreeMap::new();
        for (i, p) in ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"]
            .into_iter()
            .enumerate()
        {
            want.entry(key("10.0.0.1")).or_default().insert((p, 0), i);
        }
        want.entry(key("10.0.0.2"))
            .or_default()
            .insert(("10.9.0.0/16", 7), 0);
        let routers: HashSet<&str> = ["192.0.2.1"].into();
        let pre = "adj-rib-in-pre";
        let mut rows = vec![
            ("192.0.2.1", "10.0.0.1", pre, "10.0.0.0/8".to_owned(), 0),
            ("192.0.2.1", "10.0.0.1", pre, "10.2.0.0/16".to_owned(), 0),
            // Another path id, another router.
            ("192.0.2.1", "10.0.0.1", pre, "10.2.0.0/16".to_owned(), 1),
            ("198.51.100.1", "10.0.0.1", pre, "10.4.0.0/16".to_owned(), 0),
            // A route stored twice (this store has no primary key).
            ("192.0.2.1", "10.0.0.2", pre, "10.9.0.0/16".to_owned(), 7),
            ("192.0.2.1", "10.0.0.2", pre, "10.9.0.0/16".to_owned(), 7),
        ];
        // Seven routes of another peer: counted, the first five shown.
        rows.extend(
            (0..7)
                .rev()
                .map(|i| ("192.0.2.1", "10.0.0.3", pre, format!("10.3.{i}.0/24"), 0)),
        );
        let db = store(&rows);
        assert_eq!(
            compare(&db, &want, &routers).unwrap(),
            "missing: router 192.0.2.1 peer 10.0.0.1 adj-rib-in-pre: 1 routes, e.g. 10.1.0.0/16 path 0\n\
             unexpected: router 192.0.2.1 peer 10.0.0.1 adj-rib-in-pre: 1 routes, e.g. 10.2.0.0/16 path 1\n\
             unexpected: router 192.0.2.1 peer 10.0.0.3 adj-rib-in-pre: 7 routes, e.g. 10.3.0.0/24 path 0, \
             10.3.1.0/24 path 0, 10.3.2.0/24 path 0, 10.3.3.0/24 path 0, 10.3.4.0/24 path 0\n\
             stored twice: router 192.0.2.1 peer 10.0.0.2 adj-rib-in-pre: 1 routes, e.g. 10.9.0.0/16 path 7\n"
        );
        // Exactly what was sent: no difference.
        let exact: Vec<_> = ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"]
            .iter()
            .map(|p| ("192.0.2.1", "10.0.0.1", pre, (*p).to_owned(), 0))
            .chain([("192.0.2.1", "10.0.0.2", pre, "10.9.0.0/16".to_owned(), 7)])
            .collect();
        assert_eq!(compare(&store(&exact), &want, &routers).unwrap(), "");
    }
}
