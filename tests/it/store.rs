//! The collector with its stores, over real TCP, against a real PostgreSQL
//! (the one `tests/run` starts; each test in its own schema) and the
//! embedded SQLite file. After each flow the current RIB in the database
//! must equal, row for row, the RIB a model computes from the BMP stream
//! sent, and history must hold every announcement and withdrawal once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use clap::Parser;
use riptide::config::Config;
use riptide::metrics::Metrics;
use riptide::shard::{Collector, start};
use riptide::sink::Store;
use riptide::sink::store::StoreSink;
use riptide::synth::{self, FullTable};
use riptide::wire::bgp::nlri::{Labels, Nlri, Prefix};
use riptide::wire::bgp::update::Action;
use riptide::wire::bmp::BmpMessage;
use riptide::wire::bmp::header::PeerType;
use riptide::wire::bmp::peer_down::PeerDownReason;
use riptide::wire::bmp::route_monitoring::RouteMonitoring;
use riptide::wire::encode::{self, UpdateBuilder};
use riptide::wire::frame::{DEFAULT_MAX_MESSAGE_LEN, Frames, MessageType};

use super::netfuzz::{scrape, total};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

/// One current route as the tests compare it: peer (distinguisher and
/// address), RIB, prefix (with its RD for VPN routes), path id, next hop,
/// MED, LOCAL_PREF.
type Row = (String, String, String, String, String, String, String);

/// Peer address, RIB, prefix, path id.
type RouteKey = (String, String, String, String);

/// The current RIB as [`Row`]s; `{host}` is how the store prints an
/// address without its length.
const RIB_QUERY: &str = "SELECT peer_rd || ' ' || {host}(peer_address), rib,
        coalesce(rd || ' ', '') || {text}(prefix), path_id, {host}(next_hop), med, local_pref
   FROM routes";

// ---------------------------------------------------------------- databases

/// A store to query.
pub(crate) trait Db {
    /// Rows of a query, every value as text ('' for NULL).
    fn rows(&self, sql: &str) -> Vec<Vec<String>>;

    /// The collector's store arguments.
    fn args(&self) -> Vec<String>;

    /// Whether this is PostgreSQL.
    fn is_postgres(&self) -> bool;

    fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].parse().expect("a count")
    }

    /// `sql` with `{host}` and `{text}` filled in for this store.
    fn dialect(&self, sql: &str) -> String {
        let (host, text) = if self.is_postgres() {
            ("host", "text")
        } else {
            ("", "")
        };
        sql.replace("{host}", host).replace("{text}", text)
    }

    fn rib(&self) -> BTreeSet<Row> {
        self.rows(&self.dialect(RIB_QUERY))
            .into_iter()
            .map(|r| {
                let mut r = r.into_iter();
                let mut n = || r.next().unwrap();
                (n(), n(), n(), n(), n(), n(), n())
            })
            .collect()
    }
}

/// A schema of its own in the test PostgreSQL.
pub(crate) struct Pg {
    base: String,
    schema: String,
}

fn base_url() -> String {
    std::env::var("RIPTIDE_TEST_DATABASE_URL").expect(
        "RIPTIDE_TEST_DATABASE_URL is not set: run the tests with tests/run, which sets up \
         PostgreSQL (database tests are never skipped)",
    )
}

pub(crate) fn pg_rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("test database reachable");
        tokio::spawn(conn);
        let mut out = Vec::new();
        for m in client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                out.push(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("").to_owned())
                        .collect(),
                );
            }
        }
        out
    })
}

impl Pg {
    pub(crate) fn new(name: &str) -> Self {
        let schema = format!("it_{name}");
        let base = base_url();
        pg_rows(
            &base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        );
        Self { base, schema }
    }

    /// The URL that puts the schema first on the search path and names
    /// the connections after it.
    pub(crate) fn url_via(&self, host_port: Option<SocketAddr>) -> String {
        let mut base = self.base.clone();
        if let Some(hp) = host_port {
            // postgres://user:pass@HOST:PORT/db
            let at = base.find('@').unwrap() + 1;
            let slash = base[at..].find('/').unwrap() + at;
            base.replace_range(at..slash, &hp.to_string());
        }
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}application_name={}&options=-c%20search_path%3D{}",
            self.schema, self.schema
        )
    }

    fn kill_connections(&self) -> i64 {
        pg_rows(
            &self.base,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{}'",
                self.schema
            ),
        )[0][0]
            .parse()
            .unwrap()
    }
}

impl Db for Pg {
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        pg_rows(&self.url_via(None), sql)
    }

    /// The database, and a data directory (spill files) of the test's
    /// own: a spill left by another test must not be replayed into this
    /// one's schema.
    fn args(&self) -> Vec<String> {
        let data =
            std::env::temp_dir().join(format!("riptide-{}-{}", self.schema, std::process::id()));
        vec![
            "--database-url".into(),
            self.url_via(None),
            "--data-dir".into(),
            data.display().to_string(),
        ]
    }

    fn is_postgres(&self) -> bool {
        true
    }
}

/// A data directory of its own with the embedded store.
pub(crate) struct Lite {
    pub(crate) dir: PathBuf,
}

impl Lite {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("riptide-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self { dir }
    }
}

impl Db for Lite {
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let c = rusqlite::Connection::open(self.dir.join("riptide.db")).unwrap();
        let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = st.column_count();
        st.query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                        rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--store".into(),
            "sqlite".into(),
            "--data-dir".into(),
            self.dir.display().to_string(),
        ]
    }

    fn is_postgres(&self) -> bool {
        false
    }
}

impl Drop for Lite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------- collector

struct Running {
    collector: Collector<StoreSink>,
    store: Store,
    metrics: Arc<Metrics>,
}

fn run(db: &dyn Db, extra: &[&str]) -> Running {
    let mut args: Vec<String> = [
        "riptide",
        "--listen",
        "127.0.0.1:0",
        "--worker-threads",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !extra.contains(&"--database-url") {
        args.extend(db.args());
    }
    args.extend(["--batch-timeout-seconds".into(), "0.2".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let config = Args::try_parse_from(args)
        .expect("valid test config")
        .config;
    let metrics = Metrics::for_config(&config);
    let store = Store::open(&config, &metrics).expect("store opens");
    let collector =
        start(Arc::new(config), metrics.clone(), store.sinks()).expect("collector starts");
    Running {
        collector,
        store,
        metrics,
    }
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.collector.local_addr()
    }

    /// Batches whose RIB part went `operation`'s way ("batch_rib": merged
    /// through the staging table, "batch_rib_copy": copied straight,
    /// "batch_rib_redump": a re-dump compared by the writer), as the
    /// metrics count them.
    fn rib_batches(&self, operation: &str) -> u64 {
        self.metric(
            "database_queries_total",
            &format!("operation=\"{operation}\""),
        ) as u64
    }

    /// The sum of the samples of metric `name` whose labels contain
    /// `filter`, as a scrape would show them now.
    fn metric(&self, name: &str, filter: &str) -> f64 {
        total(&riptide::metrics::render(&self.metrics), name, filter)
    }

    fn stop(self) {
        self.collector.shutdown_handle().shutdown();
        for r in self.collector.join().expect("shards stop") {
            r.sink.finish();
        }
        self.store.close();
    }
}

/// Polls until `f` holds, for at most 60 seconds.
pub(crate) fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        sleep(Duration::from_millis(100));
    }
}

