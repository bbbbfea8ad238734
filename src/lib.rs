//! Riptide: a fast BMP collector.
//!
//! # Brief overview
//!
//! Routers stream BMP (RFC 7854) over TCP. Riptide frames the stream
//! ([`wire::frame::Frame`]), decodes each message into a borrowed view
//! ([`wire::bmp::BmpMessage`]) and, for Route Monitoring, the BGP UPDATE
//! inside it ([`wire::bgp::update::Update`]) with the peer's decoding
//! context ([`wire::bgp::session::SessionContext`], derived from the Peer
//! Up's two OPENs). Routes come out of [`wire::bgp::update::Update::routes`]
//! one at a time, without allocation.
//!
//! - [`wire`]: the pure codec (decode and encode), no IO.
//! - [`capture`]: BMP byte streams out of pcap files.
//! - [`decode`]: the `riptide decode` tool, one JSON object per message.
//! - [`synth`]: deterministic synthetic full tables, for the load
//!   generator, benchmarks and tests.

pub mod capture;
pub mod clock;
pub mod config;
pub mod decode;
pub mod metrics;
pub mod session;
pub mod shard;
pub mod sink;
pub mod synth;
pub mod telemetry;
pub mod wire;
