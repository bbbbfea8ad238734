//! `loadgen replay FILE`: sends the BMP sessions of a capture to a
//! collector the way the routers sent them.
//!
//! # Input
//!
//! - **A classic pcap file** ([`capture::is_pcap`]), read with
//!   [`capture::read`]. Every TCP flow whose reassembled payload starts with
//!   BMP version 3 (RFC 7854, section 4.1) is a router's session and is
//!   replayed; the other flows are left out: the collector-to-router
//!   direction carries nothing in BMP, and anything else is unrelated
//!   traffic. Of a flow that lost packets only the gap-free prefix
//!   ([`Flow::payload`]) is sent.
//! - **Anything else is a raw BMP byte stream**, such as `riptide decode`
//!   reads and `loadgen --out` writes: one session with no timestamps, so
//!   it is always sent as fast as possible, whatever the [`Speed`]. Its
//!   bytes go out as they are, even if they are not BMP: replaying invalid
//!   input is a way to test the collector.
//!
//! # Timing
//!
//! Every flow gets its own TCP connection on its own thread, and all flows
//! run at once, as routers do. The replay's clock starts at the earliest
//! first packet ([`Flow::first_ts`]) of the flows replayed. A connection is
//! opened when its flow's first packet comes on that clock, and each piece
//! of payload ([`Segment`]) is written when its capture time comes, both
//! divided by the speed factor. Pieces that are due at the same moment, or
//! already due when the writer gets to them (the replay is running late),
//! go out in one write. With [`Speed::Max`] every connection opens at once
//! and each payload goes out in one `write_all`.
//!
//! TCP_NODELAY is set so that the kernel sends a small write when it is
//! made instead of holding it back for more: the collector sees the
//! recorded timing, within the scheduler's precision. How the kernel cuts
//! the stream into segments is its own business; only the bytes and their
//! timing are reproduced.
//!
//! After its last byte a connection shuts down its write side (the
//! collector reads end-of-stream, as when a router ends the session) and
//! waits at most [`CLOSE_WAIT`] for the collector to close before closing
//! itself.
//!
//! Nothing here panics: every failure is an error that names the flow (its
//! index and recorded source address) and what was being done.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use riptide::capture::{self, Flow, Segment};

/// The BMP version octet that starts every BMP message (RFC 7854, section
/// 4.1), and so every router's stream.
const BMP_VERSION: u8 = 3;

/// How long to wait for a TCP connection to the collector to be set up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection waits, after its last byte, for the collector to
/// close before closing itself.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How fast to replay a capture, relative to the time it recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Speed {
    /// At the recorded pace: `recorded`.
    Recorded,
    /// That many times the recorded pace, e.g. `10` (ten times faster) or
    /// `0.5` (half as fast). Must be finite and above zero.
    Factor(f64),
    /// As fast as possible, ignoring the recorded times: `max`.
    Max,
}

impl Speed {
    /// Fails unless a [`Speed::Factor`] is finite and above zero. The
    /// [`FromStr`] impl only makes valid speeds; this catches a variant
    /// built by hand.
    fn check(self) -> anyhow::Result<()> {
        match self {
            Self::Factor(factor) if !is_valid_factor(factor) => {
                bail!("invalid replay speed factor {factor}: it must be a positive number")
            }
            _ => Ok(()),
        }
    }

    /// When something recorded `elapsed` after the start of the capture is
    /// due, counted from the start of the replay.
    ///
    /// Saturates at [`Duration::MAX`] when a tiny factor stretches the time
    /// beyond what a `Duration` holds; [`Clock::wait_until`] copes with that.
    fn due(self, elapsed: Duration) -> Duration {
        match self {
            Self::Recorded => elapsed,
            Self::Factor(factor) => {
                Duration::try_from_secs_f64(elapsed.as_secs_f64() / factor).unwrap_or(Duration::MAX)
            }
            Self::Max => Duration::ZERO,
        }
    }
}

impl FromStr for Speed {
    type Err = ParseSpeedError;

    /// Parses `recorded`, `max` (ASCII case ignored), or a positive number
    /// such as `10` or `0.5`, meaning that many times the recorded speed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("recorded") {
            return Ok(Self::Recorded);
        }
        if s.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        match s.parse::<f64>() {
            // `f64::from_str` also takes "inf" and "NaN": neither is a speed.
            Ok(factor) if is_valid_factor(factor) => Ok(Self::Factor(factor)),
            _ => Err(ParseSpeedError {
                input: s.to_owned(),
            }),
        }
    }
}

