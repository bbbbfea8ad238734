//! `riptide decode FILE`: one JSON object per BMP message of a raw BMP
//! stream or of the TCP flows of a pcap, with every decoded field and one
//! entry per route. Operators use it to inspect captures; tests use it to
//! compare our decoding with other decoders.
//!
//! Each router stream keeps the decoding context of its peers, taken from
//! their Peer Up messages, exactly as the collector does. A message that
//! does not decode becomes an object with `"error"` and a hex sample; a
//! framing error ends that stream (it is out of sync from there on).

use std::collections::HashMap;
use std::fmt::{self, Display, Write as _};
use std::io::{self, Write};

use crate::capture;
use crate::session::PeerKey;
use crate::wire::bgp::session::SessionContext;
use crate::wire::bgp::update::{Action, MpNlri, Update};
use crate::wire::bmp::BmpMessage;
use crate::wire::bmp::header::PerPeerHeader;
use crate::wire::bmp::peer_down::PeerDownReason;
use crate::wire::bmp::peer_up::PeerUp;
use crate::wire::bmp::stats::{StatValue, stat_name};
use crate::wire::frame::{DEFAULT_MAX_MESSAGE_LEN, Frames};

/// At most this many octets of a bad message are shown, as hex.
const HEX_SAMPLE: usize = 256;

/// Totals of a decode run.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Summary {
    /// Router streams read.
    pub streams: u64,
    /// Messages decoded, by BMP message type code (index 7: unknown types).
    pub messages: [u64; 8],
    /// Routes announced.
    pub announced: u64,
    /// Routes withdrawn (treat-as-withdraw included).
    pub withdrawn: u64,
    /// End-of-RIB markers.
    pub end_of_rib: u64,
    /// Messages that failed to decode, and framing errors.
    pub errors: u64,
}

impl Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [rm, st, pd, pu, init, term, mirr, unk] = self.messages;
        write!(
            f,
            "streams={} route_monitoring={rm} stats={st} peer_down={pd} peer_up={pu} \
             initiation={init} termination={term} route_mirroring={mirr} unknown={unk} \
             announced={} withdrawn={} end_of_rib={} errors={}",
            self.streams, self.announced, self.withdrawn, self.end_of_rib, self.errors
        )
    }
}

