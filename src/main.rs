//! The `riptide` binary: configuration, then telemetry, then the chosen
//! action (the collector by default).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use riptide::config::{self, Config, StoreKind};
use riptide::metrics::Metrics;
use riptide::shard::ShardReport;
use riptide::sink::{NullSink, Store};
use riptide::telemetry::Telemetry;
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;
use tracing::{info, warn};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Riptide, a BMP collector. Without a subcommand it runs the collector.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode a raw BMP stream or a pcap capture and print one JSON object
    /// per BMP message on standard output.
    Decode {
        /// The file: a raw BMP byte stream, or a classic pcap whose TCP
        /// flows carry BMP.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let dotenv = match config::read_dotenv(Path::new(".env")) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("riptide: {e}");
            return ExitCode::from(2);
        }
    };
    let cmd = config::apply_dotenv(Cli::command(), &dotenv);
    let cli = match Cli::from_arg_matches(&cmd.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("riptide: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Decode { file }) => {
            let data =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let stdout = std::io::stdout().lock();
            let mut out = BufWriter::new(stdout);
            let summary = riptide::decode::decode_file(&data, &mut out)?;
            out.flush()?;
            eprintln!("{summary}");
            Ok(if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        None => collect(cli.config),
    }
}

fn collect(config: Config) -> anyhow::Result<ExitCode> {
    let kind = match config.store_kind() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("riptide: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let metrics = Metrics::for_config(&config);
    let telemetry = riptide::telemetry::init(&config, &metrics);
    info!(
        version = env!("CARGO_PKG_VERSION"),
        store = ?kind,
        shards = config.shards(),
        "starting Riptide, a BMP collector"
    );
    let config = Arc::new(config);
    let endpoint = riptide::metrics::http::serve(config.metrics_addr(), metrics.clone())
        .with_context(|| format!("serving metrics on {}", config.metrics_addr()))?;
    info!(addr = %endpoint.local_addr(), "metrics endpoint");
    match kind {
        StoreKind::Null => {
            warn!("--store null: routes are decoded and counted, not stored");
            let reports = serve(&config, &metrics, telemetry, |_| NullSink::default())?;
            for (id, r) in reports.iter().enumerate() {
                info!(shard = id, counters = ?r.counters, sink = ?r.sink.counts, "shard stopped");
            }
        }
        StoreKind::Postgres | StoreKind::Auto | StoreKind::Sqlite => {
            let store = Store::open(&config, &metrics)?;
            let reports = serve(&config, &metrics, telemetry, store.sinks())?;
            for (id, r) in reports.into_iter().enumerate() {
                let counters = r.sink.finish();
                info!(shard = id, counters = ?r.counters, store = ?counters, "shard stopped");
            }
            for (id, c) in store.close().iter().enumerate() {
                info!(writer = id, counters = %c, "store writer stopped");
            }
        }
    }
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Runs the shards until SIGINT/SIGTERM (SIGUSR1 toggles DEBUG logs);
/// returns what they hand back.
fn serve<S, F>(
    config: &Arc<Config>,
    metrics: &Arc<Metrics>,
    telemetry: Telemetry,
    make_sink: F,
) -> anyhow::Result<Vec<ShardReport<S>>>
where
    S: riptide::sink::Sink + Send + 'static,
    F: Fn(usize) -> S + Send + Sync + 'static,
{
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGUSR1]).context("installing the signal handlers")?;
    let collector = riptide::shard::start(config.clone(), metrics.clone(), make_sink)
        .context("starting the shards")?;
    let handle = collector.shutdown_handle();
    let metrics = metrics.clone();
    std::thread::Builder::new()
        .name("riptide-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGUSR1 {
                    telemetry.toggle_debug();
                } else {
                    info!(signal, "shutting down");
                    metrics.set_listening(false);
                    handle.shutdown();
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(collector.join()?)
}