/// Waits until the store's current RIB is `expected`, and says how it
/// differs if it never gets there.
fn converges(db: &dyn Db, expected: &BTreeSet<Row>) {
    let start = Instant::now();
    loop {
        let got = db.rib();
        if &got == expected {
            return;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let missing: Vec<_> = expected.difference(&got).take(5).collect();
            let extra: Vec<_> = got.difference(expected).take(5).collect();
            panic!(
                "RIB differs: {} rows expected, {} stored; missing {missing:?}, extra {extra:?}",
                expected.len(),
                got.len()
            );
        }
        sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------- the model

/// The RIB a stream leaves, computed from the BMP messages with the codec
/// (checked against pmacct's decoding elsewhere): announcements and
/// withdrawals in order, Peer Down ends a peer.
#[derive(Default)]
struct Model {
    contexts: std::collections::HashMap<String, [riptide::wire::bgp::session::SessionContext; 5]>,
    /// (peer, RIB, prefix, path id) to (next hop, MED, LOCAL_PREF).
    routes: BTreeMap<RouteKey, (String, String, String)>,
    /// Peers whose last word was Peer Down.
    down: BTreeSet<String>,
    rib: BTreeSet<Row>,
    announced: i64,
    withdrawn: i64,
}

impl Model {
    /// The first `n` current IPv4 prefixes of `peer` (as [`Row`] names it).
    fn v4_prefixes(&self, peer: &str, n: usize) -> Vec<String> {
        self.rib
            .iter()
            .filter(|r| r.0 == peer && r.2.contains('.'))
            .take(n)
            .map(|r| r.2.clone())
            .collect()
    }

    fn feed(&mut self, stream: &[u8]) {
        for f in Frames::new(stream, DEFAULT_MAX_MESSAGE_LEN) {
            let f = f.unwrap();
            if f.msg_type == MessageType::RouteMonitoring {
                let rm = RouteMonitoring::parse(f.body).unwrap();
                let peer = peer_label(&rm.peer);
                let rib = rm.peer.rib_kind();
                let ctx = self
                    .contexts
                    .get(&peer)
                    .map(|c| c[usize::from(rib.code())])
                    .unwrap_or(riptide::wire::bgp::session::SessionContext::FOUR_OCTET);
                let u = rm.update(&ctx).unwrap();
                for r in u.routes() {
                    let key = (
                        peer.clone(),
                        rib.name().to_owned(),
                        match r.nlri.rd {
                            Some(rd) => format!("{rd} {}", r.nlri.prefix),
                            None => r.nlri.prefix.to_string(),
                        },
                        r.nlri.path_id.unwrap_or(0).to_string(),
                    );
                    match r.action {
                        Action::Announce => {
                            self.announced += 1;
                            let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
                            self.routes.insert(
                                key,
                                (
                                    r.next_hop.map(|n| n.to_string()).unwrap_or_default(),
                                    opt(u.med()),
                                    opt(u.local_pref()),
                                ),
                            );
                        }
                        Action::Withdraw => {
                            self.withdrawn += 1;
                            self.routes.remove(&key);
                        }
                    }
                }
                continue;
            }
            match BmpMessage::parse(f).unwrap() {
                BmpMessage::PeerUp(up) => {
                    self.contexts.insert(peer_label(&up.peer), up.contexts());
                    self.down.remove(&peer_label(&up.peer));
                }
                BmpMessage::PeerDown(d) => {
                    let peer = peer_label(&d.peer);
                    self.down.insert(peer.clone());
                    self.routes.retain(|k, _| k.0 != peer);
                }
                _ => {}
            }
        }
        self.rib = self
            .routes
            .iter()
            .map(|(k, v)| {
                let (k, v) = (k.clone(), v.clone());
                (k.0, k.1, k.2, k.3, v.0, v.1, v.2)
            })
            .collect();
    }
}

/// A peer as [`Row`] names it: distinguisher ('' for global peers) and
/// address.
fn peer_label(h: &riptide::wire::bmp::header::PerPeerHeader) -> String {
    if h.peer_type == PeerType::Global && h.distinguisher.is_zero() {
        format!(" {}", h.address)
    } else {
        format!("{} {}", h.distinguisher, h.address)
    }
}

/// A router's stream: Initiation, then per peer Peer Up, table, EoR.
fn table_stream(peers: u32, v4: u32, v6: u32, seed: u64, add_path: bool) -> Vec<u8> {
    let mut out = Vec::new();
    synth::router_stream(&mut out, peers, v4, v6, seed, add_path).unwrap();
    out
}

fn peer(n: u32) -> riptide::wire::bmp::header::PerPeerHeader {
    synth::peer_header(n, PeerType::Global, 0, 1_700_000_000)
}

fn nlri(p: &str, path_id: Option<u32>) -> Nlri<'static> {
    let (a, l) = p.split_once('/').unwrap();
    Nlri {
        path_id,
        prefix: Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap(),
        rd: None,
        labels: Labels::default(),
    }
}

/// One UPDATE with IPv4 NEXT_HOP 192.0.2.9, LOCAL_PREF `lp`, announcing
/// and withdrawing the given prefixes.
fn update(out: &mut Vec<u8>, n: u32, announce: &[&str], withdraw: &[&str], lp: u32) {
    let mut b = UpdateBuilder::new();
    for w in withdraw {
        b.withdraw(&nlri(w, None), false).unwrap();
    }
    if !announce.is_empty() {
        b.origin(0)
            .unwrap()
            .as_path(
                &[(
                    riptide::wire::bgp::attr::SegmentType::Sequence,
                    &[64_500, 4_200_000_000],
                )],
                4,
            )
            .unwrap()
            .next_hop("192.0.2.9".parse().unwrap())
            .unwrap()
            .local_pref(lp)
            .unwrap();
        for a in announce {
            b.announce(&nlri(a, None), false).unwrap();
        }
    }
    encode::route_monitoring(out, &peer(n), &b).unwrap();
}

fn peer_down(out: &mut Vec<u8>, n: u32) {
    encode::peer_down(out, &peer(n), &PeerDownReason::RemoteNoData).unwrap();
}

// ---------------------------------------------------------------- flows

/// Full tables from two routers (one with ADD-PATH, two paths per
/// prefix), then updates and withdrawals, including a route announced
/// and withdrawn within one batch.
fn full_tables_updates_and_withdrawals(db: &dyn Db) {
    let c = run(db, &[]);
    let mut model = Model::default();
    let a = table_stream(2, 3000, 800, 1, false);
    let mut b = Vec::new();
    synth::initiation(&mut b, "addpath").unwrap();
    let p = synth::peer_header(9, PeerType::Global, 0, 1_700_000_000);
    synth::peer_up(&mut b, &p, true).unwrap();
    for path_id in [1, 2] {
        let mut t = FullTable::new(1000, 300, 7).with_add_path(true);
        t.path_id = path_id;
        let mut u = UpdateBuilder::new();
        while t.next_update(&mut u).unwrap() > 0 {
            encode::route_monitoring(&mut b, &p, &u).unwrap();
        }
    }
    synth::end_of_rib(&mut b, &p).unwrap();
    // Both routers stay connected: their routes stay current.
    let mut ra = TcpStream::connect(c.addr()).unwrap();
    let mut rb = TcpStream::connect(c.addr()).unwrap();
    ra.write_all(&a).unwrap();
    rb.write_all(&b).unwrap();
    model.feed(&a);
    model.feed(&b);
    assert_eq!(model.rib.len(), 2 * 3800 + 2 * 1300);
    converges(db, &model.rib);
    assert_eq!(db.count("SELECT count(*) FROM peers WHERE state = 'up'"), 3);
    assert_eq!(
        db.count("SELECT count(*) FROM routes WHERE peer_address = '10.0.0.9' AND path_id = 2"),
        1300
    );
    // The dumps are new routes: copied straight into the RIB.
    let copied = c.rib_batches("batch_rib_copy");
    let merged = c.rib_batches("batch_rib");
    assert!(!db.is_postgres() || copied > 0);

    // Announcements only, but of routes already there and one announced
    // twice in what is one batch: merged, the last one wins.
    let twice = model.v4_prefixes(" 10.0.0.2", 6);
    let t: Vec<&str> = twice.iter().map(String::as_str).collect();
    let mut again = Vec::new();
    update(&mut again, 2, &t, &[], 444);
    update(&mut again, 2, &t[..3], &[], 555);
    ra.write_all(&again).unwrap();
    model.feed(&again);
    converges(db, &model.rib);
    if db.is_postgres() {
        assert_eq!(c.rib_batches("batch_rib_copy"), copied);
        eventually("the merge counted", || c.rib_batches("batch_rib") > merged);
    }

    // New routes only, but one announced twice in what is one batch: the
    // straight COPY meets the duplicate and the merge keeps the last.
    let mut fresh = Vec::new();
    update(
        &mut fresh,
        2,
        &["198.51.100.0/24", "203.0.113.0/24"],
        &[],
        444,
    );
    update(&mut fresh, 2, &["198.51.100.0/24"], &[], 555);
    ra.write_all(&fresh).unwrap();
    model.feed(&fresh);
    converges(db, &model.rib);

    // Updates: new attributes for some, withdrawals for others, a route
    // announced and withdrawn (and another withdrawn then announced) in
    // what is one batch.
    let first = model.v4_prefixes(" 10.0.0.1", 40);
    let f: Vec<&str> = first.iter().map(String::as_str).collect();
    let mut more = Vec::new();
    update(&mut more, 1, &f[..10], &[], 222);
    update(&mut more, 1, &[], &f[10..20], 0);
    update(&mut more, 1, &["198.18.0.0/15"], &[], 100);
    update(&mut more, 1, &[], &["198.18.0.0/15"], 0);
    update(&mut more, 1, &[], &["198.19.0.0/16"], 0);
    update(&mut more, 1, &["198.19.0.0/16"], &[], 300);
    ra.write_all(&more).unwrap();
    model.feed(&more);
    converges(db, &model.rib);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM route_history WHERE prefix IN ('198.18.0.0/15', '198.19.0.0/16')"
        ),
        4
    );
    assert_eq!(
        db.count("SELECT count(*) FROM route_history WHERE action = 'announce'"),
        model.announced
    );
    assert_eq!(
        db.count("SELECT count(*) FROM route_history WHERE action = 'withdraw'"),
        model.withdrawn
    );
    // Attribute sets are stored once and carry the path.
    assert_eq!(
        db.rows("SELECT as_path, origin_as, origin FROM routes WHERE prefix = '198.19.0.0/16'"),
        [["64500 4200000000", "4200000000", "igp"]]
    );
    // Both routers connect from 127.0.0.1: one router (its address), two
    // sessions; the later Initiation names it.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM routers WHERE connected AND sys_name IN ('addpath', 'synthetic')"
        ),
        1
    );
    readme_queries_run(db);
    drop((ra, rb));
    c.stop();
}

