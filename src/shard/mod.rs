//! Shards: one pinned thread per core, each with its own monoio runtime
//! (io_uring, or epoll where io_uring cannot be used), its own buffers and
//! its own [`Sink`]. They accept from one listening socket, the least
//! loaded shard first (`listener`). Nothing on the per-message path is
//! shared between shards; the only shared state is the connection counts
//! (checked at accept) and the shutdown flag.
//!
//! Flow: [`start`] spawns the shards and returns a [`Collector`] once all
//! listen; `listener::run` admits routers; `conn::serve` reads each
//! router's stream into the session state machine (`crate::session`),
//! which reports to the shard's sink.

mod arena;
mod conn;
mod listener;

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monoio::{IoUringDriver, LegacyDriver, RuntimeBuilder};
use tracing::{info, warn};

pub use self::arena::Arena;
use crate::config::{Config, IoDriver};
use crate::metrics::{Metrics, ShardRecorder};
use crate::sink::Sink;

/// Counters of one shard.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct ShardCounters {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused: over `BMP_MAX_CONNECTIONS`.
    pub refused_limit: u64,
    /// Connections refused: source not in `BMP_ALLOWED_ROUTERS`.
    pub refused_not_allowed: u64,
    /// Connections closed for a framing error.
    pub framing_errors: u64,
    /// BMP messages skipped because they did not decode.
    pub bad_messages: u64,
    /// Reads that left the receive buffer above 85% full.
    pub buffer_high: u64,
}

/// What a shard thread owns, shared by its tasks (one thread: `RefCell`s
/// are borrowed only between awaits).
struct Shard<S> {
    id: usize,
    config: Arc<Config>,
    sink: RefCell<S>,
    arena: RefCell<Arena>,
    counters: RefCell<ShardCounters>,
    metrics: RefCell<ShardRecorder>,
    shared: Arc<Shared>,
}

/// State shared by all shards.
#[derive(Debug)]
struct Shared {
    shutdown: AtomicBool,
    /// Router connections open, over all shards.
    connections: AtomicUsize,
    /// Router connections open, per shard.
    per_shard: Box<[AtomicUsize]>,
}

impl Shared {
    fn new(shards: usize) -> Self {
        Self {
            shutdown: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            per_shard: (0..shards).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Whether another shard holds fewer connections than shard `id`.
    fn busier_than_another(&self, id: usize) -> bool {
        let load = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        let mine = self.per_shard.get(id).map_or(0, load);
        self.per_shard.iter().any(|a| load(a) < mine)
    }
}

impl<S> Shard<S> {
    fn shutting_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::Relaxed)
    }

    fn max_message_len(&self) -> usize {
        usize::try_from(self.config.bmp_max_message_size).unwrap_or(usize::MAX)
    }

    /// Publishes the shard's metrics (at most once per
    /// [`crate::metrics::PUBLISH_INTERVAL`] unless `force`d).
    fn publish_metrics(&self, force: bool) {
        let counters = *self.counters.borrow();
        self.metrics
            .borrow_mut()
            .publish(Instant::now(), force, &counters);
    }
}

/// What a shard hands back when it stops.
#[derive(Debug)]
pub struct ShardReport<S> {
    /// The shard's sink.
    pub sink: S,
    /// The shard's counters.
    pub counters: ShardCounters,
}

/// The running collector.
#[derive(Debug)]
pub struct Collector<S> {
    local_addr: SocketAddr,
    driver: &'static str,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<io::Result<ShardReport<S>>>>,
}

impl<S> Collector<S> {
    /// The address the shards listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The IO driver the shards run on: `io_uring` or `epoll`.
    pub fn driver(&self) -> &'static str {
        self.driver
    }

    /// A handle that starts a graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.clone())
    }

    /// Waits for every shard to stop (after a shutdown) and returns what
    /// each hands back.
    ///
    /// # Errors
    ///
    /// The first shard error, or a shard that panicked.
    pub fn join(self) -> io::Result<Vec<ShardReport<S>>> {
        self.threads
            .into_iter()
            .map(|t| {
                t.join()
                    .map_err(|_| io::Error::other("shard thread panicked"))?
            })
            .collect()
    }
}

