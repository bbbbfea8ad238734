//! `loadgen`: simulated full-table BMP routers, and capture replay.
//!
//! Without a subcommand it builds N routers with M full-table peers each
//! ([`router`], from `riptide::synth` and `riptide::wire::encode`) and
//! sends them to a collector ([`send`]): Initiation, Peer Ups, the tables
//! (in one or more RIB copies), End-of-RIB; then, like real routers, keeps
//! the sessions open with churn, Statistics Reports, peer flaps and
//! reconnects until SIGINT/SIGTERM or `--duration` (Termination, then
//! close), or, with `--once`, closes right after the dumps. It reports
//! progress while it runs and a final report; `--verify` checks the
//! collector's store against what was sent, `--metrics` adds the
//! collector's latency quantiles. `--out` and `--pcap` write the traffic
//! to a file instead.
//!
//! `loadgen replay FILE` sends the BMP flows of a capture ([`replay`]).

mod pcap;
mod replay;
mod router;
mod scrape;
mod send;
mod verify;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::router::{Copy, Router, Spec};
use crate::send::{Plan, Progress};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Simulated full-table BMP routers, and capture replay.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Args,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send the BMP flows of a pcap (or a raw BMP stream) to a collector,
    /// one connection per recorded router.
    Replay {
        /// The capture: a classic pcap, or a raw BMP byte stream.
        file: PathBuf,
        /// Collector address, e.g. 127.0.0.1:11019.
        #[arg(long)]
        target: String,
        /// `recorded`, `max` (as fast as possible), or a factor of the
        /// recorded speed such as `10` or `0.5`.
        #[arg(long, default_value = "recorded")]
        speed: replay::Speed,
    },
}