/// Whether `factor` can scale time: finite and above zero.
fn is_valid_factor(factor: f64) -> bool {
    factor.is_finite() && factor > 0.0
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Recorded => f.write_str("recorded"),
            Self::Factor(factor) => write!(f, "{factor}"),
            Self::Max => f.write_str("max"),
        }
    }
}

/// Why a string is not a [`Speed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseSpeedError {
    /// The rejected input, trimmed.
    input: String,
}

impl fmt::Display for ParseSpeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid speed `{}`: expected `recorded`, `max`, or a positive number \
             of times the recorded speed such as `10` or `0.5`",
            self.input
        )
    }
}

impl std::error::Error for ParseSpeedError {}

/// What [`replay`] sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ReplayReport {
    /// Flows replayed, one TCP connection each.
    pub(crate) flows: usize,
    /// Payload bytes written, over all flows.
    pub(crate) bytes: u64,
    /// Seconds from the start of the replay to the moment the last flow
    /// had written its last byte and shut down its write side; the wait
    /// for the collector to close ([`CLOSE_WAIT`]) is not counted.
    pub(crate) secs: f64,
}

/// The BMP sessions in `data`: the BMP flows of a pcap file, or a raw
/// stream as one flow (see the module documentation).
///
/// A raw stream becomes one [`Flow`] from and to `0.0.0.0:0`, with
/// `first_ts` zero and a single segment at time zero.
///
/// # Errors
///
/// Fails if `data` is empty, is a pcapng file, is a pcap file that
/// [`capture::read`] rejects, or is a pcap file without any BMP flow.
pub(crate) fn flows(data: &[u8]) -> anyhow::Result<Vec<Flow>> {
    if capture::is_pcapng(data) {
        bail!("pcapng files are not supported; convert with `editcap -F pcap IN OUT`");
    }
    if !capture::is_pcap(data) {
        if data.is_empty() {
            bail!("the input is empty: neither a pcap file nor a BMP stream");
        }
        let whole = Segment {
            ts: Duration::ZERO,
            offset: 0,
            len: data.len(),
        };
        return Ok(vec![Flow {
            src: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            dst: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            first_ts: Duration::ZERO,
            payload: data.to_vec(),
            segments: vec![whole],
            gaps: 0,
        }]);
    }
    let capture = capture::read(data).context("reading the pcap file")?;
    let seen = capture.flows.len();
    let flows: Vec<Flow> = capture
        .flows
        .into_iter()
        .filter(|flow| flow.payload.first() == Some(&BMP_VERSION))
        .collect();
    if flows.is_empty() {
        bail!(
            "the capture holds no BMP session: none of its {seen} TCP flows with payload \
             starts with BMP version {BMP_VERSION}"
        );
    }
    Ok(flows)
}

/// Replays the BMP sessions in `data` to the collector at `target`, at
/// `speed`, and waits until every flow is done.
///
/// # Errors
///
/// Fails if `data` holds no session (see [`flows`]), if `speed` is a
/// [`Speed::Factor`] that is not a positive number, or if any flow cannot
/// be sent: a failed connection, write or shutdown, or a sender thread that
/// cannot be started. Every flow runs to its end either way; the error
/// names the flows that failed and carries the first failure.
pub(crate) fn replay(
    data: &[u8],
    target: SocketAddr,
    speed: Speed,
) -> anyhow::Result<ReplayReport> {
    speed.check()?;
    let flows = flows(data)?;
    warn_about_gaps(&flows);
    // The replay's clock starts with the first flow replayed; waiting for
    // traffic that is not replayed would only delay the start.
    let origin = flows
        .iter()
        .map(|flow| flow.first_ts)
        .min()
        .unwrap_or_default();
    let start = Instant::now();
    let results: Vec<anyhow::Result<Sent>> = thread::scope(|scope| {
        let mut handles = Vec::with_capacity(flows.len());
        for (index, flow) in flows.iter().enumerate() {
            let clock = Clock {
                start,
                origin,
                speed,
            };
            let spawned = thread::Builder::new()
                .name(format!("replay-{index}"))
                .spawn_scoped(scope, move || {
                    send_flow(flow, target, clock).with_context(|| describe(index, flow))
                })
                .with_context(|| {
                    format!("starting the sender thread of {}", describe(index, flow))
                });
            handles.push(spawned);
        }
        // The scope joins every thread that did start, failed or not, so
        // no flow is cut off by another one's failure.
        handles
            .into_iter()
            .enumerate()
            .map(|(index, handle)| -> anyhow::Result<Sent> {
                handle?
                    .join()
                    .map_err(|_| anyhow!("the sender thread of flow {index} panicked"))?
            })
            .collect()
    });

    let total = results.len();
    let mut bytes = 0_u64;
    let mut done = Duration::ZERO;
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(sent) => {
                bytes = bytes.saturating_add(sent.bytes);
                done = done.max(sent.done);
            }
            Err(error) => failures.push(error),
        }
    }
    let failed = failures.len();
    if let Some(first) = failures.into_iter().next() {
        return Err(first.context(format!(
            "{failed} of {total} flows failed to replay to {target}; the first failure"
        )));
    }
    Ok(ReplayReport {
        flows: total,
        bytes,
        secs: done.as_secs_f64(),
    })
}

