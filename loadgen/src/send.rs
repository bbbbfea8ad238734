//! Sending: one monoio runtime (io_uring, or epoll where io_uring is not
//! allowed) per sending thread, several router connections per thread.
//!
//! Each router connects from its own source address, sends Initiation and
//! its peers' dumps, then, until the run ends: churn at its share of the
//! rate, Statistics Reports, peer flaps (Peer Down, Peer Up, re-dump) and
//! reconnects (the TCP session dropped without Termination, then a new
//! one with a full dump). At the end it sends Termination and closes. A
//! session the collector loses (it was restarted) starts again, as on a
//! router: connecting every second, then a full dump.
//!
//! Rate limits are applied to octets, at each dump's average octets per
//! route, so a limit in routes per second holds on average, not per
//! message.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use monoio::buf::IoBuf;
use monoio::io::{AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::router::Router;

/// Largest write, so progress, limits and stops are looked at often.
const CHUNK: usize = 256 << 10;

/// How often churn is sent (its share of updates per tick).
const CHURN_TICK: Duration = Duration::from_millis(10);

/// What the routers do after their dumps, and for how long.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Where the collector listens.
    pub(crate) target: SocketAddr,
    /// Churn: updates per second over all routers.
    pub(crate) churn: f64,
    /// Statistics Reports every this often.
    pub(crate) stats_every: Option<Duration>,
    /// Each router flaps a peer every this often.
    pub(crate) flap_every: Option<Duration>,
    /// Each router reconnects every this often.
    pub(crate) reconnect_every: Option<Duration>,
    /// Limit per connection, routes per second.
    pub(crate) rate: Option<f64>,
    /// Routes withheld after the dump of router 0 (for `--verify`).
    pub(crate) omit: usize,
    /// Whether to bind each router to its own source address.
    pub(crate) bind: bool,
}

/// Counters shared by every sender and the progress reporter.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Routes sent (dumps, churn).
    pub(crate) routes: AtomicU64,
    /// Octets sent.
    pub(crate) bytes: AtomicU64,
    /// Routers whose first dump is complete.
    pub(crate) dumped: AtomicUsize,
    /// Connections made.
    pub(crate) connections: AtomicU64,
    /// Peer flaps sent.
    pub(crate) flaps: AtomicU64,
    /// Sessions lost (and started again).
    pub(crate) lost: AtomicU64,
    /// Set to stop: Termination, then close.
    pub(crate) stop: AtomicBool,
    /// Set by the main thread to pause churn, flaps and reconnects (while
    /// it verifies the store); each router then publishes what its peers
    /// hold into `expected`.
    pub(crate) quiet: AtomicBool,
    /// Set while churn, flaps, reconnects and Statistics Reports wait for
    /// the collector to store the dumps (`--hold-until-stored`).
    pub(crate) held: AtomicBool,
    /// What the routers' peers hold, published once quiet.
    pub(crate) expected: std::sync::Mutex<Vec<crate::router::Expected>>,
    /// Routers that published.
    pub(crate) published: AtomicUsize,
    /// The value of the markers sent when quiet (see
    /// [`crate::router::Router::marker`]).
    pub(crate) nonce: AtomicU64,
}

