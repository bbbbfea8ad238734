//! Typed configuration, parsed once at startup from command-line flags and
//! environment variables (which a `.env` file in the working directory may
//! also set). A bad value is a one-line error and exit status 2, before
//! anything starts.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::wire::bgp::nlri::Prefix;

/// Which IO driver the shards run on.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum IoDriver {
    /// io_uring where the kernel allows it, else epoll.
    #[default]
    Auto,
    /// io_uring only; fail if it is unavailable.
    Uring,
    /// epoll only.
    Epoll,
}

/// Where the collector stores what it learns.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum StoreKind {
    /// PostgreSQL when DATABASE_URL is set, else the embedded SQLite file.
    #[default]
    Auto,
    /// PostgreSQL (DATABASE_URL required).
    Postgres,
    /// The embedded SQLite file in DATA_DIR.
    Sqlite,
    /// Decode and count, store nothing (for benchmarks).
    Null,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, ValueEnum)]
pub enum LogFormat {
    /// `2024-01-15 10:30:45,123 - module - INFO - message key=value`.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The collector's settings.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address to listen on for BMP, e.g. `[::]:11019` for IPv6 as well;
    /// overrides BMP_PORT.
    #[arg(long, env = "BMP_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// TCP port to listen on for BMP, on all IPv4 addresses.
    #[arg(long, env = "BMP_PORT", default_value_t = 11019)]
    pub bmp_port: u16,

    /// Size of each connection's receive buffer, in bytes. A message larger
    /// than this is still accepted up to BMP_MAX_MESSAGE_SIZE (the buffer
    /// grows for it).
    #[arg(long, env = "BMP_BUFFER_SIZE", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(4096..=1 << 30))]
    pub bmp_buffer_size: u64,

    /// Largest BMP message accepted; a larger one closes the connection.
    #[arg(long, env = "BMP_MAX_MESSAGE_SIZE", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub bmp_max_message_size: u64,

    /// Most router connections at once, over all shards; more are refused.
    #[arg(long, env = "BMP_MAX_CONNECTIONS", default_value_t = 1000)]
    pub bmp_max_connections: usize,

    /// Router source networks allowed to connect (comma-separated CIDRs);
    /// empty allows everyone.
    #[arg(long, env = "BMP_ALLOWED_ROUTERS", value_delimiter = ',', value_parser = parse_cidr)]
    pub bmp_allowed_routers: Vec<Prefix>,

    /// Number of shards (one pinned thread each); default: one per core.
    #[arg(long, env = "WORKER_THREADS")]
    pub worker_threads: Option<NonZeroUsize>,

    /// IO driver of the shards.
    #[arg(long, env = "IO_DRIVER", value_enum, default_value_t = IoDriver::Auto)]
    pub io_driver: IoDriver,

    /// Seconds without End-of-RIB after a Peer Up before routes the peer
    /// had and did not re-announce are withdrawn; also how long the
    /// PostgreSQL store keeps the hidden rows of a peer whose router
    /// session was lost, for its re-dump.
    #[arg(long, env = "STALE_TIMEOUT_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_timeout_seconds: u64,

    /// Seconds without data from a router before a warning.
    #[arg(long, env = "IDLE_WARNING_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_warning_seconds: u64,

