//! The `riptide` binary as operators watch it: the metrics endpoint
//! scraped over HTTP (every metric the Grafana dashboards and Prometheus
//! rules name is there, with the right values), Sentry events received
//! by a local HTTP endpoint standing in for Sentry, and the log formats
//! with the SIGUSR1 level toggle.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use riptide::synth::{self, router_stream};
use riptide::wire::bmp::header::PeerType;
use riptide::wire::bmp::peer_down::PeerDownReason;
use riptide::wire::encode;
use serde_json::Value;

use super::store::{Db, Lite, Pg, Process, eventually, free_port};

/// A Peer Down whose per-peer header is cut short: framed fine, does not
/// decode.
const BAD_MESSAGE: [u8; 10] = [3, 0, 0, 0, 10, 2, 0, 0, 0, 0];

/// Starts `riptide` on free ports with `args` and `env`; output to
/// `log` (a file) when given.
fn riptide(
    args: &[&str],
    env: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> (Process, u16, u16) {
    let (bmp, metrics) = (free_port(), free_port());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_riptide"));
    cmd.args(["--listen", &format!("127.0.0.1:{bmp}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")])
        .args(["--worker-threads", "2", "--batch-timeout-seconds", "0.2"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SENTRY_DSN")
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    match log {
        Some(path) => cmd.stdout(std::fs::File::create(path).unwrap()),
        None => cmd.stdout(Stdio::null()),
    };
    let p = Process(cmd.spawn().expect("riptide starts"));
    // Ready: listening (and the store reachable). The metrics endpoint is
    // up before the shards, so no probe connection disturbs the counts.
    eventually("riptide to be ready", || {
        try_get(metrics, "/ready").is_some_and(|(status, _)| status == 200)
    });
    (p, bmp, metrics)
}

/// `GET path` on the metrics port: status and body.
fn get(port: u16, path: &str) -> (u16, String) {
    try_get(port, path).expect("metrics endpoint reachable")
}

/// `GET path` on the metrics port, if it answers.
fn try_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: riptide\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Some((status, body))
}

/// The value of the sample `series` (name with labels, as printed).
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (s, v) = l.rsplit_once(' ')?;
        (s == series).then(|| v.parse().ok())?
    })
}

