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
//!   Peer Up. Such a peer gets an epoch of its own per session and ends
//!   with the session as with Peer Down (nothing would sweep a re-dump
//!   of it).
//! - After a Peer Up, the re-dump is complete for a RIB when End-of-RIB has
//!   come for every family both OPENs negotiated; then the sink sweeps
//!   that RIB's routes from earlier epochs. Where End-of-RIB never comes,
//!   the stale timeout sweeps every RIB of the peer.
//! - When the session ends (Termination, or the TCP session lost), every
//!   peer ends, as with Peer Down (the PostgreSQL store keeps the hidden
//!   rows for a while, so that the router's re-dump need not rewrite what
//!   did not change).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{debug, info};

use crate::sink::{PeerEnd, Sink};
use crate::telemetry;
use crate::wire::WireError;
use crate::wire::bgp::afi_safi::{AfiSafi, IPV4_UNICAST};
use crate::wire::bgp::nlri::RouteDistinguisher;
use crate::wire::bgp::open::Capability;
use crate::wire::bgp::session::SessionContext;
use crate::wire::bgp::update::Issues;
use crate::wire::bmp::BmpMessage;
use crate::wire::bmp::header::{PeerType, PerPeerHeader, RibKind};
use crate::wire::bmp::peer_up::PeerUp;
use crate::wire::bmp::route_monitoring::RouteMonitoring;
use crate::wire::frame::{Frame, MessageType};

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
    /// Bit `RibKind::code()` set: a Peer Up for that RIB came in this epoch.
    up_ribs: u8,
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

impl Peer {
    /// A peer known only from its Route Monitoring messages (the default
    /// context, nothing to sweep): kept so that the end of the session
    /// ends it too. Its epoch is above those of its earlier sessions, so
    /// that their end does not hide its routes.
    fn without_peer_up() -> Self {
        Self {
            contexts: [SessionContext::FOUR_OCTET; 5],
            epoch: next_epoch(0),
            up_ribs: 0,
            families: Vec::new(),
            eor: Default::default(),
            swept: [true; 5],
            sweep_deadline: Instant::now(),
        }
    }
}

