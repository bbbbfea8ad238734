//! loadgen end to end: simulated routers into a real Riptide collector
//! (in this process, with its embedded store), checked by `--verify`: the
//! store converges to exactly what was sent, after churn, flaps and
//! reconnects, and a deliberately missing route is caught.

use std::process::Command;
use std::time::Duration;

mod collector;
mod common;

use collector::Riptide;

/// Runs loadgen (for at most two minutes); exit status and output.
fn loadgen(args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.args(args);
    let out = common::run_bounded(&mut cmd, Duration::from_secs(120));
    (
        out.status.code().unwrap_or(-1),
        format!("{}\n{}", out.stdout, out.stderr),
    )
}

#[test]
fn the_store_holds_exactly_what_was_sent() {
    let r = Riptide::start("exact");
    let (target, db) = (r.target(), r.db());
    let (code, out) = loadgen(&[
        "--target",
        &target,
        "--routers",
        "2",
        "--peers",
        "2",
        "--v4",
        "3000",
        "--v6",
        "700",
        "--ribs",
        "pre,post",
        "--once",
        "--verify",
        &db,
        "--verify-timeout",
        "60",
    ]);
    assert_eq!(code, 0, "{out}");
    // 2 routers x 2 peers x 2 copies x 3700 routes.
    assert!(out.contains("holds exactly the 29600 routes sent"), "{out}");
}

#[test]
fn churn_flaps_and_reconnects_converge() {
    let r = Riptide::start("churn");
    let (target, db) = (r.target(), r.db());
    let (code, out) = loadgen(&[
        "--target",
        &target,
        "--routers",
        "3",
        "--peers",
        "2",
        "--v4",
        "2000",
        "--v6",
        "500",
        "--add-path",
        "--duration",
        "4",
        "--churn",
        "3000",
        "--flap-interval",
        "1.5",
        "--reconnect-interval",
        "3",
        "--stats-interval",
        "1",
        "--verify",
        &db,
        "--verify-timeout",
        "60",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds exactly the"), "{out}");
}

/// `--hold-until-stored`: the churn waits until the collector has stored
/// the dumps, and the report gives the arrival to commit of what came
/// after.
#[test]
fn churn_held_until_the_dumps_are_stored() {
    let r = Riptide::start("held");
    let (target, db, metrics) = (r.target(), r.db(), r.metrics_url());
    let (code, out) = loadgen(&[
        "--target",
        &target,
        "--routers",
        "2",
        "--peers",
        "1",
        "--v4",
        "3000",
        "--v6",
        "500",
        "--hold-until-stored",
        "--metrics",
        &metrics,
        "--churn",
        "2000",
        "--duration",
        "2",
        "--verify",
        &db,
        "--verify-timeout",
        "60",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holds exactly the"), "{out}");
    assert!(
        out.contains("held until the collector had stored the dumps"),
        "{out}"
    );
    let after = out
        .lines()
        .find_map(|l| l.strip_prefix("server arrival to commit after the hold: "))
        .unwrap_or_else(|| panic!("no after-the-hold line: {out}"));
    let routes: u64 = after
        .split_once(" routes")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{after}"));
    // The churn (2000 updates/s for 2 s), not the 7000 routes of the dumps.
    assert!((1000..7000).contains(&routes), "{after}");
}

#[test]
fn verify_catches_a_missing_route() {
    let r = Riptide::start("missing");
    let (target, db) = (r.target(), r.db());
    let (code, out) = loadgen(&[
        "--target",
        &target,
        "--peers",
        "1",
        "--v4",
        "1000",
        "--v6",
        "100",
        "--once",
        "--omit",
        "3",
        "--verify",
        &db,
        "--verify-timeout",
        "5",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does NOT hold"), "{out}");
    assert!(
        out.contains("missing: router 127.0.1.1 peer 10.0.0.1 adj-rib-in-pre: 3 routes"),
        "{out}"
    );
}