/// Tells on stderr which flows lost bytes that the replay cannot send.
fn warn_about_gaps(flows: &[Flow]) {
    for (index, flow) in flows.iter().enumerate() {
        if flow.gaps > 0 {
            eprintln!(
                "loadgen: warning: {} has {} holes the capture never filled; \
                 only its first {} bytes are replayed",
                describe(index, flow),
                flow.gaps,
                flow.payload.len()
            );
        }
    }
}

/// Names a flow in messages.
fn describe(index: usize, flow: &Flow) -> String {
    if flow.src.ip().is_unspecified() && flow.src.port() == 0 {
        format!("flow {index} (raw stream)")
    } else {
        format!("flow {index} from {}", flow.src)
    }
}

/// The replay's clock, shared by every flow.
#[derive(Clone, Copy, Debug)]
struct Clock {
    /// When the replay started.
    start: Instant,
    /// The capture time that maps to `start`; no replayed flow starts
    /// before it.
    origin: Duration,
    speed: Speed,
}

impl Clock {
    /// When something recorded at capture time `ts` is due, counted from
    /// `start`. A time before `origin`, which only a capture whose clock
    /// went backwards has, is due at once.
    fn due(self, ts: Duration) -> Duration {
        self.speed.due(ts.saturating_sub(self.origin))
    }

    /// Sleeps until `due` (counted from `start`) has come; returns at once
    /// if it has.
    fn wait_until(self, due: Duration) {
        if let Some(rest) = due.checked_sub(self.start.elapsed()) {
            // `thread::sleep` never returns early and takes any duration,
            // even `Duration::MAX`.
            thread::sleep(rest);
        }
    }

    /// Whether `due` has come.
    fn has_come(self, due: Duration) -> bool {
        due <= self.start.elapsed()
    }
}

/// What one flow sent.
#[derive(Clone, Copy, Debug)]
struct Sent {
    bytes: u64,
    /// When, counted from the replay's start, the last byte was written and
    /// the write side shut down.
    done: Duration,
}

/// Sends one flow on its own connection, at the clock's pace; see the
/// module documentation.
fn send_flow(flow: &Flow, target: SocketAddr, clock: Clock) -> anyhow::Result<Sent> {
    clock.wait_until(clock.due(flow.first_ts));
    let mut conn = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)
        .with_context(|| format!("connecting to {target}"))?;
    conn.set_nodelay(true)
        .context("setting TCP_NODELAY on the connection")?;

    // Bytes of the payload written so far: 0 <= sent <= payload.len().
    let mut sent = 0_usize;
    let mut segments = flow.segments.iter().peekable();
    while let Some(first) = segments.next() {
        clock.wait_until(clock.due(first.ts));
        let mut end = first.offset.saturating_add(first.len);
        // Coalesce the pieces that are due by now (with `Speed::Max`: all
        // of them, so the whole payload goes out in one `write_all`).
        while let Some(next) = segments.next_if(|next| clock.has_come(clock.due(next.ts))) {
            end = next.offset.saturating_add(next.len);
        }
        // The segments cover the payload in order (`Flow::segments`), so
        // `sent..end` is the next piece; `get` keeps a broken invariant
        // from panicking.
        let piece = flow.payload.get(sent..end).with_context(|| {
            format!(
                "segment ending at byte {end} does not follow byte {sent} \
                 of the {}-byte payload",
                flow.payload.len()
            )
        })?;
        conn.write_all(piece).with_context(|| {
            format!(
                "writing bytes {sent}..{end} of {} to {target}",
                flow.payload.len()
            )
        })?;
        sent = end;
    }
    // Anything the segments did not cover: nothing, when they hold their
    // invariant.
    if let Some(rest) = flow.payload.get(sent..).filter(|rest| !rest.is_empty()) {
        conn.write_all(rest).with_context(|| {
            format!(
                "writing bytes {sent}.. of {} to {target}",
                flow.payload.len()
            )
        })?;
    }

    conn.shutdown(Shutdown::Write)
        .with_context(|| format!("shutting down the write side of the connection to {target}"))?;
    let done = clock.start.elapsed();
    await_close(&mut conn);
    Ok(Sent {
        bytes: u64::try_from(flow.payload.len()).unwrap_or(u64::MAX),
        done,
    })
}

