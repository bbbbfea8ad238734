//! The Prometheus text exposition format (version 0.0.4) of everything in
//! [`Metrics`], merged over shards and writers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::wire::frame::MessageType;

use super::{
    BUCKETS, Desc, Latency, Metrics, OPERATIONS, PARSE_ERROR_KINDS, RouterStats, ShardView, lock,
    process,
};

/// Quantiles of the summaries; 1 is the maximum.
const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 1.0];

/// Renders every metric.
pub fn render(m: &Metrics) -> String {
    let mut out = Out(String::with_capacity(16 << 10));
    // Merge the shards' views: routers by address, histograms.
    let mut routers: BTreeMap<String, RouterStats> = BTreeMap::new();
    let mut total = ShardView::default();
    for slot in &m.shards {
        let s = lock(slot);
        for (ip, r) in &s.routers {
            let key = ip.map_or_else(|| "other".to_owned(), |ip: IpAddr| ip.to_string());
            merge_router(routers.entry(key).or_default(), r);
        }
        total.decode.add(&s.decode);
        total.accepted += s.accepted;
        total.refused_limit += s.refused_limit;
        total.refused_not_allowed += s.refused_not_allowed;
    }

    let per_router = |out: &mut Out, d: Desc, f: &dyn Fn(&RouterStats) -> f64| {
        out.head(d);
        for (ip, r) in &routers {
            out.sample(d.name, &[("router_ip", ip)], f(r));
        }
    };
    per_router(&mut out, super::ACTIVE_CONNECTIONS, &|r| {
        r.connections as f64
    });
    out.head(super::MESSAGES_RECEIVED);
    for (ip, r) in &routers {
        for (code, n) in (0u8..).zip(r.messages) {
            // Code 7 and above name themselves "unknown".
            let t = MessageType::from_u8(code).name();
            let labels = [("router_ip", ip.as_str()), ("message_type", t)];
            out.sample(super::MESSAGES_RECEIVED.name, &labels, n as f64);
        }
    }
    per_router(&mut out, super::PROCESSING_RATE, &|r| r.rate);
    out.head(super::CONNECTIONS_LOST);
    let lost: u64 = routers.values().map(|r| r.lost).sum();
    out.sample(super::CONNECTIONS_LOST.name, &[], lost as f64);
    per_router(&mut out, super::ROUTES_ANNOUNCED, &|r| r.announced as f64);
    per_router(&mut out, super::ROUTES_WITHDRAWN, &|r| r.withdrawn as f64);
    out.head(super::PARSE_ERRORS);
    for (ip, r) in &routers {
        for (k, n) in PARSE_ERROR_KINDS.iter().zip(r.parse_errors) {
            let labels = [("router_ip", ip.as_str()), ("kind", k)];
            out.sample(super::PARSE_ERRORS.name, &labels, n as f64);
        }
    }
    per_router(&mut out, super::PEER_UP, &|r| r.peer_up as f64);
    per_router(&mut out, super::PEER_DOWN, &|r| r.peer_down as f64);
    per_router(&mut out, super::PEERS_UP, &|r| r.peers_up as f64);

    out.head(super::PEER_ROUTES);
    for p in lock(&m.peer_routes).iter() {
        let labels = [
            ("router_ip", p.router.as_str()),
            ("peer_ip", p.peer.as_str()),
            ("rib", p.rib.as_str()),
        ];
        out.sample(super::PEER_ROUTES.name, &labels, p.routes as f64);
    }

    out.head(super::CONNECTIONS_ACCEPTED);
    out.sample(super::CONNECTIONS_ACCEPTED.name, &[], total.accepted as f64);
    out.head(super::CONNECTIONS_REFUSED);
    let refused = super::CONNECTIONS_REFUSED.name;
    out.sample(refused, &[("reason", "limit")], total.refused_limit as f64);
    out.sample(
        refused,
        &[("reason", "not_allowed")],
        total.refused_not_allowed as f64,
    );

    // Writers.
    let writers: Vec<_> = m.writers.iter().map(|w| lock(w).clone()).collect();
    out.head(super::QUEUE_BATCHES);
    for (id, w) in writers.iter().enumerate() {
        let shard = id.to_string();
        out.sample(
            super::QUEUE_BATCHES.name,
            &[("shard", &shard)],
            w.queue_batches as f64,
        );
    }
    out.head(super::SPILL_BYTES);
    for (id, w) in writers.iter().enumerate() {
        let shard = id.to_string();
        out.sample(
            super::SPILL_BYTES.name,
            &[("shard", &shard)],
            w.spill_bytes as f64,
        );
    }
    out.head(super::SHARD_PAUSED);
    out.sample(
        super::SHARD_PAUSED.name,
        &[],
        m.paused.load(Ordering::Relaxed) as f64,
    );
    let sum = |f: &dyn Fn(&super::WriterStats) -> u64| writers.iter().map(f).sum::<u64>() as f64;
    out.head(super::BATCHES_WRITTEN);
    out.sample(super::BATCHES_WRITTEN.name, &[], sum(&|w| w.batches));
    out.head(super::ROWS_WRITTEN);
    for table in ["rib", "route_history"] {
        out.sample(
            super::ROWS_WRITTEN.name,
            &[("table", table)],
            sum(&|w| w.routes),
        );
    }
    out.head(super::BATCHES_REJECTED);
    out.sample(super::BATCHES_REJECTED.name, &[], sum(&|w| w.rejected));
    out.head(super::DATABASE_UP);
    out.sample(
        super::DATABASE_UP.name,
        &[],
        f64::from(u8::from(m.store_up())),
    );
    out.head(super::DATABASE_RECONNECTS);
    out.sample(super::DATABASE_RECONNECTS.name, &[], sum(&|w| w.reconnects));
    out.head(super::DATABASE_CONFLICTS);
    out.sample(super::DATABASE_CONFLICTS.name, &[], sum(&|w| w.conflicts));
    out.head(super::SENTRY_DROPPED);
    out.sample(
        super::SENTRY_DROPPED.name,
        &[],
        m.sentry_dropped.load(Ordering::Relaxed) as f64,
    );
    out.head(super::BUILD_INFO);
    out.sample(
        super::BUILD_INFO.name,
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );

    let mut queries: Vec<Latency> = vec![Latency::default(); OPERATIONS.len()];
    let (mut commit, mut e2e) = (Latency::default(), Latency::default());
    for w in &writers {
        for (q, l) in queries.iter_mut().zip(&w.queries) {
            q.add(l);
        }
        commit.add(&w.commit);
        e2e.add(&w.end_to_end);
    }
    out.head(super::DB_QUERIES);
    for (op, l) in OPERATIONS.iter().zip(&queries) {
        out.sample(
            super::DB_QUERIES.name,
            &[("operation", op)],
            l.count() as f64,
        );
    }
    out.head(super::DB_POOL);
    let active = 2 * writers.iter().filter(|w| w.connected).count() as u64;
    let pool = super::DB_POOL.name;
    out.sample(pool, &[("state", "active")], active as f64);
    out.sample(
        pool,
        &[("state", "idle")],
        m.pool_size.saturating_sub(active) as f64,
    );
    out.sample(pool, &[("state", "max")], m.pool_size as f64);
    out.head(super::DB_QUERY_DURATION);
    for (op, l) in OPERATIONS.iter().zip(&queries) {
        out.summary_samples(super::DB_QUERY_DURATION.name, Some(("operation", op)), l);
    }

    for (hist, summary, l) in [
        (super::DECODE, super::DECODE_SUMMARY, &total.decode),
        (super::COMMIT, super::COMMIT_SUMMARY, &commit),
        (super::END_TO_END, super::END_TO_END_SUMMARY, &e2e),
    ] {
        out.head(hist);
        out.histogram(hist.name, l);
        out.head(summary);
        out.summary_samples(summary.name, None, l);
    }

    process::render(&mut out);
    out.0
}

