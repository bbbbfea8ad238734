//! Re-dumps over kept routes, compared in the writer: after a router
//! session is lost its peers keep their routes, and when the router
//! brings a peer up again it sends the whole table once more, mostly
//! unchanged. At the first batch of such a re-dump the writer reads the
//! peer's current routes once and keeps, per route, a 64-bit hash of its
//! key (distinguisher, prefix, path id) and one of its value (family,
//! labels, attribute set) with two state bits: 16 octets. An announcement
//! equal to the route's kept value leaves the route as it is: it is
//! dropped from the batch (no RIB write, no history row) and the route
//! marked seen. Any other change of the route in the re-dump (another
//! value, a withdrawal) marks it replaced: from then on it goes to the
//! database as usual, whatever comes. At the re-dump's stale sweep the
//! peer's routes of earlier epochs (those not rewritten since) are read
//! once more and those not seen are removed. What a re-dump of an
//! unchanged table costs the database is two reads of the peer's routes.
//!
//! The hashes are taken over the columns' binary COPY encodings, which
//! are the same in the batch's route tuples ([`super::batch`]) and in what
//! the server sends back (binary results).
#![forbid(unsafe_code)]

use std::error::Error;

use tokio_postgres::types::{FromSql, Type};
use xxhash_rust::xxh3::Xxh3Default;

/// State bit of an entry's value: re-announced unchanged.
const SEEN: u64 = 1 << 63;

/// State bit of an entry's value: changed or withdrawn in the re-dump.
const REPLACED: u64 = 1 << 62;

/// The value hash bits (62) compared.
const VALUE: u64 = !(SEEN | REPLACED);

/// Octets an [`Index`] takes per route.
pub const BYTES_PER_ROUTE: usize = 16;

/// One re-dumping peer's current routes, as hashes.
#[derive(Debug)]
pub struct Index {
    /// (key hash, value hash with the state bits), sorted by key hash.
    entries: Vec<(u64, u64)>,
}

impl Index {
    /// The index of these (key hash, value hash) pairs, none seen.
    pub fn new(mut entries: Vec<(u64, u64)>) -> Self {
        for e in &mut entries {
            e.1 &= VALUE;
        }
        entries.sort_unstable_by_key(|e| e.0);
        entries.shrink_to_fit();
        Self { entries }
    }

    fn entry(&mut self, key: u64) -> Option<&mut (u64, u64)> {
        let i = self.entries.binary_search_by_key(&key, |e| e.0).ok()?;
        self.entries.get_mut(i)
    }

    /// An announcement of route `key` with value `value`: whether it
    /// leaves the route as it is (then it is seen, and need not be
    /// written). Otherwise the route is replaced from now on.
    pub fn announced(&mut self, key: u64, value: u64) -> bool {
        let Some(e) = self.entry(key) else {
            return false;
        };
        if e.1 & REPLACED == 0 && e.1 & VALUE == value & VALUE {
            e.1 |= SEEN;
            return true;
        }
        e.1 = (e.1 | REPLACED) & !SEEN;
        false
    }

    /// Route `key` changes in a way that goes to the database as usual (a
    /// withdrawal, or an announcement in a batch with withdrawals).
    pub fn replaced(&mut self, key: u64) {
        if let Some(e) = self.entry(key) {
            e.1 = (e.1 | REPLACED) & !SEEN;
        }
    }

    /// Whether route `key` was re-announced unchanged (and not replaced
    /// since).
    pub fn seen(&self, key: u64) -> bool {
        self.entries
            .binary_search_by_key(&key, |e| e.0)
            .ok()
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e.1 & SEEN != 0)
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
    fn unchanged_routes_are_seen_until_replaced() {
        let mut ix = Index::new(vec![(3, 30), (1, 10 | SEEN), (2, 20)]);
        assert!(!ix.seen(1), "marks of the input are cleared");
        assert!(ix.announced(1, 10));
        assert!(ix.announced(1, 10), "asked again: the same answer");
        assert!(ix.seen(1));
        assert!(!ix.announced(4, 40), "a new route");
        // Changed, then back to its kept value: still written.
        assert!(!ix.announced(2, 21));
        assert!(!ix.announced(2, 20));
        assert!(!ix.seen(2));
        // Seen, withdrawn, announced again unchanged: written.
        ix.replaced(1);
        assert!(!ix.seen(1));
        assert!(!ix.announced(1, 10));
        assert!(!ix.seen(3), "not re-announced");
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