    /// Seconds allowed for a graceful shutdown (SIGTERM/SIGINT).
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30)]
    pub shutdown_timeout_seconds: u64,

    /// Log level: error, warn, info, debug or trace (also as the Python
    /// collectors spell them: CRITICAL, ERROR, WARNING, INFO, DEBUG).
    /// SIGUSR1 toggles debug at runtime.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", value_parser = parse_log_level)]
    pub log_level: tracing::Level,

    /// Log format on standard output: `text`
    /// (`2024-01-15 10:30:45,123 - module - INFO - message`) or `json`
    /// (one object per line with structured fields).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Port of the metrics endpoint (/metrics, /health, /ready), on all
    /// IPv4 addresses; 0 picks a free port.
    #[arg(long, env = "METRICS_PORT", default_value_t = 9090)]
    pub metrics_port: u16,

    /// Address of the metrics endpoint; overrides METRICS_PORT.
    #[arg(long, env = "METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds between two counts of the current routes per peer in the
    /// store (the `bmp_peer_routes` metric); 0 turns the count off.
    #[arg(long, env = "PEER_ROUTES_INTERVAL_SECONDS", default_value_t = 60)]
    pub peer_routes_interval_seconds: u64,

    /// Sentry DSN; empty or unset turns Sentry off.
    #[arg(long, env = "SENTRY_DSN", hide_env_values = true)]
    pub sentry_dsn: Option<String>,

    /// Sentry environment name.
    #[arg(long, env = "SENTRY_ENVIRONMENT", default_value = "production")]
    pub sentry_environment: String,

    /// Share of transactions Sentry traces, 0 to 1.
    #[arg(long, env = "SENTRY_TRACES_SAMPLE_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub sentry_traces_sample_rate: f32,

    /// Directory for the embedded store and spill files.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Store: auto (PostgreSQL if DATABASE_URL is set, else SQLite),
    /// postgres, sqlite, or null (store nothing: benchmarks).
    #[arg(long, env = "STORE", value_enum, default_value_t = StoreKind::Auto)]
    pub store: StoreKind,

    /// PostgreSQL connection string, e.g.
    /// `postgres://riptide:secret@localhost/riptide`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most PostgreSQL connections at once (each shard's writer uses two:
    /// current RIB, and history; one more counts the routes per peer);
    /// default: two per shard, and one.
    #[arg(long, env = "DB_POOL_SIZE", value_parser = clap::value_parser!(u64).range(2..=1024))]
    pub db_pool_size: Option<u64>,

    /// Routes per batch written to the store.
    #[arg(long, env = "BATCH_SIZE", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: u64,

    /// Longest time, in seconds, a route waits in a batch that is not full.
    #[arg(long, env = "BATCH_TIMEOUT_SECONDS", default_value_t = 0.2, value_parser = parse_seconds)]
    pub batch_timeout_seconds: f64,

    /// Batches queued between a shard and its writer before the shard
    /// waits. The PostgreSQL writers take batches on into their own queue
    /// (`QUEUE_MEMORY_MB`, then spill files) while the database is busy,
    /// so a few suffice; with the embedded store this is all the slack.
    #[arg(long, env = "QUEUE_DEPTH", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub queue_depth: u64,

    /// Memory per writer, in MiB, for batches waiting for the database
    /// before they spill to DATA_DIR/spill.
    #[arg(long, env = "QUEUE_MEMORY_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub queue_memory_mb: u64,

    /// Memory per writer, in MiB, for comparing re-dumps over kept rows
    /// (16 octets per route of the re-dumping peers); a re-dump that does
    /// not fit drops the kept rows and writes its routes as a first dump
    /// does.
    #[arg(long, env = "REDUMP_MEMORY_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub redump_memory_mb: u64,

    /// Most spill space per writer, in MiB; beyond it reading from routers
    /// pauses until the database catches up.
    #[arg(long, env = "SPILL_MAX_MB", default_value_t = 10_240, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub spill_max_mb: u64,

    /// Days of route history and statistics kept (0: keep all).
    #[arg(long, env = "RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,
}

impl Config {
    /// The address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.unwrap_or(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            self.bmp_port,
        ))
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.worker_threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// Whether a router at `addr` may connect.
    pub fn router_allowed(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.bmp_allowed_routers.is_empty()
            || self.bmp_allowed_routers.iter().any(|n| n.contains(addr))
    }

    /// How long to wait for End-of-RIB before the stale sweep.
    pub fn stale_timeout(&self) -> Duration {
        Duration::from_secs(self.stale_timeout_seconds)
    }

    /// How long a router may be silent before a warning.
    pub fn idle_warning(&self) -> Duration {
        Duration::from_secs(self.idle_warning_seconds)
    }

    /// The longest a route waits in a batch.
    pub fn batch_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.batch_timeout_seconds)
    }

    /// The store to use, as configured.
    ///
    /// # Errors
    ///
    /// `--store postgres` without a DATABASE_URL.
    pub fn store_kind(&self) -> Result<StoreKind, String> {
        match (self.store, &self.database_url) {
            (StoreKind::Postgres, None) => Err("--store postgres needs DATABASE_URL".into()),
            (StoreKind::Auto, Some(_)) => Ok(StoreKind::Postgres),
            (StoreKind::Auto, None) => Ok(StoreKind::Sqlite),
            (kind, _) => Ok(kind),
        }
    }

    /// The address of the metrics endpoint.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_listen.unwrap_or(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            self.metrics_port,
        ))
    }

    /// How often to count the current routes per peer (`None`: never).
    pub fn peer_routes_interval(&self) -> Option<Duration> {
        (self.peer_routes_interval_seconds > 0)
            .then(|| Duration::from_secs(self.peer_routes_interval_seconds))
    }

    /// Most PostgreSQL connections at once: DB_POOL_SIZE, or two per
    /// shard and one.
    pub fn db_pool_size(&self) -> usize {
        let default = 2 * self.shards() + 1;
        self.db_pool_size
            .map_or(default, |n| usize::try_from(n).unwrap_or(default))
    }

    /// How long a graceful shutdown may take.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_seconds)
    }
}

