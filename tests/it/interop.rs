//! Interop with real BGP software exporting BMP (Debian's `gobgpd`, and
//! FRR's `bgpd` with its BMP module), driven by `tests/interop/exporters`
//! (which `tests/run` has installed them with): a GoBGP speaker announces
//! a few thousand IPv4 and IPv6 routes with varied attributes (4-octet
//! ASNs, communities, MED, LOCAL_PREF) to the exporter, which streams BMP
//! (pre- and post-policy, Loc-RIB where it can, statistics) to the
//! `riptide` binary; then withdrawals and a session flap. After each step
//! Riptide's current RIB holds exactly the speaker's routes in every RIB
//! the exporter sends, route by route with their AS paths, and the
//! history holds the announcements and withdrawals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::store::{Db, Lite, Process, eventually, free_port};

const EXPORTERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/exporters");

/// Daemons started in a directory, stopped when dropped.
struct Exporters(PathBuf);

impl Drop for Exporters {
    fn drop(&mut self) {
        let _ = Command::new(EXPORTERS).arg("stop").arg(&self.0).status();
    }
}

/// Runs `exporters ARGS`; its standard output, or the test fails with
/// what it said.
fn exporters(args: &[&str]) -> String {
    let out = Command::new(EXPORTERS)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tests/interop/exporters runs");
    assert!(
        out.status.success(),
        "exporters {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A route of a FILE line: prefix and the AS path the speaker gives it.
fn parse_routes(text: &str) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let prefix = f.next().unwrap().to_owned();
            let _next_hop = f.next();
            let path = f
                .take_while(|w| w.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
                .collect();
            (prefix, path)
        })
        .collect()
}

/// The current routes of one RIB of `peer`: prefix to AS path.
fn stored(db: &Lite, rib: &str, peer: &str) -> BTreeMap<String, Vec<String>> {
    db.rows(&format!(
        "SELECT prefix, coalesce(as_path, '') FROM routes WHERE rib = '{rib}' AND peer_address = '{peer}'"
    ))
    .into_iter()
    .map(|r| {
        let path = r[1].split_whitespace().map(str::to_owned).collect();
        (r[0].clone(), path)
    })
    .collect()
}

/// Waits until every exported RIB holds exactly `want`, each AS path
/// behind `prefix` (the speaker's AS, which it prepends as an eBGP
/// neighbour; FRR also puts its own in front in what it exports).
fn converges(
    db: &Lite,
    ribs: &[(String, String)],
    want: &BTreeMap<String, Vec<String>>,
    prefix: &[String],
) {
    let expect: BTreeMap<String, Vec<String>> = want
        .iter()
        .map(|(p, path)| {
            let mut full = prefix.to_vec();
            full.extend(path.iter().cloned());
            (p.clone(), full)
        })
        .collect();
    for (rib, peer) in ribs {
        let mut last = BTreeMap::new();
        let done = (0..600).any(|_| {
            last = stored(db, rib, peer);
            if last == expect {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        });
        if !done {
            let missing: Vec<_> = expect
                .keys()
                .filter(|p| !last.contains_key(*p))
                .take(5)
                .collect();
            let extra: Vec<_> = last
                .keys()
                .filter(|p| !expect.contains_key(*p))
                .take(5)
                .collect();
            let differ: Vec<_> = expect
                .iter()
                .filter(|(p, path)| last.get(*p).is_some_and(|l| l != *path))
                .take(3)
                .map(|(p, path)| (p, path, &last[p]))
                .collect();
            panic!(
                "{rib} of {peer}: {} routes stored, {} expected; missing e.g. {missing:?}; unexpected e.g. {extra:?}; different AS paths e.g. {differ:?}",
                last.len(),
                expect.len()
            );
        }
    }
}

fn interop(kind: &str) {
    let data = Lite::new(&format!("interop-{kind}"));
    std::fs::create_dir_all(&data.dir).unwrap();
    let (bmp, metrics) = (free_port(), free_port());
    let _riptide = Process(
        Command::new(env!("CARGO_BIN_EXE_riptide"))
            .args(["--listen", &format!("127.0.0.1:{bmp}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")])
            .args(["--data-dir", data.dir.to_str().unwrap()])
            .args(["--batch-timeout-seconds", "0.2", "--worker-threads", "2"])
            .env_remove("DATABASE_URL")
            .env("LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riptide starts"),
    );
    eventually("riptide to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", bmp)).is_ok()
    });
    let dir = data.dir.join("daemons");
    std::fs::create_dir_all(&dir).unwrap();
    let dir_s = dir.to_str().unwrap().to_owned();
    let _daemons = Exporters(dir.clone());
    let started = exporters(&["start", kind, &dir_s, &bmp.to_string()]);
    let info: BTreeMap<&str, &str> = started.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(info.get("bmp"), Some(&"connected"), "{started}");
    let as_prefix: Vec<String> = info["as_path_prefix"]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let ribs: Vec<(String, String)> = info["ribs"]
        .split(',')
        .map(|rib| {
            let peer = match rib {
                "loc-rib" => info.get("loc_rib_peer").copied().unwrap_or("0.0.0.0"),
                _ => info["peer"],
            };
            (rib.to_owned(), peer.to_owned())
        })
        .collect();

    // Announce a few thousand routes.
    let routes_file = dir.join("routes.txt");
    let text = exporters(&["gen", "2400", "800", "7"]);
    std::fs::write(&routes_file, &text).unwrap();
    let mut want = parse_routes(&text);
    assert_eq!(want.len(), 3200);
    exporters(&["announce", &dir_s, routes_file.to_str().unwrap()]);
    converges(&data, &ribs, &want, &as_prefix);

    // Withdraw some.
    let gone: Vec<&str> = text.lines().step_by(7).collect();
    let gone_file = dir.join("withdraw.txt");
    std::fs::write(&gone_file, gone.join("\n")).unwrap();
    exporters(&["withdraw", &dir_s, gone_file.to_str().unwrap()]);
    for l in &gone {
        want.remove(l.split_whitespace().next().unwrap());
    }
    converges(&data, &ribs, &want, &as_prefix);

    // A session flap: Peer Down, Peer Up, re-dump; the same routes stay.
    exporters(&["flap", &dir_s]);
    converges(&data, &ribs, &want, &as_prefix);

    // History: every announced prefix was announced, every withdrawn one
    // withdrawn, in the pre-policy RIB.
    let (rib, peer) = &ribs[0];
    let history = |action: &str| -> BTreeSet<String> {
        data.rows(&format!(
            "SELECT DISTINCT h.prefix FROM route_history h JOIN peers p ON p.id = h.peer_id
              WHERE p.rib = '{rib}' AND p.peer_address = '{peer}' AND h.action = '{action}'"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    };
    let announced = history("announce");
    let all = parse_routes(&text);
    assert!(
        all.keys().all(|p| announced.contains(p)),
        "announcements in history"
    );
    let withdrawn = history("withdraw");
    let gone: BTreeSet<String> = gone
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert!(gone.is_subset(&withdrawn), "withdrawals in history");
    // Statistics Reports arrive too (GoBGP sends them every 15 s at the
    // most often).
    eventually("statistics stored", || {
        data.count("SELECT count(*) FROM stats") > 0
    });
}

#[test]
fn gobgp_exports_bmp_to_riptide() {
    interop("gobgp");
}

#[test]
fn frr_exports_bmp_to_riptide() {
    interop("frr");
}