/// Traffic of simulated routers.
#[derive(clap::Args, Debug)]
struct Args {
    /// Collector address to send to, e.g. 127.0.0.1:11019.
    #[arg(long, conflicts_with_all = ["out", "pcap"])]
    target: Option<String>,
    /// Write the routers' dumps, one after the other, to this file.
    #[arg(long, conflicts_with = "pcap")]
    out: Option<PathBuf>,
    /// Write the routers' dumps as a pcap (one TCP connection per router,
    /// to port 11019), for independent decoders such as tshark.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Number of routers (connections).
    #[arg(long, default_value_t = 1)]
    routers: u32,
    /// Full-table peers per router.
    #[arg(long, default_value_t = 1)]
    peers: u32,
    /// IPv4 prefixes per table.
    #[arg(long, default_value_t = riptide::synth::FULL_V4)]
    v4: u32,
    /// IPv6 prefixes per table.
    #[arg(long, default_value_t = riptide::synth::FULL_V6)]
    v6: u32,
    /// Send ADD-PATH path identifiers (negotiated in the OPENs).
    #[arg(long)]
    add_path: bool,
    /// RIB copies each peer exports (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "pre")]
    ribs: Vec<Copy>,
    /// Seed of the generated tables and of the churn.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Close the sessions (Termination) right after the dumps.
    #[arg(long)]
    once: bool,
    /// Seconds to run after connecting, then Termination and close;
    /// without it, until SIGINT/SIGTERM.
    #[arg(long)]
    duration: Option<f64>,
    /// Churn after the dumps: updates per second over all routers.
    #[arg(long, default_value_t = 0.0)]
    churn: f64,
    /// Seconds between Statistics Reports of each router (0: none).
    #[arg(long, default_value_t = 30.0)]
    stats_interval: f64,
    /// Seconds between peer flaps of each router (Peer Down, Peer Up,
    /// re-dump; 0: none).
    #[arg(long, default_value_t = 0.0)]
    flap_interval: f64,
    /// Seconds between reconnects of each router (the TCP session dropped
    /// without Termination, then a full dump; 0: none).
    #[arg(long, default_value_t = 0.0)]
    reconnect_interval: f64,
    /// Limit per connection, routes per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Limit over all connections, routes per second (shared equally).
    #[arg(long)]
    total_rate: Option<f64>,
    /// First source address of the routers (each its own, counting up);
    /// default: 127.0.1.1 for a loopback target, none otherwise (all
    /// routers then share this host's address).
    #[arg(long)]
    source: Option<Ipv4Addr>,
    /// Sending threads (one io_uring runtime each); default: one per core.
    #[arg(long)]
    threads: Option<usize>,
    /// After the dumps (and `--duration`), check the collector's store:
    /// a `postgres://` URL, or the path of Riptide's SQLite file. Exits 1
    /// with a summary of the differences when it does not match.
    #[arg(long)]
    verify: Option<String>,
    /// How long `--verify` waits for the store to converge, in seconds.
    #[arg(long, default_value_t = 300.0)]
    verify_timeout: f64,
    /// The collector's metrics URL (http://HOST:PORT/metrics), for
    /// server-side latency quantiles in the report.
    #[arg(long)]
    metrics: Option<String>,
    /// After the dumps, hold churn, flaps, reconnects and Statistics
    /// Reports until the collector has stored every route it decoded
    /// (read from `--metrics`); `--duration` then counts from that moment,
    /// and the report gives the collector's arrival-to-commit figures of
    /// what came after, apart from the dumps' backlog.
    #[arg(long, requires = "metrics")]
    hold_until_stored: bool,
    /// Withdraw this many routes of router 1 after its dump while still
    /// expecting them: a deliberate gap, to test `--verify`.
    #[arg(long, default_value_t = 0, hide = true)]
    omit: usize,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Replay {
        file,
        target,
        speed,
    }) = cli.command
    {
        let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let target = resolve(&target)?;
        let r = replay::replay(&data, target, speed)?;
        println!(
            "replayed {} flows, {} bytes in {:.2} s",
            r.flows, r.bytes, r.secs
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    run(cli.run)
}

fn resolve(target: &str) -> anyhow::Result<SocketAddr> {
    target
        .to_socket_addrs()
        .with_context(|| format!("resolving {target}"))?
        .next()
        .with_context(|| format!("{target}: no address"))
}

fn secs(v: f64) -> Option<Duration> {
    (v > 0.0).then(|| Duration::from_secs_f64(v))
}

fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let target = args.target.as_deref().map(resolve).transpose()?;
    // Files, and a collector on loopback, get routers of their own
    // addresses; a remote collector sees this host's address.
    let base = args.source.or_else(|| {
        target
            .is_none_or(|t| t.ip().is_loopback())
            .then_some(Ipv4Addr::new(127, 0, 1, 1))
    });
    let spec = Spec {
        peers: args.peers,
        v4: args.v4,
        v6: args.v6,
        add_path: args.add_path,
        seed: args.seed,
        copies: args.ribs.clone(),
    };
    // Built before connecting: generation is not timed.
    let generating = Instant::now();
    let mut routers = Vec::new();
    for r in 0..args.routers {
        let source = router::source(base.unwrap_or(Ipv4Addr::LOCALHOST), r);
        routers.push(Router::new(r, source, spec.clone()).context("encoding the tables")?);
    }
    let dump_routes: u64 = routers
        .iter()
        .map(|r| r.dump_prefixes() * r.peers() as u64)
        .sum();
    eprintln!(
        "generated {} routers x {} peers x {} RIB copies: {dump_routes} routes in {:.1} s",
        args.routers,
        args.peers,
        args.ribs.len(),
        generating.elapsed().as_secs_f64()
    );
    let Some(target) = target else {
        return write_files(&args, &routers, dump_routes);
    };

    let progress = Arc::new(Progress::default());
    progress
        .held
        .store(args.hold_until_stored, Ordering::Relaxed);
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A signal stops the run: Termination, then close.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register(sig, stop.clone())?;
        let progress = progress.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            progress.stop.store(true, Ordering::Relaxed);
        });
    }
    let rate = match (args.rate, args.total_rate) {
        (Some(r), Some(t)) => Some(r.min(t / f64::from(args.routers.max(1)))),
        (r, t) => r.or(t.map(|t| t / f64::from(args.routers.max(1)))),
    };
    let plan = Plan {
        target,
        churn: args.churn,
        stats_every: secs(args.stats_interval),
        flap_every: secs(args.flap_interval),
        reconnect_every: secs(args.reconnect_interval),
        rate,
        omit: args.omit,
        bind: base.is_some(),
    };
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    let start = Instant::now();
    let n_routers = routers.len();
    let controller = {
        let progress = progress.clone();
        let stop = Stop {
            once: args.once,
            duration: args.duration.and_then(secs),
            verify: args.verify.clone(),
            verify_timeout: Duration::from_secs_f64(args.verify_timeout.max(0.0)),
            hold: args
                .hold_until_stored
                .then(|| args.metrics.clone())
                .flatten(),
        };
        std::thread::spawn(move || control(&progress, n_routers, start, &stop))
    };
    let sent = send::run(routers, threads, &plan, &progress);
    let Controlled {
        dumps_done,
        stored,
        verified,
    } = controller
        .join()
        .map_err(|_| anyhow::anyhow!("the progress thread panicked"))?;
    sent?;
    report(&progress, start, dumps_done);
    let mut code = std::process::ExitCode::SUCCESS;
    if let Some((began, outcome)) = verified {
        let outcome = outcome?;
        match outcome.converged_after {
            Some(d) => println!(
                "verify: the store holds exactly the {} routes sent, {:.2} s after the check began ({:.2} s after the first byte)",
                outcome.expected,
                d.as_secs_f64(),
                (d + began).as_secs_f64(),
            ),
            None => {
                println!(
                    "verify: the store does NOT hold the {} routes sent:\n{}",
                    outcome.expected, outcome.diff
                );
                code = std::process::ExitCode::from(1);
            }
        }
    }
    if let Some(url) = &args.metrics {
        match scrape::latency_report(url) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => eprintln!("loadgen: reading {url}: {e:#}"),
        }
        if let Some((at, before)) = stored {
            println!(
                "held until the collector had stored the dumps, {:.2} s after the first byte",
                at.as_secs_f64()
            );
            match scrape::Histogram::fetch(url) {
                Ok(now) => println!(
                    "server arrival to commit after the hold: {}",
                    now.since(&before)
                ),
                Err(e) => eprintln!("loadgen: reading {url}: {e:#}"),
            }
        }
    }
    Ok(code)
}