/// An IPv4-mapped IPv6 address as IPv4 (what a dual-stack socket reports).
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.001..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: expected seconds between 0.001 and 3600")),
    }
}

fn parse_log_level(s: &str) -> Result<tracing::Level, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "error" => Ok(tracing::Level::ERROR),
        "warning" | "warn" => Ok(tracing::Level::WARN),
        "info" => Ok(tracing::Level::INFO),
        "debug" => Ok(tracing::Level::DEBUG),
        "trace" => Ok(tracing::Level::TRACE),
        _ => Err(format!(
            "{s:?}: expected CRITICAL, ERROR, WARNING, INFO, DEBUG or TRACE"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: expected a number from 0 to 1")),
    }
}

fn parse_cidr(s: &str) -> Result<Prefix, String> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s.trim(), None),
    };
    let addr: IpAddr = addr.parse().map_err(|e| format!("{s:?}: {e}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().map_err(|e| format!("{s:?}: {e}"))?,
        None => max,
    };
    Prefix::new(addr, len).map_err(|_| format!("{s:?}: prefix length above {max}"))
}

/// Reads a `.env` file: `KEY=VALUE` lines, `#` comments, optional
/// `export ` and quotes. A missing file is an empty list.
///
/// # Errors
///
/// A line that is not `KEY=VALUE`, with its line number.
pub fn read_dotenv(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("{}:{}: expected KEY=VALUE", path.display(), n + 1));
        };
        let value = value.trim();
        let unquoted = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(a, b)| value.strip_prefix(a)?.strip_suffix(b))
            .unwrap_or(value);
        vars.push((key.trim().to_owned(), unquoted.to_owned()));
    }
    Ok(vars)
}

/// Makes `.env` values the defaults of the arguments that read those
/// variables, so the precedence is: flag, then environment, then `.env`,
/// then the built-in default. (The environment itself is left alone:
/// changing it is unsound once threads may run.)
pub fn apply_dotenv(cmd: clap::Command, vars: &[(String, String)]) -> clap::Command {
    let mut cmd = cmd;
    for (key, value) in vars {
        if std::env::var_os(key).is_some() {
            continue;
        }
        let value: &'static str = Box::leak(value.clone().into_boxed_str());
        cmd = cmd.mut_args(|arg| {
            if arg.get_env().is_some_and(|e| e == key.as_str()) {
                arg.default_value(value)
            } else {
                arg
            }
        });
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_as_the_python_collectors_write_them() {
        for (text, level) in [
            ("CRITICAL", tracing::Level::ERROR),
            ("ERROR", tracing::Level::ERROR),
            ("WARNING", tracing::Level::WARN),
            ("warn", tracing::Level::WARN),
            ("INFO", tracing::Level::INFO),
            ("Debug", tracing::Level::DEBUG),
            ("trace", tracing::Level::TRACE),
        ] {
            assert_eq!(parse_log_level(text), Ok(level), "{text}");
        }
        assert!(parse_log_level("loud").is_err());
    }

    #[test]
    fn sample_rates_are_between_0_and_1() {
        assert_eq!(parse_rate("0.25"), Ok(0.25));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
    }
}
