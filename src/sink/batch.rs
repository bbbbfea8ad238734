//! Row batches: what a shard hands its store writer.
//!
//! A batch holds five sections of binary COPY tuples ([`super::copy`]):
//! attribute sets, routes (for the current RIB), history, statistics and
//! events, with the column layouts
//! declared here once for every store. Within a batch, routes come before
//! events: a shard starts a new batch when a route follows an event, so
//! applying "all routes, then the events in order" is applying the
//! messages in the order they arrived.
//!
//! A batch is numbered within its stream (one per shard and process run);
//! stores record the last number applied per stream, so a batch retried
//! after an unacknowledged commit is not applied twice. The same batch is
//! what the spill files hold ([`Batch::encode`], [`Batch::decode`]).
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::copy::{TupleError, TupleReader};

/// Columns of an attribute set tuple, in order: `id int8, origin text,
/// as_path text, origin_as int8, next_hop inet, med int8, local_pref int8,
/// atomic_aggregate bool, aggregator text, communities text,
/// ext_communities text, large_communities text, originator_id inet,
/// cluster_list text, otc int8, other_attrs bytea, first_seen timestamptz`
/// (lists space-separated).
pub const ATTR_FIELDS: i16 = 17;

/// Positions of the lists in an attribute set tuple (communities,
/// extended and large communities, cluster list): `text[]` in the
/// database.
pub const ATTR_LISTS: [usize; 4] = [9, 10, 11, 13];

/// Columns of a route tuple: `seq int8, peer_id int8, rd text, prefix
/// cidr, path_id int8, afi int2, safi int2, labels text, action int2 (1
/// announce, 0 withdraw), epoch int8, attrs_id int8, ts timestamptz`.
pub const ROUTE_FIELDS: i16 = 12;

/// A route tuple read back: its fields in their binary encoding (`None`:
/// NULL), by the `ROUTE_*` positions.
#[derive(Clone, Copy, Debug)]
pub struct RouteTuple<'a> {
    /// The fields.
    pub fields: [Option<&'a [u8]>; ROUTE_FIELDS as usize],
    /// The tuple's fields as encoded, for [`super::copy::TupleWriter::raw_fields`].
    pub encoded: &'a [u8],
}

/// Positions in a [`RouteTuple`].
pub const ROUTE_PEER_ID: usize = 1;
/// The route's key: rd, prefix, path_id.
pub const ROUTE_KEY: std::ops::Range<usize> = 2..5;
/// afi, safi, labels (with [`ROUTE_ATTRS_ID`], the route's value).
pub const ROUTE_FAMILY_LABELS: std::ops::Range<usize> = 5..8;
/// The action: 1 announce, 0 withdraw.
pub const ROUTE_ACTION: usize = 8;
/// The epoch.
pub const ROUTE_EPOCH: usize = 9;
/// The attribute set.
pub const ROUTE_ATTRS_ID: usize = 10;
/// The time.
pub const ROUTE_TS: usize = 11;

impl<'a> RouteTuple<'a> {
    /// Reads the next route tuple of a section.
    ///
    /// # Errors
    ///
    /// A malformed tuple.
    pub fn next(r: &mut TupleReader<'a>) -> Result<Option<Self>, TupleError> {
        let Some(mut f) = r.next_tuple(ROUTE_FIELDS as usize)? else {
            return Ok(None);
        };
        let encoded = f.unread();
        let mut fields = [None; ROUTE_FIELDS as usize];
        for v in &mut fields {
            *v = f.raw();
        }
        Ok(Some(Self { fields, encoded }))
    }

    fn int(&self, i: usize) -> i64 {
        self.fields
            .get(i)
            .copied()
            .flatten()
            .and_then(super::copy::int)
            .unwrap_or(0)
    }

    /// The peer.
    pub fn peer_id(&self) -> i64 {
        self.int(ROUTE_PEER_ID)
    }

    /// The peer session's epoch.
    pub fn epoch(&self) -> i64 {
        self.int(ROUTE_EPOCH)
    }

    /// Whether the route is announced (or withdrawn).
    pub fn announces(&self) -> bool {
        self.int(ROUTE_ACTION) == 1
    }