/// When the run stops, and what happens first.
struct Stop {
    once: bool,
    duration: Option<Duration>,
    verify: Option<String>,
    verify_timeout: Duration,
    /// `--hold-until-stored`: the collector's metrics URL.
    hold: Option<String>,
}

/// What [`control`] saw.
struct Controlled {
    /// When the dumps were sent.
    dumps_done: Option<Duration>,
    /// With `--hold-until-stored`: when the collector had stored them,
    /// and its arrival-to-commit histogram then.
    stored: Option<(Duration, scrape::Histogram)>,
    /// When the verification began, and its outcome.
    verified: Option<(Duration, anyhow::Result<verify::Outcome>)>,
}

/// Watches the run: progress lines, the hold of `--hold-until-stored`,
/// and the stop at `--once` (after the dumps, and the hold),
/// `--duration` (from the start, or from the end of the hold), or a
/// signal; before stopping, `--verify` (with the routers quiet and their
/// sessions open).
fn control(progress: &Progress, routers: usize, start: Instant, stop_at: &Stop) -> Controlled {
    let (once, duration) = (stop_at.once, stop_at.duration);
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    let mut dumps_done = None;
    let mut stored = None;
    // Where `--duration` counts from.
    let mut origin = start;
    let mut last = Instant::now();
    let mut next_check = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let dumped = progress.dumped.load(Ordering::Relaxed);
        if dumps_done.is_none() && dumped >= routers {
            dumps_done = Some(start.elapsed());
        }
        let held = progress.held.load(Ordering::Relaxed);
        if let Some(url) = stop_at.hold.as_deref()
            && held
            && dumps_done.is_some()
            && next_check <= Instant::now()
        {
            next_check = Instant::now() + Duration::from_secs(1);
            let sent = progress.routes.load(Ordering::Relaxed);
            match scrape::stored(url, sent) {
                Ok(Some(histogram)) => {
                    eprintln!(
                        "{:.1} s  the collector has stored the dumps: churn, flaps and reconnects start",
                        start.elapsed().as_secs_f64()
                    );
                    stored = Some((start.elapsed(), histogram));
                    origin = Instant::now();
                    progress.held.store(false, Ordering::Relaxed);
                }
                Ok(None) => {}
                Err(e) => eprintln!("loadgen: reading {url}: {e:#}"),
            }
        }
        let stop = progress.stop.load(Ordering::Relaxed)
            || (once && dumps_done.is_some() && !held)
            || duration.is_some_and(|d| !held && origin.elapsed() >= d);
        if last.elapsed() >= every || stop {
            last = Instant::now();
            let line = progress_line(progress, start, dumped, routers);
            if terminal {
                eprint!("\r{line}\x1b[K");
            } else {
                eprintln!("{line}");
            }
        }
        if stop {
            if terminal {
                eprintln!();
            }
            let verified = stop_at.verify.as_deref().map(|store| {
                // Churn, flaps and reconnects pause; every router says
                // what its peers hold, then the store is compared.
                // A value no router sends by itself: 3 000 000 000 and up.
                let nonce = 3_000_000_000 + start.elapsed().subsec_nanos() % 1_000_000_000;
                progress.nonce.store(u64::from(nonce), Ordering::Relaxed);
                progress.quiet.store(true, Ordering::Relaxed);
                while progress.published.load(Ordering::Relaxed) < routers {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let expected = std::mem::take(
                    &mut *progress
                        .expected
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                eprintln!("verifying the store against what was sent");
                let began = start.elapsed();
                (
                    began,
                    verify::verify(store, &expected, nonce, stop_at.verify_timeout),
                )
            });
            progress.stop.store(true, Ordering::Relaxed);
            return Controlled {
                dumps_done,
                stored,
                verified,
            };
        }
    }
}

fn progress_line(progress: &Progress, start: Instant, dumped: usize, routers: usize) -> String {
    let secs = start.elapsed().as_secs_f64();
    let routes = progress.routes.load(Ordering::Relaxed);
    let bytes = progress.bytes.load(Ordering::Relaxed);
    format!(
        "{secs:7.1} s  routers dumped {dumped}/{routers}  routes {routes}  ({:.0} routes/s, {:.1} MB/s)  flaps {}  connections {}  sessions lost {}",
        routes as f64 / secs.max(1e-9),
        bytes as f64 / secs.max(1e-9) / 1e6,
        progress.flaps.load(Ordering::Relaxed),
        progress.connections.load(Ordering::Relaxed),
        progress.lost.load(Ordering::Relaxed),
    )
}

fn report(progress: &Progress, start: Instant, dumps_done: Option<Duration>) {
    let secs = start.elapsed().as_secs_f64();
    let routes = progress.routes.load(Ordering::Relaxed);
    let bytes = progress.bytes.load(Ordering::Relaxed);
    if let Some(d) = dumps_done {
        println!("dumps sent in {:.2} s", d.as_secs_f64());
    }
    println!(
        "sent {routes} routes, {bytes} bytes in {secs:.2} s ({:.0} routes/s, {:.1} MB/s)",
        routes as f64 / secs.max(1e-9),
        bytes as f64 / secs.max(1e-9) / 1e6
    );
}

/// `--out` or `--pcap`: the routers' dumps (Initiation and every peer's
/// dump; the sessions stay open, as after a dump) to a file.
fn write_files(
    args: &Args,
    routers: &[Router],
    routes: u64,
) -> anyhow::Result<std::process::ExitCode> {
    let mut streams = Vec::new();
    for r in routers {
        let mut s = Vec::new();
        r.initiation(&mut s)?;
        for p in 0..r.peers() {
            s.extend_from_slice(r.dump(p));
        }
        streams.push(s);
    }
    match (&args.out, &args.pcap) {
        (Some(path), _) => std::fs::write(path, streams.concat())
            .with_context(|| format!("writing {}", path.display()))?,
        (None, Some(path)) => {
            let collector = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 11019);
            let conns: Vec<_> = routers
                .iter()
                .zip(&streams)
                .map(|(r, s)| {
                    let ip = match r.source {
                        IpAddr::V4(v4) => v4,
                        IpAddr::V6(_) => Ipv4Addr::LOCALHOST,
                    };
                    (
                        SocketAddrV4::new(ip, 40_000 + r.index as u16),
                        collector,
                        s.as_slice(),
                    )
                })
                .collect();
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            pcap::write(&mut file, &conns, Duration::from_secs(1_700_000_000))?;
            file.flush()?;
        }
        (None, None) => anyhow::bail!("give --target ADDR, --out FILE or --pcap FILE"),
    }
    println!("prefixes {routes}");
    Ok(std::process::ExitCode::SUCCESS)
}