/// The README's example queries run on this store and find what the
/// full-table flow stored.
fn readme_queries_run(db: &dyn Db) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### Example queries")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has example queries");
    let mut ran = 0;
    for block in section.split("```sql").skip(1) {
        let (tag, rest) = block.split_once('\n').unwrap();
        let sql = rest.split("```").next().unwrap();
        if tag.trim() == "postgres" && !db.is_postgres() {
            continue;
        }
        let rows = db.rows(sql);
        if !sql.contains("peer_events") {
            assert!(!rows.is_empty(), "no rows from README query {sql}");
        }
        ran += 1;
    }
    assert_eq!(ran, if db.is_postgres() { 5 } else { 4 });
}

/// Peer Down ends one peer's routes at once; a TCP session lost without
/// Termination ends the rest (their rows, kept a while for a re-dump in
/// PostgreSQL, are deleted after the stale timeout).
fn peer_down_and_disconnect(db: &dyn Db) {
    let c = run(
        db,
        &[
            "--stale-timeout-seconds",
            "3",
            "--peer-routes-interval-seconds",
            "1",
        ],
    );
    let mut model = Model::default();
    let a = table_stream(2, 2000, 500, 3, false);
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&a).unwrap();
    model.feed(&a);
    converges(db, &model.rib);
    // The routes per peer are counted in the store (in PostgreSQL on a
    // connection apart from the writers').
    eventually("the routes per peer in the metrics", || {
        c.metric("bmp_peer_routes", "peer_ip=\"10.0.0.1\"") == 2500.0
            && c.metric("bmp_peer_routes", "peer_ip=\"10.0.0.2\"") == 2500.0
    });
    let mut down = Vec::new();
    peer_down(&mut down, 1);
    s.write_all(&down).unwrap();
    model.feed(&down);
    converges(db, &model.rib);
    assert_eq!(model.rib.len(), 2500);
    assert_eq!(
        db.rows("SELECT state, last_down_reason FROM peers WHERE peer_address = '10.0.0.1'"),
        [["down", "remote-no-data"]]
    );
    // The hidden rows are removed in the background.
    eventually("the flushed rows to be deleted", || {
        db.count("SELECT count(*) FROM rib") == 2500
            && db.count("SELECT count(*) FROM peer_events WHERE event = 'flush'") == 1
    });
    drop(s);
    converges(db, &BTreeSet::new());
    eventually("the router to be disconnected", || {
        db.count("SELECT count(*) FROM routers WHERE NOT connected") == 1
            && db.count("SELECT count(*) FROM router_events WHERE event = 'disconnect'") == 1
            && db.count("SELECT count(*) FROM rib") == 0
    });
    assert_eq!(db.count("SELECT count(*) FROM peers WHERE state = 'up'"), 0);
    let down = db.rows(
        "SELECT reason FROM peer_events WHERE event = 'down' AND peer_id IN
           (SELECT id FROM peers WHERE peer_address = '10.0.0.2')",
    );
    assert_eq!(down, [["router closed the connection"]]);
    c.stop();
}

