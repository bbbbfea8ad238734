//! `loadgen replay` end to end: real router captures sent to a stand-in
//! collector arrive byte for byte as the routers sent them.
//!
//! The stand-in is a plain `TcpListener` on 127.0.0.1 that records every
//! byte of every connection. Each test runs the `loadgen` binary on a
//! capture and compares the set of byte streams received with the BMP
//! flows of the capture, worked out here with `riptide::capture::read`
//! (the flows whose payload starts with BMP version 3) or, for a raw BMP
//! stream, the file itself.
//!
//! Inputs:
//! - the raw BMP streams of `src/wire/testdata/` (one router session
//!   each, see its README);
//! - every pcap file under `shared/testdata/pmacct/*/`, pmacct's captures
//!   of real routers. `shared/` sits beside the repository (at
//!   `/work/shared` for `/work/main`, and beside the clone in CI); the
//!   tests fail if it is missing.
//!
//! Every wait is bounded: the `loadgen` process by [`RUN_TIMEOUT`], each
//! read by [`READ_TIMEOUT`], and the listener stops once the process has
//! exited and it has taken every connection the process made.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use riptide::capture;

mod common;
use common::run_bounded;

/// The raw BMP streams of the wire codec's golden files.
const RAW_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../src/wire/testdata");
/// pmacct's captures, in `shared/` beside the repository.
const PMACCT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/pmacct");

/// Longest a `loadgen` run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest the stand-in collector waits for one read.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the listener looks for new connections.
const ACCEPT_POLL: Duration = Duration::from_millis(5);

#[test]
fn replays_raw_huawei_locrib() {
    replay_and_compare(&raw("huawei-locrib.bin"), "max");
}

#[test]
fn replays_raw_cisco_rd_instance() {
    replay_and_compare(&raw("cisco-rd-instance.bin"), "max");
}

#[test]
fn replays_raw_cisco_peer_down_ipv6() {
    replay_and_compare(&raw("cisco-peer-down-ipv6.bin"), "max");
}

#[test]
fn replays_raw_frr_peer_down() {
    replay_and_compare(&raw("frr-peer-down.bin"), "max");
}

#[test]
fn replays_every_pmacct_capture() {
    let captures = pmacct_captures();
    assert!(
        captures.len() >= 4,
        "expected pmacct's four captures under {PMACCT_DIR}, found {captures:?}"
    );
    for path in &captures {
        replay_and_compare(path, "max");
    }
}

/// The paced path: 50 times the recorded speed. The Huawei session spans
/// about 6 s (data at 0, 2, 4 and 6 s), so the replay takes about 120 ms.
#[test]
fn replays_paced_at_fifty_times_the_recorded_speed() {
    let path = pmacct_capture("200-BMP-HUAWEI-locrib_instance");
    let span = recorded_span(&path);
    assert!(
        span >= Duration::from_secs(5),
        "{}: {span:?}",
        path.display()
    );
    let expected = span.div_f64(50.0);
    let run = replay_and_compare(&path, "50");
    // The last piece is due `expected` after the replay starts, and the
    // replay starts after the process is started: a hard lower bound.
    assert!(
        run.elapsed >= expected.mul_f64(0.99),
        "replay took {:?}, the pacing asks for at least {expected:?}",
        run.elapsed
    );
    // The bytes came over time, not in one burst. The bound is loose: a
    // busy machine may deliver the first bytes late.
    let arrival = run.arrival_spans.iter().max().copied().unwrap_or_default();
    assert!(
        arrival >= expected / 4,
        "the bytes arrived within {arrival:?}; paced at 50x they span about {expected:?}"
    );
}

/// The paced path at the recorded speed, on the shortest capture (34 ms).
#[test]
fn replays_at_the_recorded_speed() {
    let path = pmacct_capture("201-BMP-CISCO-rd_instance");
    let span = recorded_span(&path);
    let run = replay_and_compare(&path, "recorded");
    assert!(
        run.elapsed >= span.mul_f64(0.99),
        "replay took {:?}, the capture spans {span:?}",
        run.elapsed
    );
}

/// A raw stream in the wire codec's test data.
fn raw(name: &str) -> PathBuf {
    Path::new(RAW_DIR).join(name)
}

/// The pcap file of one pmacct test folder.
fn pmacct_capture(folder: &str) -> PathBuf {
    let path = Path::new(PMACCT_DIR).join(folder).join("traffic-00.pcap");
    assert!(path.is_file(), "missing capture {}", path.display());
    path
}

/// Every `*.pcap` under `shared/testdata/pmacct/*/`, sorted.
fn pmacct_captures() -> Vec<PathBuf> {
    let folders = fs::read_dir(PMACCT_DIR).unwrap_or_else(|error| {
        panic!("{PMACCT_DIR}: {error} (is shared/ beside the repository?)")
    });
    let mut captures = Vec::new();
    for folder in folders {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension() == Some(OsStr::new("pcap")) {
                captures.push(path);
            }
        }
    }
    captures.sort();
    captures
}

/// The BMP flows of a capture, as the replay should deliver them: for a
/// pcap file the payload of every flow that starts with BMP version 3, for
/// anything else the file itself.
fn expected_streams(data: &[u8]) -> Vec<Vec<u8>> {
    if !capture::is_pcap(data) {
        return vec![data.to_vec()];
    }
    let capture = capture::read(data).expect("the capture reads");
    capture
        .flows
        .into_iter()
        .map(|flow| flow.payload)
        .filter(|payload| payload.first() == Some(&3))
        .collect()
}

