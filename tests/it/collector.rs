//! The collector over real TCP on loopback: shards, router sessions,
//! limits, bad input and shutdown, on both IO drivers. The shards run with
//! the null sink, whose counters say what the sessions reported.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::sleep;
use std::time::Duration;

use clap::Parser;
use riptide::config::Config;
use riptide::metrics::Metrics;
use riptide::shard::{Collector, ShardCounters, ShardReport, start};
use riptide::sink::{Counts, NullSink};
use riptide::synth::{self, router_stream};
use riptide::wire::bmp::header::PeerType;
use riptide::wire::bmp::peer_down::PeerDownReason;
use riptide::wire::encode;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

fn config(extra: &[&str]) -> Config {
    let base = [
        "riptide",
        "--listen",
        "127.0.0.1:0",
        "--worker-threads",
        "2",
    ];
    Args::try_parse_from(base.iter().chain(extra))
        .expect("valid test config")
        .config
}

fn collector(extra: &[&str]) -> Collector<NullSink> {
    let config = config(extra);
    let metrics = Metrics::for_config(&config);
    start(Arc::new(config), metrics, |_| NullSink::default()).expect("collector starts")
}

/// Stops the collector and adds up what the shards counted.
fn stop(c: Collector<NullSink>) -> (Counts, ShardCounters) {
    c.shutdown_handle().shutdown();
    let reports: Vec<ShardReport<NullSink>> = c.join().expect("shards stop cleanly");
    let mut counts = Counts::default();
    let mut shard = ShardCounters::default();
    for r in reports {
        let (c, s) = (r.sink.counts, r.counters);
        counts.routers_connected += c.routers_connected;
        counts.routers_disconnected += c.routers_disconnected;
        counts.initiations += c.initiations;
        counts.peers_up += c.peers_up;
        counts.peers_down += c.peers_down;
        counts.announced += c.announced;
        counts.withdrawn += c.withdrawn;
        counts.end_of_rib += c.end_of_rib;
        counts.sweeps += c.sweeps;
        counts.stats += c.stats;
        counts.mirrored += c.mirrored;
        shard.accepted += s.accepted;
        shard.refused_limit += s.refused_limit;
        shard.refused_not_allowed += s.refused_not_allowed;
        shard.framing_errors += s.framing_errors;
        shard.bad_messages += s.bad_messages;
    }
    (counts, shard)
}

/// Sends `data` and closes the connection.
fn send(addr: SocketAddr, data: &[u8]) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(data).expect("send");
}

/// Waits until the server closes `s` (read returns 0 or an error).
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 16];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

fn stream(peers: u32, v4: u32, v6: u32, seed: u64) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let n = router_stream(&mut out, peers, v4, v6, seed, false).unwrap();
    (out, n)
}

fn several_routers_with_several_peers(driver: &str) {
    let c = collector(&["--io-driver", driver]);
    assert_eq!(
        c.driver(),
        if driver == "uring" {
            "io_uring"
        } else {
            "epoll"
        }
    );
    let addr = c.local_addr();
    let routers: Vec<_> = (0..4).map(|i| stream(3, 2000, 500, i)).collect();
    let expected: u64 = routers.iter().map(|(_, n)| n).sum();
    std::thread::scope(|s| {
        for (data, _) in &routers {
            s.spawn(move || send(addr, data));
        }
    });
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!(counts.announced, expected);
    assert_eq!(
        (counts.routers_connected, counts.routers_disconnected),
        (4, 4)
    );
    assert_eq!(
        (counts.initiations, counts.peers_up, counts.peers_down),
        (4, 12, 12)
    );
    // IPv4 and IPv6 End-of-RIB for every peer, which completes each re-dump.
    assert_eq!((counts.end_of_rib, counts.sweeps), (24, 12));
    assert_eq!(
        (shard.accepted, shard.framing_errors, shard.bad_messages),
        (4, 0, 0)
    );
}

#[test]
fn several_routers_with_several_peers_epoll() {
    several_routers_with_several_peers("epoll");
}

/// Runs `test` on the io_uring driver, or says why it cannot here (not
/// skipped silently: the epoll test covers a machine that forbids it).
fn on_io_uring(test: fn(&str)) {
    if !riptide::shard::io_uring_available() {
        eprintln!("io_uring unavailable here: the epoll test covers this machine");
        return;
    }
    test("uring");
}

#[test]
fn several_routers_with_several_peers_io_uring() {
    on_io_uring(several_routers_with_several_peers);
}

