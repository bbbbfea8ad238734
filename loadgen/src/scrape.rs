//! `--metrics`: reads the collector's `/metrics` and picks the
//! server-side latency quantiles to print next to loadgen's own figures.

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