/// Decodes `data`, a pcap or a raw BMP stream, writing JSON lines to `out`.
pub fn decode_file(data: &[u8], out: &mut impl Write) -> io::Result<Summary> {
    let mut summary = Summary::default();
    if capture::is_pcap(data) || capture::is_pcapng(data) {
        let cap = capture::read(data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        for flow in &cap.flows {
            let router = flow.src.to_string();
            decode_stream(&flow.payload, Some(&router), out, &mut summary)?;
        }
    } else {
        decode_stream(data, None, out, &mut summary)?;
    }
    Ok(summary)
}

/// Decoding contexts of a peer, one per RIB kind (by [`RibKind::code`]).
type Contexts = [SessionContext; 5];

/// Decodes one router's BMP stream.
pub fn decode_stream(
    data: &[u8],
    router: Option<&str>,
    out: &mut impl Write,
    summary: &mut Summary,
) -> io::Result<()> {
    summary.streams += 1;
    let mut peers: HashMap<PeerKey, Contexts> = HashMap::new();
    let mut frames = Frames::new(data, DEFAULT_MAX_MESSAGE_LEN);
    let mut line = String::new();
    let mut offset = 0usize;
    let mut in_sync = true;
    while let Some(frame) = frames.next() {
        line.clear();
        let mut j = Obj::new(&mut line);
        j.field("router", router.map(Str));
        j.field("offset", Some(offset));
        match frame {
            Ok(frame) => {
                let len = frame.wire_len();
                match BmpMessage::parse(frame) {
                    Ok(msg) => {
                        let code = frame.msg_type.to_u8();
                        if let Some(n) = summary.messages.get_mut(usize::from(code.min(7))) {
                            *n += 1;
                        }
                        message(&mut j, &msg, &mut peers, summary);
                    }
                    Err(e) => {
                        summary.errors += 1;
                        j.field("type", Some(Str(frame.msg_type.name())));
                        j.field("error", Some(Str(e)));
                        j.field("hex", Some(Str(Hex(frame.body))));
                    }
                }
                offset += len;
            }
            Err(e) => {
                summary.errors += 1;
                in_sync = false;
                j.field(
                    "error",
                    Some(Str(format!("framing: {e}; rest of stream skipped"))),
                );
                j.field("hex", Some(Str(Hex(frames.remainder()))));
            }
        }
        j.end();
        writeln!(out, "{line}")?;
    }
    if in_sync && !frames.remainder().is_empty() {
        summary.errors += 1;
        writeln!(
            out,
            "{{\"offset\":{offset},\"error\":\"stream ends inside a message ({} octets)\"}}",
            frames.remainder().len()
        )?;
    }
    Ok(())
}

fn message(
    j: &mut Obj<'_>,
    msg: &BmpMessage<'_>,
    peers: &mut HashMap<PeerKey, Contexts>,
    summary: &mut Summary,
) {
    j.field("type", Some(Str(msg.msg_type().name())));
    if let Some(h) = msg.peer() {
        j.key("peer");
        let mut o = Obj::new(j.out());
        peer_header(&mut o, h);
        o.end();
    }
    match msg {
        BmpMessage::RouteMonitoring(rm) => {
            let rib = rm.peer.rib_kind();
            let ctx = peers
                .get(&PeerKey::of(&rm.peer))
                .and_then(|c| c.get(usize::from(rib.code())).copied())
                .unwrap_or(SessionContext::FOUR_OCTET);
            match rm.update(&ctx) {
                Ok(u) => {
                    j.key("update");
                    let mut o = Obj::new(j.out());
                    update(&mut o, &u, summary);
                    o.end();
                }
                Err(e) => {
                    summary.errors += 1;
                    j.field("error", Some(Str(e)));
                    j.field("hex", Some(Str(Hex(rm.update_body))));
                }
            }
        }
        BmpMessage::PeerUp(up) => {
            peers.insert(PeerKey::of(&up.peer), up.contexts());
            peer_up(j, up);
        }
        BmpMessage::PeerDown(d) => {
            peers.remove(&PeerKey::of(&d.peer));
            j.field("reason", Some(Str(d.reason.name())));
            j.field("reason_code", Some(d.reason.code()));
            match d.reason {
                PeerDownReason::LocalNotification(n) | PeerDownReason::RemoteNotification(n) => {
                    j.field(
                        "notification",
                        Some(Str(format_args!("{}/{}", n.code, n.subcode))),
                    );
                }
                PeerDownReason::LocalNoNotification(fsm) => j.field("fsm_event", Some(fsm)),
                PeerDownReason::LocalSystemClosed(t) => tlvs(j, "info", t.iter()),
                PeerDownReason::Unknown { data, .. } => j.field("data", Some(Str(Hex(data)))),
                PeerDownReason::RemoteNoData | PeerDownReason::PeerDeconfigured => {}
            }
        }
        BmpMessage::StatisticsReport(s) => {
            j.key("stats");
            let mut a = Arr::new(j.out());
            for st in s.stats() {
                let mut o = Obj::new(a.item());
                o.field("type", Some(st.stat_type));
                o.field("name", stat_name(st.stat_type).map(Str));
                if let Some(f) = st.value.afi_safi() {
                    o.field("afi", Some(f.afi));
                    o.field("safi", Some(f.safi));
                }
                o.field("value", st.value.as_u64());
                if let StatValue::Raw(r) = st.value {
                    o.field("raw", Some(Str(Hex(r))));
                }
                o.end();
            }
            a.end();
        }
        BmpMessage::Initiation(i) => {
            j.field("sys_name", i.sys_name().map(Str));
            j.field("sys_descr", i.sys_descr().map(Str));
            tlvs(j, "info", i.info.iter());
        }
        BmpMessage::Termination(t) => {
            j.field("reason_code", t.reason());
            tlvs(j, "info", t.info.iter());
        }
        BmpMessage::RouteMirroring(m) => {
            j.field("info_codes", Some(List(m.info_codes())));
            j.field("bgp_messages", Some(m.bgp_messages().count()));
            tlvs(j, "tlvs", m.tlvs.iter());
        }
        BmpMessage::Unknown { body, .. } => j.field("body", Some(Str(Hex(body)))),
    }
}

fn peer_header(j: &mut Obj<'_>, h: &PerPeerHeader) {
    j.field("peer_type", Some(h.peer_type.to_u8()));
    j.field("flags", Some(h.flags.0));
    j.field("rib", Some(Str(h.rib_kind().name())));
    j.field(
        "rd",
        (!h.distinguisher.is_zero()).then_some(Str(h.distinguisher)),
    );
    j.field("address", Some(Str(h.address)));
    j.field("asn", Some(h.asn));
    j.field("bgp_id", Some(Str(h.bgp_id)));
    j.field(
        "timestamp",
        Some(Str(format_args!("{}.{:06}", h.ts_sec, h.ts_usec))),
    );
}

fn peer_up(j: &mut Obj<'_>, up: &PeerUp<'_>) {
    j.field("local_address", Some(Str(up.local_address)));
    j.field("local_port", Some(up.local_port));
    j.field("remote_port", Some(up.remote_port));
    j.field("local_asn", Some(up.sent_open.asn()));
    j.field("local_bgp_id", Some(Str(up.sent_open.bgp_id)));
    j.field("remote_asn", Some(up.received_open.asn()));
    j.field("remote_bgp_id", Some(Str(up.received_open.bgp_id)));
    j.field("hold_time", Some(up.received_open.hold_time));
    j.field(
        "sent_capabilities",
        Some(List(up.sent_open.capabilities().map(|c| c.code()))),
    );
    j.field(
        "received_capabilities",
        Some(List(up.received_open.capabilities().map(|c| c.code()))),
    );
    let ctx = up.session_context();
    j.field("four_octet_as", Some(ctx.four_octet_as));
    j.field(
        "add_path",
        Some(List(ctx.add_path_families().map(|f| Str(f.name())))),
    );
    j.field("vrf_table_name", up.vrf_table_name().map(Str));
    tlvs(j, "info", up.info.iter());
}

fn tlvs<'a>(
    j: &mut Obj<'_>,
    key: &str,
    items: impl Iterator<Item = crate::wire::bmp::tlv::Tlv<'a>>,
) {
    j.key(key);
    let mut a = Arr::new(j.out());
    for t in items {
        let mut o = Obj::new(a.item());
        o.field("type", Some(t.tlv_type));
        match t.as_str() {
            Some(s) => o.field("text", Some(Str(s))),
            None => o.field("hex", Some(Str(Hex(t.value)))),
        }
        o.end();
    }
    a.end();
}

