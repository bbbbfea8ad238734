//! Faults under load, end to end with the shipped binaries: `loadgen`
//! streams full tables from several routers into the `riptide` binary
//! while the test kills every database connection and stops the
//! PostgreSQL server for 30 seconds; stops it with the spill directory
//! on a small tmpfs that fills; holds a long lock on the RIB; or SIGKILLs
//! the collector. The store must converge to exactly what the routers
//! sent (`loadgen --verify`), history must hold every announcement once,
//! and the metrics and logs must tell the operator what happened.
//!
//! The servers stopped are clusters of the tests' own (`initdb` in a
//! temporary directory, as the `postgres` user when run as root): the
//! shared test cluster cannot be stopped under the other tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::netfuzz::{scrape, total};
use super::store::{Db, Pg, Process, Tmpfs, eventually, free_port, pg_rows, riptide_process};

/// Routers, peers per router, and prefixes per table that loadgen sends.
const ROUTERS: u32 = 4;
const PEERS: u32 = 2;
const V4: u32 = 20_000;
const V6: u32 = 5_000;

/// Routes per second over all routers: the dumps last about 40 s, past
/// the outage.
const RATE: u32 = 5_000;

/// How long the database server is stopped.
const OUTAGE: Duration = Duration::from_secs(30);

/// A PostgreSQL cluster of the test's own, on a free port; stopped
/// (immediately) and removed on drop.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn create(name: &str) -> Self {
        let bin = newest_server_bin();
        let dir = std::env::temp_dir().join(format!("riptide-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            // initdb refuses to run as root.
            run_ok(Command::new("chown").arg("postgres:").arg(&dir));
        }
        let c = Self {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let data = c.data();
        c.run(
            "initdb",
            &["-D", &data, "-U", "riptide", "-A", "trust", "-E", "UTF8"],
        );
        c.start();
        c
    }

    fn data(&self) -> String {
        self.dir.join("data").to_str().unwrap().to_owned()
    }

    fn url(&self) -> String {
        format!("postgres://riptide@127.0.0.1:{}/postgres", self.port)
    }

    /// One of the server's programs (run as `postgres` when root).
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.current_dir("/");
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) {
        run_ok(self.command(program).args(args));
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    fn stop(&self, mode: &str) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `bin` directory of the newest PostgreSQL server installed
/// (Debian's layout, as `tests/run` installs it).
fn newest_server_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server installed (tests/run installs it)")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL server with initdb").1
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The loadgen binary, built beside riptide by `cargo test --workspace`.
fn loadgen_bin() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_riptide")).with_file_name("loadgen");
    assert!(
        path.exists(),
        "{} is missing: run the tests for the whole workspace (tests/run does)",
        path.display()
    );
    path
}

/// `loadgen` sending [`ROUTERS`] routers' tables to `port` at `rate`
/// routes per second, then `--verify` against `url`; its report goes to
/// `work/loadgen.out` and `work/loadgen.err`.
fn loadgen(port: u16, url: &str, rate: u32, work: &Path) -> Process {
    Process(
        Command::new(loadgen_bin())
            .args(["--target", &format!("127.0.0.1:{port}")])
            .args(["--routers", &ROUTERS.to_string()])
            .args(["--peers", &PEERS.to_string()])
            .args(["--v4", &V4.to_string(), "--v6", &V6.to_string()])
            .args(["--total-rate", &rate.to_string(), "--stats-interval", "5"])
            .args(["--once", "--verify", url, "--verify-timeout", "180"])
            .stdout(File::create(work.join("loadgen.out")).unwrap())
            .stderr(File::create(work.join("loadgen.err")).unwrap())
            .spawn()
            .expect("loadgen starts"),
    )
}

/// Waits for loadgen to end (at most 400 s after `started`) and checks
/// that its `--verify` found the store exact; returns its report.
fn verified(mut loadgen: Process, started: Instant, work: &Path) -> String {
    let status = loop {
        if let Some(s) = loadgen.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(400),
            "loadgen did not finish"
        );
        sleep(Duration::from_millis(100));
    };
    let report = std::fs::read_to_string(work.join("loadgen.out")).unwrap()
        + &std::fs::read_to_string(work.join("loadgen.err")).unwrap();
    eprintln!("{report}");
    assert!(status.success(), "loadgen: {status}\n{report}");
    assert!(report.contains("holds exactly the"), "{report}");
    report
}

