//! Bad input from the network, at scale: hundreds of connections from
//! their own source addresses sending random bytes, truncated messages,
//! lengths that lie, wrong versions, messages before Initiation, Peer Down
//! for unknown peers, Route Monitoring before Peer Up and UPDATEs with
//! a thousand attributes, while a well-behaved router streams its
//! tables. The `riptide` binary (null store) stays up, counts and logs
//! every bad session, its memory stays bounded, and the good router loses
//! nothing.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use riptide::synth::{self, Rng, router_stream};
use riptide::wire::bmp::header::PeerType;
use riptide::wire::bmp::peer_down::PeerDownReason;
use riptide::wire::encode::{self, UpdateBuilder};

use super::store::{Process, eventually, free_port};

/// Bad connections, each from its own address.
const BAD: u32 = 300;

/// Resident memory the collector must stay under (it starts near 20 MB;
/// each connection's receive buffer is 1 MiB while it is open).
const RSS_LIMIT: f64 = 400.0 * 1024.0 * 1024.0;

pub(crate) fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("metrics endpoint");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut s, &mut text).unwrap();
    text
}

/// Sum of every sample of `name` whose labels contain `filter`.
pub(crate) fn total(scrape: &str, name: &str, filter: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Connects from `source` (a loopback address of its own).
fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.connect_timeout(&target.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// The bytes bad connection `i` sends.
fn bad_input(i: u32, rng: &mut Rng) -> Vec<u8> {
    let peer = synth::peer_header(i + 1, PeerType::Global, 0, 1_700_000_000);
    let mut out = Vec::new();
    match i % 8 {
        // Random bytes.
        0 => (0..rng.range(1, 4000)).for_each(|_| out.push(rng.next_u64() as u8)),
        // A message cut short: the header announces more than comes.
        1 => {
            synth::initiation(&mut out, "cut").unwrap();
            synth::peer_up(&mut out, &peer, false).unwrap();
            let cut = rng.range(7, out.len() as u32 - 1) as usize;
            out.truncate(cut);
        }
        // A length that lies: shorter than a header, or beyond the limit.
        2 => {
            let len: u32 = if rng.chance(500) { 3 } else { 0x7fff_ffff };
            out.push(3);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[0; 64]);
        }
        // A wrong version.
        3 => {
            synth::initiation(&mut out, "v1").unwrap();
            if let Some(v) = out.first_mut() {
                *v = 1;
            }
        }
        // Route Monitoring before Initiation and Peer Up.
        4 => {
            let mut b = UpdateBuilder::new();
            let mut table = synth::FullTable::new(50, 10, u64::from(i));
            while table.next_update(&mut b).unwrap() > 0 {
                encode::route_monitoring(&mut out, &peer, &b).unwrap();
            }
        }
        // Peer Down for peers never seen.
        5 => {
            synth::initiation(&mut out, "down").unwrap();
            for n in 0..20 {
                let p = synth::peer_header(1000 + n, PeerType::Global, 0, 1_700_000_000);
                encode::peer_down(&mut out, &p, &PeerDownReason::RemoteNoData).unwrap();
            }
        }
        // An UPDATE with a thousand (unknown, optional transitive)
        // attributes, as many as fit in 4096 octets.
        6 => {
            synth::initiation(&mut out, "attrs").unwrap();
            synth::peer_up(&mut out, &peer, false).unwrap();
            let mut b = UpdateBuilder::new();
            for k in 0..1000u16 {
                b.attr(0xc0, 200 + (k % 50) as u8, &[k as u8]).unwrap();
            }
            encode::route_monitoring(&mut out, &peer, &b).unwrap();
        }
        // A valid start, then garbage inside a framed message.
        _ => {
            synth::initiation(&mut out, "junk").unwrap();
            out.extend_from_slice(&[3, 0, 0, 0, 40, 0]);
            (0..34).for_each(|_| out.push(rng.next_u64() as u8));
        }
    }
    out
}

#[test]
fn hundreds_of_bad_connections_do_not_harm_a_good_router() {
    let (bmp, metrics) = (free_port(), free_port());
    let _p = Process(
        Command::new(env!("CARGO_BIN_EXE_riptide"))
            .args(["--listen", &format!("127.0.0.1:{bmp}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")])
            .args(["--store", "null", "--worker-threads", "2"])
            .env("LOG_LEVEL", "warn")
            .env_remove("SENTRY_DSN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riptide starts"),
    );
    let target = SocketAddr::from(([127, 0, 0, 1], bmp));
    eventually("riptide to listen", || TcpStream::connect(target).is_ok());

    let mut good = Vec::new();
    let expected = router_stream(&mut good, 2, 50_000, 10_000, 9, false).unwrap();
    let good_router = std::thread::spawn(move || {
        let mut s = connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)), target).unwrap();
        for chunk in good.chunks(64 << 10) {
            s.write_all(chunk).unwrap();
        }
        s
    });
    let bad: Vec<_> = (0..4u32)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(u64::from(t));
                for i in (t..BAD).step_by(4) {
                    let src = IpAddr::V4(Ipv4Addr::from(0x7f04_0000 + i + 1));
                    let data = bad_input(i, &mut rng);
                    if let Ok(mut s) = connect_from(src, target) {
                        // The collector may close first: that is fine.
                        let _ = s.write_all(&data);
                    }
                }
            })
        })
        .collect();
    for t in bad {
        t.join().unwrap();
    }
    let good_conn = good_router.join().unwrap();

    let good_ip = "router_ip=\"127.0.3.1\"";
    eventually("the good router's routes", || {
        total(&scrape(metrics), "bmp_routes_announced_total", good_ip) == expected as f64
    });
    let s = scrape(metrics);
    // Nothing from the good router was refused or failed to decode.
    assert_eq!(total(&s, "bmp_parse_errors_total", good_ip), 0.0);
    assert_eq!(total(&s, "bmp_peers_up{", good_ip), 2.0);
    // Every bad session was counted: closed for framing, or skipped.
    eventually("the bad sessions to end", || {
        let s = scrape(metrics);
        total(&s, "riptide_connections_accepted_total", "") >= f64::from(BAD + 1)
            && total(&s, "bmp_active_connections{", "") == 1.0
    });
    let s = scrape(metrics);
    let framing = total(&s, "bmp_parse_errors_total", "kind=\"framing\"");
    let skipped = total(&s, "bmp_parse_errors_total", "kind=\"bmp_message\"")
        + total(&s, "bmp_parse_errors_total", "kind=\"bgp_update\"");
    // Lying lengths and wrong versions (2 of every 8) always close their
    // connection for framing; random bytes nearly always do.
    assert!(framing >= f64::from(BAD / 4), "framing {framing}\n{s}");
    assert!(skipped >= 1.0, "skipped {skipped}");
    let rss = total(&s, "process_resident_memory_bytes", "");
    eprintln!("framing errors {framing}, skipped messages {skipped}, resident {rss} octets");
    assert!(rss > 0.0 && rss < RSS_LIMIT, "resident {rss}");
    drop(good_conn);
}
