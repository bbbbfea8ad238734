//! The traffic loadgen generates, decoded by a decoder we did not write.
//!
//! `loadgen --pcap FILE` writes the generated routers' BMP streams as a
//! packet capture (one TCP connection per router, each from its own
//! loopback address, to 127.0.0.1:11019) and prints `prefixes N`, the
//! number of prefixes it announced. tshark (Wireshark's BMP and BGP dissectors) then decodes
//! the capture, and what it finds must agree with loadgen and with the BMP
//! framing of the streams: the same number of messages of each BMP type
//! (Route Monitoring, Peer Up, Initiation), as many IPv4 NLRI and MP_REACH
//! IPv6 prefixes as the tables hold, and nothing tshark calls malformed.
//! An encoder bug that our own decoder shares cannot hide from that.
//!
//! tshark quirks (see `shared/TESTING-NOTES.md`): its BGP dissector guesses
//! the AS number length and may guess wrong, so the 4-octet length the
//! OPENs negotiate is given with `-o bgp.asn_len:4 octet`; it misreads the
//! information TLVs at the end of a Peer Up, but loadgen's Peer Ups carry
//! none.
//!
//! tshark must be installed (Debian's `tshark` package, which `tests/run`
//! installs): without it this test fails, it never skips.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use riptide::capture;

mod common;
use common::run_bounded;

/// Longest a `loadgen` or `tshark` run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

const ROUTERS: u32 = 2;
const PEERS: u32 = 2;
const V4: u64 = 3000;
const V6: u64 = 800;

/// BMP message types (RFC 7854, section 4.1).
const ROUTE_MONITORING: u8 = 0;
const PEER_UP: u8 = 3;
const INITIATION: u8 = 4;

/// The port loadgen's capture sends to, which tshark is told is BMP.
const COLLECTOR_PORT: u16 = 11_019;

/// Wireshark's expert severities (`epan/proto.h`): `PI_WARN` and above
/// mean that a dissector found something wrong.
const PI_WARN: u32 = 0x0060_0000;

#[test]
fn generated_traffic_decodes_with_tshark() {
    require_tshark();
    let pcap = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("loadgen-tshark-{}.pcap", std::process::id()));

    // Generate.
    let mut loadgen = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    loadgen
        .args(["--routers", &ROUTERS.to_string()])
        .args(["--peers", &PEERS.to_string()])
        .args(["--v4", &V4.to_string(), "--v6", &V6.to_string()])
        .args(["--seed", "7"])
        .arg("--pcap")
        .arg(&pcap);
    let generated = run_bounded(&mut loadgen, RUN_TIMEOUT);
    assert!(
        generated.status.success(),
        "{loadgen:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        generated.status,
        generated.stdout,
        generated.stderr
    );
    let reported = generated
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("prefixes "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            panic!(
                "no `prefixes N` line in loadgen's output:\n{}",
                generated.stdout
            )
        });
    let tables = u64::from(ROUTERS * PEERS);
    assert_eq!(reported, tables * (V4 + V6), "every prefix of every table");

    // Our side: the capture holds one BMP stream per router, which frames
    // into messages of these types.
    let data = fs::read(&pcap).unwrap_or_else(|error| panic!("{}: {error}", pcap.display()));
    let framed = framed_types(&data);
    assert_eq!(framed.get(&PEER_UP), Some(&((ROUTERS * PEERS) as usize)));
    assert_eq!(framed.get(&INITIATION), Some(&(ROUTERS as usize)));
    assert!(framed.get(&ROUTE_MONITORING).is_some_and(|&n| n > 0));

    // tshark's side.
    let mut tshark = Command::new("tshark");
    tshark
        .arg("-n")
        .arg("-r")
        .arg(&pcap)
        .args(["-o", "bgp.asn_len:4 octet"])
        .args(["-d", &format!("tcp.port=={COLLECTOR_PORT},bmp")])
        .args(["-T", "fields"])
        .args(["-E", "occurrence=a", "-E", "aggregator=,"])
        .args(["-e", "bmp.type"])
        .args(["-e", "bgp.nlri_prefix"])
        .args(["-e", "bgp.mp_reach_nlri_ipv6_prefix"])
        .args(["-e", "_ws.expert.severity"]);
    let decoded = run_bounded(&mut tshark, RUN_TIMEOUT);
    assert!(
        decoded.status.success(),
        "{tshark:?} failed ({})\nstderr:\n{}",
        decoded.status,
        decoded.stderr
    );
    let seen = Decoded::parse(&decoded.stdout);

    assert_eq!(
        seen.types, framed,
        "BMP messages by type: tshark (left) against the streams' framing (right)"
    );
    assert_eq!(
        seen.types.get(&PEER_UP),
        Some(&((ROUTERS * PEERS) as usize))
    );
    assert_eq!(seen.v4_prefixes, tables * V4, "IPv4 NLRI prefixes");
    assert_eq!(seen.v6_prefixes, tables * V6, "MP_REACH IPv6 prefixes");
    assert_eq!(seen.v4_prefixes + seen.v6_prefixes, reported);
    assert!(
        seen.problems.is_empty(),
        "tshark found problems (expert severity warning or error) in {} frames; the first \
         ones (bmp.type, IPv4, IPv6, severities):\n{}",
        seen.problems.len(),
        seen.problems
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    let _ = fs::remove_file(pcap);
}

