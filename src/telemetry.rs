//! Logs and error reporting: tracing to standard output, and Sentry.
//!
//! - Text lines as the Python collectors wrote them
//!   (`2024-01-15 10:30:45,123 - riptide::shard::conn - INFO - router
//!   connected router=192.0.2.1:4711 shard=0`, UTC), or one JSON object
//!   per line (`LOG_FORMAT=json`) with the structured fields.
//! - `LOG_LEVEL` sets the level; [`Telemetry::toggle_debug`] (SIGUSR1)
//!   switches DEBUG on and back without a restart.
//! - Sentry, when `SENTRY_DSN` is set: every ERROR log is an event (WARN
//!   and INFO lines become breadcrumbs), panics are events, and the
//!   collector's own events ([`peer_up`], [`peer_down`], [`parse_error`],
//!   [`route_error`]) carry the tags and contexts operators of pybmpmon
//!   know. Without a DSN no Sentry client exists and the event functions
//!   return at once. Events go to Sentry's transport thread through a
//!   bounded queue, so sending never blocks a shard; identical events
//!   within [`REPEAT_WINDOW`] and events beyond [`BURST`] per second are
//!   dropped and counted (`riptide_sentry_events_dropped_total`).

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::IsTerminal;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sentry::protocol::{Context, Event, Value};
use tracing::level_filters::LevelFilter;
use tracing::{Level, Subscriber, error, info, warn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, reload};

use crate::config::{Config, LogFormat};
use crate::metrics::Metrics;

/// Identical Sentry events are sent once per this window.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);

/// Most Sentry events per second (a burst of peers going down at once is
/// cut here).
pub const BURST: f64 = 20.0;

/// Most characters of `data_hex` in a parse error event.
const DATA_HEX_MAX: usize = 512;

/// What [`init`] set up; keep it until exit (dropping it flushes
/// Sentry).
pub struct Telemetry {
    level: reload::Handle<LevelFilter, Registry>,
    base: LevelFilter,
    _sentry: Option<sentry::ClientInitGuard>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("base", &self.base)
            .field("sentry", &self._sentry.is_some())
            .finish()
    }
}

impl Telemetry {
    /// Switches between DEBUG and the configured level (SIGUSR1).
    pub fn toggle_debug(&self) {
        let base = self.base;
        let mut now = base;
        let _ = self.level.modify(|f| {
            *f = if *f == LevelFilter::DEBUG && base != LevelFilter::DEBUG {
                base
            } else {
                LevelFilter::DEBUG
            };
            now = *f;
        });
        info!(level = %now, "log level changed (SIGUSR1)");
    }
}