/// Runs `routers` on `threads` runtimes until `progress.stop`; returns
/// once every one has sent Termination and closed.
///
/// # Errors
///
/// A router that cannot connect or send, with its source address.
pub(crate) fn run(
    routers: Vec<Router>,
    threads: usize,
    plan: &Plan,
    progress: &Arc<Progress>,
) -> anyhow::Result<()> {
    let threads = threads.max(1);
    let mut per_thread: Vec<Vec<Router>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, r) in routers.into_iter().enumerate() {
        if let Some(v) = per_thread.get_mut(i % threads) {
            v.push(r);
        }
    }
    let total_rate = plan.churn;
    let n_routers: usize = per_thread.iter().map(Vec::len).sum();
    std::thread::scope(|s| {
        let handles: Vec<_> = per_thread
            .into_iter()
            .map(|routers| {
                let progress = progress.clone();
                let plan = plan.clone();
                s.spawn(move || -> anyhow::Result<()> {
                    let mut rt = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                        .enable_timer()
                        .build()?;
                    rt.block_on(async move {
                        let churn_share = total_rate / n_routers.max(1) as f64;
                        let tasks: Vec<_> = routers
                            .into_iter()
                            .map(|r| {
                                let (plan, progress) = (plan.clone(), progress.clone());
                                monoio::spawn(async move {
                                    let r = Rc::new(RefCell::new(r));
                                    router_task(&r, &plan, churn_share, &progress).await
                                })
                            })
                            .collect();
                        // Every router runs to its end; the first error is
                        // reported.
                        let mut first = Ok(());
                        for t in tasks {
                            if let Err(e) = t.await
                                && first.is_ok()
                            {
                                first = Err(e);
                            }
                        }
                        first
                    })
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a sender thread panicked"))??;
        }
        Ok(())
    })
}

/// How long a router whose session was lost waits before connecting
/// again (and between attempts).
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// How long a router whose session was lost keeps trying to connect
/// before it gives up (and the run fails).
const RECONNECT_GIVE_UP: Duration = Duration::from_secs(120);

/// Why a router's session ended early.
enum SessionEnd {
    /// The connection was lost (the collector went away): connect again.
    Lost(io::Error),
    /// Anything else: the router stops with this error.
    Fatal(anyhow::Error),
}

impl From<io::Error> for SessionEnd {
    fn from(e: io::Error) -> Self {
        Self::Lost(e)
    }
}

impl From<riptide::wire::WireError> for SessionEnd {
    fn from(e: riptide::wire::WireError) -> Self {
        Self::Fatal(e.into())
    }
}

/// What a router carries from one session to the next.
#[derive(Default)]
struct Life {
    /// Its first full dump is complete (counted in `progress.dumped`).
    dumped: bool,
    /// It published what its peers hold (once quiet).
    published: bool,
}

/// One router's whole life: the first connection must succeed; a session
/// lost later is started again, as a router does, after
/// [`RECONNECT_DELAY`] (again and again until it connects, the run
/// stops, or [`RECONNECT_GIVE_UP`] passes), with a full dump.
async fn router_task(
    r: &Rc<RefCell<Router>>,
    plan: &Plan,
    churn_share: f64,
    progress: &Progress,
) -> anyhow::Result<()> {
    let (index, source) = {
        let r = r.borrow();
        (r.index, r.source)
    };
    let ctx = |what: &str| format!("router {} ({source}): {what}", index + 1);
    let mut conn = Conn::open(plan, source, progress)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", ctx("connecting")))?;
    let mut life = Life::default();
    loop {
        match session(&mut conn, r, plan, churn_share, progress, &mut life).await {
            Ok(()) => return Ok(()),
            Err(SessionEnd::Fatal(e)) => return Err(e.context(ctx("sending"))),
            Err(SessionEnd::Lost(e)) => {
                eprintln!("{}", ctx(&format!("session lost ({e}); connecting again")));
                progress.lost.fetch_add(1, Ordering::Relaxed);
                let lost = Instant::now();
                conn = loop {
                    monoio::time::sleep(RECONNECT_DELAY).await;
                    if progress.stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    match Conn::open(plan, source, progress).await {
                        Ok(c) => break c,
                        Err(e) if lost.elapsed() >= RECONNECT_GIVE_UP => {
                            return Err(anyhow::anyhow!(
                                "{}: {e}",
                                ctx("connecting again (gave up)")
                            ));
                        }
                        Err(_) => {}
                    }
                };
            }
        }
    }
}

/// One session of a router: a full dump, then churn, statistics, flaps
/// and reconnects until the run stops; Termination and close at the end.
async fn session(
    conn: &mut Conn,
    r: &Rc<RefCell<Router>>,
    plan: &Plan,
    churn_share: f64,
    progress: &Progress,
    life: &mut Life,
) -> Result<(), SessionEnd> {
    let (index, source) = {
        let r = r.borrow();
        (r.index, r.source)
    };
    conn.full_dump(r, progress).await?;
    if !life.dumped {
        if plan.omit > 0 && index == 0 {
            let mut out = Vec::new();
            r.borrow_mut().omit(plan.omit, &mut out)?;
            conn.send(out, 0, progress).await?;
        }
        life.dumped = true;
        progress.dumped.fetch_add(1, Ordering::Relaxed);
    }

    while progress.held.load(Ordering::Relaxed)
        && !progress.quiet.load(Ordering::Relaxed)
        && !progress.stop.load(Ordering::Relaxed)
    {
        monoio::time::sleep(CHURN_TICK).await;
    }
    let start = Instant::now();
    // Stagger the routers' flaps and reconnects over the interval.
    let offset = |every: Duration| every.mul_f64(f64::from(index % 16 + 1) / 16.0);
    let mut next_stats = plan.stats_every.map(|e| start + e);
    let mut next_flap = plan.flap_every.map(|e| start + offset(e));
    let mut next_reconnect = plan.reconnect_every.map(|e| start + offset(e));
    let mut churn_owed = 0.0;
    let mut last_tick = Instant::now();
    let mut out = Vec::new();
    // Each session that sees the quiet time publishes what the peers hold
    // (a re-dump after a lost session restores the full tables) and sends
    // the marker.
    let mut marked = false;
    while !progress.stop.load(Ordering::Relaxed) {
        monoio::time::sleep(CHURN_TICK).await;
        let now = Instant::now();
        if progress.quiet.load(Ordering::Relaxed) {
            if !marked {
                marked = true;
                let mut marker = Vec::new();
                r.borrow()
                    .marker(progress.nonce.load(Ordering::Relaxed) as u32, &mut marker)?;
                conn.send(marker, 0, progress).await?;
                let expected = r.borrow().expected();
                if let Ok(mut all) = progress.expected.lock() {
                    all.retain(|e| e.router != source);
                    all.extend(expected);
                }
                if !life.published {
                    life.published = true;
                    progress.published.fetch_add(1, Ordering::Relaxed);
                }
            }
            last_tick = now;
            continue;
        }
        if conn.closed_by_collector() {
            return Err(SessionEnd::Lost(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the collector closed the connection",
            )));
        }
        out.clear();
        churn_owed += churn_share * now.duration_since(last_tick).as_secs_f64();
        last_tick = now;
        let n = churn_owed.floor();
        if n >= 1.0 {
            churn_owed -= n;
            let sent = r.borrow_mut().churn(n as u32, &mut out)?;
            progress.routes.fetch_add(sent, Ordering::Relaxed);
        }
        if let (Some(t), Some(every)) = (next_stats, plan.stats_every)
            && now >= t
        {
            next_stats = Some(now + every);
            r.borrow().stats(&mut out)?;
        }
        if !out.is_empty() {
            out = conn.send(std::mem::take(&mut out), 0, progress).await?;
        }
        if let (Some(t), Some(every)) = (next_flap, plan.flap_every)
            && now >= t
        {
            next_flap = Some(now + every);
            let mut down = Vec::new();
            let flapped = r.borrow_mut().flap(&mut down)?;
            if let Some(p) = flapped {
                conn.send(down, 0, progress).await?;
                conn.peer_dump(r, p, progress).await?;
                progress.flaps.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let (Some(t), Some(every)) = (next_reconnect, plan.reconnect_every)
            && now >= t
        {
            next_reconnect = Some(now + every);
            // The TCP session ends without Termination, as when a router
            // reboots; the new one starts over with a full dump.
            let _ = conn.stream.shutdown().await;
            *conn = Conn::open(plan, source, progress).await?;
            conn.full_dump(r, progress).await?;
        }
    }
    let mut bye = Vec::new();
    riptide::wire::encode::termination(&mut bye, &[(1, &[0, 0])])?;
    conn.send(bye, 0, progress).await?;
    let _ = conn.stream.shutdown().await;
    Ok(())
}

/// A router's connection with its rate limit.
struct Conn {
    stream: TcpStream,
    /// The same socket, to look for the collector's close.
    probe: std::net::TcpStream,
    /// Octets per second allowed (`None`: no limit), and the octets
    /// credit of the token bucket.
    limit: Option<f64>,
    rate: Option<f64>,
    credit: f64,
    last: Instant,
}

impl Conn {
    async fn open(plan: &Plan, source: IpAddr, progress: &Progress) -> io::Result<Self> {
        let target = plan.target;
        let bind = plan.bind.then_some(source);
        // Connecting blocks this runtime briefly; routers connect rarely.
        let std = connect(target, bind)?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        let probe = std.try_clone()?;
        let stream = TcpStream::from_std(std)?;
        progress.connections.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            stream,
            probe,
            limit: None,
            rate: plan.rate,
            credit: 0.0,
            last: Instant::now(),
        })
    }

    /// Whether the collector closed the connection (a router notices at
    /// once: it reads from the session, where loadgen only writes).
    fn closed_by_collector(&self) -> bool {
        // The socket is non-blocking: nothing to read is `WouldBlock`.
        match self.probe.peek(&mut [0]) {
            // The collector sends nothing: 0 octets is its close.
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        }
    }

    /// Initiation and every peer's dump.
    async fn full_dump(&mut self, r: &Rc<RefCell<Router>>, progress: &Progress) -> io::Result<()> {
        let mut init = Vec::new();
        r.borrow()
            .initiation(&mut init)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.send(init, 0, progress).await?;
        let peers = r.borrow().peers();
        for p in 0..peers {
            self.peer_dump(r, p, progress).await?;
        }
        Ok(())
    }

    /// Peer `p`'s dump; its routes are then all announced.
    async fn peer_dump(
        &mut self,
        r: &Rc<RefCell<Router>>,
        p: usize,
        progress: &Progress,
    ) -> io::Result<()> {
        // A copy of the dump, so the router stays borrowable (churn is
        // paused while a dump is written, as on a real router).
        let (dump, routes) = {
            let r = r.borrow();
            (r.dump(p).to_vec(), r.dump_prefixes())
        };
        if let Some(rate) = self.rate {
            let per_route = dump.len() as f64 / routes.max(1) as f64;
            self.limit = Some(rate * per_route);
        }
        self.send(dump, routes, progress).await?;
        r.borrow_mut().dumped(p);
        Ok(())
    }

    /// Writes `buf` in chunks, within the rate limit; counts `routes`
    /// spread over the chunks. Returns the buffer (emptied) for reuse.
    async fn send(
        &mut self,
        buf: Vec<u8>,
        routes: u64,
        progress: &Progress,
    ) -> io::Result<Vec<u8>> {
        let len = buf.len();
        let mut buf = buf;
        let mut off = 0;
        let mut counted = 0;
        while off < len {
            let end = (off + CHUNK).min(len);
            if let Some(limit) = self.limit {
                let now = Instant::now();
                self.credit = (self.credit + limit * now.duration_since(self.last).as_secs_f64())
                    .min(limit.max(CHUNK as f64));
                self.last = now;
                let need = (end - off) as f64;
                if self.credit < need {
                    let wait = (need - self.credit) / limit;
                    monoio::time::sleep(Duration::from_secs_f64(wait)).await;
                    self.credit = need;
                    self.last = Instant::now();
                }
                self.credit -= need;
            }
            let (res, slice) = self.stream.write_all(buf.slice(off..end)).await;
            buf = slice.into_inner();
            res?;
            progress
                .bytes
                .fetch_add((end - off) as u64, Ordering::Relaxed);
            let share = routes * end as u64 / len as u64;
            progress
                .routes
                .fetch_add(share - counted, Ordering::Relaxed);
            counted = share;
            off = end;
        }
        buf.clear();
        Ok(buf)
    }
}

/// A blocking connect from `source` (if given) to `target`.
fn connect(target: SocketAddr, source: Option<IpAddr>) -> io::Result<std::net::TcpStream> {
    use socket2::{Domain, Socket, Type};
    let domain = if target.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::STREAM, None)?;
    if let Some(ip) = source {
        socket
            .bind(&SocketAddr::new(ip, 0).into())
            .map_err(|e| io::Error::new(e.kind(), format!("binding {ip}: {e}")))?;
    }
    socket.connect(&target.into())?;
    Ok(socket.into())
}
