//! Logging: tracing to standard output at the configured level.

use tracing::Level;

/// Installs the global tracing subscriber.
pub fn init(level: &str) {
    let level = level.parse::<Level>().unwrap_or(Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