/// Counters of one session, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct SessionCounters {
    /// BMP messages handled.
    pub messages: u64,
    /// BMP messages by type code (index 7: any other type).
    pub by_type: [u64; 8],
    /// Routes announced to the sink.
    pub announced: u64,
    /// Routes withdrawn to the sink.
    pub withdrawn: u64,
    /// Peer Up messages.
    pub peer_ups: u64,
    /// Peers ended (Peer Down, Termination, session end).
    pub peer_downs: u64,
    /// Peers up now.
    pub peers_up: u64,
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
    /// Looked up for every message: hashed with foldhash (seeded per
    /// map), not SipHash, which took 5% of a shard's time in profiles.
    peers: HashMap<PeerKey, Peer, foldhash::fast::RandomState>,
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
            peers: HashMap::default(),
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
        let code = usize::from(frame.msg_type.to_u8()).min(7);
        if let Some(n) = self.counters.by_type.get_mut(code) {
            *n += 1;
        }
        // Route Monitoring, nearly every message, skips the general enum.
        if frame.msg_type == MessageType::RouteMonitoring {
            match RouteMonitoring::parse(frame.body) {
                Ok(rm) => self.route_monitoring(&rm, sink),
                Err(e) => self.skipped(e),
            }
            return Flow::Continue;
        }
        let msg = match BmpMessage::parse(frame) {
            Ok(m) => m,
            Err(e) => {
                self.skipped(e);
                return Flow::Continue;
            }
        };
        match msg {
            BmpMessage::RouteMonitoring(rm) => self.route_monitoring(&rm, sink),
            BmpMessage::PeerUp(up) => self.peer_up(&up, now, sink),
            BmpMessage::PeerDown(down) => {
                let key = PeerKey::of(&down.peer);
                let epoch = self.peers.remove(&key).map_or(0, |p| {
                    self.counters.peers_up = self
                        .counters
                        .peers_up
                        .saturating_sub(u64::from(p.up_ribs != 0));
                    p.epoch
                });
                self.counters.peer_downs += 1;
                telemetry::peer_down(
                    self.router.ip(),
                    down.peer.address,
                    down.reason.code(),
                    down.reason.name(),
                );
                sink.peer_down(self.router, key, epoch, PeerEnd::PeerDown(&down));
            }
            BmpMessage::StatisticsReport(s) => sink.stats(self.router, PeerKey::of(&s.peer), &s),
            BmpMessage::Initiation(i) => {
                info!(sys_name = ?i.sys_name(), sys_descr = ?i.sys_descr(), "initiation from the router");
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

    /// Counts a message that did not decode and keeps its error for the log.
    fn skipped(&mut self, e: WireError) {
        self.counters.bad_messages += 1;
        self.last_error = Some(e);
    }

    fn route_monitoring(&mut self, rm: &RouteMonitoring<'_>, sink: &mut impl Sink) {
        let key = PeerKey::of(&rm.peer);
        let rib = rm.peer.rib_kind();
        let p = self.peers.entry(key).or_insert_with(Peer::without_peer_up);
        if p.up_ribs == 0 {
            self.counters.without_peer_up += 1;
        }
        let (ctx, epoch) = (ctx_for(&p.contexts, rib), p.epoch);
        let update = match rm.update(&ctx) {
            Ok(u) => u,
            Err(e) => {
                self.counters.bad_updates += 1;
                self.last_error = Some(e);
                return;
            }
        };
        if update.treat_as_withdraw() {
            self.counters.treat_as_withdraw += 1;
        }
        if update.issues().contains(Issues::ADD_PATH_MISMATCH) {
            self.counters.add_path_mismatch += 1;
        }
        self.counters.announced += u64::from(update.announced_count());
        self.counters.withdrawn += u64::from(update.withdrawn_count());
        for route in update.routes() {
            debug!(peer = %key.address, rib = rib.name(), action = ?route.action, prefix = %route.nlri.prefix, path_id = ?route.nlri.path_id, "route");
            sink.route(self.router, key, &rm.peer, epoch, &update, &route);
        }
        if let Some(family) = update.end_of_rib() {
            sink.end_of_rib(self.router, key, rib, family);
            self.end_of_rib(key, rib, family, sink);
        }
    }

    fn peer_up(&mut self, up: &PeerUp<'_>, now: Instant, sink: &mut impl Sink) {
        let key = PeerKey::of(&up.peer);
        let bit = 1u8 << up.peer.rib_kind().code();
        self.counters.peer_ups += 1;
        let contexts = up.contexts();
        // Some routers send one Peer Up per RIB (pre-, post-policy, ...)
        // of the same BGP session: those join the current epoch. A second
        // Peer Up for a RIB that is already up starts a new session.
        if let Some(p) = self.peers.get_mut(&key)
            && p.up_ribs != 0
            && p.up_ribs & bit == 0
        {
            p.up_ribs |= bit;
            p.contexts = contexts;
            sink.peer_up(self.router, key, p.epoch, up);
            return;
        }
        let (previous, was_up) = self
            .peers
            .get(&key)
            .map_or((0, false), |p| (p.epoch, p.up_ribs != 0));
        let epoch = next_epoch(previous);
        self.counters.peers_up += u64::from(!was_up);
        telemetry::peer_up(
            self.router.ip(),
            up.peer.address,
            up.peer.asn,
            up.peer.rib_kind().name(),
        );
        let peer = Peer {
            contexts,
            epoch,
            up_ribs: bit,
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
            sink.sweep_stale(self.router, key, rib, p.epoch);
        }
    }

    /// Sweeps the RIBs whose re-dump ran past the stale timeout.
    pub fn poll_timers(&mut self, now: Instant, sink: &mut impl Sink) {
        for (key, p) in &mut self.peers {
            if now < p.sweep_deadline {
                continue;
            }
            for (rib, swept) in RibKind::ALL.iter().zip(&mut p.swept) {
                if !*swept {
                    *swept = true;
                    sink.sweep_stale(self.router, *key, *rib, p.epoch);
                }
            }
        }
    }

    /// Ends the session because the TCP connection ended without
    /// Termination: every peer ends as with Peer Down. Returns the final
    /// counters.
    pub fn disconnected(mut self, why: &'static str, sink: &mut impl Sink) -> SessionCounters {
        self.end_peers(PeerEnd::Disconnect(why), sink);
        sink.router_disconnected(self.router, None);
        self.counters
    }

    fn end_peers(&mut self, end: PeerEnd<'_>, sink: &mut impl Sink) {
        let why = match end {
            PeerEnd::Disconnect(why) | PeerEnd::WithoutPeerUp(why) => why,
            PeerEnd::Termination | PeerEnd::PeerDown(_) => "router sent Termination",
        };
        for (key, p) in self.peers.drain() {
            if p.up_ribs == 0 {
                sink.peer_down(self.router, key, p.epoch, PeerEnd::WithoutPeerUp(why));
                continue;
            }
            self.counters.peer_downs += 1;
            telemetry::peer_down(self.router.ip(), key.address, 0, why);
            sink.peer_down(self.router, key, p.epoch, end);
        }
        self.counters.peers_up = 0;
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
pub fn negotiated_families(up: &PeerUp<'_>) -> Vec<AfiSafi> {
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::sink::NullSink;
    use crate::synth;
    use crate::wire::bgp::afi_safi::IPV6_UNICAST;
    use crate::wire::bgp::update::{Route, Update};
    use crate::wire::bmp::header::PeerFlags;
    use crate::wire::bmp::messages::{Initiation, RouteMirroring, Termination};
    use crate::wire::bmp::stats::StatisticsReport;
    use crate::wire::encode::{self, UpdateBuilder};
    use crate::wire::frame::{DEFAULT_MAX_MESSAGE_LEN, Frames};

    /// Records peer-up epochs and sweeps; counts the rest.
    #[derive(Default)]
    struct Recorder {
        null: NullSink,
        ups: Vec<u64>,
        sweeps: Vec<(RibKind, u64)>,
        route_epochs: Vec<u64>,
        ends: Vec<String>,
    }

    impl Sink for Recorder {
        fn router_connected(&mut self, r: SocketAddr) {
            self.null.router_connected(r);
        }
        fn initiation(&mut self, r: SocketAddr, m: &Initiation<'_>) {
            self.null.initiation(r, m);
        }
        fn router_disconnected(&mut self, r: SocketAddr, t: Option<&Termination<'_>>) {
            self.null.router_disconnected(r, t);
        }
        fn peer_up(&mut self, _: SocketAddr, _: PeerKey, epoch: u64, _: &PeerUp<'_>) {
            self.ups.push(epoch);
        }
        fn peer_down(&mut self, r: SocketAddr, p: PeerKey, epoch: u64, e: PeerEnd<'_>) {
            self.ends.push(format!("{e:?} {epoch}"));
            self.null.peer_down(r, p, epoch, e);
        }
        fn route(
            &mut self,
            _: SocketAddr,
            _: PeerKey,
            _: &PerPeerHeader,
            epoch: u64,
            _: &Update<'_>,
            _: &Route<'_>,
        ) {
            self.route_epochs.push(epoch);
        }
        fn end_of_rib(&mut self, r: SocketAddr, p: PeerKey, rib: RibKind, f: AfiSafi) {
            self.null.end_of_rib(r, p, rib, f);
        }
        fn sweep_stale(&mut self, _: SocketAddr, _: PeerKey, rib: RibKind, epoch: u64) {
            self.sweeps.push((rib, epoch));
        }
        fn stats(&mut self, r: SocketAddr, p: PeerKey, m: &StatisticsReport<'_>) {
            self.null.stats(r, p, m);
        }
        fn mirroring(&mut self, r: SocketAddr, p: PeerKey, m: &RouteMirroring<'_>) {
            self.null.mirroring(r, p, m);
        }
        fn flush(&mut self) {}
    }

    fn feed(s: &mut Session, bytes: &[u8], now: Instant, sink: &mut Recorder) {
        for f in Frames::new(bytes, DEFAULT_MAX_MESSAGE_LEN) {
            s.handle(f.unwrap(), now, sink);
        }
    }

    fn router() -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1790)
    }

    /// An UPDATE announcing 10.0.0.0/8.
    fn ten_slash_eight() -> UpdateBuilder {
        let p = crate::wire::bgp::nlri::Prefix::new("10.0.0.0".parse().unwrap(), 8).unwrap();
        synth::announcement(Ipv4Addr::new(192, 0, 2, 1), &[p]).unwrap()
    }

    #[test]
    fn peer_up_per_rib_joins_the_epoch_and_sweeps_per_rib() {
        let mut sink = Recorder::default();
        let now = Instant::now();
        let mut s = Session::new(router(), Duration::from_secs(60), &mut sink);
        let pre = synth::peer_header(1, PeerType::Global, 0, 1);
        let post = synth::peer_header(1, PeerType::Global, PeerFlags::L, 1);
        let mut bytes = Vec::new();
        synth::peer_up(&mut bytes, &pre, false).unwrap();
        synth::peer_up(&mut bytes, &post, false).unwrap();
        let b = ten_slash_eight();
        encode::route_monitoring(&mut bytes, &post, &b).unwrap();
        synth::end_of_rib(&mut bytes, &post).unwrap();
        feed(&mut s, &bytes, now, &mut sink);
        assert_eq!(sink.ups.len(), 2);
        assert_eq!(sink.ups[0], sink.ups[1], "one BGP session, one epoch");
        assert_eq!(sink.route_epochs, [sink.ups[0]]);
        // End-of-RIB for both negotiated families of the post-policy RIB
        // sweeps that RIB only.
        assert_eq!(sink.sweeps, [(RibKind::AdjRibInPost, sink.ups[0])]);

        // The same RIB coming up again is a new session: a new epoch.
        let mut again = Vec::new();
        synth::peer_up(&mut again, &pre, false).unwrap();
        feed(&mut s, &again, now, &mut sink);
        assert!(sink.ups[2] > sink.ups[0]);

        // Past the stale timeout, every RIB not yet swept is swept.
        s.poll_timers(now + Duration::from_secs(61), &mut sink);
        assert_eq!(sink.sweeps.len(), 1 + 5);
        assert!(sink.sweeps[1..].iter().all(|&(_, e)| e == sink.ups[2]));
    }

    #[test]
    fn eor_needs_every_negotiated_family() {
        let mut sink = Recorder::default();
        let now = Instant::now();
        let mut s = Session::new(router(), Duration::from_secs(60), &mut sink);
        let pre = synth::peer_header(1, PeerType::Global, 0, 1);
        let mut bytes = Vec::new();
        synth::peer_up(&mut bytes, &pre, false).unwrap();
        // IPv6 End-of-RIB only: IPv4 unicast is still being dumped.
        let mut b = UpdateBuilder::new();
        b.mp_unreach(IPV6_UNICAST, [], false).unwrap();
        encode::route_monitoring(&mut bytes, &pre, &b).unwrap();
        feed(&mut s, &bytes, now, &mut sink);
        assert!(sink.sweeps.is_empty());
        assert_eq!(sink.null.counts.end_of_rib, 1);
    }

    #[test]
    fn disconnect_ends_every_peer() {
        let mut sink = Recorder::default();
        let mut s = Session::new(router(), Duration::from_secs(60), &mut sink);
        let mut bytes = Vec::new();
        for n in 1..=3 {
            synth::peer_up(
                &mut bytes,
                &synth::peer_header(n, PeerType::Global, 0, 1),
                false,
            )
            .unwrap();
        }
        feed(&mut s, &bytes, Instant::now(), &mut sink);
        s.disconnected("test", &mut sink);
        assert_eq!(
            (
                sink.null.counts.peers_down,
                sink.null.counts.routers_disconnected
            ),
            (3, 1)
        );
    }

    #[test]
    fn peer_without_peer_up_has_an_epoch_per_session_and_ends_as_peer_down() {
        let loc_rib = synth::peer_header(1, PeerType::LocRib, 0, 1);
        let b = ten_slash_eight();
        let mut bytes = Vec::new();
        encode::route_monitoring(&mut bytes, &loc_rib, &b).unwrap();
        let mut sink = Recorder::default();
        let mut epochs = Vec::new();
        for _ in 0..2 {
            let mut s = Session::new(router(), Duration::from_secs(60), &mut sink);
            feed(&mut s, &bytes, Instant::now(), &mut sink);
            s.disconnected("test", &mut sink);
            epochs.push(sink.route_epochs.pop().unwrap());
        }
        // A later session's routes are not below an earlier one's end.
        assert!(epochs[0] > 0 && epochs[1] > epochs[0], "{epochs:?}");
        assert_eq!(
            sink.ends,
            [
                format!("WithoutPeerUp(\"test\") {}", epochs[0]),
                format!("WithoutPeerUp(\"test\") {}", epochs[1])
            ]
        );
        assert!(sink.ups.is_empty() && sink.sweeps.is_empty());
    }
}