/// Metric names in the dashboards and alert rules.
fn names_used_by_dashboards_and_rules() -> BTreeSet<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut text = std::fs::read_to_string(format!("{root}/src/metrics/prometheus/alerts.yml"))
        .expect("alert rules");
    let dashboards = format!("{root}/src/metrics/grafana/dashboards");
    for e in std::fs::read_dir(dashboards).expect("dashboards") {
        text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &text[i..];
        let prefixed = ["bmp_", "riptide_", "database_", "process_"]
            .iter()
            .any(|p| rest.starts_with(p));
        if word_start && prefixed {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..len].to_owned());
            i += len;
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn metrics_scrape_has_every_metric_of_the_dashboards_and_rules() {
    let data = Lite::new("metrics");
    let dir = data.dir.to_str().unwrap().to_owned();
    let (_p, bmp, port) = riptide(
        &["--data-dir", &dir, "--peer-routes-interval-seconds", "1"],
        &[],
        None,
    );
    assert_eq!(get(port, "/ready"), (200, "ready\n".into()));
    assert_eq!(get(port, "/health"), (200, "ok\n".into()));
    assert_eq!(get(port, "/nothing").0, 404);

    let mut data = Vec::new();
    let announced = router_stream(&mut data, 2, 3000, 500, 3, false).unwrap();
    let peer = synth::peer_header(1, PeerType::Global, 0, 1_700_000_000);
    encode::peer_down(&mut data, &peer, &PeerDownReason::RemoteNoData).unwrap();
    data.extend_from_slice(&BAD_MESSAGE);
    let mut router = TcpStream::connect(("127.0.0.1", bmp)).unwrap();
    router.write_all(&data).unwrap();

    // Peer 2 keeps its routes; peer 1's are flushed.
    let scrape = || get(port, "/metrics").1;
    eventually("routes counted per peer", || {
        let s = scrape();
        sample(
            &s,
            "bmp_peer_routes{router_ip=\"127.0.0.1\",peer_ip=\"10.0.0.2\",rib=\"adj-rib-in-pre\"}",
        )
        .is_some_and(|n| n > 0.0)
            && sample(&s, "bmp_routes_announced_total{router_ip=\"127.0.0.1\"}")
                == Some(announced as f64)
    });
    let s = scrape();
    let r = "router_ip=\"127.0.0.1\"";
    let expect = [
        (format!("bmp_active_connections{{{r}}}"), 1.0),
        (
            format!("bmp_messages_received_total{{{r},message_type=\"peer_up\"}}"),
            2.0,
        ),
        (
            format!("bmp_messages_received_total{{{r},message_type=\"peer_down\"}}"),
            2.0,
        ),
        (
            format!("bmp_messages_received_total{{{r},message_type=\"initiation\"}}"),
            1.0,
        ),
        (
            format!("bmp_parse_errors_total{{{r},kind=\"bmp_message\"}}"),
            1.0,
        ),
        (format!("bmp_peer_up_total{{{r}}}"), 2.0),
        (format!("bmp_peer_down_total{{{r}}}"), 1.0),
        (format!("bmp_peers_up{{{r}}}"), 1.0),
        ("riptide_connections_accepted_total".into(), 1.0),
        ("riptide_database_up".into(), 1.0),
        ("bmp_connections_lost_total".into(), 0.0),
    ];
    for (series, value) in &expect {
        assert_eq!(sample(&s, series), Some(*value), "{series}\n{s}");
    }
    let written = sample(&s, "riptide_rows_written_total{table=\"rib\"}").unwrap();
    assert!(written >= announced as f64, "{written}");
    assert!(sample(&s, "riptide_batch_commit_seconds_count").unwrap() >= 1.0);
    assert!(sample(&s, "riptide_end_to_end_summary_seconds{quantile=\"0.99\"}").unwrap() > 0.0);
    assert!(sample(&s, "riptide_message_decode_seconds_count").unwrap() >= 1.0);
    assert!(sample(&s, "process_resident_memory_bytes").unwrap() > 1e6);

    // Every metric the dashboards and rules use is in the live scrape.
    let names = names_used_by_dashboards_and_rules();
    assert!(names.len() > 30, "{names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|n| {
            !s.lines()
                .any(|l| l.starts_with(&format!("{n}{{")) || l.starts_with(&format!("{n} ")))
        })
        .collect();
    assert!(missing.is_empty(), "not in /metrics: {missing:?}");

    // The router goes away without Termination: a lost connection.
    drop(router);
    eventually("the connection to count as lost", || {
        let s = scrape();
        sample(&s, "bmp_connections_lost_total") == Some(1.0)
            && sample(&s, &format!("bmp_active_connections{{{r}}}")) == Some(0.0)
    });
}

/// Envelopes a stand-in Sentry receives over HTTP: their JSON items.
#[derive(Clone, Default)]
struct SentryStub(Arc<Mutex<Vec<Value>>>);

impl SentryStub {
    /// Listens on a free port; returns the DSN that points at it.
    fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let items = self.0.clone();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(s) = s else { continue };
                let items = items.clone();
                std::thread::spawn(move || serve_envelope(s, &items));
            }
        });
        format!("http://public@127.0.0.1:{port}/42")
    }

    /// The events received so far.
    fn events(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v.get("event_id").is_some() && v.get("platform").is_some())
            .cloned()
            .collect()
    }

    fn with_tag(&self, key: &str, value: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["tags"][key] == value)
            .collect()
    }
}

/// Reads one HTTP request (Content-Length or chunked body), keeps the
/// envelope's JSON lines, answers 200.
fn serve_envelope(s: TcpStream, items: &Mutex<Vec<Value>>) {
    let mut r = BufReader::new(s);
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body).unwrap();
    }
    for line in body.split(|b| *b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<Value>(line) {
            items.lock().unwrap().push(v);
        }
    }
    let mut s = r.into_inner();
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
}

/// An event's level (Sentry leaves out the default, error).
fn level(e: &Value) -> &str {
    e["level"].as_str().unwrap_or("error")
}

