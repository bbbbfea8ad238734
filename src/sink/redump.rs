//! Re-dumps over kept routes, compared in the writer: after a router
//! session is lost its peers keep their routes, and when the router
//! brings a peer up again it sends the whole table once more, mostly
//! unchanged. At the first batch of such a re-dump the writer reads the
//! peer's current routes once and keeps a 64-bit hash of each (key and
//! value: distinguisher, prefix, path id, family, labels, attribute set):
//! 8 octets per route. An announcement whose hash is there leaves its
//! route as it is: it is dropped from the batch (no RIB write, no history
//! row) and its hash marked seen. At the re-dump's stale sweep the peer's
//! routes of earlier epochs (those not rewritten since) are read once
//! more, and those whose hash was not seen are removed. What a re-dump of
//! an unchanged table costs the database is two reads of the peer's
//! routes.
//!
//! The hash is taken over the columns' binary COPY encodings, which are
//! the same in the batch's route tuples ([`super::batch`]) and in what the
//! server sends back (binary results).
#![forbid(unsafe_code)]

use std::error::Error;

use tokio_postgres::types::{FromSql, Type};
use xxhash_rust::xxh3::Xxh3Default;

/// The top bit of an entry: the route was re-announced unchanged. The
/// hashes are compared without it (63 bits).
const SEEN: u64 = 1 << 63;

/// Octets an [`Index`] takes per route.
pub const BYTES_PER_ROUTE: usize = 8;

/// One re-dumping peer's current routes, as hashes.
#[derive(Debug)]
pub struct Index {
    /// Route hashes with [`SEEN`], sorted without it.
    entries: Vec<u64>,
}

impl Index {
    /// The index of these route hashes.
    pub fn new(mut entries: Vec<u64>) -> Self {
        for e in &mut entries {
            *e &= !SEEN;
        }
        entries.sort_unstable();
        entries.shrink_to_fit();
        Self { entries }
    }

    fn find(&self, route: u64) -> Option<usize> {
        self.entries
            .binary_search_by_key(&(route & !SEEN), |e| e & !SEEN)
            .ok()
    }

    /// Whether `route` (its hash) is current as it is; if so it is marked
    /// seen. The same answer when asked again (a batch retried).
    pub fn unchanged(&mut self, route: u64) -> bool {
        match self.find(route).and_then(|i| self.entries.get_mut(i)) {
            Some(e) => {
                *e |= SEEN;
                true
            }
            None => false,
        }
    }

    /// Whether `route` was re-announced unchanged.
    pub fn seen(&self, route: u64) -> bool {
        self.find(route)
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e & SEEN != 0)
    }

    /// Octets held.
    pub fn bytes(&self) -> usize {
        self.entries.capacity() * BYTES_PER_ROUTE
    }
}

/// The hash of binary-encoded fields (`None`: NULL), each with its length.
pub fn hash_fields<'a>(fields: impl IntoIterator<Item = Option<&'a [u8]>>) -> u64 {
    let mut h = Xxh3Default::new();
    for f in fields {
        match f {
            Some(v) => {
                h.update(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_be_bytes());
                h.update(v);
            }
            None => h.update(&u32::MAX.to_be_bytes()),
        }
    }
    h.digest()
}

/// A column's value in the server's binary encoding, whatever its type.
#[derive(Clone, Copy, Debug)]
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Self(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_routes_are_marked_seen_and_changed_ones_are_not() {
        let mut ix = Index::new(vec![30, 10 | SEEN, 20]);
        assert!(!ix.seen(10), "marks of the input are cleared");
        assert!(ix.unchanged(10));
        assert!(ix.unchanged(10), "asked again: the same answer");
        assert!(!ix.unchanged(21), "changed, or new");
        assert!(ix.seen(10));
        assert!(ix.seen(10 | SEEN), "compared on 63 bits");
        assert!(!ix.seen(20));
        assert!(!ix.seen(30));
        assert!(!ix.seen(21));
        assert_eq!(ix.bytes(), 3 * BYTES_PER_ROUTE);
    }

    #[test]
    fn field_hashes_tell_null_empty_and_boundaries_apart() {
        let h = |f: &[Option<&[u8]>]| hash_fields(f.iter().copied());
        assert_ne!(h(&[None]), h(&[Some(b"")]));
        assert_ne!(h(&[Some(b"ab"), Some(b"c")]), h(&[Some(b"a"), Some(b"bc")]));
        assert_eq!(h(&[Some(b"ab"), None]), h(&[Some(b"ab"), None]));
    }
}