    /// The fields in `range`.
    pub fn get(&self, range: std::ops::Range<usize>) -> &[Option<&'a [u8]>] {
        self.fields.get(range).unwrap_or_default()
    }
}

/// Columns of a history tuple, the layout of `route_history`: `ts
/// timestamptz, peer_id int8, rd text, prefix cidr, path_id int8, afi int2,
/// safi int2, labels text, action text, attrs_id int8`.
pub const HISTORY_FIELDS: i16 = 10;

/// Columns of a statistics tuple: `ts timestamptz, router_id int8,
/// peer_id int8, stat_type int4, stat_name text, afi int2, safi int2,
/// value int8`.
pub const STAT_FIELDS: i16 = 8;

/// Columns of an event tuple: `kind int2, ts timestamptz, router_id int8,
/// router_address inet, peer_id int8, epoch int8, peer_type text, rd text,
/// peer_address inet, peer_as int8, bgp_id inet, rib text, a text, b
/// text`; what `a` and `b` hold depends on the kind ([`EventKind`]).
pub const EVENT_FIELDS: i16 = 14;

/// What an event tuple records.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum EventKind {
    /// A router connected.
    RouterConnected,
    /// Initiation: `a` sysName, `b` sysDescr.
    Initiation,
    /// Termination: `a` the reason code, if sent.
    Termination,
    /// The TCP session ended without Termination: `a` why.
    Disconnect,
    /// Peer Up: every peer column, `a` the negotiated capabilities, `b`
    /// the VRF/table name.
    PeerUp,
    /// Routes of a peer (RIB) that had no Peer Up of its own in this
    /// epoch: every peer column.
    PeerSeen,
    /// Peer Down: `a` the reason, `b` its detail.
    PeerDown,
    /// The router session ended (Termination, or the TCP session lost):
    /// as [`Self::PeerDown`], but a store may keep the peer's rows for the
    /// router's re-dump (`a` the reason).
    PeerLost,
    /// End-of-RIB: `a` the family.
    EndOfRib,
    /// The re-dump is complete: routes of earlier epochs are stale.
    StaleSweep,
    /// Route Mirroring: `a` the information codes.
    Mirroring,
}

impl EventKind {
    const ALL: [Self; 11] = [
        Self::RouterConnected,
        Self::Initiation,
        Self::Termination,
        Self::Disconnect,
        Self::PeerUp,
        Self::PeerSeen,
        Self::PeerDown,
        Self::PeerLost,
        Self::EndOfRib,
        Self::StaleSweep,
        Self::Mirroring,
    ];

    /// The code stored in the tuple.
    pub fn code(self) -> i16 {
        match self {
            Self::RouterConnected => 1,
            Self::Initiation => 2,
            Self::Termination => 3,
            Self::Disconnect => 4,
            Self::PeerUp => 5,
            Self::PeerSeen => 6,
            Self::PeerDown => 7,
            Self::EndOfRib => 8,
            Self::StaleSweep => 9,
            Self::Mirroring => 10,
            Self::PeerLost => 11,
        }
    }

    /// The kind of a stored code.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|k| i64::from(k.code()) == code)
    }
}

/// An event tuple read back.
#[derive(Clone, Copy, Debug)]
pub struct EventRow<'a> {
    /// What happened.
    pub kind: EventKind,
    /// When, in microseconds since the Unix epoch.
    pub ts: i64,
    /// The router.
    pub router_id: i64,
    /// The router's address.
    pub router_address: IpAddr,
    /// The peer, for peer events.
    pub peer_id: Option<i64>,
    /// The peer session's epoch.
    pub epoch: i64,
    /// Peer columns, for the kinds that carry them.
    pub peer: Option<PeerColumns<'a>>,
    /// First detail column.
    pub a: Option<&'a str>,
    /// Second detail column.
    pub b: Option<&'a str>,
}

/// The columns of a `peers` row carried by Peer Up and the first route of
/// a RIB.
#[derive(Clone, Copy, Debug)]
pub struct PeerColumns<'a> {
    /// Peer type name.
    pub peer_type: &'a str,
    /// Distinguisher, '' for global peers.
    pub rd: &'a str,
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub asn: i64,
    /// BGP identifier.
    pub bgp_id: IpAddr,
    /// RIB kind name.
    pub rib: &'a str,
}

