//! The `riptide` binary: configuration, then telemetry, then the chosen
//! action (the collector by default).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use riptide::config::{self, Config, StoreKind};
use riptide::shard::ShardReport;
use riptide::sink::NullSink;
use riptide::sink::batch::Batch;
use riptide::sink::spill::QueueLimits;
use riptide::sink::sqlite::{self, SqliteSettings};
use riptide::sink::store::{BatchSettings, StoreSink};
use riptide::sink::writer::{self, PgSettings};
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
    riptide::telemetry::init(&config.log_level);
    let config = Arc::new(config);
    match kind {
        StoreKind::Null => {
            warn!("--store null: routes are decoded and counted, not stored");
            let reports = serve(&config, |_| NullSink::default())?;
            for (id, r) in reports.iter().enumerate() {
                info!(shard = id, counters = ?r.counters, sink = ?r.sink.counts, "shard stopped");
            }
        }
        StoreKind::Postgres | StoreKind::Auto => {
            let shards = config.shards();
            let settings = PgSettings {
                url: config.database_url.clone().unwrap_or_default(),
                pool_size: config
                    .db_pool_size
                    .map_or(shards, |n| usize::try_from(n).unwrap_or(shards)),
                data_dir: config.data_dir.clone(),
                limits: queue_limits(&config),
                retention_days: config.retention_days,
                shutdown_timeout: config.shutdown_timeout(),
            };
            let (senders, writers) = writer::start(settings, shards, queue_depth(&config))
                .context("starting the PostgreSQL writers")?;
            serve_store(&config, move |id| senders.get(id).cloned())?;
            for (id, c) in writers.join().iter().enumerate() {
                info!(writer = id, counters = ?c, "writer stopped");
            }
        }
        StoreKind::Sqlite => {
            let settings = SqliteSettings {
                path: config.data_dir.join("riptide.db"),
                retention_days: config.retention_days,
            };
            let (tx, writer) = sqlite::start(settings, queue_depth(&config))
                .context("opening the embedded store")?;
            serve_store(&config, move |_| Some(tx.clone()))?;
            let c = writer
                .join()
                .map_err(|_| anyhow::anyhow!("the embedded store's writer panicked"))?;
            info!(counters = ?c, "embedded store writer stopped");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the shards until SIGINT/SIGTERM; returns what they hand back.
fn serve<S, F>(config: &Arc<Config>, make_sink: F) -> anyhow::Result<Vec<ShardReport<S>>>
where
    S: riptide::sink::Sink + Send + 'static,
    F: Fn(usize) -> S + Send + Sync + 'static,
{
    let collector =
        riptide::shard::start(config.clone(), make_sink).context("starting the shards")?;
    let handle = collector.shutdown_handle();
    ctrlc::set_handler(move || handle.shutdown()).context("installing the signal handler")?;
    Ok(collector.join()?)
}

/// Runs the shards with store sinks fed to the queues `queue` gives per
/// shard, then sends what the sinks still hold.
fn serve_store<F>(config: &Arc<Config>, queue: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Option<tokio::sync::mpsc::Sender<Batch>> + Send + Sync + 'static,
{
    let run = riptide::sink::store::unix_micros().unsigned_abs();
    let settings = BatchSettings {
        size: usize::try_from(config.batch_size).unwrap_or(10_000),
        timeout: config.batch_timeout(),
    };
    let reports = serve(config, move |id| {
        let tx = queue(id).unwrap_or_else(|| tokio::sync::mpsc::channel(1).0);
        StoreSink::new(tx, run, id, settings)
    })?;
    for (id, r) in reports.into_iter().enumerate() {
        let counters = r.sink.finish();
        info!(shard = id, counters = ?r.counters, store = ?counters, "shard stopped");
    }
    Ok(())
}

fn queue_depth(config: &Config) -> usize {
    usize::try_from(config.queue_depth).unwrap_or(64)
}

fn queue_limits(config: &Config) -> QueueLimits {
    QueueLimits {
        memory: usize::try_from(config.queue_memory_mb << 20).unwrap_or(usize::MAX),
        disk: config.spill_max_mb << 20,
    }
}
