//! The read loop of one router connection.
//!
//! Reads append to a pooled buffer; complete BMP messages are framed
//! zero-copy out of it and handed to the router's [`Session`]; the partial
//! message at the end moves to the front for the next read. A framing
//! error (wrong version, impossible or oversized length) closes this
//! connection only: the stream is out of sync from there on.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use monoio::buf::IoBufMut;
use monoio::io::AsyncReadRent;
use monoio::net::TcpStream;
use tracing::{debug, info, warn};

use super::Shard;
use crate::session::{Flow, Session, SessionCounters};
use crate::sink::Sink;
use crate::telemetry;
use crate::wire::frame::{COMMON_HEADER_LEN, Frame};

/// How often an idle connection wakes to check timers and shutdown.
const TICK: Duration = Duration::from_millis(200);

/// How often a busy connection logs how many routes it processed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// Least time between two warnings of the same kind on one connection.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// On shutdown, how long the socket must stay quiet before the session
/// ends.
const DRAIN_QUIET: Duration = Duration::from_millis(50);

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The router sent Termination.
    Terminated,
    /// The router closed the TCP session.
    Eof,
    /// The collector is shutting down.
    Shutdown,
    /// A framing error: the stream cannot be followed any more.
    Framing(crate::wire::WireError),
    /// A socket error.
    Io(io::Error),
}

/// Serves one router connection until it ends.
///
/// # Cancel safety
///
/// Not cancel safe: the session's end (peers ended, router disconnected)
/// is reported to the sink when this returns, so it must run to the end.
pub(super) async fn serve<S: Sink>(shard: &Shard<S>, mut stream: TcpStream, router: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let now = Instant::now();
    let mut session = Session::new(
        router,
        shard.config.stale_timeout(),
        &mut *shard.sink.borrow_mut(),
    );
    info!("router connected");
    let ip = router.ip();
    shard.metrics.borrow_mut().router(ip).connections += 1;
    let mut seen = SessionCounters::default();
    let mut buf = shard.arena.borrow_mut().take();
    let (end, buf_back) = read_loop(shard, &mut stream, &mut session, &mut seen, buf, now).await;
    buf = buf_back;
    shard.arena.borrow_mut().give(buf);
    match &end {
        End::Terminated => info!("router sent Termination"),
        End::Eof => info!("router closed the session"),
        End::Shutdown => info!("closing router session for shutdown"),
        End::Framing(e) => {
            shard.counters.borrow_mut().framing_errors += 1;
            shard.metrics.borrow_mut().router(ip).parse_errors[0] += 1;
            warn!(error = %e, "BMP stream out of sync, closing the connection");
        }
        End::Io(e) => warn!(error = %e, "router connection failed"),
    }
    let mut sink = shard.sink.borrow_mut();
    let why = match end {
        End::Terminated => None,
        End::Eof => Some("router closed the connection"),
        End::Shutdown => Some("collector shutdown"),
        End::Framing(_) => Some("BMP stream out of sync"),
        End::Io(_) => Some("connection failed"),
    };
    let counters = match why {
        Some(why) => session.disconnected(why, &mut *sink),
        None => session.counters(),
    };
    sink.flush();
    drop(sink);
    let mut metrics = shard.metrics.borrow_mut();
    metrics.session(ip, &counters, &mut seen);
    let r = metrics.router(ip);
    r.connections -= 1;
    r.lost += u64::from(why.is_some());
    drop(metrics);
    let secs = now.elapsed().as_secs_f64();
    let routes = counters.announced + counters.withdrawn;
    info!(
        messages = counters.messages,
        routes,
        secs,
        routes_per_sec = routes as f64 / secs.max(1e-9),
        "router session ended"
    );
    debug!(?counters, "router session counters");
}

