//! The BMP listener: one socket, bound once, from which every shard
//! accepts; a shard admits routers and spawns a connection task for each.
//!
//! Connections are spread by load, not by hash: when a connection waits,
//! a shard that holds more connections than another lets the least loaded
//! shard take it first (SO_REUSEPORT would hash connections to shards, and
//! four connections could fall three on one shard and one on the other).
//! A shard busy elsewhere still gets its turn after [`YIELD`], so no
//! connection waits on a stuck shard. One socket also means a second
//! collector on the same port fails to start, rather than silently
//! taking part of the routers.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use monoio::net::{TcpListener, TcpStream};
use socket2::{Domain, Socket, Type};
use tracing::{Instrument, error_span, warn};

use super::{Shard, ShardReport, conn, drain};
use crate::config::canonical;
use crate::sink::Sink;

/// How often the accept loop wakes to check for shutdown.
const TICK: Duration = Duration::from_millis(100);

/// How long a shard holding more connections than another waits before
/// it takes a waiting connection itself.
const YIELD: Duration = Duration::from_millis(20);

/// The listening socket every shard accepts from (non-blocking).
///
/// # Errors
///
/// The address cannot be bound.
pub(super) fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let bound = (|| {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        socket.set_nonblocking(true)?;
        Ok(std::net::TcpListener::from(socket))
    })();
    bound.map_err(|e: io::Error| io::Error::new(e.kind(), format!("binding {addr}: {e}")))
}

/// Accepts from `listener` until shutdown (reporting on `ready` once it
/// can), then waits (bounded) for the shard's connections to finish.
pub(super) async fn run<S: Sink + 'static>(
    shard: Shard<S>,
    listener: std::net::TcpListener,
    ready: mpsc::Sender<io::Result<()>>,
) -> io::Result<ShardReport<S>> {
    // Readiness through the shard's runtime; accepting by a non-blocking
    // accept(2) on the shared socket, which another shard may win.
    let watched = match listener.try_clone().and_then(TcpListener::from_std) {
        Ok(l) => {
            let _ = ready.send(Ok(()));
            l
        }
        Err(e) => {
            let e2 = io::Error::new(e.kind(), format!("listening: {e}"));
            let _ = ready.send(Err(e));
            return Err(e2);
        }
    };
    let shard = Rc::new(shard);
    let open = Rc::new(Cell::new(0usize));
    while !shard.shutting_down() {
        shard.publish_metrics(false);
        match monoio::time::timeout(TICK, watched.readable(false)).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                warn!(shard = shard.id, error = %e, "listener not readable");
                monoio::time::sleep(TICK).await;
                continue;
            }
            Ok(Ok(())) => {}
        }
        if shard.shared.busier_than_another(shard.id) {
            monoio::time::sleep(YIELD).await;
        }
        let (stream, peer) = match listener.accept().and_then(|(s, peer)| {
            s.set_nonblocking(true)?;
            Ok((TcpStream::from_std(s)?, peer))
        }) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                // Out of file descriptors and the like: back off, go on.
                warn!(shard = shard.id, error = %e, "accept failed");
                monoio::time::sleep(TICK).await;
                continue;
            }
        };
        if !admit(&shard, peer) {
            drop(stream);
            continue;
        }
        shard.counters.borrow_mut().accepted += 1;
        open.set(open.get() + 1);
        let mine = shard.shared.per_shard.get(shard.id);
        if let Some(n) = mine {
            n.fetch_add(1, Ordering::Relaxed);
        }
        let (shard, open) = (shard.clone(), open.clone());
        let router = SocketAddr::new(canonical(peer.ip()), peer.port());
        // An ERROR-level span is enabled at every log level, so every
        // line of the connection names its router and shard.
        let span = error_span!("router", shard = shard.id, %router);
        monoio::spawn(
            async move {
                conn::serve(&shard, stream, router).await;
                shard.shared.connections.fetch_sub(1, Ordering::Relaxed);
                if let Some(n) = shard.shared.per_shard.get(shard.id) {
                    n.fetch_sub(1, Ordering::Relaxed);
                }
                open.set(open.get() - 1);
            }
            .instrument(span),
        );
    }
    drop(watched);
    drop(listener);
    drain(&open, Instant::now() + shard.config.shutdown_timeout()).await;
    if open.get() > 0 {
        warn!(
            shard = shard.id,
            open = open.get(),
            "shutdown timeout: connections still open"
        );
    }
    shard.publish_metrics(true);
    let shard = Rc::into_inner(shard)
        .ok_or_else(|| io::Error::other("connections outlived the shutdown timeout"))?;
    Ok(ShardReport {
        sink: shard.sink.into_inner(),
        counters: shard.counters.into_inner(),
    })
}

/// Applies the allow-list and the connection limit; counts and logs a
/// refusal.
fn admit<S>(shard: &Shard<S>, peer: SocketAddr) -> bool {
    let ip = canonical(peer.ip());
    if !shard.config.router_allowed(ip) {
        shard.counters.borrow_mut().refused_not_allowed += 1;
        warn!(shard = shard.id, router = %peer, "connection refused: not in BMP_ALLOWED_ROUTERS");
        return false;
    }
    let max = shard.config.bmp_max_connections;
    let before = shard.shared.connections.fetch_add(1, Ordering::Relaxed);
    if before >= max {
        shard.shared.connections.fetch_sub(1, Ordering::Relaxed);
        shard.counters.borrow_mut().refused_limit += 1;
        warn!(shard = shard.id, router = %peer, max, "connection refused: BMP_MAX_CONNECTIONS reached");
        return false;
    }
    true
}
