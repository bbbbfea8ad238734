//! The one error type of the wire codec.
//!
//! Kept small on purpose (`Copy`, no heap): a parse error is data that the
//! collector counts, logs and samples, and it must be cheap to make on the
//! hot path when a router sends garbage.

use core::fmt;

/// Why a piece of BMP or BGP input was rejected.
///
/// Context is limited to `&'static str` naming the field or structure that
/// was being read, so that errors stay `Copy` and allocation-free.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum WireError {
    /// The input ended before the named field was complete.
    Truncated(&'static str),
    /// A BMP common header carried a version other than 3.
    BadVersion(u8),
    /// A length field holds a value that cannot be right for the named
    /// structure (too short for its fixed part, or longer than allowed).
    BadLength(&'static str),
    /// The named structure was followed by bytes that belong to nothing.
    TrailingBytes(&'static str),
    /// A BGP message header did not start with sixteen 0xff octets.
    BadMarker,
    /// A BGP message of an unexpected type where the named one was required.
    UnexpectedBgpType(u8),
    /// A prefix length beyond the width of its address family.
    BadPrefixLength(u8),
    /// A field carried a value that is invalid for it.
    InvalidValue(&'static str),
    /// A field that may appear once appeared twice.
    Duplicate(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated(what) => write!(f, "truncated {what}"),
            Self::BadVersion(v) => write!(f, "unsupported BMP version {v}"),
            Self::BadLength(what) => write!(f, "bad length in {what}"),
            Self::TrailingBytes(what) => write!(f, "trailing bytes after {what}"),
            Self::BadMarker => f.write_str("BGP marker is not all ones"),
            Self::UnexpectedBgpType(t) => write!(f, "unexpected BGP message type {t}"),
            Self::BadPrefixLength(l) => write!(f, "prefix length {l} too long"),
            Self::InvalidValue(what) => write!(f, "invalid value in {what}"),
            Self::Duplicate(what) => write!(f, "duplicate {what}"),
        }
    }
}

impl std::error::Error for WireError {}

impl WireError {
    /// A short stable name of the error kind, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Truncated(_) => "truncated",
            Self::BadVersion(_) => "bad_version",
            Self::BadLength(_) => "bad_length",
            Self::TrailingBytes(_) => "trailing_bytes",
            Self::BadMarker => "bad_marker",
            Self::UnexpectedBgpType(_) => "unexpected_bgp_type",
            Self::BadPrefixLength(_) => "bad_prefix_length",
            Self::InvalidValue(_) => "invalid_value",
            Self::Duplicate(_) => "duplicate",
        }
    }
}
