//! A shard's listener: binds the BMP port with SO_REUSEPORT (the kernel
//! spreads connections over the shards), admits routers, and spawns a
//! connection task for each.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use monoio::net::{ListenerOpts, TcpListener};
use tracing::{Instrument, error_span, warn};

use super::{Shard, ShardReport, conn, drain};
use crate::config::canonical;
use crate::sink::Sink;

/// How often the accept loop wakes to check for shutdown.
const TICK: Duration = Duration::from_millis(100);

/// Binds, reports the bound address on `ready`, accepts until shutdown,
/// then waits (bounded) for the shard's connections to finish.
pub(super) async fn run<S: Sink + 'static>(
    shard: Shard<S>,
    addr: SocketAddr,
    ready: mpsc::Sender<io::Result<SocketAddr>>,
) -> io::Result<ShardReport<S>> {
    let opts = ListenerOpts::new()
        .reuse_port(true)
        .reuse_addr(true)
        .backlog(1024);
    let listener = match TcpListener::bind_with_config(addr, &opts).and_then(|l| {
        let a = l.local_addr()?;
        Ok((l, a))
    }) {
        Ok((l, bound)) => {
            let _ = ready.send(Ok(bound));
            l
        }
        Err(e) => {
            let e2 = io::Error::new(e.kind(), format!("binding {addr}: {e}"));
            let _ = ready.send(Err(e));
            return Err(e2);
        }
    };
    let shard = Rc::new(shard);
    let open = Rc::new(Cell::new(0usize));
    while !shard.shutting_down() {
        shard.publish_metrics(false);
        match monoio::time::timeout(TICK, listener.readable(false)).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                warn!(shard = shard.id, error = %e, "listener not readable");
                monoio::time::sleep(TICK).await;
                continue;
            }
            Ok(Ok(())) => {}
        }
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
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
        let (shard, open) = (shard.clone(), open.clone());
        let router = SocketAddr::new(canonical(peer.ip()), peer.port());
        // An ERROR-level span is enabled at every log level, so every
        // line of the connection names its router and shard.
        let span = error_span!("router", shard = shard.id, %router);
        monoio::spawn(
            async move {
                conn::serve(&shard, stream, router).await;
                shard.shared.connections.fetch_sub(1, Ordering::Relaxed);
                open.set(open.get() - 1);
            }
            .instrument(span),
        );
    }
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
