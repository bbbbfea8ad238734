//! Where a shard's router sessions put what they learn.
//!
//! A [`Sink`] belongs to one shard and is called from that shard's thread
//! only, so implementations need no locks. Events borrow the decoded
//! message: a store encodes its rows straight from them, with no
//! intermediate copies. The storage writers (PostgreSQL, the embedded
//! store) implement this trait; [`NullSink`] discards everything and only
//! counts, the mode used to measure the collector without a database.
#![forbid(unsafe_code)]

pub mod batch;
pub mod copy;
pub mod redump;
pub mod spill;
pub mod sqlite;
pub mod store;
pub mod writer;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::metrics::Metrics;
use crate::session::PeerKey;
use crate::wire::bgp::afi_safi::AfiSafi;
use crate::wire::bgp::update::{Action, Route, Update};
use crate::wire::bmp::header::{PerPeerHeader, RibKind};
use crate::wire::bmp::messages::{Initiation, RouteMirroring, Termination};
use crate::wire::bmp::peer_down::PeerDown;
use crate::wire::bmp::peer_up::PeerUp;
use crate::wire::bmp::stats::StatisticsReport;

/// Why all of a peer's routes end.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PeerEnd<'a> {
    /// The router sent Peer Down.
    PeerDown(&'a PeerDown<'a>),
    /// The router sent Termination; its peers end with it. Its BGP
    /// sessions may well be up still: a store may keep the peers' rows,
    /// hidden, for the router's re-dump.
    Termination,
    /// The TCP session ended without Termination, for the reason given
    /// (`router closed the connection`, `collector shutdown`, ...): as
    /// [`Self::Termination`].
    Disconnect(&'static str),
    /// The session ended (Termination, or the reason given) for a peer
    /// known only from its Route Monitoring messages: no Peer Up, so no
    /// End-of-RIB sweep would reconcile a re-dump with kept rows; a store
    /// ends its routes as with Peer Down.
    WithoutPeerUp(&'static str),
}

/// A shard-local consumer of router session events.
pub trait Sink {
    /// A router connected.
    fn router_connected(&mut self, router: SocketAddr);

    /// A router sent Initiation (sysName, sysDescr, ...).
    fn initiation(&mut self, router: SocketAddr, msg: &Initiation<'_>);

    /// A router session ended: `termination` is the router's Termination,
    /// if it sent one; otherwise the TCP session just ended.
    fn router_disconnected(&mut self, router: SocketAddr, termination: Option<&Termination<'_>>);

    /// A peer came up; `epoch` numbers its sessions (it grows with every
    /// Peer Up of the same peer), so routes of an earlier session can be
    /// told apart from those re-announced in this one.
    fn peer_up(&mut self, router: SocketAddr, peer: PeerKey, epoch: u64, msg: &PeerUp<'_>);

    /// A peer went down, or its router session ended: all its routes end,
    /// in every RIB. `epoch` is the session that ended (0 for a peer that
    /// never sent Peer Up).
    fn peer_down(&mut self, router: SocketAddr, peer: PeerKey, epoch: u64, end: PeerEnd<'_>);

    /// One route of a Route Monitoring message.
    #[allow(clippy::too_many_arguments)] // one event, each argument distinct
    fn route(
        &mut self,
        router: SocketAddr,
        peer: PeerKey,
        header: &PerPeerHeader,
        epoch: u64,
        update: &Update<'_>,
        route: &Route<'_>,
    );

    /// End-of-RIB for one family of one RIB.
    fn end_of_rib(&mut self, router: SocketAddr, peer: PeerKey, rib: RibKind, family: AfiSafi);

    /// The re-dump of one RIB after a Peer Up is complete (End-of-RIB for
    /// every negotiated family, or the stale timeout): routes of `peer` in
    /// `rib` from sessions before `epoch` that were not re-announced are
    /// to be withdrawn.
    fn sweep_stale(&mut self, router: SocketAddr, peer: PeerKey, rib: RibKind, epoch: u64);

    /// A Statistics Report.
    fn stats(&mut self, router: SocketAddr, peer: PeerKey, msg: &StatisticsReport<'_>);

    /// A Route Mirroring message: recorded, never applied to a RIB.
    fn mirroring(&mut self, router: SocketAddr, peer: PeerKey, msg: &RouteMirroring<'_>);

    /// The shard has handled what it read; a batching sink may send now.
    fn flush(&mut self);
}

/// Counts of what a [`NullSink`] was given.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Counts {
    /// Router connections.
    pub routers_connected: u64,
    /// Router sessions ended.
    pub routers_disconnected: u64,
    /// Initiation messages.
    pub initiations: u64,
    /// Peer Up messages.
    pub peers_up: u64,
    /// Peers ended (Peer Down, Termination, disconnect).
    pub peers_down: u64,
    /// Routes announced.
    pub announced: u64,
    /// Routes withdrawn.
    pub withdrawn: u64,
    /// End-of-RIB markers.
    pub end_of_rib: u64,
    /// Stale sweeps (one per RIB).
    pub sweeps: u64,
    /// Statistics counters.
    pub stats: u64,
    /// Route Mirroring messages.
    pub mirrored: u64,
}

/// Discards every event and counts it.
#[derive(Clone, Debug, Default)]
pub struct NullSink {
    /// What was counted so far.
    pub counts: Counts,
}

impl Sink for NullSink {
    fn router_connected(&mut self, _: SocketAddr) {
        self.counts.routers_connected += 1;
    }

    fn initiation(&mut self, _: SocketAddr, _: &Initiation<'_>) {
        self.counts.initiations += 1;
    }

    fn router_disconnected(&mut self, _: SocketAddr, _: Option<&Termination<'_>>) {
        self.counts.routers_disconnected += 1;
    }

    fn peer_up(&mut self, _: SocketAddr, _: PeerKey, _: u64, _: &PeerUp<'_>) {
        self.counts.peers_up += 1;
    }

    fn peer_down(&mut self, _: SocketAddr, _: PeerKey, _: u64, _: PeerEnd<'_>) {
        self.counts.peers_down += 1;
    }

    fn route(
        &mut self,
        _: SocketAddr,
        _: PeerKey,
        _: &PerPeerHeader,
        _: u64,
        _: &Update<'_>,
        route: &Route<'_>,
    ) {
        match route.action {
            Action::Announce => self.counts.announced += 1,
            Action::Withdraw => self.counts.withdrawn += 1,
        }
    }

    fn end_of_rib(&mut self, _: SocketAddr, _: PeerKey, _: RibKind, _: AfiSafi) {
        self.counts.end_of_rib += 1;
    }

    fn sweep_stale(&mut self, _: SocketAddr, _: PeerKey, _: RibKind, _: u64) {
        self.counts.sweeps += 1;
    }

    fn stats(&mut self, _: SocketAddr, _: PeerKey, msg: &StatisticsReport<'_>) {
        self.counts.stats += u64::from(msg.count());
    }

    fn mirroring(&mut self, _: SocketAddr, _: PeerKey, _: &RouteMirroring<'_>) {
        self.counts.mirrored += 1;
    }

    fn flush(&mut self) {}
}

/// The store the collector writes to: PostgreSQL writers (one per shard)
/// or the embedded SQLite writer, with the queues the shards feed.
#[derive(Debug)]
pub struct Store {
    /// One queue per shard (PostgreSQL) or one shared by all (SQLite).
    senders: Vec<tokio::sync::mpsc::Sender<batch::Batch>>,
    writers: Writers,
    settings: store::BatchSettings,
    /// Tells this process run's batch streams apart from earlier runs'.
    run: u64,
    metrics: Arc<Metrics>,
}

#[derive(Debug)]
enum Writers {
    Postgres(writer::Writers),
    Sqlite(std::thread::JoinHandle<sqlite::SqliteCounters>),
}

/// A store that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The PostgreSQL writers could not start.
    #[error("starting the PostgreSQL writers: {0}")]
    Postgres(#[from] std::io::Error),
    /// The SQLite file could not be opened or migrated.
    #[error("opening the embedded store: {0}")]
    Sqlite(#[from] sqlite::SqliteError),
    /// The configuration names no store to open.
    #[error("{0}")]
    Config(String),
}

impl Store {
    /// Opens the configured store (`null` is not a store: see
    /// [`crate::config::Config::store_kind`]).
    ///
    /// # Errors
    ///
    /// The writers cannot start, or the embedded file cannot be opened.
    pub fn open(config: &crate::config::Config, metrics: &Arc<Metrics>) -> Result<Self, OpenError> {
        use crate::config::StoreKind;
        let shards = config.shards();
        let depth = usize::try_from(config.queue_depth).unwrap_or(8);
        let (senders, writers) = match config.store_kind().map_err(OpenError::Config)? {
            StoreKind::Postgres | StoreKind::Auto => {
                let settings = writer::PgSettings {
                    url: config.database_url.clone().unwrap_or_default(),
                    pool_size: config.db_pool_size(),
                    data_dir: config.data_dir.clone(),
                    limits: spill::QueueLimits {
                        memory: usize::try_from(config.queue_memory_mb << 20).unwrap_or(usize::MAX),
                        disk: config.spill_max_mb << 20,
                    },
                    retention_days: config.retention_days,
                    // The shards read for a third of the shutdown time;
                    // the writers have the rest.
                    shutdown_timeout: config.shutdown_timeout() * 2 / 3,
                    peer_routes_interval: config.peer_routes_interval(),
                    stale_timeout: config.stale_timeout(),
                    redump_memory: usize::try_from(config.redump_memory_mb << 20)
                        .unwrap_or(usize::MAX),
                };
                let (senders, w) = writer::start(settings, shards, depth, metrics.clone())?;
                (senders, Writers::Postgres(w))
            }
            StoreKind::Sqlite => {
                let settings = sqlite::SqliteSettings {
                    path: config.data_dir.join("riptide.db"),
                    retention_days: config.retention_days,
                    peer_routes_interval: config.peer_routes_interval(),
                };
                let (tx, t) = sqlite::start(settings, depth, metrics.clone())?;
                (vec![tx], Writers::Sqlite(t))
            }
            StoreKind::Null => {
                return Err(OpenError::Config("the null store stores nothing".into()));
            }
        };
        Ok(Self {
            senders,
            writers,
            metrics: metrics.clone(),
            settings: store::BatchSettings {
                size: usize::try_from(config.batch_size).unwrap_or(10_000),
                timeout: config.batch_timeout(),
            },
            run: store::unix_micros().unsigned_abs(),
        })
    }

    /// What makes each shard's sink, for [`crate::shard::start`].
    pub fn sinks(&self) -> impl Fn(usize) -> store::StoreSink + Send + Sync + 'static {
        let (senders, settings, run) = (self.senders.clone(), self.settings, self.run);
        let metrics = self.metrics.clone();
        move |shard| {
            // One queue per shard, or the one shared queue.
            let tx = senders
                .get(shard)
                .or_else(|| senders.first())
                .cloned()
                .unwrap_or_else(|| tokio::sync::mpsc::channel(1).0);
            store::StoreSink::new(tx, run, shard, settings, metrics.clone())
        }
    }

    /// Waits for the writers to store everything queued (the shards'
    /// sinks must be finished first); returns their counters, for the log.
    pub fn close(self) -> Vec<String> {
        drop(self.senders);
        match self.writers {
            Writers::Postgres(w) => w.join().iter().map(|c| format!("{c:?}")).collect(),
            Writers::Sqlite(t) => vec![format!("{:?}", t.join().unwrap_or_default())],
        }
    }
}