/// A second Peer Up re-dumps the table; what it does not re-announce by
/// End-of-RIB is withdrawn as stale.
fn redump_sweeps_stale_routes(db: &dyn Db) {
    let c = run(db, &[]);
    let p = peer(1);
    let dump = |v4, v6| {
        let mut out = Vec::new();
        synth::peer_up(&mut out, &p, false).unwrap();
        let mut t = FullTable::new(v4, v6, 5);
        let mut u = UpdateBuilder::new();
        while t.next_update(&mut u).unwrap() > 0 {
            encode::route_monitoring(&mut out, &p, &u).unwrap();
        }
        synth::end_of_rib(&mut out, &p).unwrap();
        out
    };
    let mut s = TcpStream::connect(c.addr()).unwrap();
    let mut first = Vec::new();
    synth::initiation(&mut first, "r").unwrap();
    first.extend(dump(3000, 1000));
    s.write_all(&first).unwrap();
    let mut full = Model::default();
    full.feed(&first);
    converges(db, &full.rib);
    // The re-dump lacks 500 IPv4 and 100 IPv6 prefixes (a subset: the
    // generator's first prefixes of each length).
    let second = dump(2500, 900);
    s.write_all(&second).unwrap();
    let mut again = Model::default();
    again.feed(&second);
    let keys = |m: &Model| -> BTreeSet<(String, String)> {
        m.rib.iter().map(|r| (r.2.clone(), r.3.clone())).collect()
    };
    assert!(keys(&again).is_subset(&keys(&full)));
    assert_eq!(keys(&full).len() - keys(&again).len(), 600);
    converges(db, &again.rib);
    assert_eq!(
        db.count("SELECT count(*) FROM route_history WHERE action = 'stale'"),
        600
    );
    drop(s);
    c.stop();
}

/// The router session is lost (the peer's routes end at once) and the
/// router re-dumps its peer: three routes are missing, two change, two are
/// new; after the table, before End-of-RIB, two routes re-announced
/// unchanged change again in later batches (one withdrawn and announced
/// again as it was, one changed and changed back). The RIB ends exact; in
/// PostgreSQL the rows of unchanged routes, kept since the session was
/// lost, are not rewritten and history gets only the changes (the
/// embedded store rewrites and records everything). The writer compares
/// the re-dump.
fn redump_after_session_loss(db: &dyn Db) {
    redump_after_session_loss_with(db, &[]);
}

/// As [`redump_after_session_loss`], with no memory to compare the
/// re-dump: the kept rows are dropped, the re-dump writes every route,
/// and the RIB ends as exact.
#[test]
fn postgres_redump_after_session_loss_without_memory() {
    redump_after_session_loss_with(
        &Pg::new("redump_without_memory"),
        &["--redump-memory-mb", "0"],
    );
}

fn redump_after_session_loss_with(db: &dyn Db, extra: &[&str]) {
    let c = run(db, extra);
    let p = peer(1);
    let table = |extra: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        synth::initiation(&mut out, "r").unwrap();
        synth::peer_up(&mut out, &p, false).unwrap();
        let mut t = FullTable::new(3000, 1000, 5);
        let mut u = UpdateBuilder::new();
        while t.next_update(&mut u).unwrap() > 0 {
            encode::route_monitoring(&mut out, &p, &u).unwrap();
        }
        extra(&mut out);
        out
    };
    let eor = || {
        let mut out = Vec::new();
        synth::end_of_rib(&mut out, &p).unwrap();
        out
    };
    let gone = ["198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"];
    let (p1, p2) = ("198.20.0.0/24", "198.20.1.0/24");
    let mut first = table(&|out| {
        update(out, 1, &gone, &[], 100);
        update(out, 1, &[p1, p2], &[], 100);
    });
    first.extend(eor());
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&first).unwrap();
    let mut model = Model::default();
    model.feed(&first);
    converges(db, &model.rib);
    let rows = |sql: &str| db.rows(sql)[0][0].clone();
    let updated = rows("SELECT max(last_updated) FROM rib");
    drop(s);
    // The session lost ends the peer's routes at once.
    converges(db, &BTreeSet::new());

    let changed = model.v4_prefixes(" 10.0.0.1", 2);
    assert_eq!(changed.len(), 2);
    // The re-dump, then one batch each (the batch timeout is 0.2 s).
    let steps: Vec<Vec<u8>> = vec![
        table(&|out| {
            let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
            update(out, 1, &changed, &[], 200);
            update(out, 1, &["198.18.0.0/24", "198.18.1.0/24"], &[], 200);
            update(out, 1, &[p1, p2], &[], 100);
        }),
        {
            let mut out = Vec::new();
            update(&mut out, 1, &[], &[p1], 100);
            out
        },
        {
            let mut out = Vec::new();
            update(&mut out, 1, &[p1], &[], 100);
            update(&mut out, 1, &[p2], &[], 200);
            out
        },
        {
            let mut out = Vec::new();
            update(&mut out, 1, &[p2], &[], 100);
            out
        },
        eor(),
    ];
    let mut again = Model::default();
    again.feed(&steps.concat());
    let history = db.count("SELECT count(*) FROM route_history");
    let mut s = TcpStream::connect(c.addr()).unwrap();
    for step in &steps {
        s.write_all(step).unwrap();
        sleep(Duration::from_millis(500));
    }
    converges(db, &again.rib);
    // One sweep per dump.
    eventually("the re-dump swept", || {
        db.count("SELECT count(*) FROM peer_events WHERE event = 'stale-sweep'") == 2
    });
    assert_eq!(db.count("SELECT count(*) FROM peers WHERE state = 'up'"), 1);
    let stale = db.count("SELECT count(*) FROM route_history WHERE action = 'stale'");
    let added = db.count("SELECT count(*) FROM route_history") - history;
    if !db.is_postgres() {
        // The session's routes ended with it; the re-dump is all new.
        assert_eq!((stale, added), (0, again.announced + again.withdrawn));
    } else if extra.is_empty() {
        // Compared by the writer, history has the changes only: 4
        // changed or new, p1 withdrawn and announced, p2 changed twice,
        // the 3 kept routes not re-announced stale.
        assert_eq!((stale, added), (3, 4 + 2 + 2 + 3));
    } else {
        // Not compared: the kept rows were dropped at the re-dump's
        // start, every announcement is new.
        assert_eq!((stale, added), (0, again.announced + again.withdrawn));
    }
    if db.is_postgres() {
        let rewritten = db.count(&format!(
            "SELECT count(*) FROM rib WHERE last_updated > '{updated}'"
        ));
        let compared = c.rib_batches("batch_rib_redump");
        if extra.is_empty() {
            // The 3998 unchanged routes' rows are untouched.
            assert_eq!(rewritten, 4 + 2);
            assert!(compared > 0);
        } else {
            assert_eq!(rewritten, 4004);
            assert_eq!(compared, 0);
        }
    }
    drop(s);
    c.stop();
}