/// A fresh working directory for a test.
fn workdir(name: &str) -> PathBuf {
    let work = std::env::temp_dir().join(format!("riptide-{name}-work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    work
}

/// The collector on `cluster`, its data in `data`, its log in
/// `work/riptide.log`: the process, its BMP and metrics ports, the log.
fn collector_on(
    cluster: &Cluster,
    work: &Path,
    data: &Path,
    extra: &[&str],
) -> (Process, u16, u16, PathBuf) {
    let log = work.join("riptide.log");
    let (port, metrics) = (free_port(), free_port());
    let p = riptide_process(&cluster.url(), port, metrics, data, &log, extra);
    (p, port, metrics, log)
}

/// Sum of `name` now.
fn metric(port: u16, name: &str) -> f64 {
    total(&scrape(port), name, "")
}

#[test]
fn postgres_stopped_for_30_seconds_and_connections_killed_under_load() {
    let cluster = Cluster::create("faults");
    let work = workdir("outage");
    let (_riptide, port, metrics, log_path) =
        collector_on(&cluster, &work, &work.join("data"), &[]);
    let loadgen = loadgen(port, &cluster.url(), RATE, &work);
    let started = Instant::now();

    // Every connection of the collector's killed, mid-stream.
    sleep(Duration::from_secs(3));
    let killed = pg_rows(
        &cluster.url(),
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert_ne!(
        killed[0][0], "0",
        "riptide's connections were there to kill"
    );
    eventually("the writers back after the kill", || {
        metric(metrics, "riptide_database_reconnects_total") >= 1.0
    });

    // The server stopped for 30 s while the routers go on sending.
    let reconnects = metric(metrics, "riptide_database_reconnects_total");
    cluster.stop("fast");
    let stopped = Instant::now();
    eventually("the outage seen", || {
        metric(metrics, "riptide_database_up") == 0.0
    });
    eventually("batches spilled to disk", || {
        metric(metrics, "riptide_spill_bytes") > 0.0
    });
    sleep(OUTAGE.saturating_sub(stopped.elapsed()));
    let scrape_in_outage = scrape(metrics);
    cluster.start();
    eprintln!(
        "database back {:.1} s after loadgen started",
        started.elapsed().as_secs_f64()
    );
    verified(loadgen, started, &work);

    // Reading from the routers never stopped.
    each_router_connected_once(metrics);
    // During the outage the metrics said so.
    assert_eq!(total(&scrape_in_outage, "riptide_database_up", ""), 0.0);
    assert!(total(&scrape_in_outage, "riptide_spill_bytes", "") > 0.0);
    // After it, the spill is replayed and the store is up again.
    spill_replayed(metrics);
    assert!(metric(metrics, "riptide_database_reconnects_total") > reconnects);
    // And the log told the operator.
    log_says(
        &log_path,
        &[
            "database unavailable: batches are queued (then spilled) and retried",
            "database reachable again",
        ],
    );
    history_holds_each_announcement_once(&cluster.url());
    // (A failed test leaves `work`, with the logs, for a look.)
    let _ = std::fs::remove_dir_all(&work);
}

/// The database server stops while the routers dump, and the spill
/// directory sits on a 3 MiB tmpfs that fills: the collector says so,
/// stops reading from the routers (back-pressure) rather than dropping
/// anything, and reads on once the server is back; the store ends exact.
#[test]
fn spill_disk_full_under_load_pauses_reading_and_loses_nothing() {
    let cluster = Cluster::create("diskfull");
    let work = workdir("diskfull");
    let data = work.join("data");
    let _disk = Tmpfs::mount(&data, "3m");
    let (_riptide, port, metrics, log_path) =
        collector_on(&cluster, &work, &data, &["--queue-depth", "2"]);
    let loadgen = loadgen(port, &cluster.url(), 4 * RATE, &work);
    let started = Instant::now();
    eventually("routes stored", || {
        pg_rows(&cluster.url(), "SELECT count(*) FROM rib")[0][0] != "0"
    });
    cluster.stop("fast");

    // The disk fills (batches read back stay on it until their whole
    // segment is stored, so it can be full of those) and reading stops
    // short of the tables' end.
    eventually("the spill disk full and reading paused", || {
        let before = scrape(metrics);
        sleep(Duration::from_secs(2));
        let after = scrape(metrics);
        let read = total(&after, "bmp_routes_announced_total", "");
        total(&after, "riptide_shard_paused", "") >= 1.0
            && read == total(&before, "bmp_routes_announced_total", "")
            && read < f64::from(ROUTERS * PEERS * (V4 + V6))
    });
    assert_eq!(metric(metrics, "riptide_database_up"), 0.0);
    log_says(
        &log_path,
        &[
            "cannot spill to disk: batches stay in memory and reading from routers will pause",
            "store writer queue full: processing falls behind, reading from routers pauses",
        ],
    );
    cluster.start();
    verified(loadgen, started, &work);
    each_router_connected_once(metrics);
    spill_replayed(metrics);
    history_holds_each_announcement_once(&cluster.url());
    let _ = std::fs::remove_dir_all(&work);
}

/// A long lock on the current RIB holds every RIB write for 10 s while
/// the routers dump: the collector reads on (its queue spills), the
/// metrics and log show the slow commits, and the store ends exact.
#[test]
fn slow_database_long_lock_under_load() {
    let db = Pg::new("faults_lock");
    let url = db.url_via(None);
    let work = workdir("lock");
    let log_path = work.join("riptide.log");
    let (port, metrics) = (free_port(), free_port());
    let _riptide = riptide_process(&url, port, metrics, &work.join("data"), &log_path, &[]);
    let loadgen = loadgen(port, &url, 2 * RATE, &work);
    let started = Instant::now();
    eventually("routes stored", || {
        db.count("SELECT count(*) FROM rib") > 10_000
    });
    let lock_url = url.clone();
    let lock = std::thread::spawn(move || {
        pg_rows(
            &lock_url,
            "BEGIN; LOCK TABLE rib IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(10); COMMIT",
        )
    });
    // Routes are read all the while the RIB is locked.
    sleep(Duration::from_secs(1));
    let read = metric(metrics, "bmp_routes_announced_total");
    sleep(Duration::from_secs(6));
    assert!(
        !lock.is_finished() && metric(metrics, "bmp_routes_announced_total") > read,
        "the collector reads while the database is slow"
    );
    lock.join().unwrap();
    verified(loadgen, started, &work);
    let longest = total(
        &scrape(metrics),
        "riptide_batch_commit_summary_seconds",
        "quantile=\"1\"",
    );
    assert!(longest > 3.0, "longest commit {longest} s");
    log_says(
        &log_path,
        &["database slow: a batch took over a second to commit"],
    );
    each_router_connected_once(metrics);
    spill_replayed(metrics);
    history_holds_each_announcement_once(&url);
    let _ = std::fs::remove_dir_all(&work);
}

/// Each router connected once (to this collector process).
fn each_router_connected_once(metrics: u16) {
    assert_eq!(
        metric(metrics, "riptide_connections_accepted_total"),
        f64::from(ROUTERS)
    );
}

/// The spill is replayed, the store up, and no batch was refused.
fn spill_replayed(metrics: u16) {
    eventually("the spill replayed", || {
        metric(metrics, "riptide_spill_bytes") == 0.0
            && metric(metrics, "riptide_database_up") >= 1.0
    });
    assert_eq!(metric(metrics, "riptide_batches_rejected_total"), 0.0);
}

/// The collector's log holds each of `lines`.
fn log_says(path: &Path, lines: &[&str]) {
    let log = std::fs::read_to_string(path).unwrap();
    for line in lines {
        assert!(log.contains(line), "log lacks {line:?}:\n{log}");
    }
}

/// History holds each announcement loadgen sent exactly once.
fn history_holds_each_announcement_once(url: &str) {
    let routes = u64::from(ROUTERS * PEERS * (V4 + V6));
    let history = pg_rows(
        url,
        "SELECT count(*), count(DISTINCT (peer_id, prefix, path_id)) FROM route_history \
          WHERE action = 'announce'",
    );
    assert_eq!(history[0], [routes.to_string(), routes.to_string()]);
}

/// SIGKILL of the collector in the middle of the dumps: the routers lose
/// their sessions, connect again to the restarted collector and dump
/// again; the store ends exact, and the peers the killed run had up are
/// ended as "collector restart".
#[test]
fn riptide_killed_under_load_and_restarted_routers_dump_again() {
    let db = Pg::new("faults_kill");
    let url = db.url_via(None);
    let work = workdir("kill");
    let (port, metrics) = (free_port(), free_port());
    let mut first = riptide_process(
        &url,
        port,
        metrics,
        &work.join("data"),
        &work.join("first.log"),
        &[],
    );
    let started = Instant::now();
    let loadgen = loadgen(port, &url, 4 * RATE, &work);
    eventually("routes stored", || {
        db.count("SELECT count(*) FROM rib") > 10_000
    });
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let killed_at = db.rows("SELECT now()::text")[0][0].clone();
    let _second = riptide_process(
        &url,
        port,
        metrics,
        &work.join("data"),
        &work.join("second.log"),
        &[],
    );
    let report = verified(loadgen, started, &work);

    // Every router lost its session and came back to the new collector.
    assert_eq!(
        report.matches("session lost").count(),
        ROUTERS as usize,
        "{report}"
    );
    each_router_connected_once(metrics);
    // Each peer the killed run had up was ended at the restart.
    let ended = db.count(
        "SELECT count(DISTINCT peer_id) FROM peer_events \
          WHERE event = 'down' AND reason = 'collector restart'",
    );
    let up_before = db.count(&format!(
        "SELECT count(DISTINCT peer_id) FROM peer_events WHERE event = 'up' AND ts < '{killed_at}'"
    ));
    assert!(ended >= i64::from(ROUTERS), "{ended} peers ended");
    assert_eq!(ended, up_before);
    let _ = std::fs::remove_dir_all(&work);
}