#[test]
fn sentry_receives_peer_and_parse_error_events() {
    let stub = SentryStub::default();
    let dsn = stub.start();
    let (_p, bmp, port) = riptide(
        &["--store", "null"],
        &[("SENTRY_DSN", &dsn), ("SENTRY_ENVIRONMENT", "it")],
        None,
    );
    let mut data = Vec::new();
    router_stream(&mut data, 2, 100, 10, 4, false).unwrap();
    let peer = synth::peer_header(1, PeerType::Global, 0, 1_700_000_000);
    encode::peer_down(&mut data, &peer, &PeerDownReason::RemoteNoData).unwrap();
    let mut router = TcpStream::connect(("127.0.0.1", bmp)).unwrap();
    router.write_all(&data).unwrap();
    // A storm of identical bad messages, over three seconds: one event
    // (the log line is rate-limited per connection, the event per
    // content).
    for _ in 0..30 {
        router.write_all(&BAD_MESSAGE).unwrap();
        sleep(Duration::from_millis(100));
    }
    eventually("peer up, peer down and parse error events", || {
        stub.with_tag("event_type", "peer_up").len() == 2
            && !stub.with_tag("event_type", "peer_down").is_empty()
            && !stub.with_tag("event_type", "parse_error").is_empty()
    });

    let up = &stub.with_tag("event_type", "peer_up")[0];
    assert_eq!(level(up), "info");
    assert_eq!(up["environment"], "it");
    assert_eq!(up["tags"]["peer_ip"], "127.0.0.1");
    let ctx = &up["contexts"]["bmp_peer"];
    assert_eq!(ctx["peer_ip"], "127.0.0.1");
    assert!(ctx["bgp_peer"] == "10.0.0.1" || ctx["bgp_peer"] == "10.0.0.2");
    assert!(ctx["bgp_peer_asn"] == 64_513 || ctx["bgp_peer_asn"] == 64_514);

    let down = &stub.with_tag("event_type", "peer_down")[0];
    assert_eq!(level(down), "warning");
    assert_eq!(down["contexts"]["bmp_peer"]["bgp_peer"], "10.0.0.1");
    // Reason 4: the remote system closed the session without data.
    assert_eq!(down["contexts"]["bmp_peer"]["reason_code"], 4);

    let errors = stub.with_tag("event_type", "parse_error");
    assert_eq!(errors.len(), 1, "identical parse errors are sent once");
    let e = &errors[0];
    assert_eq!(level(e), "error");
    let ctx = &e["contexts"]["parse_error"];
    assert_eq!(ctx["peer_ip"], "127.0.0.1");
    assert!(
        ctx["error_message"]
            .as_str()
            .unwrap()
            .starts_with("peer_down"),
        "{ctx}"
    );
    assert_eq!(ctx["data_hex"], "030000000a0200000000");
    let dropped = sample(
        &get(port, "/metrics").1,
        "riptide_sentry_events_dropped_total",
    );
    assert!(dropped.unwrap() >= 1.0, "{dropped:?}");

    // The router goes away: the remaining peer's session ends with it.
    drop(router);
    eventually("the second peer down", || {
        stub.with_tag("event_type", "peer_down").len() == 2
    });
    let last = stub.with_tag("event_type", "peer_down")[1].clone();
    assert_eq!(last["contexts"]["bmp_peer"]["reason_code"], 0);
    assert_eq!(last["contexts"]["bmp_peer"]["bgp_peer"], "10.0.0.2");
}

#[test]
fn sentry_receives_route_errors_and_error_logs() {
    let stub = SentryStub::default();
    let dsn = stub.start();
    let db = Pg::new("sentry");
    let data_dir = Lite::new("sentry");
    // A spill file of an earlier run with a damaged record: replaying it
    // logs an ERROR, which Sentry receives as an event.
    let spill = data_dir.dir.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let mut junk = vec![0, 0, 0, 4];
    junk.extend_from_slice(&[0x11; 8]);
    junk.extend_from_slice(b"junk");
    std::fs::write(spill.join("w0-1-000000.spill"), junk).unwrap();
    let url = db.url_via(None);
    let (_p, bmp, port) = riptide(
        &[
            "--database-url",
            &url,
            "--data-dir",
            data_dir.dir.to_str().unwrap(),
        ],
        &[("SENTRY_DSN", &dsn)],
        None,
    );
    // The database refuses IPv6 routes: every batch with one is rejected.
    db.rows("ALTER TABLE rib ADD CONSTRAINT it_no_ipv6 CHECK (afi <> 2)");
    let mut data = Vec::new();
    router_stream(&mut data, 1, 50, 20, 6, false).unwrap();
    let mut router = TcpStream::connect(("127.0.0.1", bmp)).unwrap();
    router.write_all(&data).unwrap();
    eventually("a route error event", || {
        !stub.with_tag("event_type", "route_error").is_empty()
    });
    let e = &stub.with_tag("event_type", "route_error")[0];
    assert_eq!(level(e), "error");
    // All routes of the stream fit in one batch.
    assert_eq!(e["contexts"]["route_processing"]["route_count"], 70);
    let logged = stub
        .events()
        .into_iter()
        .find(|e| e["message"] == "damaged spill record: the rest of the segment is skipped")
        .expect("the ERROR log line as an event");
    assert_eq!(level(&logged), "error");
    let s = get(port, "/metrics").1;
    assert_eq!(sample(&s, "riptide_batches_rejected_total"), Some(1.0));
    assert_eq!(sample(&s, "riptide_database_up"), Some(1.0));
    // Writer 0 and the writer of the router's shard hold two each.
    let active = sample(&s, "database_pool_connections{state=\"active\"}").unwrap();
    assert!(active == 2.0 || active == 4.0, "{active}");
    drop(router);
}