impl<'a> EventRow<'a> {
    /// Reads the next event of a section.
    ///
    /// # Errors
    ///
    /// A malformed tuple or one missing a column its kind needs.
    pub fn next(r: &mut TupleReader<'a>) -> Result<Option<Self>, TupleError> {
        let Some(mut f) = r.next_tuple(EVENT_FIELDS as usize)? else {
            return Ok(None);
        };
        let missing = TupleError::missing;
        let kind = f
            .int()
            .and_then(EventKind::from_code)
            .ok_or(missing("event kind"))?;
        let ts = f.timestamptz().ok_or(missing("ts"))?;
        let router_id = f.int().ok_or(missing("router id"))?;
        let router_address = f.inet().ok_or(missing("router address"))?.0;
        let peer_id = f.int();
        let epoch = f.int().ok_or(missing("epoch"))?;
        let peer_type = f.text();
        let peer = match peer_type {
            Some(peer_type) => Some(PeerColumns {
                peer_type,
                rd: f.text().ok_or(missing("rd"))?,
                address: f.inet().ok_or(missing("peer address"))?.0,
                asn: f.int().ok_or(missing("peer as"))?,
                bgp_id: f.inet().ok_or(missing("bgp id"))?.0,
                rib: f.text().ok_or(missing("rib"))?,
            }),
            None => {
                for _ in 0..5 {
                    f.raw();
                }
                None
            }
        };
        Ok(Some(Self {
            kind,
            ts,
            router_id,
            router_address,
            peer_id,
            epoch,
            peer,
            a: f.text(),
            b: f.text(),
        }))
    }
}

/// One batch of rows for a store.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The stream (shard and process run) the batch belongs to.
    pub stream: Arc<str>,
    /// Its number in the stream, from 1, increasing.
    pub seq: u64,
    /// Attribute set tuples ([`ATTR_FIELDS`]).
    pub attrs: Vec<u8>,
    /// Route tuples ([`ROUTE_FIELDS`]).
    pub routes: Vec<u8>,
    /// History tuples ([`HISTORY_FIELDS`]), one per route tuple.
    pub history: Vec<u8>,
    /// Statistics tuples ([`STAT_FIELDS`]).
    pub stats: Vec<u8>,
    /// Event tuples ([`EVENT_FIELDS`]), applied after the routes.
    pub events: Vec<u8>,
    /// Number of route tuples.
    pub route_count: u32,
    /// How many of them are withdrawals.
    pub withdraw_count: u32,
    /// When the first row went in (not stored: for the batch timeout).
    pub opened: Option<Instant>,
    /// Wall-clock time the first row went in, in microseconds since the
    /// Unix epoch (0: unknown); stored with the batch, so the latency
    /// from arrival to commit counts the time a batch spent spilled.
    pub arrived_us: i64,
}

/// A spill record that cannot be read back.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum BatchError {
    /// The record is cut short or its lengths disagree.
    #[error("truncated batch record")]
    Truncated,
    /// Not a batch record of this version.
    #[error("not a batch record")]
    BadMagic,
}

/// Records of this version carry the arrival time.
const MAGIC: &[u8; 4] = b"RTB3";

/// Records of the version before (no arrival time), still read.
const MAGIC_V2: &[u8; 4] = b"RTB2";

