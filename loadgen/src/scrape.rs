//! `--metrics`: reads the collector's `/metrics` and picks the
//! server-side latency quantiles to print next to loadgen's own figures;
//! for `--hold-until-stored`, whether the collector has stored what it
//! decoded, and its arrival-to-commit histogram.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context;

/// The summaries reported, with their names in the report.
const SUMMARIES: [(&str, &str); 3] = [
    (
        "riptide_message_decode_summary_seconds",
        "decode per message",
    ),
    ("riptide_batch_commit_summary_seconds", "batch commit"),
    ("riptide_end_to_end_summary_seconds", "arrival to commit"),
];

/// Fetches `url` (`http://host:port/metrics`) and returns the report
/// lines: per summary, its quantiles in milliseconds.
///
/// # Errors
///
/// The URL is not plain HTTP, or the endpoint does not answer.
pub(crate) fn latency_report(url: &str) -> anyhow::Result<Vec<String>> {
    let text = get(url)?;
    let mut out = Vec::new();
    for (name, what) in SUMMARIES {
        let prefix = format!("{name}{{quantile=\"");
        let quantiles: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| {
                let (q, v) = rest.split_once("\"} ")?;
                let v: f64 = v.trim().parse().ok()?;
                let q = match q.parse::<f64>() {
                    Ok(x) if x < 1.0 => format!("p{}", x * 100.0),
                    _ => "max".to_owned(),
                };
                Some(format!("{q} {:.3} ms", v * 1e3))
            })
            .collect();
        if !quantiles.is_empty() {
            out.push(format!("server {what}: {}", quantiles.join(", ")));
        }
    }
    Ok(out)
}

/// When the collector has decoded at least `sent` routes and committed a
/// RIB row for every route it decoded (announced or withdrawn): its
/// arrival-to-commit histogram, from the same scrape.
///
/// # Errors
///
/// As [`latency_report`].
pub(crate) fn stored(url: &str, sent: u64) -> anyhow::Result<Option<Histogram>> {
    let text = get(url)?;
    let decoded =
        sum(&text, "bmp_routes_announced_total") + sum(&text, "bmp_routes_withdrawn_total");
    let committed = sum(&text, "riptide_rows_written_total{table=\"rib\"}");
    Ok((decoded >= sent as f64 && committed >= decoded).then(|| Histogram::parse(&text)))
}

/// The sum of every sample of the series `name` (a metric name, or a
/// name with the opening of its labels).
fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter(|rest| rest.starts_with([' ', '{']))
        .filter_map(|rest| rest.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .sum()
}

/// The collector's arrival-to-commit histogram: cumulative counts per
/// upper bound in seconds, `+Inf` last.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Histogram(Vec<(f64, f64)>);

/// The histogram of arrival to commit, per route.
const END_TO_END: &str = "riptide_end_to_end_seconds_bucket{le=\"";

impl Histogram {
    /// Reads it from the collector.
    ///
    /// # Errors
    ///
    /// As [`latency_report`].
    pub(crate) fn fetch(url: &str) -> anyhow::Result<Self> {
        Ok(Self::parse(&get(url)?))
    }

    fn parse(text: &str) -> Self {
        Self(
            text.lines()
                .filter_map(|l| l.strip_prefix(END_TO_END))
                .filter_map(|rest| {
                    let (le, n) = rest.split_once("\"} ")?;
                    let le = if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().ok()?
                    };
                    Some((le, n.trim().parse().ok()?))
                })
                .collect(),
        )
    }

    /// What was recorded after `earlier`, one line: the count and the
    /// bucket bounds below which half, 99 % and all of it fall (all that
    /// was recorded, when the collector restarted since `earlier`).
    pub(crate) fn since(&self, earlier: &Self) -> String {
        let restarted = self.0.last().map_or(0.0, |l| l.1) < earlier.0.last().map_or(0.0, |l| l.1);
        let earlier = if restarted { &Self::default() } else { earlier };
        let delta: Vec<(f64, f64)> = self
            .0
            .iter()
            .map(|&(le, n)| {
                let before = earlier.0.iter().find(|e| e.0 == le).map_or(0.0, |e| e.1);
                (le, n - before)
            })
            .collect();
        let total = delta.last().map_or(0.0, |d| d.1);
        if total <= 0.0 {
            return "nothing committed".to_owned();
        }
        let bound = |q: f64| {
            delta
                .iter()
                .find(|d| d.1 >= q * total)
                .map_or("?".to_owned(), |d| {
                    if d.0.is_finite() {
                        format!("<= {} s", d.0)
                    } else {
                        format!("> {} s", delta.iter().rev().nth(1).map_or(0.0, |d| d.0))
                    }
                })
        };
        format!(
            "{}{total:.0} routes, p50 {}, p99 {}, max {}",
            if restarted {
                "(the collector restarted: since its start) "
            } else {
                ""
            },
            bound(0.5),
            bound(0.99),
            bound(1.0)
        )
    }
}

/// A plain HTTP/1.1 GET; the body.
fn get(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .context("--metrics takes an http:// URL")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/metrics".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text).context("reading /metrics")?;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP body")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "{url}: {}",
        head.lines().next().unwrap_or("")
    );
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# TYPE bmp_routes_announced_total counter
bmp_routes_announced_total{router=\"127.0.1.1\"} 700
bmp_routes_announced_total{router=\"127.0.1.2\"} 250
bmp_routes_announced_total_other 5
bmp_routes_withdrawn_total{router=\"127.0.1.1\"} 50
riptide_rows_written_total{table=\"rib\"} 1000
riptide_rows_written_total{table=\"route_history\"} 1000
riptide_end_to_end_seconds_bucket{le=\"0.5\"} 900
riptide_end_to_end_seconds_bucket{le=\"1\"} 995
riptide_end_to_end_seconds_bucket{le=\"2.5\"} 1000
riptide_end_to_end_seconds_bucket{le=\"+Inf\"} 1000
";

    #[test]
    fn sums_a_series_over_its_labels() {
        assert_eq!(sum(METRICS, "bmp_routes_announced_total"), 950.0);
        assert_eq!(
            sum(METRICS, "riptide_rows_written_total{table=\"rib\"}"),
            1000.0
        );
    }

    /// A histogram with METRICS's bounds holding `n` routes, all at or
    /// under 0.5 s.
    fn level(n: f64) -> Histogram {
        Histogram([0.5, 1.0, 2.5, f64::INFINITY].map(|le| (le, n)).to_vec())
    }

    #[test]
    fn quantiles_of_what_came_after_a_snapshot() {
        let end = Histogram::parse(METRICS);
        let start = level(0.0);
        assert_eq!(
            end.since(&start),
            "1000 routes, p50 <= 0.5 s, p99 <= 1 s, max <= 2.5 s"
        );
        // The 900 first ones were before the snapshot.
        let start = level(900.0);
        assert_eq!(
            end.since(&start),
            "100 routes, p50 <= 1 s, p99 <= 2.5 s, max <= 2.5 s"
        );
        assert_eq!(end.since(&end), "nothing committed");
        assert_eq!(
            start.since(&end),
            "(the collector restarted: since its start) 900 routes, p50 <= 0.5 s, p99 <= 0.5 s, max <= 0.5 s"
        );
        let slow = Histogram(vec![(60.0, 0.0), (f64::INFINITY, 10.0)]);
        assert_eq!(
            slow.since(&Histogram::default()),
            "10 routes, p50 > 60 s, p99 > 60 s, max > 60 s"
        );
    }
}