fn update(j: &mut Obj<'_>, u: &Update<'_>, summary: &mut Summary) {
    j.field("issues", Some(List(u.issues().names().map(Str))));
    if let Some(f) = u.end_of_rib() {
        summary.end_of_rib += 1;
        j.field("end_of_rib", Some(Str(f.name())));
        j.field("afi", Some(f.afi));
        j.field("safi", Some(f.safi));
    }
    j.key("attributes");
    let mut a = Obj::new(j.out());
    a.field("origin", u.origin().map(|o| Str(o.letter())));
    if let Some(p) = u.as_path() {
        a.field("as_path", Some(List(p.asns())));
        a.field(
            "as_path_segments",
            Some(List(
                p.segments()
                    .map(|s| Str(format!("{}:{}", s.kind.to_u8(), s.len()))),
            )),
        );
    }
    a.field("next_hop", u.next_hop_attr().map(Str));
    a.field("med", u.med());
    a.field("local_pref", u.local_pref());
    a.field("atomic_aggregate", u.atomic_aggregate().then_some(true));
    a.field(
        "aggregator",
        u.aggregator().map(|(asn, id)| Str(format!("{asn}:{id}"))),
    );
    a.field("communities", Some(List(u.communities().map(Str))));
    a.field("ext_communities", Some(List(u.ext_communities().map(Str))));
    a.field(
        "ipv6_ext_communities",
        Some(List(
            u.ipv6_ext_communities().map(|c| Str(Hex(&c).to_string())),
        )),
    );
    a.field(
        "large_communities",
        Some(List(u.large_communities().map(Str))),
    );
    a.field("originator_id", u.originator_id().map(Str));
    a.field("cluster_list", Some(List(u.cluster_list().map(Str))));
    a.field("otc", u.otc());
    if let Some(r) = u.mp_reach() {
        a.field("mp_next_hop", r.next_hop().map(Str));
        a.field("mp_link_local_next_hop", r.link_local_next_hop().map(Str));
    }
    a.key("other");
    let mut other = Arr::new(a.out());
    for x in u.unknown_attrs() {
        let mut o = Obj::new(other.item());
        o.field("flags", Some(x.flags));
        o.field("code", Some(x.code));
        o.field("hex", Some(Str(Hex(x.value))));
        o.end();
    }
    other.end();
    a.end();
    for (key, raw) in [
        (
            "raw_reach",
            u.mp_reach()
                .and_then(|r| raw_nlri(r.nlri).map(|n| (r.afi_safi, n))),
        ),
        (
            "raw_unreach",
            u.mp_unreach()
                .and_then(|r| raw_nlri(r.nlri).map(|n| (r.afi_safi, n))),
        ),
    ] {
        if let Some((f, n)) = raw {
            j.field(key, Some(Str(format_args!("{}:{}", f.name(), Hex(n)))));
        }
    }
    j.key("routes");
    let mut arr = Arr::new(j.out());
    for r in u.routes() {
        match r.action {
            Action::Announce => summary.announced += 1,
            Action::Withdraw => summary.withdrawn += 1,
        }
        let mut o = Obj::new(arr.item());
        o.field(
            "action",
            Some(Str(match r.action {
                Action::Announce => "announce",
                Action::Withdraw => "withdraw",
            })),
        );
        o.field("afi", Some(r.afi_safi.afi));
        o.field("safi", Some(r.afi_safi.safi));
        o.field("prefix", Some(Str(r.nlri.prefix)));
        o.field("path_id", r.nlri.path_id);
        o.field("rd", r.nlri.rd.map(Str));
        if !r.nlri.labels.is_empty() {
            o.field("labels", Some(List(r.nlri.labels.values())));
        }
        o.field("next_hop", r.next_hop.map(Str));
        o.end();
    }
    arr.end();
}

