//! One router's BMP session: the state a shard keeps per connection, and
//! what each message does to it. No IO here: the connection loop
//! (`shard::conn`) feeds framed messages in and the [`Sink`] gets events
//! out, so the rules are testable without sockets.
//!
//! - Initiation names the router; Termination ends the session.
//! - Peer Up creates or revives a peer with a new epoch and its decoding
//!   context (4-octet AS, ADD-PATH per family and direction: RFC 7854
//!   §4.10, RFC 8671, RFC 9069). Peer Down ends the peer and its routes.
//! - Route Monitoring becomes one route event per NLRI. A Route Monitoring
//!   message for a peer that never came up is decoded with a default
//!   context and counted: some exporters (FRR's Loc-RIB) never send the
//!   Peer Up.
//! - After a Peer Up, the re-dump is complete for a RIB when End-of-RIB has
//!   come for every family both OPENs negotiated; then the sink sweeps
//!   that RIB's routes from earlier epochs. Where End-of-RIB never comes,
//!   the stale timeout sweeps every RIB of the peer.
//! - When the session ends (Termination, or the TCP session lost), every
//!   peer ends, exactly as with Peer Down.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::debug;

use crate::sink::{PeerEnd, Sink};
use crate::wire::WireError;
use crate::wire::bgp::afi_safi::{AfiSafi, IPV4_UNICAST};
use crate::wire::bgp::nlri::RouteDistinguisher;
use crate::wire::bgp::open::Capability;
use crate::wire::bgp::session::SessionContext;
use crate::wire::bmp::BmpMessage;
use crate::wire::bmp::header::{PeerType, PerPeerHeader, RibKind};
use crate::wire::bmp::peer_up::PeerUp;
use crate::wire::frame::Frame;

/// The RIB kinds, indexed by [`RibKind::code`].
const RIBS: [RibKind; 5] = [
    RibKind::AdjRibInPre,
    RibKind::AdjRibInPost,
    RibKind::LocRib,
    RibKind::AdjRibOutPre,
    RibKind::AdjRibOutPost,
];

/// Identifies a peer within one router session.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct PeerKey {
    /// Peer type.
    pub peer_type: PeerType,
    /// Peer distinguisher.
    pub rd: RouteDistinguisher,
    /// Peer address.
    pub address: IpAddr,
}

impl PeerKey {
    /// The key of the peer a per-peer header speaks of.
    pub fn of(h: &PerPeerHeader) -> Self {
        Self {
            peer_type: h.peer_type,
            rd: h.distinguisher,
            address: h.address,
        }
    }
}

/// What the session keeps per peer.
#[derive(Clone, Debug)]
struct Peer {
    /// Decoding context per RIB kind (by [`RibKind::code`]).
    contexts: [SessionContext; 5],
    /// The epoch of the current peer session.
    epoch: u64,
    /// Families negotiated by both OPENs: End-of-RIB for all of them ends
    /// the re-dump of a RIB.
    families: Vec<AfiSafi>,
    /// Per RIB kind: families that sent End-of-RIB in this epoch.
    eor: [Vec<AfiSafi>; 5],
    /// Per RIB kind: whether the stale sweep was done in this epoch.
    swept: [bool; 5],
    /// When the stale timeout sweeps what End-of-RIB did not.
    sweep_deadline: Instant,
}

/// Counters of one session, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct SessionCounters {
    /// BMP messages handled.
    pub messages: u64,
    /// Routes (announced and withdrawn) reported to the sink.
    pub routes: u64,
    /// BMP messages that did not decode (skipped).
    pub bad_messages: u64,
    /// UPDATEs that did not decode (skipped).
    pub bad_updates: u64,
    /// UPDATEs with RFC 7606 treat-as-withdraw.
    pub treat_as_withdraw: u64,
    /// UPDATEs read with ADD-PATH the other way round than negotiated.
    pub add_path_mismatch: u64,
    /// Route Monitoring for a peer that never sent Peer Up.
    pub without_peer_up: u64,
    /// Messages of unknown type.
    pub unknown_messages: u64,
}

/// Whether the connection goes on after a message.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// The router sent Termination: close the connection.
    Close,
}

/// One router connection's state.
#[derive(Debug)]
pub struct Session {
    router: SocketAddr,
    sys_name: Option<String>,
    peers: HashMap<PeerKey, Peer>,
    stale_timeout: Duration,
    counters: SessionCounters,
    /// Last error of a message that failed to decode, for the log.
    last_error: Option<WireError>,
}

impl Session {
    /// A new session for a router connecting from `router`.
    pub fn new(router: SocketAddr, stale_timeout: Duration, sink: &mut impl Sink) -> Self {
        sink.router_connected(router);
        Self {
            router,
            sys_name: None,
            peers: HashMap::new(),
            stale_timeout,
            counters: SessionCounters::default(),
            last_error: None,
        }
    }

    /// The router's address.
    pub fn router(&self) -> SocketAddr {
        self.router
    }

    /// The router's sysName, once Initiation came.
    pub fn sys_name(&self) -> Option<&str> {
        self.sys_name.as_deref()
    }

    /// Counters so far.
    pub fn counters(&self) -> SessionCounters {
        self.counters
    }

    /// Takes the error of the last message that failed to decode.
    pub fn take_error(&mut self) -> Option<WireError> {
        self.last_error.take()
    }

