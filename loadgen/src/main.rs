//! `loadgen`: simulated full-table BMP routers.
//!
//! This first version generates the BMP stream of routers with full-table
//! peers (built with `riptide::wire::encode`, see `riptide::synth`) and
//! either writes it to a file or sends it to a collector over TCP, one
//! connection per router, then reports what it sent and how fast.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Simulated full-table BMP routers.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Collector address to send to, e.g. 127.0.0.1:11019.
    #[arg(long, conflicts_with = "out")]
    target: Option<String>,
    /// Write the routers' streams, one after the other, to this file instead.
    #[arg(long)]
    out: Option<PathBuf>,
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
    /// Seed of the generated tables.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Sends one router's stream on its own connection.
fn send(target: &str, stream: &[u8]) -> anyhow::Result<()> {
    let mut conn = TcpStream::connect(target).with_context(|| format!("connecting to {target}"))?;
    conn.write_all(stream).context("sending")
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Generate every router's stream first, so generation is not timed.
    let mut streams = Vec::new();
    let mut total_prefixes = 0u64;
    for r in 0..args.routers {
        let mut stream = Vec::new();
        let seed = args.seed.wrapping_add(u64::from(r));
        total_prefixes += riptide::synth::router_stream(
            &mut stream,
            args.peers,
            args.v4,
            args.v6,
            seed,
            args.add_path,
        )
        .context("encoding the table")?;
        streams.push(stream);
    }
    let total_bytes: u64 = streams.iter().map(|s| s.len() as u64).sum();
    let start = Instant::now();
    match (&args.target, &args.out) {
        // One connection per router, all at once, as routers do.
        (Some(target), _) => std::thread::scope(|s| {
            let senders: Vec<_> = streams
                .iter()
                .map(|stream| s.spawn(move || send(target, stream)))
                .collect();
            senders
                .into_iter()
                .try_for_each(|t| t.join().map_err(|_| anyhow::anyhow!("a sender panicked"))?)
        })?,
        (None, Some(path)) => std::fs::write(path, streams.concat())
            .with_context(|| format!("writing {}", path.display()))?,
        (None, None) => anyhow::bail!("give --target ADDR or --out FILE"),
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sent {total_prefixes} prefixes, {total_bytes} bytes in {secs:.2} s ({:.0} prefixes/s)",
        total_prefixes as f64 / secs
    );
    Ok(())
}