/// The four real router captures, replayed over TCP into the store: the
/// same peers, peer states, routes and statistics as the reference
/// decoding (pmacct's, checked route by route in `captures`: totals of
/// announcements, withdrawals, Peer Ups and statistics counters).
fn captures_replayed_into_the_store(make: &dyn Fn(&str) -> Box<dyn Db>) {
    let captures: [(&str, &[u8], [i64; 4]); 4] = [
        (
            "huawei",
            include_bytes!("../../src/wire/testdata/huawei-locrib.bin"),
            [84, 0, 18, 0],
        ),
        (
            "cisco_rd",
            include_bytes!("../../src/wire/testdata/cisco-rd-instance.bin"),
            [235, 0, 42, 120],
        ),
        (
            "cisco_down",
            include_bytes!("../../src/wire/testdata/cisco-peer-down-ipv6.bin"),
            [402, 69, 10, 96],
        ),
        (
            "frr_down",
            include_bytes!("../../src/wire/testdata/frr-peer-down.bin"),
            [325, 114, 7, 336],
        ),
    ];
    for (name, bytes, [announced, withdrawn, ups, stats]) in captures {
        let db = make(name);
        let db = &*db;
        let c = run(db, &[]);
        let mut model = Model::default();
        model.feed(bytes);
        let mut s = TcpStream::connect(c.addr()).unwrap();
        s.write_all(bytes).unwrap();
        converges(db, &model.rib);
        eventually("every event stored", || {
            db.count("SELECT count(*) FROM stats") == stats
                && db.count("SELECT count(*) FROM peer_events WHERE event = 'up'") == ups
        });
        assert_eq!(
            db.count("SELECT count(*) FROM route_history WHERE action = 'announce'"),
            announced,
            "{name}"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM route_history WHERE action = 'withdraw'"),
            withdrawn,
            "{name}"
        );
        let down: BTreeSet<String> = db
            .rows(&db.dialect(
                "SELECT DISTINCT rd || ' ' || {host}(peer_address) FROM peers WHERE state = 'down'",
            ))
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(down, model.down, "{name}: peers down");
        assert_eq!(db.count("SELECT count(*) FROM routers WHERE connected"), 1);
        // The session ends without Termination: every peer ends with it.
        drop(s);
        converges(db, &BTreeSet::new());
        eventually("every peer down", || {
            db.count("SELECT count(*) FROM peers WHERE state = 'up'") == 0
        });
        c.stop();
    }
}

/// Text from the network is data, never SQL: a sysName and sysDescr
/// made of SQL, and a Termination reason too, are stored as sent (every
/// value goes through binary COPY or bound parameters).
fn network_text_is_never_sql(db: &dyn Db) {
    let c = run(db, &[]);
    let name = "r1'); DROP TABLE routes; --";
    let descr = "\"; DELETE FROM peers; SELECT '";
    let mut a = Vec::new();
    encode::initiation(
        &mut a,
        &[
            (riptide::wire::bmp::tlv::TLV_SYS_NAME, name.as_bytes()),
            (riptide::wire::bmp::tlv::TLV_SYS_DESCR, descr.as_bytes()),
        ],
    )
    .unwrap();
    // After the table, whose stream opens with an Initiation of its own:
    // the last one names the router.
    let table = table_stream(1, 200, 50, 23, false);
    let mut model = Model::default();
    model.feed(&table);
    a.splice(0..0, table);
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&a).unwrap();
    converges(db, &model.rib);
    eventually("the router's names", || {
        db.rows("SELECT sys_name, sys_descr FROM routers") == [[name, descr]]
    });
    assert_eq!(db.count("SELECT count(*) FROM peers"), 1);
    drop(s);
    c.stop();
}

/// A Loc-RIB exporter that sends no Peer Up (as FRR does): its routes show
/// in the RIB; the TCP session lost ends them; the next session's routes
/// show again (each session its own epoch, above the end of the last).
fn loc_rib_without_peer_up_across_sessions(db: &dyn Db) {
    let c = run(db, &[]);
    let loc_rib = synth::peer_header(1, PeerType::LocRib, 0, 1_700_000_000);
    // One TCP session: its routes sent, and shown in the RIB.
    let session = |announce: &[&str]| {
        let mut out = Vec::new();
        synth::initiation(&mut out, "frr").unwrap();
        let prefixes: Vec<_> = announce.iter().map(|a| nlri(a, None).prefix).collect();
        let b = synth::announcement("192.0.2.9".parse().unwrap(), &prefixes).unwrap();
        encode::route_monitoring(&mut out, &loc_rib, &b).unwrap();
        let mut s = TcpStream::connect(c.addr()).unwrap();
        s.write_all(&out).unwrap();
        let mut model = Model::default();
        model.feed(&out);
        converges(db, &model.rib);
        s
    };
    drop(session(&["198.18.0.0/15", "198.51.100.0/24"]));
    converges(db, &BTreeSet::new());
    eventually("the first session's end", || {
        db.count("SELECT count(*) FROM peers WHERE state = 'down'") == 1
    });
    let s = session(&["198.18.0.0/15", "203.0.113.0/24"]);
    assert_eq!(
        db.rows("SELECT state FROM peers WHERE peer_address = '10.0.0.1'"),
        [["up"]]
    );
    drop(s);
    c.stop();
}

/// A flow run on both stores, each in a schema or directory of its own.
macro_rules! on_both_stores {
    ($($flow:ident: $pg:ident, $lite:ident;)*) => {$(
        #[test]
        fn $pg() {
            $flow(&Pg::new(stringify!($flow)));
        }

        #[test]
        fn $lite() {
            $flow(&Lite::new(stringify!($flow)));
        }
    )*};
}

on_both_stores! {
    full_tables_updates_and_withdrawals:
        postgres_full_tables_updates_and_withdrawals, sqlite_full_tables_updates_and_withdrawals;
    peer_down_and_disconnect: postgres_peer_down_and_disconnect, sqlite_peer_down_and_disconnect;
    redump_sweeps_stale_routes: postgres_redump_sweeps_stale_routes, sqlite_redump_sweeps_stale_routes;
    redump_after_session_loss: postgres_redump_after_session_loss, sqlite_redump_after_session_loss;
    network_text_is_never_sql: postgres_network_text_is_never_sql, sqlite_network_text_is_never_sql;
    loc_rib_without_peer_up_across_sessions:
        postgres_loc_rib_without_peer_up_across_sessions, sqlite_loc_rib_without_peer_up_across_sessions;
}

#[test]
fn postgres_captures_replayed_into_the_store() {
    captures_replayed_into_the_store(&|name| Box::new(Pg::new(&format!("capture_{name}"))));
}

#[test]
fn sqlite_captures_replayed_into_the_store() {
    captures_replayed_into_the_store(&|name| Box::new(Lite::new(&format!("capture_{name}"))));
}

