//! A Riptide collector in the test's process, with its embedded store in
//! a directory of its own, for the loadgen tests that send to one.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use riptide::config::Config;
use riptide::metrics::Metrics;
use riptide::shard::{Collector, start};
use riptide::sink::Store;
use riptide::sink::store::StoreSink;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    config: Config,
}

/// A collector on a free port with its embedded store in a directory of
/// its own, and its metrics endpoint on another.
pub(crate) struct Riptide {
    collector: Option<Collector<StoreSink>>,
    store: Option<Store>,
    metrics: riptide::metrics::http::Server,
    dir: PathBuf,
}

impl Riptide {
    pub(crate) fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("loadgen-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = [
            "riptide",
            "--listen",
            "127.0.0.1:0",
            "--worker-threads",
            "2",
            "--store",
            "sqlite",
            "--batch-timeout-seconds",
            "0.1",
            "--data-dir",
            dir.to_str().unwrap(),
        ];
        let config = Args::try_parse_from(args).unwrap().config;
        let metrics = Metrics::for_config(&config);
        let store = Store::open(&config, &metrics).expect("store opens");
        let endpoint =
            riptide::metrics::http::serve("127.0.0.1:0".parse().unwrap(), metrics.clone())
                .expect("metrics endpoint");
        let collector = start(Arc::new(config), metrics, store.sinks()).expect("collector starts");
        Self {
            collector: Some(collector),
            store: Some(store),
            metrics: endpoint,
            dir,
        }
    }

    pub(crate) fn target(&self) -> String {
        self.collector.as_ref().unwrap().local_addr().to_string()
    }

    /// The metrics endpoint, as `loadgen --metrics` takes it.
    #[allow(
        dead_code,
        reason = "the soak test shares this module and reads no metrics"
    )]
    pub(crate) fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics.local_addr())
    }

    pub(crate) fn db(&self) -> String {
        self.dir.join("riptide.db").to_str().unwrap().to_owned()
    }
}

impl Drop for Riptide {
    fn drop(&mut self) {
        if let Some(c) = self.collector.take() {
            c.shutdown_handle().shutdown();
            if let Ok(reports) = c.join() {
                for r in reports {
                    r.sink.finish();
                }
            }
        }
        if let Some(s) = self.store.take() {
            s.close();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