/// Fails the test, loudly, when tshark cannot be run.
fn require_tshark() {
    let found = Command::new("tshark")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match found {
        Ok(status) => assert!(status.success(), "`tshark --version` failed: {status}"),
        Err(error) => panic!(
            "cannot run tshark ({error}): install Debian's `tshark` package \
             (tests/run does); this test needs it and never skips"
        ),
    }
}

/// The BMP messages in the capture's flows by type, from their common
/// headers (RFC 7854, section 4.1). Also checks the flows are what
/// `--pcap` promises: one per router, each from its own IPv4 loopback
/// address, to the collector port on 127.0.0.1, complete, each a whole
/// number of BMP messages.
fn framed_types(pcap: &[u8]) -> BTreeMap<u8, usize> {
    let capture = capture::read(pcap).expect("loadgen's pcap file reads");
    assert!(!capture.truncated);
    assert_eq!(capture.skipped_packets, 0);
    assert_eq!(
        capture.flows.len(),
        ROUTERS as usize,
        "one connection per router"
    );
    let mut sources: Vec<IpAddr> = capture.flows.iter().map(|flow| flow.src.ip()).collect();
    sources.sort();
    sources.dedup();
    assert_eq!(
        sources.len(),
        ROUTERS as usize,
        "a source address per router"
    );
    assert!(
        sources
            .iter()
            .all(|source| source.is_ipv4() && source.is_loopback()),
        "IPv4 loopback sources: {sources:?}"
    );

    let mut counts = BTreeMap::new();
    for flow in &capture.flows {
        assert_eq!(
            flow.dst,
            SocketAddr::from((Ipv4Addr::LOCALHOST, COLLECTOR_PORT))
        );
        assert_eq!(flow.gaps, 0);
        let stream = &flow.payload;
        let mut at = 0;
        while at < stream.len() {
            let header = stream
                .get(at..at + 6)
                .unwrap_or_else(|| panic!("{}: header cut short at byte {at}", flow.src));
            assert_eq!(header[0], 3, "{}: BMP version at byte {at}", flow.src);
            let len = u32::from_be_bytes(header[1..5].try_into().unwrap()) as usize;
            assert!(
                len >= 6 && at + len <= stream.len(),
                "{}: message of {len} octets at byte {at} of {}",
                flow.src,
                stream.len()
            );
            *counts.entry(header[5]).or_insert(0) += 1;
            at += len;
        }
    }
    counts
}

/// What tshark's field output says.
#[derive(Debug, Default)]
struct Decoded {
    /// BMP messages by type.
    types: BTreeMap<u8, usize>,
    v4_prefixes: u64,
    v6_prefixes: u64,
    /// Lines of frames with an expert severity of warning or worse.
    problems: Vec<String>,
}

impl Decoded {
    /// Parses the output of `tshark -T fields -E aggregator=,` with the
    /// fields bmp.type, bgp.nlri_prefix, bgp.mp_reach_nlri_ipv6_prefix and
    /// _ws.expert.severity: one line per frame, the fields separated by
    /// tabs, the occurrences of a field in a frame (one per message or
    /// prefix) by commas, an absent field empty.
    fn parse(output: &str) -> Self {
        let mut decoded = Self::default();
        for line in output.lines() {
            let mut fields = line.split('\t');
            let mut next = || values(fields.next().unwrap_or(""));
            for value in next() {
                let kind = value
                    .parse::<u8>()
                    .unwrap_or_else(|_| panic!("bmp.type {value:?} in {line:?}"));
                *decoded.types.entry(kind).or_insert(0) += 1;
            }
            decoded.v4_prefixes += next().count() as u64;
            decoded.v6_prefixes += next().count() as u64;
            let worst = next()
                .map(|value| {
                    value
                        .parse::<u32>()
                        .unwrap_or_else(|_| panic!("severity {value:?} in {line:?}"))
                })
                .max();
            if worst.is_some_and(|severity| severity >= PI_WARN) {
                decoded.problems.push(line.to_owned());
            }
        }
        decoded
    }
}

/// The comma-separated values of one field, without empty ones.
fn values(field: &str) -> impl Iterator<Item = &str> {
    field
        .split(',')
        .map(str::trim)
        .filter(|value| !value.is_empty())
}