async fn read_loop<S: Sink>(
    shard: &Shard<S>,
    stream: &mut TcpStream,
    session: &mut Session,
    seen: &mut SessionCounters,
    mut buf: Vec<u8>,
    start: Instant,
) -> (End, Vec<u8>) {
    let max = shard.max_message_len();
    let router_ip = session.router().ip();
    let idle_warning = shard.config.idle_warning();
    let mut last_data = start;
    let mut idle_warned = false;
    let mut last_error_log: Option<Instant> = None;
    let mut last_buffer_warning: Option<Instant> = None;
    let mut stop_since: Option<Instant> = None;
    // When the last progress line was logged, and the routes then.
    let mut progress = (start, 0u64);
    // A third of the shutdown time goes to reading what routers already
    // sent; the rest is the store's, to write it.
    let drain_limit = shard.config.shutdown_timeout() / 3;
    loop {
        // On shutdown, what the router already sent is still read and
        // handled: the session ends once the socket has been quiet for a
        // moment, or when a router that never goes quiet has had its share
        // of the shutdown time.
        let stopping = shard.shutting_down();
        if stopping && stop_since.get_or_insert_with(Instant::now).elapsed() >= drain_limit {
            return (End::Shutdown, buf);
        }
        let wait = if stopping { DRAIN_QUIET } else { TICK };
        match monoio::time::timeout(wait, stream.readable(false)).await {
            Err(_) if stopping => return (End::Shutdown, buf),
            Err(_) => {
                let now = Instant::now();
                let mut sink = shard.sink.borrow_mut();
                session.poll_timers(now, &mut *sink);
                // A batch that is not full still goes out on time.
                sink.flush();
                drop(sink);
                if !idle_warned && now.duration_since(last_data) >= idle_warning {
                    idle_warned = true;
                    warn!(secs = idle_warning.as_secs(), "no data from router");
                }
                continue;
            }
            Ok(Err(e)) => return (End::Io(e), buf),
            Ok(Ok(())) => {}
        }
        let len = buf.len();
        let cap = buf.capacity();
        let (res, slice) = stream.read(buf.slice_mut(len..cap)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return (End::Eof, buf),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return (End::Io(e), buf),
        }
        let now = Instant::now();
        last_data = now;
        idle_warned = false;
        if buf.len() * 100 > buf.capacity() * 85 {
            shard.counters.borrow_mut().buffer_high += 1;
            if last_buffer_warning.is_none_or(|t| now.duration_since(t) >= WARNING_INTERVAL) {
                last_buffer_warning = Some(now);
                warn!(
                    used = buf.len(),
                    capacity = buf.capacity(),
                    "receive buffer above 85%: the router sends faster than it is processed"
                );
            }
        }

        let mut sink = shard.sink.borrow_mut();
        let mut metrics = shard.metrics.borrow_mut();
        let mut off = 0;
        let flow = loop {
            let rest = buf.get(off..).unwrap_or_default();
            match Frame::parse(rest, max) {
                Ok(Some(frame)) => {
                    off += frame.wire_len();
                    let timed = metrics.time_next();
                    let flow = session.handle(frame, now, &mut *sink);
                    metrics.decoded(timed);
                    if let Some(e) = session.take_error() {
                        shard.counters.borrow_mut().bad_messages += 1;
                        if last_error_log
                            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
                        {
                            last_error_log = Some(now);
                            let raw = rest.get(..frame.wire_len()).unwrap_or(rest);
                            telemetry::parse_error(router_ip, frame.msg_type.name(), &e, raw);
                        }
                    }
                    if flow == Flow::Close {
                        break Flow::Close;
                    }
                }
                Ok(None) => break Flow::Continue,
                Err(e) => {
                    metrics.session(router_ip, &session.counters(), seen);
                    telemetry::parse_error(router_ip, "BMP framing", &e, rest);
                    return (End::Framing(e), buf);
                }
            }
        };
        session.poll_timers(now, &mut *sink);
        sink.flush();
        drop(sink);
        let counters = session.counters();
        metrics.session(router_ip, &counters, seen);
        drop(metrics);
        if now.duration_since(progress.0) >= PROGRESS_INTERVAL {
            let routes = counters.announced + counters.withdrawn;
            info!(
                routes = routes - progress.1,
                secs = now.duration_since(progress.0).as_secs_f64(),
                "processed route updates"
            );
            progress = (now, routes);
        }
        if flow == Flow::Close {
            return (End::Terminated, buf);
        }
        buf.drain(..off);
        // A message longer than the buffer: grow for it (the framer has
        // already bounded its length by the maximum message size).
        if let Some(need) = announced_len(&buf)
            && need > buf.capacity()
        {
            buf.reserve_exact(need - buf.len());
        }
    }
}

/// The length a complete common header announces.
fn announced_len(buf: &[u8]) -> Option<usize> {
    let h = buf.get(..COMMON_HEADER_LEN)?;
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
    usize::try_from(len).ok()
}