/// Time from the earliest first packet of the capture's BMP flows to the
/// last piece of their payload.
fn recorded_span(path: &Path) -> Duration {
    let data = fs::read(path).unwrap();
    let capture = capture::read(&data).unwrap();
    let flows: Vec<_> = capture
        .flows
        .iter()
        .filter(|flow| flow.payload.first() == Some(&3))
        .collect();
    let start = flows.iter().map(|flow| flow.first_ts).min().unwrap();
    let end = flows
        .iter()
        .flat_map(|flow| flow.segments.iter().map(|segment| segment.ts))
        .max()
        .unwrap();
    end.saturating_sub(start)
}

/// What one replay run showed.
#[derive(Debug)]
struct Run {
    /// From starting the process to its exit.
    elapsed: Duration,
    /// Per connection, from its first byte received to its last.
    arrival_spans: Vec<Duration>,
}

/// Runs `loadgen replay PATH --target ADDR --speed SPEED` against a
/// stand-in collector and asserts that it exits successfully and that the
/// streams received equal the capture's BMP flows.
fn replay_and_compare(path: &Path, speed: &str) -> Run {
    let data = fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut expected = expected_streams(&data);
    assert!(!expected.is_empty(), "{}: no BMP flow", path.display());

    let collector = Collector::start();
    let target = collector.addr.to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command
        .arg("replay")
        .arg(path)
        .args(["--target", &target, "--speed", speed]);
    let started = Instant::now();
    let output = run_bounded(&mut command, RUN_TIMEOUT);
    let elapsed = started.elapsed();
    let connections = collector.finish();

    assert!(
        output.status.success(),
        "loadgen replay {} --speed {speed} failed ({})\nstdout:\n{}\nstderr:\n{}",
        path.display(),
        output.status,
        output.stdout,
        output.stderr
    );
    let arrival_spans = connections.iter().map(Connection::arrival_span).collect();
    let mut received: Vec<Vec<u8>> = connections.into_iter().map(|c| c.bytes).collect();
    expected.sort();
    received.sort();
    if received != expected {
        panic!(
            "{} at speed {speed}: the collector received other streams than the capture's \
             BMP flows\n{}",
            path.display(),
            mismatch(&expected, &received)
        );
    }
    Run {
        elapsed,
        arrival_spans,
    }
}

/// Says how two sorted lists of streams differ, without dumping them.
fn mismatch(expected: &[Vec<u8>], received: &[Vec<u8>]) -> String {
    let lens = |streams: &[Vec<u8>]| streams.iter().map(Vec::len).collect::<Vec<_>>();
    let mut text = format!(
        "expected {} streams of lengths {:?}, received {} of lengths {:?}",
        expected.len(),
        lens(expected),
        received.len(),
        lens(received)
    );
    for (index, (want, got)) in expected.iter().zip(received).enumerate() {
        if want != got {
            let at = want
                .iter()
                .zip(got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()));
            text.push_str(&format!(
                "\nstream {index} (in sorted order) first differs at byte {at}"
            ));
        }
    }
    text
}

/// A stand-in collector: accepts connections on 127.0.0.1 and records
/// every byte of each, one thread per connection.
struct Collector {
    addr: SocketAddr,
    /// Set once the replay process has exited.
    stop: Arc<AtomicBool>,
    acceptor: JoinHandle<Vec<JoinHandle<io::Result<Connection>>>>,
}

/// What one connection brought.
#[derive(Debug)]
struct Connection {
    bytes: Vec<u8>,
    /// When the first and the last bytes were read; `None` if none came.
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Connection {
    fn arrival_span(&self) -> Duration {
        match (self.first, self.last) {
            (Some(first), Some(last)) => last.duration_since(first),
            _ => Duration::ZERO,
        }
    }
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || accept_all(&listener, &stop))
        };
        Self {
            addr,
            stop,
            acceptor,
        }
    }

    /// Takes the connections still waiting, stops listening, and returns
    /// what each connection brought, in the order they were accepted.
    /// Call it once the replay process has exited.
    fn finish(self) -> Vec<Connection> {
        self.stop.store(true, Ordering::SeqCst);
        let readers = self.acceptor.join().expect("the accepting thread");
        readers
            .into_iter()
            .enumerate()
            .map(|(index, reader)| {
                reader
                    .join()
                    .expect("a reading thread")
                    .unwrap_or_else(|error| panic!("connection {index}: {error}"))
            })
            .collect()
    }
}

/// Accepts connections until told to stop, and then until none is
/// waiting: once the process that connects has exited, every connection it
/// made is either accepted already or waiting in the backlog.
fn accept_all(
    listener: &TcpListener,
    stop: &AtomicBool,
) -> Vec<JoinHandle<io::Result<Connection>>> {
    // A safety net: the process is killed after RUN_TIMEOUT anyway.
    let deadline = Instant::now() + RUN_TIMEOUT + READ_TIMEOUT;
    let mut readers = Vec::new();
    loop {
        // Read the flag before accepting, so that a stop seen here comes
        // after everything the process did.
        let stopping = stop.load(Ordering::SeqCst);
        match listener.accept() {
            Ok((conn, _)) => readers.push(thread::spawn(move || read_all(conn))),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if stopping || Instant::now() > deadline {
                    return readers;
                }
                thread::sleep(ACCEPT_POLL);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => panic!("accept: {error}"),
        }
    }
}

/// Reads a connection to its end, noting when bytes came.
fn read_all(mut conn: TcpStream) -> io::Result<Connection> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut received = Connection {
        bytes: Vec::new(),
        first: None,
        last: None,
    };
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => {
                let now = Instant::now();
                received.first.get_or_insert(now);
                received.last = Some(now);
                received.bytes.extend_from_slice(&buf[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}