fn raw_nlri(n: MpNlri<'_>) -> Option<&[u8]> {
    match n {
        MpNlri::Raw(r) => Some(r),
        MpNlri::Decoded(_) => None,
    }
}

/// A JSON object being written.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    fn out(&mut self) -> &mut String {
        self.out
    }

    fn key(&mut self, k: &str) {
        separate(self.out, &mut self.first);
        let _ = write!(self.out, "\"{k}\":");
    }

    /// Writes `k: v`, or `k: null` for `None`.
    fn field(&mut self, k: &str, v: Option<impl Value>) {
        self.key(k);
        match v {
            Some(v) => v.write(self.out),
            None => self.out.push_str("null"),
        }
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// Writes the comma before every member of an object or array but the
/// first.
fn separate(out: &mut String, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(',');
    }
}

/// A JSON array being written.
struct Arr<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Arr<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('[');
        Self { out, first: true }
    }

    fn item(&mut self) -> &mut String {
        separate(self.out, &mut self.first);
        self.out
    }

    fn end(self) {
        self.out.push(']');
    }
}

/// Something that can be written as a JSON value.
trait Value {
    fn write(self, out: &mut String);
}

macro_rules! number_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn write(self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
number_value!(u8, u16, u32, u64, usize, bool);

/// A JSON string, from anything displayable.
struct Str<T>(T);

impl<T: Display> Value for Str<T> {
    fn write(self, out: &mut String) {
        out.push('"');
        let mut esc = Escape(out);
        let _ = write!(esc, "{}", self.0);
        out.push('"');
    }
}

/// Escapes what is written through it into JSON string content.
struct Escape<'a>(&'a mut String);

impl fmt::Write for Escape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if u32::from(c) < 0x20 => write!(self.0, "\\u{:04x}", u32::from(c))?,
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

/// A JSON array of values.
struct List<I>(I);

impl<I, V> Value for List<I>
where
    I: Iterator<Item = V>,
    V: Value,
{
    fn write(self, out: &mut String) {
        out.push('[');
        let mut first = true;
        for v in self.0 {
            separate(out, &mut first);
            v.write(out);
        }
        out.push(']');
    }
}

/// Octets as lower-case hex, cut at [`HEX_SAMPLE`] octets.
struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().take(HEX_SAMPLE) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > HEX_SAMPLE {
            write!(f, "...({} octets)", self.0.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings() {
        let mut s = String::new();
        Str("a\"b\\c\n").write(&mut s);
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn every_line_is_one_json_object() {
        let mut stream = Vec::new();
        crate::synth::router_stream(&mut stream, 2, 50, 20, 1, true).unwrap();
        let mut out = Vec::new();
        let s = decode_file(&stream, &mut out).unwrap();
        assert_eq!((s.errors, s.announced, s.end_of_rib), (0, 140, 4));
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect(line);
            assert!(v.is_object());
        }
    }

    #[test]
    fn garbage_is_one_error_line() {
        let mut out = Vec::new();
        let s = decode_file(&[0x07, 1, 2, 3], &mut out).unwrap();
        assert_eq!(s.errors, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("unsupported BMP version 7"), "{text}");
    }
}