#[test]
fn postgres_migrations_are_safe_to_run_twice() {
    let db = Pg::new("migrate_twice");
    for _ in 0..2 {
        run(&db, &[]).stop();
    }
    assert_eq!(db.count("SELECT count(*) FROM riptide_migrations"), 4);
    // 0003: the RIB's pages keep room for HOT updates.
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE oid = 'rib'::regclass AND 'fillfactor=90' = ANY(reloptions)"),
        1
    );
    // 0004: history's prefix index, and each partition's, on the prefix
    // alone.
    let prefix_indexes = "SELECT count(*) FROM pg_index
         WHERE (indexrelid = 'route_history_prefix'::regclass
                OR indexrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'route_history_prefix'::regclass))";
    assert!(db.count(prefix_indexes) >= 2);
    assert_eq!(db.count(&format!("{prefix_indexes} AND indnatts <> 1")), 0);
    assert!(
        db.count("SELECT count(*) FROM pg_inherits WHERE inhparent = 'route_history'::regclass")
            >= 2
    );
}

/// Every connection to the database is killed, several times, while
/// routes stream in: the RIB and history end exact.
#[test]
fn postgres_connections_killed_mid_stream() {
    let db = Pg::new("killed");
    let c = run(&db, &["--batch-size", "500"]);
    let a = table_stream(2, 20_000, 4000, 11, false);
    let mut model = Model::default();
    model.feed(&a);
    let mut s = TcpStream::connect(c.addr()).unwrap();
    let mut killed = 0;
    for chunk in a.chunks(a.len() / 8 + 1) {
        s.write_all(chunk).unwrap();
        sleep(Duration::from_millis(150));
        killed += db.kill_connections();
    }
    assert!(killed > 0, "the writers' connections were found and killed");
    converges(&db, &model.rib);
    assert_eq!(
        db.count("SELECT count(*) FROM route_history"),
        model.announced
    );
    drop(s);
    c.stop();
}

/// Takes `LOCK TABLE {lock}` in a transaction of its own and holds it for
/// `seconds`, on a thread; returns once the lock is surely taken, with the
/// thread to join.
fn hold_lock(db: &Pg, lock: &str, seconds: u32) -> std::thread::JoinHandle<Vec<Vec<String>>> {
    let url = db.url_via(None);
    let sql = format!("BEGIN; LOCK TABLE {lock}; SELECT pg_sleep({seconds}); COMMIT");
    let holder = std::thread::spawn(move || pg_rows(&url, &sql));
    sleep(Duration::from_millis(300));
    holder
}

/// The database is slow: a long lock on the current RIB holds every RIB
/// write while a table streams in. The collector keeps reading, and the
/// RIB and history end exact once the lock goes.
#[test]
fn postgres_slow_database_long_lock() {
    let db = Pg::new("slow");
    let c = run(&db, &[]);
    let a = table_stream(1, 80_000, 20_000, 19, false);
    let mut model = Model::default();
    model.feed(&a);
    let lock = hold_lock(&db, "rib IN ACCESS EXCLUSIVE MODE", 5);
    let start = Instant::now();
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&a).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the collector reads while the database is slow ({:?} to send {} bytes)",
        start.elapsed(),
        a.len()
    );
    lock.join().unwrap();
    converges(&db, &model.rib);
    // The metrics show the stall: a batch took most of the lock's time.
    let longest = c.metric("riptide_batch_commit_summary_seconds", "quantile=\"1\"");
    assert!(longest > 3.0, "longest commit {longest} s");
    assert_eq!(
        db.count("SELECT count(*) FROM route_history"),
        model.announced
    );
    drop(s);
    c.stop();
}

/// A shutdown while the database hangs (a lock holds every RIB write for
/// longer than the shutdown may take): the collector stops within its
/// shutdown timeout, spilling the batches it could not store, and the next
/// run stores them. Before, a writer waited for the database however long
/// it took, and a service manager's kill lost what it held in memory.
#[test]
fn postgres_shutdown_while_the_database_hangs_loses_nothing() {
    let db = Pg::new("stop_hung");
    let c = run(&db, &["--shutdown-timeout-seconds", "2"]);
    let a = table_stream(1, 8_000, 2_000, 23, false);
    let mut model = Model::default();
    model.feed(&a);
    let lock = hold_lock(&db, "rib IN ACCESS EXCLUSIVE MODE", 20);
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&a).unwrap();
    drop(s);
    // Time for the batches to reach the writers, which wait on the lock.
    sleep(Duration::from_secs(1));
    let stopping = Instant::now();
    c.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(8),
        "the stop took {:?} with a shutdown timeout of 2 s",
        stopping.elapsed()
    );
    lock.join().unwrap();
    assert_eq!(
        db.count("SELECT count(*) FROM rib"),
        0,
        "nothing got past the lock"
    );
    // The next run replays the spill: every route in `rib` (hidden, as the
    // router's session ended with the first run) and in history, once.
    let c = run(&db, &[]);
    eventually("the spill replayed", || {
        db.count("SELECT count(*) FROM rib") == model.rib.len() as i64
    });
    assert_eq!(
        db.count("SELECT count(*) FROM route_history WHERE action = 'announce'"),
        model.announced
    );
    c.stop();
}

/// Startup migrations that take longer than the start waits for them (here
/// 0004 held by a lock on `route_history`; in real life 0004 rebuilding
/// its index over a large history) do not stop the start, and go on
/// rather than being abandoned and begun again: the collector listens
/// within seconds, and stores the routes sent meanwhile once the
/// migration is through.
#[test]
fn postgres_slow_startup_migration() {
    let db = Pg::new("slow_migration");
    run(&db, &[]).stop();
    db.rows("DELETE FROM riptide_migrations WHERE version = 4");
    let lock = hold_lock(&db, "route_history IN ACCESS SHARE MODE", 15);
    let start = Instant::now();
    let c = run(&db, &[]);
    assert!(
        start.elapsed() < Duration::from_secs(13),
        "the start waited {:?} for the migrations",
        start.elapsed()
    );
    assert_eq!(db.count("SELECT count(*) FROM riptide_migrations"), 3);
    let started = db.rows("SELECT now()::text")[0][0].clone();
    let a = table_stream(1, 2_000, 500, 23, false);
    let mut model = Model::default();
    model.feed(&a);
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(&a).unwrap();
    lock.join().unwrap();
    converges(&db, &model.rib);
    // Applied by the transaction begun at the start, before the lock:
    // not abandoned and begun again once the lock went.
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM riptide_migrations WHERE version = 4 AND applied_at < '{started}'"
        )),
        1
    );
    drop(s);
    c.stop();
}