#[test]
fn an_invalid_sentry_dsn_is_a_warning_and_riptide_runs_on() {
    let log = std::env::temp_dir().join(format!("riptide-it-dsn-{}.log", std::process::id()));
    let (_p, _bmp, port) = riptide(
        &["--store", "null"],
        &[("SENTRY_DSN", "not a dsn")],
        Some(&log),
    );
    assert_eq!(get(port, "/ready").0, 200);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains(" - WARNING - ") && l.contains("SENTRY_DSN is not a valid DSN")),
        "{text}"
    );
    let _ = std::fs::remove_file(&log);
}

/// Whether `line` is `2024-01-15 10:30:45,123 - target - LEVEL - ...`.
fn python_format(line: &str) -> bool {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let fields: Vec<&str> = line.splitn(4, " - ").collect();
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b' ')
        && b.get(19) == Some(&b',')
        && digits(20..23)
        && fields.len() == 4
        && ["DEBUG", "INFO", "WARNING", "ERROR"].contains(&fields[2])
}

#[test]
fn text_logs_as_the_python_collectors_and_sigusr1_toggles_debug() {
    let log = std::env::temp_dir().join(format!("riptide-it-text-{}.log", std::process::id()));
    let (p, bmp, _port) = riptide(&["--store", "null"], &[], Some(&log));
    let routes = |seed| {
        let mut data = Vec::new();
        router_stream(&mut data, 1, 20, 0, seed, false).unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", bmp)).unwrap();
        s.write_all(&data).unwrap();
        s
    };
    let debug_lines = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(" - DEBUG - "))
            .count()
    };
    let first = routes(1);
    eventually("the router to be logged", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("router connected")
    });
    sleep(Duration::from_millis(300));
    assert_eq!(debug_lines(), 0);

    let pid = p.0.id().to_string();
    let kill = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    kill("-USR1");
    eventually("the level change", || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("log level changed")
    });
    let second = routes(2);
    // One debug line per route.
    eventually("debug lines per route", || debug_lines() >= 20);
    kill("-USR1");
    sleep(Duration::from_millis(300));
    let after = debug_lines();
    let third = routes(3);
    sleep(Duration::from_millis(500));
    assert_eq!(debug_lines(), after, "debug is off again");

    let text = std::fs::read_to_string(&log).unwrap();
    for line in text.lines() {
        assert!(python_format(line), "{line:?}");
    }
    assert!(
        text.lines().any(
            |l| l.contains(" - riptide::shard::conn - INFO - router connected")
                && l.contains("router=127.0.0.1:")
        ),
        "{text}"
    );
    drop((first, second, third));
    let _ = std::fs::remove_file(&log);
}

#[test]
fn json_logs_one_object_per_line_with_fields() {
    let log = std::env::temp_dir().join(format!("riptide-it-json-{}.log", std::process::id()));
    let (_p, bmp, _port) = riptide(
        &["--store", "null"],
        &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "WARNING")],
        Some(&log),
    );
    let mut data = Vec::new();
    router_stream(&mut data, 1, 10, 0, 1, false).unwrap();
    let peer = synth::peer_header(1, PeerType::Global, 0, 1_700_000_000);
    encode::peer_down(&mut data, &peer, &PeerDownReason::RemoteNoData).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", bmp)).unwrap();
    s.write_all(&data).unwrap();
    let start = Instant::now();
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("peer down") || start.elapsed() > Duration::from_secs(30) {
            break text;
        }
        sleep(Duration::from_millis(100));
    };
    let objects: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    // LOG_LEVEL=WARNING: no INFO lines.
    assert!(objects.iter().all(|o| o["level"] != "INFO"), "{lines}");
    let down = objects
        .iter()
        .find(|o| o["message"] == "peer down")
        .expect("a peer down line");
    assert_eq!(down["level"], "WARN");
    assert_eq!(down["peer"], "10.0.0.1");
    assert_eq!(down["reason_code"], 4);
    assert_eq!(down["router"], "127.0.0.1");
    assert!(down["timestamp"].is_string());
    // The connection's span, with its router and shard, is on every line.
    let span = &down["span"];
    assert!(
        span["router"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{down}"
    );
    assert!(span["shard"].is_number(), "{down}");
    let _ = std::fs::remove_file(&log);
}
