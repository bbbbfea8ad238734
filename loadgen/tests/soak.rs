//! Load held: 200 router connections at once with churn and Statistics
//! Reports into a Riptide collector (in this process, embedded store),
//! then `--verify`: the store holds exactly what the routers hold, and
//! the collector's resident memory stays under [`RSS_LIMIT`] throughout.
//!
//! The default run holds the load for 15 s with tables of 1250 routes;
//! `soak_for_five_minutes`
//! (ignored by default: `cargo test -p loadgen --test soak -- --ignored`)
//! holds it for five minutes with tables of 5000 routes.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

mod collector;
mod common;

use collector::Riptide;

/// The bound on the collector's resident memory: 200 receive buffers of
/// 1 MiB (`BMP_BUFFER_SIZE`), the writer's memory queue (48 MiB) and its
/// queue of batches, with room to spare.
const RSS_LIMIT: u64 = 512 << 20;

/// This process's resident memory, in octets.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb << 10)
}

fn soak(seconds: u32, v4: u32, v6: u32) {
    let collector = Riptide::start(&format!("soak-{seconds}"));
    let (target, db) = (collector.target(), collector.db());

    let before = rss();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let duration = seconds.to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.args(["--target", &target, "--routers", "200", "--peers", "1"])
        .args(["--v4", &v4.to_string(), "--v6", &v6.to_string()])
        .args(["--churn", "2000"])
        .args(["--stats-interval", "5", "--duration", &duration])
        .args(["--verify", &db, "--verify-timeout", "120"]);
    let out = common::run_bounded(&mut cmd, Duration::from_secs(u64::from(seconds) + 300));
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "{}\nresident: {} MiB before, {} MiB at the peak",
        out.stdout,
        before >> 20,
        peak >> 20
    );

    drop(collector);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("holds exactly the"), "{}", out.stdout);
    assert!(peak < RSS_LIMIT, "resident {} MiB", peak >> 20);
}

#[test]
fn two_hundred_routers_with_churn() {
    soak(15, 1000, 250);
}

#[test]
#[ignore = "five minutes; run by hand or from perf/"]
fn soak_for_five_minutes() {
    soak(300, 4000, 1000);
}
