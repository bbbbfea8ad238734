//! BGP-4 messages as carried inside BMP (RFC 4271 and extensions).

pub mod afi_safi;
pub mod attr;
pub mod message;
pub mod nlri;
pub mod open;
pub mod session;
pub mod update;