#[test]
fn messages_split_at_every_byte_boundary() {
    let c = collector(&[]);
    let (data, expected) = stream(1, 40, 10, 9);
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    s.set_nodelay(true).unwrap();
    for b in &data {
        s.write_all(std::slice::from_ref(b)).unwrap();
        if data.len() < 20_000 {
            std::thread::yield_now();
        }
    }
    drop(s);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!(counts.announced, expected);
    assert_eq!(
        (counts.peers_up, counts.end_of_rib, shard.framing_errors),
        (1, 2, 0)
    );
}

#[test]
fn peer_down_and_termination() {
    let c = collector(&[]);
    let (mut data, _) = stream(2, 10, 0, 1);
    let peer = synth::peer_header(1, PeerType::Global, 0, 1_700_000_000);
    encode::peer_down(&mut data, &peer, &PeerDownReason::RemoteNoData).unwrap();
    encode::termination(&mut data, &[(1, &[0, 0])]).unwrap();
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    s.write_all(&data).unwrap();
    // Termination: the collector closes the connection itself.
    assert!(closed_by_server(&mut s));
    let (counts, _) = stop(c);
    // Peer 1 by Peer Down, peer 2 by Termination.
    assert_eq!(
        (
            counts.peers_up,
            counts.peers_down,
            counts.routers_disconnected
        ),
        (2, 2, 1)
    );
}

#[test]
fn garbage_on_one_connection_does_not_harm_others() {
    let c = collector(&[]);
    let addr = c.local_addr();
    let (good, expected) = stream(2, 3000, 300, 5);
    let mut bad = TcpStream::connect(addr).unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nHost: riptide\r\n\r\n")
        .unwrap();
    assert!(closed_by_server(&mut bad));
    // An impossible length: closed before anything is buffered for it.
    let mut huge = TcpStream::connect(addr).unwrap();
    huge.write_all(&[3, 0x7f, 0xff, 0xff, 0xff, 0]).unwrap();
    assert!(closed_by_server(&mut huge));
    send(addr, &good);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!(counts.announced, expected);
    assert_eq!(shard.framing_errors, 2);
    assert_eq!(counts.routers_disconnected, 3);
}

#[test]
fn undecodable_message_is_skipped_and_counted() {
    let c = collector(&[]);
    let (data, expected) = stream(1, 100, 0, 2);
    let mut bad = Vec::new();
    // A Peer Down whose per-peer header is cut short: framed fine, does
    // not decode.
    bad.extend_from_slice(&[3, 0, 0, 0, 10, 2, 0, 0, 0, 0]);
    let mut all = bad.clone();
    all.extend_from_slice(&data);
    send(c.local_addr(), &all);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!(counts.announced, expected);
    assert_eq!((shard.bad_messages, shard.framing_errors), (1, 0));
}

#[test]
fn connection_limit() {
    let c = collector(&["--bmp-max-connections", "2"]);
    let addr = c.local_addr();
    let a = TcpStream::connect(addr).unwrap();
    let b = TcpStream::connect(addr).unwrap();
    sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(addr).unwrap();
    assert!(closed_by_server(&mut third));
    drop((a, b));
    sleep(Duration::from_millis(300));
    // Room again.
    let (data, expected) = stream(1, 10, 0, 3);
    send(addr, &data);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!((shard.accepted, shard.refused_limit), (3, 1));
    assert_eq!(counts.announced, expected);
}

#[test]
fn allow_list() {
    let c = collector(&["--bmp-allowed-routers", "10.0.0.0/8,2001:db8::/32"]);
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    assert!(closed_by_server(&mut s));
    let (_, shard) = stop(c);
    assert_eq!((shard.accepted, shard.refused_not_allowed), (0, 1));

    let c = collector(&["--bmp-allowed-routers", "127.0.0.0/8"]);
    let (data, expected) = stream(1, 10, 0, 3);
    send(c.local_addr(), &data);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!((shard.accepted, counts.announced), (1, expected));
}

#[test]
fn graceful_shutdown_handles_what_was_sent() {
    let c = collector(&[]);
    let (data, expected) = stream(2, 20_000, 5000, 4);
    // The router keeps its session open, as real routers do.
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    s.write_all(&data).unwrap();
    let (counts, _) = stop(c);
    assert_eq!(counts.announced, expected);
    assert_eq!(counts.peers_down, 2);
    drop(s);
}

/// A router that never goes quiet does not hold the shutdown past its
/// bound, and the shard still hands back its sink.
#[test]
fn shutdown_is_bounded_when_a_router_never_goes_quiet() {
    let c = collector(&["--shutdown-timeout-seconds", "3"]);
    let (data, _) = stream(1, 2000, 500, 6);
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    s.write_all(&data).unwrap();
    let mut keepalive = Vec::new();
    synth::end_of_rib(
        &mut keepalive,
        &synth::peer_header(1, PeerType::Global, 0, 1),
    )
    .unwrap();
    let sender = std::thread::spawn(move || {
        while s.write_all(&keepalive).is_ok() {
            sleep(Duration::from_millis(5));
        }
    });
    sleep(Duration::from_millis(300));
    let start = std::time::Instant::now();
    let (counts, _) = stop(c);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(counts.peers_down, 1);
    sender.join().unwrap();
}