/// Two routers announce the same new attribute sets, one in the other's
/// reverse order, and a lock on `attribute_sets` holds both writers at
/// their insert of them, then lets them go together: neither may abort on
/// a deadlock with the other. (Each deadlock cost a second of
/// PostgreSQL's deadlock detection and a reconnection, which set the p99
/// of arrival to commit under churn.)
#[test]
fn postgres_writers_insert_shared_attribute_sets_without_deadlock() {
    const SETS: u32 = 5_000;
    let db = Pg::new("shared_attrs");
    let c = run(&db, &[]);
    let mut model = Model::default();
    let mut routers = Vec::new();
    let mut updates = Vec::new();
    for n in [1, 2] {
        let mut head = Vec::new();
        synth::initiation(&mut head, &format!("r{n}")).unwrap();
        synth::peer_up(&mut head, &peer(n), false).unwrap();
        let mut r = TcpStream::connect(c.addr()).unwrap();
        r.write_all(&head).unwrap();
        model.feed(&head);
        routers.push(r);
        let mut out = Vec::new();
        for i in 0..SETS {
            let i = if n == 1 { i } else { SETS - 1 - i };
            let p = format!("10.{}.{}.0/24", i >> 8, i & 0xff);
            update(&mut out, n, &[&p], &[], i);
        }
        model.feed(&out);
        updates.push(out);
    }
    eventually("both peers up", || {
        db.count("SELECT count(*) FROM peers WHERE state = 'up'") == 2
    });
    let lock = hold_lock(&db, "attribute_sets IN SHARE MODE", 2);
    for (r, u) in routers.iter_mut().zip(&updates) {
        r.write_all(u).unwrap();
    }
    lock.join().unwrap();
    converges(&db, &model.rib);
    assert_eq!(
        db.count("SELECT count(*) FROM attribute_sets"),
        i64::from(SETS)
    );
    assert_eq!(c.metric("riptide_database_reconnects_total", ""), 0.0);
    assert_eq!(c.metric("riptide_database_conflicts_total", ""), 0.0);
    drop(routers);
    c.stop();
}

/// The lists of an attribute set (communities, extended and large
/// communities, cluster list) are stored as arrays of their words, the
/// same whether a batch's sets went straight into `attribute_sets` (none
/// of them stored yet: the first run) or through the staging table (one
/// of them stored: the second run, whose shards no longer know which sets
/// they sent, sends the first run's set again with a new one). A set
/// without lists has NULLs.
#[test]
fn postgres_attribute_set_lists_stored_as_arrays() {
    let db = Pg::new("attr_lists");
    let runs: [&[(u32, bool)]; 2] = [&[(100, true), (300, false)], &[(100, true), (200, true)]];
    for sets in runs {
        let c = run(&db, &[]);
        let mut out = Vec::new();
        synth::initiation(&mut out, "r1").unwrap();
        synth::peer_up(&mut out, &peer(1), false).unwrap();
        for &(lp, lists) in sets {
            let mut b = UpdateBuilder::new();
            b.origin(0)
                .unwrap()
                .next_hop("192.0.2.9".parse().unwrap())
                .unwrap()
                .local_pref(lp)
                .unwrap();
            if lists {
                b.communities(&[65_000 << 16 | 1, 65_000 << 16 | 2])
                    .unwrap()
                    .large_communities(&[[1, 2, 3]])
                    .unwrap()
                    // Extended communities: a route target 65000:100.
                    .attr(0xc0, 16, &[0, 2, 0xfd, 0xe8, 0, 0, 0, 100])
                    .unwrap()
                    // CLUSTER_LIST.
                    .attr(0x80, 10, &[10, 0, 0, 1, 10, 0, 0, 2])
                    .unwrap();
            }
            b.announce(&nlri(&format!("10.0.{}.0/24", lp / 100), None), false)
                .unwrap();
            encode::route_monitoring(&mut out, &peer(1), &b).unwrap();
        }
        // The second run's dump is a re-dump over the first's rows: its
        // End-of-RIB makes the set re-announced unchanged current again.
        synth::end_of_rib(&mut out, &peer(1)).unwrap();
        let mut s = TcpStream::connect(c.addr()).unwrap();
        s.write_all(&out).unwrap();
        eventually("the routes stored", || {
            db.count("SELECT count(*) FROM routes") == sets.len() as i64
        });
        drop(s);
        c.stop();
    }
    let lists = [
        "{65000:1,65000:2}",
        "{RT:65000:100}",
        "{1:2:3}",
        "{10.0.0.1,10.0.0.2}",
    ];
    let row = |lp: &str, l: [&str; 4]| -> Vec<String> {
        std::iter::once(lp).chain(l).map(str::to_owned).collect()
    };
    assert_eq!(
        db.rows(
            "SELECT local_pref, communities, ext_communities, large_communities, cluster_list
               FROM attribute_sets ORDER BY local_pref"
        ),
        [row("100", lists), row("200", lists), row("300", [""; 4])]
    );
}

// ------------------------------------------------------- database outages

/// A TCP proxy between the collector and PostgreSQL that can cut the
/// database off (every connection closed, new ones refused) and bring it
/// back: a database that is down, as the collector sees it.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
}

impl Proxy {
    fn new() -> Self {
        let target: SocketAddr = {
            let base = base_url();
            let at = base.find('@').unwrap() + 1;
            let slash = base[at..].find('/').unwrap() + at;
            base[at..slash].parse().unwrap()
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let up2 = up.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let up = up2.clone();
                    from.set_read_timeout(Some(Duration::from_millis(100)))
                        .unwrap();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 65536];
                        while up.load(Ordering::SeqCst) {
                            match from.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                                Err(e)
                                    if e.kind() == std::io::ErrorKind::WouldBlock
                                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                                Err(_) => break,
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { addr, up }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// The collector with its database behind `proxy`, spilling to `data`
/// once 1 MiB of batches waits in memory.
fn run_behind(db: &Pg, proxy: &Proxy, data: &Lite, extra: &[&str]) -> Running {
    let url = db.url_via(Some(proxy.addr));
    let dir = data.dir.to_str().unwrap();
    let mut args = vec![
        "--database-url",
        &url,
        "--data-dir",
        dir,
        "--queue-memory-mb",
        "1",
    ];
    args.extend_from_slice(extra);
    run(db, &args)
}

/// A router connection that has sent `head`, once some of it is stored.
fn stream_until_stored(c: &Running, db: &Pg, head: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(c.addr()).unwrap();
    s.write_all(head).unwrap();
    eventually("some routes stored", || {
        db.count("SELECT count(*) FROM rib") > 0
    });
    s
}

/// After an outage: the RIB and history are exact, the spill files gone.
fn recovered(db: &Pg, data: &Lite, model: &Model) {
    converges(db, &model.rib);
    assert_eq!(
        db.count("SELECT count(*) FROM route_history"),
        model.announced
    );
    eventually("the spill files to be removed", || {
        spill_files(&data.dir) == 0
    });
}

fn spill_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("spill"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "spill"))
                .count()
        })
        .unwrap_or(0)
}

/// The database goes away while full tables stream in: the collector
/// keeps reading, spills to disk, and when the database is back the RIB
/// and history end exact.
#[test]
fn postgres_down_mid_stream_spills_and_recovers() {
    let db = Pg::new("outage");
    let proxy = Proxy::new();
    let data = Lite::new("outage-spill");
    let c = run_behind(&db, &proxy, &data, &[]);
    let a = table_stream(2, 20_000, 5000, 13, false);
    let mut model = Model::default();
    model.feed(&a);
    let mut s = stream_until_stored(&c, &db, &a[..a.len() / 4]);
    proxy.set_up(false);
    // The router's stream is read all the while the database is away.
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&a[a.len() / 4..])
        .expect("the collector keeps reading");
    eventually("batches spilled to disk", || spill_files(&data.dir) > 0);
    sleep(Duration::from_secs(2));
    proxy.set_up(true);
    recovered(&db, &data, &model);
    drop(s);
    c.stop();
}

