//! The wire codec: BMP and the BGP messages inside it, decoded from
//! borrowed bytes and encoded for tests and the load generator.
//!
//! This module is pure: no IO, no `unsafe`, and no heap allocation on the
//! decode path. Every message type is a view over the input, validated
//! once by its `parse` constructor; accessors after that cannot fail.
//!
//! - [`frame`] finds message boundaries in a byte stream.
//! - [`bmp`] decodes BMP messages (RFC 7854, RFC 8671, RFC 9069).
//! - [`bgp`] decodes OPEN and UPDATE (RFC 4271, 4760, 6793, 7911, 7606).
//! - [`encode`] builds the same messages.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::panic
    )
)]

pub mod bgp;
pub mod bmp;
pub mod encode;
mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod reader;

pub use error::WireError;
pub use reader::Reader;