    /// Handles one framed message.
    pub fn handle(&mut self, frame: Frame<'_>, now: Instant, sink: &mut impl Sink) -> Flow {
        self.counters.messages += 1;
        let msg = match BmpMessage::parse(frame) {
            Ok(m) => m,
            Err(e) => {
                self.counters.bad_messages += 1;
                self.last_error = Some(e);
                return Flow::Continue;
            }
        };
        match msg {
            BmpMessage::RouteMonitoring(rm) => {
                let key = PeerKey::of(&rm.peer);
                let rib = rm.peer.rib_kind();
                let (ctx, epoch) = match self.peers.get(&key) {
                    Some(p) => (ctx_for(&p.contexts, rib), p.epoch),
                    None => {
                        self.counters.without_peer_up += 1;
                        (SessionContext::FOUR_OCTET, 0)
                    }
                };
                let update = match rm.update(&ctx) {
                    Ok(u) => u,
                    Err(e) => {
                        self.counters.bad_updates += 1;
                        self.last_error = Some(e);
                        return Flow::Continue;
                    }
                };
                let issues = update.issues();
                if update.treat_as_withdraw() {
                    self.counters.treat_as_withdraw += 1;
                }
                if issues.contains(crate::wire::bgp::update::Issues::ADD_PATH_MISMATCH) {
                    self.counters.add_path_mismatch += 1;
                }
                self.counters.routes +=
                    u64::from(update.announced_count()) + u64::from(update.withdrawn_count());
                for route in update.routes() {
                    debug!(peer = %key.address, rib = rib.name(), action = ?route.action, prefix = %route.nlri.prefix, path_id = ?route.nlri.path_id, "route");
                    sink.route(self.router, key, &rm.peer, epoch, &update, &route);
                }
                if let Some(family) = update.end_of_rib() {
                    sink.end_of_rib(self.router, key, rib, family);
                    self.end_of_rib(key, rib, family, sink);
                }
            }
            BmpMessage::PeerUp(up) => self.peer_up(&up, now, sink),
            BmpMessage::PeerDown(down) => {
                let key = PeerKey::of(&down.peer);
                self.peers.remove(&key);
                sink.peer_down(self.router, key, PeerEnd::PeerDown(&down));
            }
            BmpMessage::StatisticsReport(s) => sink.stats(self.router, PeerKey::of(&s.peer), &s),
            BmpMessage::Initiation(i) => {
                self.sys_name = i.sys_name().map(str::to_owned);
                sink.initiation(self.router, &i);
            }
            BmpMessage::Termination(t) => {
                self.end_peers(PeerEnd::Termination, sink);
                sink.router_disconnected(self.router, Some(&t));
                return Flow::Close;
            }
            BmpMessage::RouteMirroring(m) => sink.mirroring(self.router, PeerKey::of(&m.peer), &m),
            BmpMessage::Unknown { .. } => self.counters.unknown_messages += 1,
        }
        Flow::Continue
    }

    fn peer_up(&mut self, up: &PeerUp<'_>, now: Instant, sink: &mut impl Sink) {
        let key = PeerKey::of(&up.peer);
        let epoch = next_epoch(self.peers.get(&key).map_or(0, |p| p.epoch));
        let peer = Peer {
            contexts: RIBS.map(|rib| up.session_context_for(rib)),
            epoch,
            families: negotiated_families(up),
            eor: Default::default(),
            swept: [false; 5],
            sweep_deadline: now + self.stale_timeout,
        };
        self.peers.insert(key, peer);
        sink.peer_up(self.router, key, epoch, up);
    }

    fn end_of_rib(&mut self, key: PeerKey, rib: RibKind, family: AfiSafi, sink: &mut impl Sink) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let i = usize::from(rib.code());
        let (Some(eor), Some(swept)) = (p.eor.get_mut(i), p.swept.get_mut(i)) else {
            return;
        };
        if !eor.contains(&family) {
            eor.push(family);
        }
        if !*swept && p.families.iter().all(|f| eor.contains(f)) {
            *swept = true;
            sink.sweep_stale(self.router, key, p.epoch);
        }
    }

    /// Sweeps the RIBs whose re-dump ran past the stale timeout.
    pub fn poll_timers(&mut self, now: Instant, sink: &mut impl Sink) {
        for (key, p) in &mut self.peers {
            if now < p.sweep_deadline || p.swept.iter().all(|s| *s) {
                continue;
            }
            p.swept = [true; 5];
            sink.sweep_stale(self.router, *key, p.epoch);
        }
    }

    /// Ends the session because the TCP connection ended without
    /// Termination: every peer ends as with Peer Down.
    pub fn disconnected(mut self, sink: &mut impl Sink) {
        self.end_peers(PeerEnd::Disconnect, sink);
        sink.router_disconnected(self.router, None);
    }

    fn end_peers(&mut self, end: PeerEnd<'_>, sink: &mut impl Sink) {
        for (key, _) in self.peers.drain() {
            sink.peer_down(self.router, key, end);
        }
    }
}

fn ctx_for(contexts: &[SessionContext; 5], rib: RibKind) -> SessionContext {
    contexts
        .get(usize::from(rib.code()))
        .copied()
        .unwrap_or(SessionContext::FOUR_OCTET)
}

/// Families both OPENs announced (IPv4 unicast when neither announced
/// multiprotocol, RFC 4760 §1).
fn negotiated_families(up: &PeerUp<'_>) -> Vec<AfiSafi> {
    let mp = |caps: &mut dyn Iterator<Item = Capability<'_>>| -> Vec<AfiSafi> {
        caps.filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(f),
            _ => None,
        })
        .collect()
    };
    let sent = mp(&mut up.sent_open.capabilities());
    let received = mp(&mut up.received_open.capabilities());
    let mut both: Vec<AfiSafi> = sent.into_iter().filter(|f| received.contains(f)).collect();
    if both.is_empty() {
        both.push(IPV4_UNICAST);
    }
    both
}

/// A new epoch: microseconds since the Unix epoch, strictly above
/// `previous`, so epochs grow across reconnects and restarts.
fn next_epoch(previous: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    now.max(previous.saturating_add(1))
}