/// A small tmpfs mounted on a directory for the life of the value.
pub(crate) struct Tmpfs(PathBuf);

impl Tmpfs {
    pub(crate) fn mount(dir: &std::path::Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "mounting a tmpfs on {} (the tests run as root)",
            dir.display()
        );
        Self(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The database is away and the spill directory's disk fills up: the
/// collector says so, stops reading from the router (back-pressure)
/// instead of dropping anything, and once the database is back the RIB
/// and history end exact.
#[test]
fn postgres_spill_disk_full_pauses_reading_and_loses_nothing() {
    let db = Pg::new("diskfull");
    let proxy = Proxy::new();
    let data = Lite::new("diskfull");
    let _disk = Tmpfs::mount(&data.dir, "3m");
    let c = run_behind(&db, &proxy, &data, &["--queue-depth", "2"]);
    let a = table_stream(2, 160_000, 40_000, 19, false);
    let mut model = Model::default();
    model.feed(&a);
    let mut s = stream_until_stored(&c, &db, &a[..a.len() / 20]);
    proxy.set_up(false);
    let rest = a[a.len() / 20..].to_vec();
    let sender = std::thread::spawn(move || {
        s.write_all(&rest)
            .expect("the collector reads again once it can");
        s
    });
    // The disk fills; reading pauses, so the sender cannot finish.
    eventually("the spill disk to fill", || {
        let used: u64 = std::fs::read_dir(data.dir.join("spill"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        used > 2 << 20
    });
    sleep(Duration::from_secs(2));
    assert!(!sender.is_finished(), "reading from the router paused");
    // The metrics say why: the database is away, the spill is full, a
    // shard waits.
    assert_eq!(c.metric("riptide_database_up", ""), 0.0);
    assert!(c.metric("riptide_spill_bytes", "") > (2 << 20) as f64);
    assert!(c.metric("riptide_shard_paused", "") >= 1.0);
    proxy.set_up(true);
    let s = sender.join().unwrap();
    recovered(&db, &data, &model);
    drop(s);
    c.stop();
}

// ------------------------------------------------------ collector restart

/// A collector process, killed if the test fails.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `riptide` binary on `port` (metrics on `metrics`), storing into
/// `url` with `data` as its data directory, `extra` arguments and its log
/// in `log`; returns once its store is up.
pub(crate) fn riptide_process(
    url: &str,
    port: u16,
    metrics: u16,
    data: &std::path::Path,
    log: &std::path::Path,
    extra: &[&str],
) -> Process {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let file = std::fs::File::create(log).unwrap();
    let mut p = Process(
        Command::new(env!("CARGO_BIN_EXE_riptide"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--worker-threads",
                "2",
                "--metrics-port",
                &metrics.to_string(),
            ])
            .args(["--database-url", url, "--data-dir", data.to_str().unwrap()])
            .args(["--queue-memory-mb", "1", "--batch-timeout-seconds", "0.2"])
            .args(extra)
            .env("LOG_LEVEL", "info")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_URL")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("riptide starts"),
    );
    eventually("riptide's store up", || {
        if let Ok(Some(status)) = p.0.try_wait() {
            panic!(
                "riptide exited ({status}) before its store was up; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        TcpStream::connect(("127.0.0.1", metrics)).is_ok()
            && total(&scrape(metrics), "riptide_database_up", "") >= 1.0
    });
    p
}

/// A port nothing listens on, for a process a test starts. Taken below
/// Linux's ephemeral range (32768 and up): a port from `bind(0)` can be
/// given to an outgoing connection (loadgen's, a proxy's) before the
/// process binds it, and the process then fails to start. Each call of
/// this test binary gets another port, from an offset that differs per
/// run.
pub(crate) fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000;
    let offset = u16::try_from(std::process::id() % u32::from(SPAN)).unwrap_or(0);
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOW + (offset + n % SPAN) % SPAN;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", LOW + SPAN);
}

pub(crate) fn connect_retrying(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "riptide did not start listening"
        );
        sleep(Duration::from_millis(50));
    }
}

/// Riptide is SIGKILLed while the database is away and batches sit in
/// spill files; restarted with the database back, it replays them before
/// anything new, ends the peers the killed run left up, and the routers'
/// re-dump after they reconnect restores the exact RIB.
#[test]
fn postgres_collector_killed_and_restarted() {
    let db = Pg::new("restart");
    let proxy = Proxy::new();
    let data = Lite::new("restart-spill");
    let url = db.url_via(Some(proxy.addr));
    let port = free_port();
    let a = table_stream(1, 40_000, 10_000, 17, false);
    let mut model = Model::default();
    model.feed(&a);

    let log = data.dir.join("riptide.log");
    let mut first = riptide_process(&url, port, free_port(), &data.dir, &log, &[]);
    let mut s = connect_retrying(port);
    s.write_all(&a[..a.len() / 3]).unwrap();
    eventually("some routes stored", || {
        db.rows("SELECT to_regclass('rib')")[0][0] == "rib"
            && db.count("SELECT count(*) FROM rib") > 0
    });
    proxy.set_up(false);
    s.write_all(&a[a.len() / 3..]).unwrap();
    eventually("batches spilled to disk", || spill_files(&data.dir) > 0);
    // Time for the last partial batch to reach the spill (the batch
    // timeout, then the writer), even on a loaded machine.
    sleep(Duration::from_secs(2));
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    drop(s);
    let spilled_history = db.count("SELECT count(*) FROM route_history");
    assert!(
        spilled_history < model.announced,
        "part of the table is only in the spill"
    );

    proxy.set_up(true);
    let mut second = riptide_process(&url, port, free_port(), &data.dir, &log, &[]);
    // The spill is replayed (history complete), then the killed run's
    // peers end: nothing is current until the router re-dumps.
    let start = Instant::now();
    loop {
        let history = db.count("SELECT count(*) FROM route_history");
        let ended = db.count("SELECT count(*) FROM peer_events WHERE reason = 'collector restart'");
        if history >= model.announced && ended >= 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "spill not replayed or old peers not ended: history {history} of {} ({spilled_history} \
             before the restart), {ended} peers ended, {} spill files",
            model.announced,
            spill_files(&data.dir)
        );
        sleep(Duration::from_millis(100));
    }
    converges(&db, &BTreeSet::new());
    let mut s = connect_retrying(port);
    s.write_all(&a).unwrap();
    converges(&db, &model.rib);
    // Everything the first run accepted is in history, once; the re-dump,
    // compared with the rows kept from the killed run, changes nothing and
    // adds nothing.
    eventually("the re-dump swept", || {
        db.count("SELECT count(*) FROM peer_events WHERE event = 'stale-sweep'") >= 2
    });
    assert_eq!(
        db.count("SELECT count(*) FROM route_history WHERE action = 'announce'"),
        model.announced
    );
    let dups = db.count(
        "SELECT count(*) FROM (SELECT peer_id, prefix, path_id, ts FROM route_history
          GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d",
    );
    assert_eq!(dups, 0, "no history row is applied twice");
    drop(s);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(second.0.id().to_string())
        .status();
    let status = second.0.wait().unwrap();
    assert!(status.success(), "graceful exit: {status}");
}