/// Installs logging and, with a valid `SENTRY_DSN`, Sentry; Sentry's
/// dropped events are counted in `metrics`.
pub fn init(config: &Config, metrics: &Arc<Metrics>) -> Telemetry {
    let base = LevelFilter::from_level(config.log_level);
    let (filter, level) = reload::Layer::new(base);
    // Colours only on a terminal, never in files or pipes.
    let ansi = std::io::stdout().is_terminal();
    let fmt: Box<dyn Layer<_> + Send + Sync> = match config.log_format {
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .event_format(PythonFormat),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        ),
    };
    let dsn = config.sentry_dsn.as_deref().map(str::trim).unwrap_or("");
    let (parsed, invalid) = match dsn {
        "" => (None, None),
        d => match d.parse::<sentry::types::Dsn>() {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e)),
        },
    };
    // Every ERROR line is an event, WARN and INFO lines are breadcrumbs;
    // this module's own lines are sent as richer events by the functions
    // below, so their log copies are only breadcrumbs.
    let sentry_layer = parsed.is_some().then(|| {
        sentry::integrations::tracing::layer().event_filter(|meta| {
            use sentry::integrations::tracing::EventFilter;
            match *meta.level() {
                Level::ERROR if meta.target() != module_path!() => EventFilter::Event,
                Level::ERROR | Level::WARN | Level::INFO => EventFilter::Breadcrumb,
                Level::DEBUG | Level::TRACE => EventFilter::Ignore,
            }
        })
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(sentry_layer)
        .try_init();
    if let Some(e) = invalid {
        warn!(error = %e, "SENTRY_DSN is not a valid DSN: Sentry is off, Riptide goes on");
    }
    let guard = parsed.map(|dsn| {
        let _ = METRICS.set(metrics.clone());
        let limiter = Arc::new(Mutex::new(Limiter::default()));
        let mut options =
            sentry::ClientOptions::default().traces_sample_rate(config.sentry_traces_sample_rate);
        options.dsn = Some(dsn);
        options.release = sentry::release_name!();
        options.environment = Some(config.sentry_environment.clone().into());
        options.before_send = Some(Arc::new(move |event| {
            let allowed = limiter
                .lock()
                .map_or(true, |mut l| l.allow(&event, Instant::now()));
            if !allowed && let Some(m) = METRICS.get() {
                m.sentry_dropped();
            }
            allowed.then_some(event)
        }));
        let guard = sentry::init(options);
        info!(environment = %config.sentry_environment, "Sentry on");
        guard
    });
    Telemetry {
        level,
        base,
        _sentry: guard,
    }
}

/// Where the Sentry rate limit counts what it drops.
static METRICS: OnceLock<Arc<Metrics>> = OnceLock::new();

/// The Sentry rate limit: identical events once per [`REPEAT_WINDOW`],
/// and a token bucket of [`BURST`] events per second.
#[derive(Debug)]
struct Limiter {
    seen: HashMap<u64, Instant>,
    tokens: f64,
    last: Option<Instant>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self {
            seen: HashMap::new(),
            tokens: BURST,
            last: None,
        }
    }
}

impl Limiter {
    fn allow(&mut self, event: &Event<'static>, now: Instant) -> bool {
        let elapsed = self
            .last
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.last = Some(now);
        self.tokens = (self.tokens + elapsed * BURST).min(BURST);
        let key = fingerprint(event);
        if self
            .seen
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < REPEAT_WINDOW)
        {
            return false;
        }
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        if self.seen.len() >= 10_000 {
            self.seen
                .retain(|_, t| now.duration_since(*t) < REPEAT_WINDOW);
        }
        self.seen.insert(key, now);
        true
    }
}

/// What makes two events identical: level, logger, message, tags,
/// exception values.
fn fingerprint(e: &Event<'static>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (e.level as u8).hash(&mut h);
    e.logger.hash(&mut h);
    e.message.hash(&mut h);
    for (k, v) in &e.tags {
        (k, v).hash(&mut h);
    }
    for x in &e.exception.values {
        x.value.hash(&mut h);
    }
    h.finish()
}

/// Sends `event` with its tags and one context, if Sentry is on.
fn send(
    level: sentry::Level,
    message: String,
    tags: &[(&str, String)],
    context: (&str, Vec<(&str, Value)>),
) {
    if sentry::Hub::current().client().is_none() {
        return;
    }
    let mut event = Event {
        level,
        message: Some(message),
        logger: Some("riptide".into()),
        ..Default::default()
    };
    for (k, v) in tags {
        event.tags.insert((*k).into(), v.clone());
    }
    let (name, fields) = context;
    event.contexts.insert(
        name.into(),
        Context::Other(fields.into_iter().map(|(k, v)| (k.into(), v)).collect()),
    );
    sentry::capture_event(event);
}

/// A peer came up: an INFO log line, and a Sentry info event (tags
/// `event_type`, `peer_ip`; context `bmp_peer`).
pub fn peer_up(router: IpAddr, peer: IpAddr, asn: u32, rib: &str) {
    info!(%router, %peer, asn, rib, "peer up");
    send(
        sentry::Level::Info,
        format!("BMP peer up: {peer} (AS{asn}) on {router}"),
        &[
            ("event_type", "peer_up".into()),
            ("peer_ip", router.to_string()),
        ],
        (
            "bmp_peer",
            vec![
                ("peer_ip", router.to_string().into()),
                ("bgp_peer", peer.to_string().into()),
                ("bgp_peer_asn", asn.into()),
                ("rib", rib.into()),
            ],
        ),
    );
}