/// Starts a graceful shutdown: stop accepting, finish what was received,
/// flush, stop.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<Shared>);

impl ShutdownHandle {
    /// Asks every shard to stop.
    pub fn shutdown(&self) {
        self.0.shutdown.store(true, Ordering::Relaxed);
    }
}

/// Whether this machine lets the collector use io_uring.
pub fn io_uring_available() -> bool {
    monoio::utils::detect_uring()
}

/// Which driver `auto` resolves to on this machine.
fn resolve_driver(wanted: IoDriver) -> io::Result<&'static str> {
    let uring = io_uring_available();
    match (wanted, uring) {
        (IoDriver::Uring, false) => Err(io::Error::other(
            "io_uring is not available here (old kernel, seccomp, or kernel.io_uring_disabled)",
        )),
        (IoDriver::Epoll, _) | (IoDriver::Auto, false) => Ok("epoll"),
        (IoDriver::Uring | IoDriver::Auto, true) => Ok("io_uring"),
    }
}

/// Starts the shards, which record into `metrics`. Returns once every
/// shard listens.
///
/// # Errors
///
/// io_uring forced but unavailable, or a shard that cannot bind or build
/// its runtime.
pub fn start<S, F>(
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    make_sink: F,
) -> io::Result<Collector<S>>
where
    S: Sink + Send + 'static,
    F: Fn(usize) -> S + Send + Sync + 'static,
{
    let driver = resolve_driver(config.io_driver)?;
    if config.io_driver == IoDriver::Auto && driver == "epoll" {
        warn!(
            "io_uring is not available here (old kernel, seccomp, or kernel.io_uring_disabled): shards use epoll"
        );
    }
    let shared = Arc::new(Shared::new(config.shards()));
    let listener = listener::bind(config.listen_addr())?;
    let addr = listener.local_addr()?;
    let make_sink = Arc::new(make_sink);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = Vec::new();
    for id in 0..config.shards() {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (config, shared, make_sink) = (config.clone(), shared.clone(), make_sink.clone());
        let metrics = metrics.clone();
        let listener = listener.try_clone()?;
        let t = std::thread::Builder::new()
            .name(format!("riptide-shard-{id}"))
            .spawn(move || {
                if let Err(e) = monoio::utils::bind_to_cpu_set([id % cores]) {
                    warn!(shard = id, error = ?e, "could not pin shard thread");
                }
                let shard = Shard {
                    id,
                    arena: RefCell::new(Arena::new(buffer_size(&config), 64)),
                    sink: RefCell::new(make_sink(id)),
                    config,
                    counters: RefCell::default(),
                    metrics: RefCell::new(ShardRecorder::new(id, metrics)),
                    shared,
                };
                run_shard(shard, listener, driver, ready_tx)
            })?;
        threads.push(t);
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("shard stopped before listening")),
        }
    }
    info!(%addr, shards = threads.len(), driver, "listening for BMP");
    metrics.set_listening(true);
    Ok(Collector {
        local_addr: addr,
        driver,
        shared,
        threads,
    })
}

fn buffer_size(config: &Config) -> usize {
    usize::try_from(config.bmp_buffer_size).unwrap_or(1 << 20)
}

/// Builds the shard's runtime on `driver` and runs it until shutdown.
fn run_shard<S: Sink + 'static>(
    shard: Shard<S>,
    listener: std::net::TcpListener,
    driver: &'static str,
    ready: mpsc::Sender<io::Result<()>>,
) -> io::Result<ShardReport<S>> {
    let fut = listener::run(shard, listener, ready);
    if driver == "io_uring" {
        RuntimeBuilder::<IoUringDriver>::new()
            .enable_timer()
            .build()?
            .block_on(fut)
    } else {
        RuntimeBuilder::<LegacyDriver>::new()
            .enable_timer()
            .build()?
            .block_on(fut)
    }
}

/// Waits until no connection of this shard is left, or `deadline`.
async fn drain(open: &std::rc::Rc<std::cell::Cell<usize>>, deadline: Instant) {
    while open.get() > 0 && Instant::now() < deadline {
        monoio::time::sleep(Duration::from_millis(20)).await;
    }
}