/// Reads and drops whatever the collector sends until it closes the
/// connection, at most for [`CLOSE_WAIT`]. Errors end the wait: the stream
/// is sent, and the connection is closed either way when it is dropped.
fn await_close(conn: &mut TcpStream) {
    let Some(deadline) = Instant::now().checked_add(CLOSE_WAIT) else {
        return;
    };
    let mut buf = [0_u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero read timeout is an error (`set_read_timeout`): stop first.
        if left.is_zero() || conn.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddrV4, TcpListener};

    use super::*;

    /// An Initiation without TLVs: version 3, length 6, type 4.
    const INITIATION: [u8; 6] = [3, 0, 0, 0, 6, 4];

    #[test]
    fn parses_speeds() {
        assert_eq!("recorded".parse::<Speed>(), Ok(Speed::Recorded));
        assert_eq!("Recorded".parse::<Speed>(), Ok(Speed::Recorded));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!(" MAX ".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("10".parse::<Speed>(), Ok(Speed::Factor(10.0)));
        assert_eq!("0.5".parse::<Speed>(), Ok(Speed::Factor(0.5)));
        assert_eq!("1e3".parse::<Speed>(), Ok(Speed::Factor(1000.0)));
        for bad in [
            "", "0", "0.0", "-1", "-0.5", "inf", "NaN", "fast", "10x", "1/2",
        ] {
            let error = bad.parse::<Speed>().unwrap_err();
            assert!(
                error.to_string().contains("positive number"),
                "{bad:?}: {error}"
            );
        }
        // Display gives back something that parses to the same speed.
        for speed in [Speed::Recorded, Speed::Max, Speed::Factor(2.5)] {
            assert_eq!(speed.to_string().parse::<Speed>(), Ok(speed));
        }
    }

    #[test]
    fn scales_recorded_times() {
        let ten = Duration::from_secs(10);
        assert_eq!(Speed::Recorded.due(ten), ten);
        assert_eq!(Speed::Factor(10.0).due(ten), Duration::from_secs(1));
        assert_eq!(Speed::Factor(0.5).due(ten), Duration::from_secs(20));
        assert_eq!(Speed::Max.due(ten), Duration::ZERO);
        // Saturates instead of panicking.
        assert_eq!(Speed::Factor(1e-300).due(ten), Duration::MAX);
        assert!(Speed::Factor(0.0).check().is_err());
        assert!(Speed::Factor(f64::NAN).check().is_err());
        assert!(Speed::Factor(-2.0).check().is_err());
        assert!(Speed::Factor(2.0).check().is_ok());
    }

    #[test]
    fn a_raw_stream_is_one_flow() {
        let stream: Vec<u8> = INITIATION.repeat(2);
        let flows = flows(&stream).unwrap();
        assert_eq!(flows.len(), 1);
        let flow = &flows[0];
        assert_eq!(flow.payload, stream);
        assert_eq!(flow.src, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        assert_eq!(flow.first_ts, Duration::ZERO);
        assert_eq!(
            flow.segments,
            [Segment {
                ts: Duration::ZERO,
                offset: 0,
                len: stream.len()
            }]
        );
        assert_eq!(flow.gaps, 0);
    }

    #[test]
    fn rejects_inputs_without_a_session() {
        assert!(flows(&[]).is_err());
        let pcapng: [u8; 8] = [0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0];
        assert!(flows(&pcapng).is_err());
        // A pcap file whose only flow is not BMP.
        let router = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000);
        let collector = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 1790);
        let mut pcap = Vec::new();
        crate::pcap::write(
            &mut pcap,
            &[(router, collector, &b"GET /"[..])],
            Duration::ZERO,
        )
        .unwrap();
        let error = flows(&pcap).unwrap_err();
        assert!(format!("{error:#}").contains("no BMP session"), "{error:#}");
    }

    #[test]
    fn keeps_only_the_bmp_flows_of_a_pcap() {
        let router = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000);
        let collector = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 1790);
        let other = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 3), 40_001);
        let mut pcap = Vec::new();
        crate::pcap::write(
            &mut pcap,
            &[
                (router, collector, &INITIATION[..]),
                (other, collector, &b"not bmp"[..]),
            ],
            Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let flows = flows(&pcap).unwrap();
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].src, SocketAddr::V4(router));
        assert_eq!(flows[0].payload, INITIATION);
    }

    /// Replays `data` at `speed` to a listener that reads each connection
    /// to its end, one after the other; returns the report and the streams
    /// received. Every wait is bounded.
    fn replay_to_listener(data: &[u8], speed: Speed) -> (ReplayReport, Vec<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let target = listener.local_addr().unwrap();
        let expected = flows(data).unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(30);
        thread::scope(|scope| {
            let receiver = scope.spawn(|| {
                let mut received = Vec::new();
                while received.len() < expected {
                    assert!(Instant::now() < deadline, "no connection within 30 s");
                    match listener.accept() {
                        Ok((mut conn, _)) => {
                            conn.set_nonblocking(false).unwrap();
                            conn.set_read_timeout(Some(Duration::from_secs(30)))
                                .unwrap();
                            let mut stream = Vec::new();
                            conn.read_to_end(&mut stream).unwrap();
                            received.push(stream);
                        }
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(5));
                        }
                        Err(error) => panic!("accept: {error}"),
                    }
                }
                received
            });
            let report = replay(data, target, speed);
            let received = receiver.join().unwrap();
            (report.unwrap(), received)
        })
    }

    #[test]
    fn replays_a_raw_stream_at_any_speed() {
        let stream: Vec<u8> = INITIATION.repeat(1000);
        for speed in [Speed::Max, Speed::Recorded, Speed::Factor(0.001)] {
            let (report, received) = replay_to_listener(&stream, speed);
            assert_eq!(received, std::slice::from_ref(&stream), "{speed}");
            assert_eq!(report.flows, 1);
            assert_eq!(report.bytes, 6000);
            // No timestamps: even a very slow factor sends at once.
            assert!(report.secs < 5.0, "{speed}: {} s", report.secs);
        }
    }

    #[test]
    fn paces_the_segments_of_a_pcap() {
        // pcap::write spaces packets 1 µs apart, so at a factor of 0.0001
        // (10,000 times slower) consecutive packets are 10 ms apart.
        let first: Vec<u8> = INITIATION.repeat(400); // two segments
        let second: Vec<u8> = INITIATION.repeat(10);
        let a = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40_000);
        let b = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 40_000);
        let collector = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 254), 1790);
        let mut pcap = Vec::new();
        crate::pcap::write(
            &mut pcap,
            &[(a, collector, &first[..]), (b, collector, &second[..])],
            Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let (report, mut received) = replay_to_listener(&pcap, Speed::Factor(0.0001));
        received.sort();
        let mut expected = vec![first, second];
        expected.sort();
        assert_eq!(received, expected);
        assert_eq!(report.flows, 2);
        assert_eq!(report.bytes, 2460);
        // The first connection takes packets 0 to 9 (handshake, two data
        // segments each acknowledged, FIN exchange; see pcap.rs), so the
        // second one's data segment is packet 13: due after 130 ms (less a
        // rounding error of the float scaling).
        assert!(report.secs >= 0.12, "{} s", report.secs);
    }

    #[test]
    fn names_the_flow_when_the_collector_is_not_there() {
        // Bind, then drop, to get a port that nothing listens on.
        let target = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = replay(&INITIATION, target, Speed::Max).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("flow 0 (raw stream)"), "{message}");
        assert!(
            message.contains(&format!("connecting to {target}")),
            "{message}"
        );
    }
}