#[test]
fn stale_timeout_sweeps_without_end_of_rib() {
    let c = collector(&["--stale-timeout-seconds", "1"]);
    let mut data = Vec::new();
    synth::initiation(&mut data, "r1").unwrap();
    let peer = synth::peer_header(1, PeerType::Global, 0, 1_700_000_000);
    synth::peer_up(&mut data, &peer, false).unwrap();
    let mut s = TcpStream::connect(c.local_addr()).unwrap();
    s.write_all(&data).unwrap();
    sleep(Duration::from_millis(1600));
    let (counts, _) = stop(c);
    // The timeout sweeps all five RIB kinds of the peer.
    assert_eq!(
        (counts.peers_up, counts.end_of_rib, counts.sweeps),
        (1, 0, 5)
    );
    drop(s);
}

#[test]
fn bad_configuration_exits_with_status_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_riptide"))
        .args(["--bmp-port", "not-a-port"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--bmp-port"), "{err}");
}

#[test]
fn real_captures_replayed_over_tcp() {
    // Totals of the reference decoding (pmacct, checked route by route in
    // `captures`): announced, withdrawn, End-of-RIB, Peer Up, statistics
    // counters.
    let captures: [(&[u8], [u64; 5]); 4] = [
        (
            include_bytes!("../../src/wire/testdata/huawei-locrib.bin"),
            [84, 0, 2, 18, 0],
        ),
        (
            include_bytes!("../../src/wire/testdata/cisco-rd-instance.bin"),
            [235, 0, 36, 42, 120],
        ),
        (
            include_bytes!("../../src/wire/testdata/cisco-peer-down-ipv6.bin"),
            [402, 69, 14, 10, 96],
        ),
        (
            include_bytes!("../../src/wire/testdata/frr-peer-down.bin"),
            [325, 114, 12, 7, 336],
        ),
    ];
    for (bytes, expected) in captures {
        let c = collector(&[]);
        send(c.local_addr(), bytes);
        sleep(Duration::from_millis(300));
        let (counts, shard) = stop(c);
        let got = [
            counts.announced,
            counts.withdrawn,
            counts.end_of_rib,
            counts.peers_up,
            counts.stats,
        ];
        assert_eq!(got, expected);
        assert_eq!(
            (counts.initiations, shard.framing_errors, shard.bad_messages),
            (1, 0, 0)
        );
    }
}

#[test]
fn add_path_peers() {
    let c = collector(&[]);
    let mut data = Vec::new();
    let expected = router_stream(&mut data, 2, 3000, 1000, 8, true).unwrap();
    send(c.local_addr(), &data);
    sleep(Duration::from_millis(300));
    let (counts, shard) = stop(c);
    assert_eq!(
        (counts.announced, counts.sweeps, shard.bad_messages),
        (expected, 2, 0)
    );
}

#[test]
fn dotenv_file_is_read() {
    let dir = std::env::temp_dir().join(format!("riptide-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "# comment\nBMP_MAX_CONNECTIONS=\"many\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_riptide"))
        .current_dir(&dir)
        .env_remove("BMP_MAX_CONNECTIONS")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("many"), "{err}");
}

/// Connections go to the shard holding the fewest: eight routers
/// connecting one after another land four on each shard (SO_REUSEPORT
/// hashing would spread them by chance).
fn connections_spread_by_load(driver: &str) {
    let c = collector(&["--io-driver", driver]);
    let addr = c.local_addr();
    let mut open = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(addr).expect("connect");
        let mut init = Vec::new();
        synth::initiation(&mut init, &format!("r{i}")).unwrap();
        s.write_all(&init).unwrap();
        open.push(s);
        // Accepted (and counted) before the next one comes.
        sleep(Duration::from_millis(100));
    }
    drop(open);
    sleep(Duration::from_millis(300));
    c.shutdown_handle().shutdown();
    let reports = c.join().expect("shards stop cleanly");
    let accepted: Vec<u64> = reports.iter().map(|r| r.counters.accepted).collect();
    assert_eq!(accepted, [4, 4]);
}

#[test]
fn connections_spread_by_load_epoll() {
    connections_spread_by_load("epoll");
}

#[test]
fn connections_spread_by_load_io_uring() {
    on_io_uring(connections_spread_by_load);
}