impl Batch {
    /// Whether the batch holds no row at all.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
            && self.routes.is_empty()
            && self.history.is_empty()
            && self.stats.is_empty()
            && self.events.is_empty()
    }

    /// Octets of row data held.
    pub fn size(&self) -> usize {
        self.attrs.len()
            + self.routes.len()
            + self.history.len()
            + self.stats.len()
            + self.events.len()
    }

    /// Appends the batch as one record: magic, stream, sequence number,
    /// route and withdrawal counts, arrival time and the five sections,
    /// each length-prefixed.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        let stream = self.stream.as_bytes();
        put_section(out, stream);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.route_count.to_be_bytes());
        out.extend_from_slice(&self.withdraw_count.to_be_bytes());
        out.extend_from_slice(&self.arrived_us.to_be_bytes());
        for s in [
            &self.attrs,
            &self.routes,
            &self.history,
            &self.stats,
            &self.events,
        ] {
            put_section(out, s);
        }
    }

    /// Reads a record written by [`Self::encode`].
    ///
    /// # Errors
    ///
    /// A record that is not one, or cut short.
    pub fn decode(mut rec: &[u8]) -> Result<Self, BatchError> {
        let magic = take(&mut rec, 4)?;
        if magic != MAGIC && magic != MAGIC_V2 {
            return Err(BatchError::BadMagic);
        }
        let stream = std::str::from_utf8(take_section(&mut rec)?)
            .map_err(|_| BatchError::BadMagic)?
            .into();
        let seq = u64::from_be_bytes(
            take(&mut rec, 8)?
                .try_into()
                .map_err(|_| BatchError::Truncated)?,
        );
        let route_count = u32::from_be_bytes(
            take(&mut rec, 4)?
                .try_into()
                .map_err(|_| BatchError::Truncated)?,
        );
        let withdraw_count = u32::from_be_bytes(
            take(&mut rec, 4)?
                .try_into()
                .map_err(|_| BatchError::Truncated)?,
        );
        let arrived_us = if magic == MAGIC {
            i64::from_be_bytes(
                take(&mut rec, 8)?
                    .try_into()
                    .map_err(|_| BatchError::Truncated)?,
            )
        } else {
            0
        };
        let mut sections: [Vec<u8>; 5] = Default::default();
        for s in &mut sections {
            *s = take_section(&mut rec)?.to_vec();
        }
        if !rec.is_empty() {
            return Err(BatchError::Truncated);
        }
        let [attrs, routes, history, stats, events] = sections;
        Ok(Self {
            stream,
            seq,
            attrs,
            routes,
            history,
            stats,
            events,
            route_count,
            withdraw_count,
            opened: None,
            arrived_us,
        })
    }
}

fn put_section(out: &mut Vec<u8>, s: &[u8]) {
    // Sections are bounded by the batch size, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s);
}

fn take<'a>(rec: &mut &'a [u8], n: usize) -> Result<&'a [u8], BatchError> {
    let (head, tail) = rec.split_at_checked(n).ok_or(BatchError::Truncated)?;
    *rec = tail;
    Ok(head)
}

fn take_section<'a>(rec: &mut &'a [u8]) -> Result<&'a [u8], BatchError> {
    let len = take(rec, 4)?;
    let len = u32::from_be_bytes(len.try_into().map_err(|_| BatchError::Truncated)?);
    take(
        rec,
        usize::try_from(len).map_err(|_| BatchError::Truncated)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::copy::TupleWriter;

    #[test]
    fn record_round_trip_and_truncation() {
        let mut b = Batch {
            stream: "s-1".into(),
            seq: 42,
            route_count: 1,
            arrived_us: 1_700_000_000_123_456,
            ..Batch::default()
        };
        TupleWriter::new(&mut b.routes, 1).int8(7);
        TupleWriter::new(&mut b.events, 1).display("x");
        let mut rec = Vec::new();
        b.encode(&mut rec);
        let back = Batch::decode(&rec).unwrap();
        assert_eq!((&*back.stream, back.seq, back.route_count), ("s-1", 42, 1));
        assert_eq!(back.arrived_us, b.arrived_us);
        assert_eq!((back.routes, back.events), (b.routes, b.events));
        assert!(back.attrs.is_empty() && back.stats.is_empty());
        for cut in 0..rec.len() {
            assert!(Batch::decode(&rec[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(Batch::decode(b"XXXX").err(), Some(BatchError::BadMagic));
    }

    #[test]
    fn records_of_the_version_before_are_read() {
        // A spill file of the previous version: no arrival time.
        let b = Batch {
            stream: "s-1".into(),
            seq: 7,
            ..Batch::default()
        };
        let mut rec = Vec::new();
        b.encode(&mut rec);
        // Drop the arrival time (after magic, stream, seq and counts).
        let at = 4 + 4 + 3 + 8 + 4 + 4;
        rec.drain(at..at + 8);
        rec[..4].copy_from_slice(MAGIC_V2);
        let back = Batch::decode(&rec).unwrap();
        assert_eq!((back.seq, back.arrived_us), (7, 0));
    }

    #[test]
    fn event_codes_are_distinct_and_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_code(i64::from(k.code())), Some(k));
        }
        assert_eq!(EventKind::from_code(0), None);
    }
}