/// A peer went down: a WARN log line and a Sentry warning (context
/// `bmp_peer` with `reason_code`, 0 when the session ended without Peer
/// Down).
pub fn peer_down(router: IpAddr, peer: IpAddr, reason_code: u8, reason: &str) {
    warn!(%router, %peer, reason_code, reason, "peer down");
    send(
        sentry::Level::Warning,
        format!("BMP peer down: {peer} on {router}: {reason}"),
        &[
            ("event_type", "peer_down".into()),
            ("peer_ip", router.to_string()),
        ],
        (
            "bmp_peer",
            vec![
                ("peer_ip", router.to_string().into()),
                ("bgp_peer", peer.to_string().into()),
                ("reason_code", reason_code.into()),
                ("reason", reason.into()),
            ],
        ),
    );
}

/// BMP or BGP input that did not decode: a WARN log line (the caller
/// rate-limits it per connection) and a Sentry error event with context
/// `parse_error` (`peer_ip`, `error_message`, `data_hex` of the first
/// octets).
pub fn parse_error(router: IpAddr, what: &str, error: &dyn fmt::Display, data: &[u8]) {
    warn!(%router, %error, what, "input does not decode");
    send(
        sentry::Level::Error,
        format!("{what}: {error}"),
        &[
            ("event_type", "parse_error".into()),
            ("peer_ip", router.to_string()),
        ],
        (
            "parse_error",
            vec![
                ("peer_ip", router.to_string().into()),
                ("error_message", format!("{what}: {error}").into()),
                ("data_hex", hex(data, DATA_HEX_MAX).into()),
            ],
        ),
    );
}

/// Routes that could not be stored: an ERROR log line and a Sentry error
/// event with context `route_processing` (`route_count`).
pub fn route_error(error: &dyn fmt::Display, route_count: u32, detail: &str) {
    send(
        sentry::Level::Error,
        format!("route processing failed: {error}"),
        &[("event_type", "route_error".into())],
        (
            "route_processing",
            vec![
                ("route_count", route_count.into()),
                ("error_message", error.to_string().into()),
                ("detail", detail.into()),
            ],
        ),
    );
    error!(%error, route_count, detail, "route processing failed");
}

/// Lowercase hex of `data`, at most `max` characters.
fn hex(data: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(max.min(2 * data.len()));
    for b in data.iter().take(max / 2) {
        let _ = fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
    }
    s
}

/// `2024-01-15 10:30:45,123 - target - LEVEL - message fields span-fields`
/// (UTC), the Python collectors' line.
struct PythonFormat;

impl<S, N> FormatEvent<S, N> for PythonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let us = crate::sink::store::unix_micros();
        let frac = crate::clock::write_utc(&mut w, us)?;
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG => "DEBUG",
            Level::TRACE => "TRACE",
        };
        write!(w, ",{:03} - {} - {level} - ", frac / 1000, meta.target())?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(w, " {fields}")?;
                }
            }
        }
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(msg: &str) -> Event<'static> {
        Event {
            message: Some(msg.into()),
            ..Default::default()
        }
    }

    #[test]
    fn identical_events_are_sent_once_per_window() {
        let mut l = Limiter::default();
        let t = Instant::now();
        assert!(l.allow(&event("a"), t));
        assert!(!l.allow(&event("a"), t + Duration::from_secs(1)));
        assert!(l.allow(&event("b"), t + Duration::from_secs(1)));
        assert!(l.allow(&event("a"), t + REPEAT_WINDOW + Duration::from_secs(1)));
    }

    #[test]
    fn a_burst_of_distinct_events_is_cut() {
        let mut l = Limiter::default();
        let t = Instant::now();
        let sent = (0..100)
            .filter(|i| l.allow(&event(&i.to_string()), t))
            .count();
        assert_eq!(sent, BURST as usize);
        // A second later the bucket has refilled.
        assert!(l.allow(&event("later"), t + Duration::from_secs(1)));
    }

    #[test]
    fn hex_is_bounded() {
        assert_eq!(hex(&[0x03, 0xab], 512), "03ab");
        assert_eq!(hex(&[0u8; 1000], 512).len(), 512);
    }
}