fn merge_router(into: &mut RouterStats, r: &RouterStats) {
    into.connections += r.connections;
    for (a, b) in into.messages.iter_mut().zip(r.messages) {
        *a += b;
    }
    into.announced += r.announced;
    into.withdrawn += r.withdrawn;
    for (a, b) in into.parse_errors.iter_mut().zip(r.parse_errors) {
        *a += b;
    }
    into.peer_up += r.peer_up;
    into.peer_down += r.peer_down;
    into.peers_up += r.peers_up;
    into.lost += r.lost;
    into.rate += r.rate;
}

/// The text being built.
pub(super) struct Out(pub(super) String);

impl Out {
    /// `# HELP` and `# TYPE` of a metric.
    pub(super) fn head(&mut self, d: Desc) {
        let _ = writeln!(self.0, "# HELP {} {}", d.name, d.help);
        let _ = writeln!(self.0, "# TYPE {} {}", d.name, d.kind.name());
    }

    /// One sample line.
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"");
                escape(&mut self.0, v);
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn summary_samples(&mut self, name: &str, label: Option<(&str, &str)>, l: &Latency) {
        for q in QUANTILES {
            let v = if l.count() == 0 {
                f64::NAN
            } else {
                l.hist.value_at_quantile(q) as f64 / 1e9
            };
            let q = q.to_string();
            match label {
                Some(x) => self.sample(name, &[x, ("quantile", &q)], v),
                None => self.sample(name, &[("quantile", &q)], v),
            }
        }
        let labels: Vec<_> = label.into_iter().collect();
        self.sample(&format!("{name}_sum"), &labels, l.sum_ns as f64 / 1e9);
        self.sample(&format!("{name}_count"), &labels, l.count() as f64);
    }

    fn histogram(&mut self, name: &str, l: &Latency) {
        let bucket = format!("{name}_bucket");
        for le in BUCKETS {
            let ns = (le * 1e9) as u64;
            let n = if l.count() == 0 {
                0
            } else {
                l.hist.count_between(0, ns)
            };
            self.sample(&bucket, &[("le", &le.to_string())], n as f64);
        }
        self.sample(&bucket, &[("le", "+Inf")], l.count() as f64);
        self.sample(&format!("{name}_sum"), &[], l.sum_ns as f64 / 1e9);
        self.sample(&format!("{name}_count"), &[], l.count() as f64);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::ShardRecorder;

    #[test]
    fn renders_every_descriptor_with_help_and_type() {
        let m = Metrics::new(2, 1, 4);
        let mut r = ShardRecorder::new(1, m.clone());
        r.router(IpAddr::from([192, 0, 2, 1])).connections = 1;
        r.decoded(Some(std::time::Instant::now()));
        r.publish(std::time::Instant::now(), true, &Default::default());
        if let Some(mut w) = m.writer(0) {
            w.committed(10, Duration::from_millis(20), 0);
        }
        let text = render(&m);
        for d in super::super::ALL {
            assert!(text.contains(&format!("# TYPE {} ", d.name)), "{}", d.name);
        }
        assert!(text.contains("bmp_active_connections{router_ip=\"192.0.2.1\"} 1\n"));
        assert!(text.contains("riptide_batch_commit_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(text.contains("riptide_batch_commit_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(text.contains("riptide_batch_commit_seconds_count 1\n"));
        assert!(text.contains("riptide_rows_written_total{table=\"rib\"} 10\n"));
        assert!(text.contains("database_pool_connections{state=\"max\"} 4\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Out(String::new());
        out.sample("x", &[("a", "q\"b\\c\nd")], 1.0);
        assert_eq!(out.0, "x{a=\"q\\\"b\\\\c\\nd\"} 1\n");
    }
}
