//! Reading TCP byte streams, such as BMP sessions, out of packet captures.
//!
//! [`read`] takes a classic pcap file (the libpcap format, in either byte
//! order, with microsecond or nanosecond timestamps) and returns every TCP
//! flow in it that carried payload, reassembled into the byte stream the
//! receiving application saw. `riptide decode` uses it to accept a capture
//! in place of a raw BMP stream, and the load generator replays a flow with
//! its recorded timing from [`Flow::segments`].
//!
//! # What is understood
//!
//! - **Link types:** BSD loopback (0) and OpenBSD loopback (108), Ethernet
//!   (1) with any number of 802.1Q / 802.1ad (Q-in-Q) VLAN tags, raw IP (12,
//!   14, 101, 228 and 229), Linux cooked capture v1 (113) and v2 (276).
//!   Loopback and raw IP packets are told apart by their IP version nibble.
//! - **IPv4:** the header length (IHL) and total length are honoured, so
//!   Ethernet padding and trailing FCS bytes are ignored. A total length of
//!   0, as recorded on the sending host with segmentation offload, means
//!   "the rest of the frame".
//! - **IPv6:** hop-by-hop, routing and destination options extension
//!   headers are skipped on the way to TCP.
//! - **TCP:** the data offset is honoured; the payload is grouped by directed
//!   4-tuple (source and destination address and port).
//!
//! # Reassembly
//!
//! Each flow's payload is put in order by TCP sequence number, modulo 2^32
//! (RFC 9293, section 3.4), so a stream may wrap around and may be longer
//! than 4 GiB:
//!
//! - The stream starts right after the SYN's sequence number or, for a
//!   capture that began mid-connection, at the first captured segment that
//!   carried payload.
//! - Bytes already received (retransmissions, overlapping segments) are
//!   dropped: the first captured copy of each byte wins.
//! - Segments that arrive ahead of a hole wait until the hole is filled.
//! - A hole that is never filled ends the payload: [`Flow::payload`] is
//!   always a gap-free prefix of the real stream, and [`Flow::gaps`] counts
//!   the holes left behind it.
//! - A SYN with a new initial sequence number on a 4-tuple that already
//!   carried a connection starts a new [`Flow`].
//! - Packet generators such as scapy, which made pmacct's test captures,
//!   put payload on a SYN without letting the SYN take up a sequence number.
//!   When the first data segment after a SYN carrying payload starts exactly
//!   at the SYN's sequence number plus its payload length, the SYN is taken
//!   to take up no sequence space; otherwise it takes one, as RFC 9293 says.
//!
//! # Limits
//!
//! - pcapng files are recognised ([`is_pcapng`]) but not read; convert them
//!   with `editcap -F pcap`.
//! - IP fragments are not reassembled; they are skipped and counted in
//!   [`Capture::skipped_packets`], as are packets cut short by the snapshot
//!   length and packets with malformed headers.
//! - Checksums are not verified; FIN and RST are not interpreted.
//! - The whole file is held in memory and each flow's payload is copied
//!   once. A record may hold at most [`MAX_RECORD_LEN`] bytes.
//!
//! Nothing here panics on any input: every length read from the file is
//! checked before it is used.

#![forbid(unsafe_code)]

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Largest captured length accepted for one record, and for the snapshot
/// length in the file header: 256 KiB, libpcap's own `MAXIMUM_SNAPLEN`.
pub const MAX_RECORD_LEN: u32 = 256 * 1024;

/// Magic number of a pcap file with microsecond timestamps.
const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a pcap file with nanosecond timestamps.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// First four bytes of a pcapng file (the Section Header Block type), the
/// same in both byte orders.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Length of the pcap file header.
const FILE_HEADER_LEN: usize = 24;
/// Length of a pcap record header.
const RECORD_HEADER_LEN: usize = 16;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer VLAN tag.
const ETHERTYPE_VLAN: u16 = 0x8100;
/// 802.1ad service VLAN tag (Q-in-Q).
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard Q-in-Q tag, still used by some switches.
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// Length of one VLAN tag: TCI and the next ethertype.
const VLAN_TAG_LEN: usize = 4;

const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const TCP_MIN_HEADER_LEN: usize = 20;
/// IPv4 flags and fragment offset: More Fragments and the 13-bit offset.
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;

const IPPROTO_HOPOPTS: u8 = 0;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_ROUTING: u8 = 43;
const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_DSTOPTS: u8 = 60;

const TCP_FLAG_SYN: u8 = 0x02;

/// Sequence numbers less than this far ahead of the expected one are in
/// the future, the others in the past (RFC 9293, section 3.4).
const HALF_SEQUENCE_SPACE: u32 = 1 << 31;

/// Tells whether `data` starts with the magic number of a classic pcap file,
/// in either byte order, with microsecond or nanosecond timestamps.
#[must_use]
pub fn is_pcap(data: &[u8]) -> bool {
    magic(data).is_some()
}

/// Tells whether `data` starts like a pcapng file. [`read`] rejects those
/// with [`CaptureError::Pcapng`].
#[must_use]
pub fn is_pcapng(data: &[u8]) -> bool {
    data.starts_with(&PCAPNG_MAGIC)
}

/// Reads a classic pcap file and returns the TCP flows in it.
///
/// A file that ends in the middle of a record is not an error: everything
/// before that record is returned and [`Capture::truncated`] is set.
///
/// # Errors
///
/// Fails if `data` is not a classic pcap file ([`CaptureError::NotPcap`],
/// [`CaptureError::Pcapng`]), if its file header is cut short, of an
/// unsupported version or link type, or announces a snapshot length above
/// [`MAX_RECORD_LEN`], and if a record claims more captured bytes than the
/// snapshot length or [`MAX_RECORD_LEN`] allow.
pub fn read(data: &[u8]) -> Result<Capture, CaptureError> {
    let header = FileHeader::parse(data)?;
    let mut table = FlowTable::default();
    let mut skipped_packets = 0_u64;
    let mut truncated = false;
    let mut offset = FILE_HEADER_LEN;
    while offset < data.len() {
        let Some(record) = header.record(data, offset)? else {
            truncated = true;
            break;
        };
        match decode_frame(header.link, record.frame) {
            Ok(Some(segment)) => table.add(record.ts, segment),
            Ok(None) => {}
            Err(Unusable) => skipped_packets = skipped_packets.saturating_add(1),
        }
        offset = record.end;
    }
    Ok(Capture {
        flows: table.finish(),
        truncated,
        skipped_packets,
    })
}

/// What [`read`] found in a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The TCP flows that carried payload, in the order of their first
    /// packet (which may be a SYN without payload).
    pub flows: Vec<Flow>,
    /// True if the file ended in the middle of a record; the records before
    /// it were read.
    pub truncated: bool,
    /// Records that might have carried TCP payload but could not be used:
    /// IP fragments, packets cut short by the snapshot length, and frames
    /// with a malformed link, IP or TCP header. Packets of other protocols
    /// (ARP, UDP, ...) are ignored without being counted.
    pub skipped_packets: u64,
}

/// One direction of a TCP connection, with its payload in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// The sender of [`Flow::payload`].
    pub src: SocketAddr,
    /// The receiver of [`Flow::payload`].
    pub dst: SocketAddr,
    /// Capture time, since the Unix epoch, of the first packet of this flow
    /// in this direction (which may be a SYN without payload).
    pub first_ts: Duration,
    /// The stream from its first byte up to the first hole that was never
    /// filled; empty only if the stream's first bytes were never captured,
    /// in which case `gaps > 0`.
    pub payload: Vec<u8>,
    /// When each piece of `payload` arrived: the pieces are non-empty, in
    /// stream order, the first starts at offset 0, each starts where the one
    /// before ends, and together they cover `payload` exactly.
    pub segments: Vec<Segment>,
    /// Holes in the stream that were never filled. Data after the first of
    /// them is not in `payload`; 0 means the payload is complete as far as
    /// the capture shows.
    pub gaps: u32,
}

/// A piece of a [`Flow`]'s payload that became available at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Capture time, since the Unix epoch, of the packet that made this
    /// piece available in order: for data that arrived ahead of a hole, the
    /// packet that filled the hole. Follows the capture's record order, so
    /// it only goes backwards where the capture's own clock did.
    pub ts: Duration,
    /// Where the piece starts in [`Flow::payload`].
    pub offset: usize,
    /// Length of the piece, at least 1.
    pub len: usize,
}

/// Why [`read`] could not read a capture.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureError {
    /// The data does not start with a classic pcap magic number.
    NotPcap,
    /// The data is a pcapng file, which is not supported.
    Pcapng,
    /// The pcap file header is cut short.
    Truncated {
        /// Where the data ended, which is inside the file header.
        offset: usize,
    },
    /// The file header announces a format version other than 2.x.
    UnsupportedVersion {
        /// Major version number from the file header.
        major: u16,
        /// Minor version number from the file header.
        minor: u16,
    },
    /// The link type (the low 16 bits of the file header's link type field)
    /// is not one of those this module understands.
    UnsupportedLinkType(u32),
    /// The file header announces a snapshot length above [`MAX_RECORD_LEN`].
    SnapLenTooLarge {
        /// The snapshot length from the file header.
        snaplen: u32,
    },
    /// A record claims more captured bytes than the snapshot length or
    /// [`MAX_RECORD_LEN`] allow.
    BadRecordLength {
        /// Where the record header starts in the file.
        offset: usize,
        /// The captured length the record header claims.
        len: u32,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPcap => f.write_str("not a pcap file: unknown magic number"),
            Self::Pcapng => {
                f.write_str("pcapng files are not supported; convert with `editcap -F pcap IN OUT`")
            }
            Self::Truncated { offset } => write!(
                f,
                "pcap file header cut short: the data ends at byte {offset} of {FILE_HEADER_LEN}"
            ),
            Self::UnsupportedVersion { major, minor } => {
                write!(f, "unsupported pcap version {major}.{minor}")
            }
            Self::UnsupportedLinkType(link) => write!(f, "unsupported pcap link type {link}"),
            Self::SnapLenTooLarge { snaplen } => write!(
                f,
                "pcap snapshot length {snaplen} is above the limit of {MAX_RECORD_LEN} bytes"
            ),
            Self::BadRecordLength { offset, len } => write!(
                f,
                "pcap record at byte {offset} claims {len} captured bytes, \
                 more than the snapshot length or the limit of {MAX_RECORD_LEN} bytes"
            ),
        }
    }
}

impl Error for CaptureError {}

/// Byte order of a pcap file's headers, given by its magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16_at(self, data: &[u8], at: usize) -> Option<u16> {
        let raw = array(data, at)?;
        Some(match self {
            Self::Little => u16::from_le_bytes(raw),
            Self::Big => u16::from_be_bytes(raw),
        })
    }

    fn u32_at(self, data: &[u8], at: usize) -> Option<u32> {
        let raw = array(data, at)?;
        Some(match self {
            Self::Little => u32::from_le_bytes(raw),
            Self::Big => u32::from_be_bytes(raw),
        })
    }
}

/// Unit of the fractional part of record timestamps, given by the magic
/// number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeUnit {
    Micros,
    Nanos,
}

impl TimeUnit {
    fn timestamp(self, secs: u32, fraction: u32) -> Duration {
        let fraction = u64::from(fraction);
        let fraction = match self {
            Self::Micros => Duration::from_micros(fraction),
            Self::Nanos => Duration::from_nanos(fraction),
        };
        Duration::from_secs(u64::from(secs)).saturating_add(fraction)
    }
}

/// The link types this module can take apart, by how their frames lead to
/// an IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkType {
    /// BSD or OpenBSD loopback: a 4-byte address family, then IP.
    Loopback,
    /// Ethernet II, possibly with VLAN tags.
    Ethernet,
    /// The IP packet alone.
    RawIp,
    /// Linux cooked capture v1: a 16-byte header ending in an ethertype.
    LinuxSll,
    /// Linux cooked capture v2: a 20-byte header starting with an ethertype.
    LinuxSll2,
}

impl LinkType {
    fn from_code(code: u32) -> Option<Self> {
        match code {
            0 | 108 => Some(Self::Loopback),
            1 => Some(Self::Ethernet),
            // 12 and 14 are the platform DLT_RAW values some writers store
            // instead of LINKTYPE_RAW (101); 228 and 229 are IPv4 and IPv6.
            12 | 14 | 101 | 228 | 229 => Some(Self::RawIp),
            113 => Some(Self::LinuxSll),
            276 => Some(Self::LinuxSll2),
            _ => None,
        }
    }

    /// The IP packet in `frame`, `Ok(None)` if the frame carries something
    /// else.
    fn ip_packet(self, frame: &[u8]) -> Result<Option<&[u8]>, Unusable> {
        match self {
            Self::Loopback => frame.get(4..).map(Some).ok_or(Unusable),
            Self::RawIp => Ok(Some(frame)),
            Self::Ethernet => {
                let ethertype = be16(frame, 12).ok_or(Unusable)?;
                ethertype_payload(ethertype, frame.get(14..).ok_or(Unusable)?)
            }
            Self::LinuxSll => {
                let ethertype = be16(frame, 14).ok_or(Unusable)?;
                ethertype_payload(ethertype, frame.get(16..).ok_or(Unusable)?)
            }
            Self::LinuxSll2 => {
                let ethertype = be16(frame, 0).ok_or(Unusable)?;
                ethertype_payload(ethertype, frame.get(20..).ok_or(Unusable)?)
            }
        }
    }
}

/// The pcap file header, as far as reading records needs it.
#[derive(Clone, Copy, Debug)]
struct FileHeader {
    order: ByteOrder,
    unit: TimeUnit,
    /// 0 means "no limit announced"; otherwise at most [`MAX_RECORD_LEN`].
    snaplen: u32,
    link: LinkType,
}

impl FileHeader {
    fn parse(data: &[u8]) -> Result<Self, CaptureError> {
        if is_pcapng(data) {
            return Err(CaptureError::Pcapng);
        }
        let (order, unit) = magic(data).ok_or(CaptureError::NotPcap)?;
        let header = data
            .get(..FILE_HEADER_LEN)
            .ok_or(CaptureError::Truncated { offset: data.len() })?;
        let field = |at| order.u32_at(header, at).ok_or(CaptureError::NotPcap);
        let major = order.u16_at(header, 4).ok_or(CaptureError::NotPcap)?;
        let minor = order.u16_at(header, 6).ok_or(CaptureError::NotPcap)?;
        if major != 2 {
            return Err(CaptureError::UnsupportedVersion { major, minor });
        }
        let snaplen = field(16)?;
        if snaplen > MAX_RECORD_LEN {
            return Err(CaptureError::SnapLenTooLarge { snaplen });
        }
        // The upper bits may say that frames end in an FCS; the IP length
        // fields leave it out anyway.
        let code = field(20)? & 0xffff;
        let link = LinkType::from_code(code).ok_or(CaptureError::UnsupportedLinkType(code))?;
        Ok(Self {
            order,
            unit,
            snaplen,
            link,
        })
    }

    /// The record whose header starts at `offset`, `Ok(None)` if the data
    /// ends inside it.
    fn record(self, data: &[u8], offset: usize) -> Result<Option<Record<'_>>, CaptureError> {
        let field = |at: usize| {
            offset
                .checked_add(at)
                .and_then(|at| self.order.u32_at(data, at))
        };
        let (Some(secs), Some(fraction), Some(len)) = (field(0), field(4), field(8)) else {
            return Ok(None);
        };
        if len > MAX_RECORD_LEN || (self.snaplen != 0 && len > self.snaplen) {
            return Err(CaptureError::BadRecordLength { offset, len });
        }
        let Ok(len) = usize::try_from(len) else {
            return Err(CaptureError::BadRecordLength { offset, len });
        };
        let start = offset.saturating_add(RECORD_HEADER_LEN);
        let end = start.saturating_add(len);
        Ok(data.get(start..end).map(|frame| Record {
            ts: self.unit.timestamp(secs, fraction),
            frame,
            end,
        }))
    }
}

/// One pcap record.
#[derive(Clone, Copy, Debug)]
struct Record<'a> {
    ts: Duration,
    frame: &'a [u8],
    /// Where the next record starts in the file.
    end: usize,
}

/// Marks a packet that might have carried TCP payload but cannot be used.
#[derive(Clone, Copy, Debug)]
struct Unusable;

/// A packet's TCP segment, `Ok(None)` if the packet is not TCP over IP.
type Decoded<'a> = Result<Option<TcpSegment<'a>>, Unusable>;

/// The parts of a TCP segment that reassembly needs.
#[derive(Clone, Copy, Debug)]
struct TcpSegment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

fn decode_frame(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    match link.ip_packet(frame)? {
        Some(packet) => ip_segment(packet),
        None => Ok(None),
    }
}

/// The payload after an ethertype, past any VLAN tags; `Ok(None)` unless
/// it is IP.
fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<Option<&[u8]>, Unusable> {
    loop {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(Some(rest)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let (tag, inner) = rest.split_at_checked(VLAN_TAG_LEN).ok_or(Unusable)?;
                ethertype = be16(tag, 2).ok_or(Unusable)?;
                rest = inner;
            }
            _ => return Ok(None),
        }
    }
}

fn ip_segment(packet: &[u8]) -> Decoded<'_> {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => ipv4_segment(packet),
        Some(6) => ipv6_segment(packet),
        _ => Err(Unusable),
    }
}

fn ipv4_segment(packet: &[u8]) -> Decoded<'_> {
    let version_ihl = *packet.first().ok_or(Unusable)?;
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    let total_len = match be16(packet, 2).ok_or(Unusable)? {
        // Recorded on the sending host with segmentation offload.
        0 => packet.len(),
        len => usize::from(len),
    };
    if header_len < IPV4_MIN_HEADER_LEN || total_len < header_len {
        return Err(Unusable);
    }
    // Leaves out Ethernet padding; a packet cut short by the snapshot
    // length cannot be used.
    let packet = packet.get(..total_len).ok_or(Unusable)?;
    if be16(packet, 6).ok_or(Unusable)? & IPV4_FRAGMENT_MASK != 0 {
        return Err(Unusable);
    }
    if packet.get(9) != Some(&IPPROTO_TCP) {
        return Ok(None);
    }
    let src = Ipv4Addr::from(array::<4>(packet, 12).ok_or(Unusable)?);
    let dst = Ipv4Addr::from(array::<4>(packet, 16).ok_or(Unusable)?);
    let tcp = packet.get(header_len..).ok_or(Unusable)?;
    tcp_segment(src.into(), dst.into(), tcp)
}

fn ipv6_segment(packet: &[u8]) -> Decoded<'_> {
    let payload_len = usize::from(be16(packet, 4).ok_or(Unusable)?);
    let mut next_header = *packet.get(6).ok_or(Unusable)?;
    let src = Ipv6Addr::from(array::<16>(packet, 8).ok_or(Unusable)?);
    let dst = Ipv6Addr::from(array::<16>(packet, 24).ok_or(Unusable)?);
    let end = IPV6_HEADER_LEN.saturating_add(payload_len);
    let mut rest = packet.get(IPV6_HEADER_LEN..end).ok_or(Unusable)?;
    loop {
        match next_header {
            IPPROTO_TCP => return tcp_segment(src.into(), dst.into(), rest),
            IPPROTO_HOPOPTS | IPPROTO_ROUTING | IPPROTO_DSTOPTS => {
                // Next header, then the length in 8-octet units past the
                // first 8 octets (RFC 8200, section 4).
                next_header = *rest.first().ok_or(Unusable)?;
                let units = usize::from(*rest.get(1).ok_or(Unusable)?);
                let len = units.saturating_add(1).saturating_mul(8);
                rest = rest.get(len..).ok_or(Unusable)?;
            }
            IPPROTO_FRAGMENT => return Err(Unusable),
            _ => return Ok(None),
        }
    }
}

fn tcp_segment(src: IpAddr, dst: IpAddr, tcp: &[u8]) -> Decoded<'_> {
    let src_port = be16(tcp, 0).ok_or(Unusable)?;
    let dst_port = be16(tcp, 2).ok_or(Unusable)?;
    let seq = be32(tcp, 4).ok_or(Unusable)?;
    let header_len = usize::from(*tcp.get(12).ok_or(Unusable)? >> 4) * 4;
    let flags = *tcp.get(13).ok_or(Unusable)?;
    if header_len < TCP_MIN_HEADER_LEN {
        return Err(Unusable);
    }
    Ok(Some(TcpSegment {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
        seq,
        syn: flags & TCP_FLAG_SYN != 0,
        payload: tcp.get(header_len..).ok_or(Unusable)?,
    }))
}

/// The TCP segments of a capture, grouped into flows but not yet put in
/// order.
#[derive(Debug, Default)]
struct FlowTable<'a> {
    /// The current flow of each directed (source, destination) pair.
    open: HashMap<(SocketAddr, SocketAddr), RawFlow<'a>>,
    /// Flows whose pair has since started a new connection.
    closed: Vec<RawFlow<'a>>,
    /// Number of flows created so far, which is the next flow's `order`.
    created: usize,
}

impl<'a> FlowTable<'a> {
    fn add(&mut self, ts: Duration, segment: TcpSegment<'a>) {
        let key = (segment.src, segment.dst);
        if self
            .open
            .get(&key)
            .is_some_and(|flow| flow.is_new_connection(&segment))
        {
            self.closed.extend(self.open.remove(&key));
        }
        let flow = self.open.entry(key).or_insert_with(|| {
            let order = self.created;
            self.created = self.created.saturating_add(1);
            RawFlow::new(order, key, ts)
        });
        flow.push(ts, segment);
    }

    fn finish(self) -> Vec<Flow> {
        let mut flows = self.closed;
        flows.extend(self.open.into_values());
        flows.sort_by_key(|flow| flow.order);
        flows.into_iter().filter_map(RawFlow::reassemble).collect()
    }
}

/// The segments of one flow, in capture order.
#[derive(Debug)]
struct RawFlow<'a> {
    /// Creation rank among all flows of the capture.
    order: usize,
    src: SocketAddr,
    dst: SocketAddr,
    first_ts: Duration,
    /// Sequence number of the flow's SYN, if one was captured.
    syn_seq: Option<u32>,
    /// The segments that carried payload; a SYN among them has the
    /// sequence number `syn_seq`.
    segments: Vec<RawSegment<'a>>,
}

/// A segment that carried payload.
#[derive(Clone, Copy, Debug)]
struct RawSegment<'a> {
    ts: Duration,
    seq: u32,
    syn: bool,
    data: &'a [u8],
}

impl<'a> RawFlow<'a> {
    fn new(order: usize, (src, dst): (SocketAddr, SocketAddr), first_ts: Duration) -> Self {
        Self {
            order,
            src,
            dst,
            first_ts,
            syn_seq: None,
            segments: Vec::new(),
        }
    }

    /// A SYN that cannot belong to this flow's connection: a different
    /// initial sequence number, or a SYN after data of a connection whose
    /// SYN was not captured.
    fn is_new_connection(&self, segment: &TcpSegment<'_>) -> bool {
        segment.syn
            && match self.syn_seq {
                Some(isn) => isn != segment.seq,
                None => !self.segments.is_empty(),
            }
    }

    fn push(&mut self, ts: Duration, segment: TcpSegment<'a>) {
        if segment.syn && self.syn_seq.is_none() {
            self.syn_seq = Some(segment.seq);
        }
        if !segment.payload.is_empty() {
            self.segments.push(RawSegment {
                ts,
                seq: segment.seq,
                syn: segment.syn,
                data: segment.payload,
            });
        }
    }

    /// Sequence space the SYN takes up: 1 (RFC 9293), or 0 for captures
    /// whose generator put payload on the SYN without counting the SYN (see
    /// the module documentation).
    fn syn_space(&self) -> u32 {
        let Some(isn) = self.syn_seq else {
            return 1;
        };
        let syn_payload = self.segments.iter().find(|segment| segment.syn);
        let next_data = self.segments.iter().find(|segment| !segment.syn);
        match (syn_payload, next_data) {
            (Some(syn), Some(next)) => {
                let counted_without_syn = u32::try_from(syn.data.len())
                    .is_ok_and(|len| isn.wrapping_add(len) == next.seq);
                u32::from(!counted_without_syn)
            }
            _ => 1,
        }
    }

    /// The flow with its payload in order, `None` if it carried none.
    fn reassemble(self) -> Option<Flow> {
        let first = self.segments.first()?;
        let syn_space = self.syn_space();
        let data_seq = |segment: &RawSegment<'_>| {
            if segment.syn {
                segment.seq.wrapping_add(syn_space)
            } else {
                segment.seq
            }
        };
        let base = match self.syn_seq {
            Some(isn) => isn.wrapping_add(syn_space),
            None => data_seq(first),
        };
        let mut stream = Stream::new(base);
        for segment in &self.segments {
            stream.push(segment.ts, data_seq(segment), segment.data);
        }
        let gaps = stream.unfilled_gaps();
        Some(Flow {
            src: self.src,
            dst: self.dst,
            first_ts: self.first_ts,
            payload: stream.payload,
            segments: stream.segments,
            gaps,
        })
    }
}

/// A byte stream being put together from TCP segments.
#[derive(Debug)]
struct Stream<'a> {
    /// Sequence number of the stream's first byte.
    base: u32,
    /// The stream so far, without holes.
    payload: Vec<u8>,
    /// Covers `payload` exactly, as [`Flow::segments`] describes.
    segments: Vec<Segment>,
    /// Data that arrived ahead of a hole, by stream offset; every key is
    /// greater than `payload.len()`.
    pending: BTreeMap<usize, &'a [u8]>,
}

impl<'a> Stream<'a> {
    fn new(base: u32) -> Self {
        Self {
            base,
            payload: Vec::new(),
            segments: Vec::new(),
            pending: BTreeMap::new(),
        }
    }

    fn push(&mut self, ts: Duration, seq: u32, data: &'a [u8]) {
        let end = self.payload.len();
        // Sequence numbers count modulo 2^32, so truncating is intended.
        let expected = self.base.wrapping_add(end as u32);
        let ahead = seq.wrapping_sub(expected);
        if ahead == 0 {
            self.append(ts, data);
        } else if ahead < HALF_SEQUENCE_SPACE {
            let start = usize::try_from(ahead)
                .ok()
                .and_then(|ahead| end.checked_add(ahead));
            if let Some(start) = start {
                self.hold(start, data);
            }
        } else {
            // Starts in the past: keep only what extends beyond the end.
            let behind = expected.wrapping_sub(seq);
            let fresh = usize::try_from(behind)
                .ok()
                .and_then(|behind| data.get(behind..));
            if let Some(fresh) = fresh.filter(|fresh| !fresh.is_empty()) {
                self.append(ts, fresh);
            }
        }
    }

    /// Keeps data that arrived ahead of a hole; of two pieces starting at
    /// the same offset, the longer one.
    fn hold(&mut self, start: usize, data: &'a [u8]) {
        match self.pending.entry(start) {
            Entry::Vacant(entry) => {
                entry.insert(data);
            }
            Entry::Occupied(mut entry) => {
                if entry.get().len() < data.len() {
                    entry.insert(data);
                }
            }
        }
    }

    /// Adds data that continues the stream, and what it lets through.
    fn append(&mut self, ts: Duration, data: &[u8]) {
        let offset = self.payload.len();
        self.payload.extend_from_slice(data);
        while let Some(entry) = self.pending.first_entry() {
            let Some(overlap) = self.payload.len().checked_sub(*entry.key()) else {
                break;
            };
            if let Some(fresh) = entry.remove().get(overlap..) {
                self.payload.extend_from_slice(fresh);
            }
        }
        self.segments.push(Segment {
            ts,
            offset,
            len: self.payload.len().saturating_sub(offset),
        });
    }

    /// Holes between the end of `payload` and the data still pending.
    fn unfilled_gaps(&self) -> u32 {
        let mut end = self.payload.len();
        let mut gaps = 0_u32;
        for (&start, data) in &self.pending {
            if start > end {
                gaps = gaps.saturating_add(1);
            }
            end = end.max(start.saturating_add(data.len()));
        }
        gaps
    }
}

/// The byte order and time unit a pcap magic number stands for.
fn magic(data: &[u8]) -> Option<(ByteOrder, TimeUnit)> {
    [ByteOrder::Little, ByteOrder::Big]
        .into_iter()
        .find_map(|order| match order.u32_at(data, 0)? {
            MAGIC_MICROS => Some((order, TimeUnit::Micros)),
            MAGIC_NANOS => Some((order, TimeUnit::Nanos)),
            _ => None,
        })
}

/// `N` bytes of `data` from `at`, `None` if there are fewer.
fn array<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    array(data, at).map(u16::from_be_bytes)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    array(data, at).map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: [u8; 4] = [192, 0, 2, 61];
    const COLLECTOR: [u8; 4] = [192, 0, 2, 6];
    const ROUTER_PORT: u16 = 50_000;
    const BMP_PORT: u16 = 1790;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const SYN: u8 = TCP_FLAG_SYN;

    /// Builds a classic pcap file.
    struct PcapWriter {
        order: ByteOrder,
        bytes: Vec<u8>,
    }

    impl PcapWriter {
        fn new(order: ByteOrder, magic: u32, link: u32) -> Self {
            let mut writer = Self {
                order,
                bytes: Vec::new(),
            };
            writer.u32(magic);
            writer.u16(2);
            writer.u16(4);
            writer.u32(0); // thiszone
            writer.u32(0); // sigfigs
            writer.u32(65_535); // snaplen
            writer.u32(link);
            writer
        }

        fn ethernet() -> Self {
            Self::new(ByteOrder::Little, MAGIC_MICROS, 1)
        }

        fn u16(&mut self, value: u16) {
            let bytes = match self.order {
                ByteOrder::Little => value.to_le_bytes(),
                ByteOrder::Big => value.to_be_bytes(),
            };
            self.bytes.extend_from_slice(&bytes);
        }

        fn u32(&mut self, value: u32) {
            let bytes = match self.order {
                ByteOrder::Little => value.to_le_bytes(),
                ByteOrder::Big => value.to_be_bytes(),
            };
            self.bytes.extend_from_slice(&bytes);
        }

        fn record(mut self, secs: u32, fraction: u32, frame: &[u8]) -> Self {
            let len = u32::try_from(frame.len()).unwrap();
            self.u32(secs);
            self.u32(fraction);
            self.u32(len); // captured length
            self.u32(len); // original length
            self.bytes.extend_from_slice(frame);
            self
        }

        fn finish(self) -> Vec<u8> {
            self.bytes
        }
    }

    fn tcp(src_port: u16, dst_port: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&src_port.to_be_bytes());
        tcp.extend_from_slice(&dst_port.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&0_u32.to_be_bytes()); // ack
        tcp.push(0x50); // data offset 5
        tcp.push(flags);
        tcp.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, checksum, urgent
        tcp.extend_from_slice(payload);
        tcp
    }

    fn ipv4_with_flags(src: [u8; 4], dst: [u8; 4], fragment: u16, payload: &[u8]) -> Vec<u8> {
        let total_len = u16::try_from(20 + payload.len()).unwrap();
        let mut packet = vec![0x45, 0];
        packet.extend_from_slice(&total_len.to_be_bytes());
        packet.extend_from_slice(&[0, 1]); // identification
        packet.extend_from_slice(&fragment.to_be_bytes());
        packet.extend_from_slice(&[64, IPPROTO_TCP, 0, 0]); // ttl, protocol, checksum
        packet.extend_from_slice(&src);
        packet.extend_from_slice(&dst);
        packet.extend_from_slice(payload);
        packet
    }

    fn ipv4(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        ipv4_with_flags(src, dst, 0x4000, payload) // Don't Fragment
    }

    fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, payload: &[u8]) -> Vec<u8> {
        let payload_len = u16::try_from(payload.len()).unwrap();
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&payload_len.to_be_bytes());
        packet.extend_from_slice(&[next_header, 64]);
        packet.extend_from_slice(&src.octets());
        packet.extend_from_slice(&dst.octets());
        packet.extend_from_slice(payload);
        packet
    }

    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    }

    /// An Ethernet frame carrying a router-to-collector TCP segment.
    fn to_collector(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let segment = tcp(ROUTER_PORT, BMP_PORT, seq, flags, payload);
        ethernet(ETHERTYPE_IPV4, &ipv4(ROUTER, COLLECTOR, &segment))
    }

    /// A capture of router-to-collector segments, one second apart.
    fn session(segments: &[(u32, u8, &[u8])]) -> Vec<u8> {
        let mut writer = PcapWriter::ethernet();
        for (secs, &(seq, flags, payload)) in (1..).zip(segments) {
            writer = writer.record(secs, 0, &to_collector(seq, flags, payload));
        }
        writer.finish()
    }

    fn only_flow(data: &[u8]) -> Flow {
        let capture = read(data).unwrap();
        assert_eq!(capture.flows.len(), 1, "{capture:?}");
        let flow = capture.flows.into_iter().next().unwrap();
        assert_segments_cover(&flow);
        flow
    }

    fn assert_segments_cover(flow: &Flow) {
        let mut end = 0;
        for segment in &flow.segments {
            assert_eq!(segment.offset, end, "{:?}", flow.segments);
            assert!(segment.len > 0);
            end += segment.len;
        }
        assert_eq!(end, flow.payload.len());
    }

    fn secs(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn router() -> SocketAddr {
        SocketAddr::from((ROUTER, ROUTER_PORT))
    }

    fn collector() -> SocketAddr {
        SocketAddr::from((COLLECTOR, BMP_PORT))
    }

    #[test]
    fn recognises_magic_numbers() {
        for magic in [MAGIC_MICROS, MAGIC_NANOS] {
            assert!(is_pcap(&magic.to_le_bytes()));
            assert!(is_pcap(&magic.to_be_bytes()));
        }
        assert!(!is_pcap(&[0xd4, 0xc3, 0xb2]));
        assert!(!is_pcap(&[3, 0, 0, 0, 6, 4]));
        assert!(is_pcapng(&[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0]));
        assert!(!is_pcap(&PCAPNG_MAGIC));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let pcapng = [
            0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a,
        ];
        assert_eq!(read(&pcapng), Err(CaptureError::Pcapng));
        assert_eq!(read(b""), Err(CaptureError::NotPcap));
        assert_eq!(read(&[3, 0, 0, 0, 6, 4]), Err(CaptureError::NotPcap));

        let header = PcapWriter::ethernet().finish();
        assert_eq!(
            read(header.get(..10).unwrap()),
            Err(CaptureError::Truncated { offset: 10 })
        );

        let mut wrong_version = header.clone();
        wrong_version.splice(4..6, 1_u16.to_le_bytes());
        assert_eq!(
            read(&wrong_version),
            Err(CaptureError::UnsupportedVersion { major: 1, minor: 4 })
        );

        let usb = PcapWriter::new(ByteOrder::Little, MAGIC_MICROS, 189).finish();
        assert_eq!(read(&usb), Err(CaptureError::UnsupportedLinkType(189)));

        let mut huge_snaplen = header;
        huge_snaplen.splice(16..20, (MAX_RECORD_LEN + 1).to_le_bytes());
        assert_eq!(
            read(&huge_snaplen),
            Err(CaptureError::SnapLenTooLarge {
                snaplen: MAX_RECORD_LEN + 1
            })
        );
    }

    #[test]
    fn bounds_record_lengths() {
        // Above the snapshot length of 65535.
        let mut data = session(&[(1, PSH_ACK, b"ab")]);
        data.splice(32..36, 65_536_u32.to_le_bytes());
        assert_eq!(
            read(&data),
            Err(CaptureError::BadRecordLength {
                offset: 24,
                len: 65_536
            })
        );

        // Above the absolute limit when the file announces no snapshot length.
        data.splice(16..20, 0_u32.to_le_bytes());
        assert!(read(&data).is_ok_and(|capture| capture.truncated));
        data.splice(32..36, (MAX_RECORD_LEN + 1).to_le_bytes());
        assert_eq!(
            read(&data),
            Err(CaptureError::BadRecordLength {
                offset: 24,
                len: MAX_RECORD_LEN + 1
            })
        );
    }

    #[test]
    fn errors_display_their_cause() {
        let message = CaptureError::BadRecordLength { offset: 40, len: 9 }.to_string();
        assert!(message.contains("byte 40") && message.contains("9 captured bytes"));
        assert!(CaptureError::Pcapng.to_string().contains("editcap"));
    }

    #[test]
    fn reads_little_endian_microseconds() {
        let data = PcapWriter::ethernet()
            .record(1_700_000_000, 250_000, &to_collector(100, SYN, b""))
            .record(
                1_700_000_001,
                500_000,
                &to_collector(101, PSH_ACK, b"hello "),
            )
            .record(1_700_000_002, 0, &to_collector(107, PSH_ACK, b"world"))
            .finish();
        let flow = only_flow(&data);
        assert_eq!(flow.src, router());
        assert_eq!(flow.dst, collector());
        assert_eq!(flow.first_ts, Duration::new(1_700_000_000, 250_000_000));
        assert_eq!(flow.payload, b"hello world");
        assert_eq!(flow.gaps, 0);
        assert_eq!(
            flow.segments,
            [
                Segment {
                    ts: Duration::new(1_700_000_001, 500_000_000),
                    offset: 0,
                    len: 6
                },
                Segment {
                    ts: secs(1_700_000_002),
                    offset: 6,
                    len: 5
                },
            ]
        );
    }

    #[test]
    fn reads_big_endian_and_nanoseconds() {
        for (order, magic, fraction, ts) in [
            (ByteOrder::Big, MAGIC_MICROS, 7, Duration::new(5, 7_000)),
            (ByteOrder::Big, MAGIC_NANOS, 7, Duration::new(5, 7)),
            (
                ByteOrder::Little,
                MAGIC_NANOS,
                999_999_999,
                Duration::new(5, 999_999_999),
            ),
        ] {
            let data = PcapWriter::new(order, magic, 1)
                .record(5, fraction, &to_collector(1, PSH_ACK, b"bmp"))
                .finish();
            assert!(is_pcap(&data));
            let flow = only_flow(&data);
            assert_eq!(flow.first_ts, ts);
            assert_eq!(flow.segments.first().map(|segment| segment.ts), Some(ts));
            assert_eq!(flow.payload, b"bmp");
        }
    }

    #[test]
    fn unwraps_vlan_tags_and_ignores_padding() {
        let ip = ipv4(
            ROUTER,
            COLLECTOR,
            &tcp(ROUTER_PORT, BMP_PORT, 9, PSH_ACK, b"x"),
        );
        // Service tag, customer tag, then IPv4.
        let mut tagged = vec![0x00, 0x64];
        tagged.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        tagged.extend_from_slice(&[0x00, 0x0a]);
        tagged.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        tagged.extend_from_slice(&ip);
        let mut frame = ethernet(ETHERTYPE_QINQ, &tagged);
        frame.resize(64, 0); // minimum frame size, padding plus FCS
        let data = PcapWriter::ethernet().record(1, 0, &frame).finish();
        assert_eq!(only_flow(&data).payload, b"x");
    }

    #[test]
    fn reads_every_link_type() {
        let ip = ipv4(
            ROUTER,
            COLLECTOR,
            &tcp(ROUTER_PORT, BMP_PORT, 9, PSH_ACK, b"bmp"),
        );
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll.extend_from_slice(&ip);
        let mut sll2 = ETHERTYPE_IPV4.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        sll2.extend_from_slice(&ip);
        let mut loopback = 2_u32.to_le_bytes().to_vec(); // AF_INET
        loopback.extend_from_slice(&ip);
        for (link, frame) in [
            (0, loopback.clone()),
            (108, loopback),
            (1, ethernet(ETHERTYPE_IPV4, &ip)),
            (12, ip.clone()),
            (101, ip.clone()),
            (228, ip),
            (113, sll),
            (276, sll2),
        ] {
            let data = PcapWriter::new(ByteOrder::Little, MAGIC_MICROS, link)
                .record(1, 0, &frame)
                .finish();
            assert_eq!(only_flow(&data).payload, b"bmp", "link type {link}");
        }
    }

    #[test]
    fn skips_extension_headers_and_fragments_in_ipv6() {
        let src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
        let segment = tcp(ROUTER_PORT, BMP_PORT, 1, PSH_ACK, b"six");
        // Hop-by-hop options (8 bytes) then destination options (16 bytes).
        let mut extensions = vec![IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0];
        extensions.extend_from_slice(&[IPPROTO_TCP, 1, 1, 12]);
        extensions.extend_from_slice(&[0; 12]);
        extensions.extend_from_slice(&segment);
        let with_options = ipv6(src, dst, IPPROTO_HOPOPTS, &extensions);

        let mut fragment = vec![IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 7];
        fragment.extend_from_slice(&segment);
        let fragmented = ipv6(src, dst, IPPROTO_FRAGMENT, &fragment);

        let data = PcapWriter::new(ByteOrder::Little, MAGIC_MICROS, 101)
            .record(1, 0, &with_options)
            .record(2, 0, &fragmented)
            .finish();
        let capture = read(&data).unwrap();
        assert_eq!(capture.skipped_packets, 1);
        let flow = capture.flows.first().unwrap();
        assert_eq!(flow.src, SocketAddr::new(src.into(), ROUTER_PORT));
        assert_eq!(flow.dst, SocketAddr::new(dst.into(), BMP_PORT));
        assert_eq!(flow.payload, b"six");
    }

    #[test]
    fn skips_ipv4_fragments_and_ignores_other_protocols() {
        let segment = tcp(ROUTER_PORT, BMP_PORT, 1, PSH_ACK, b"frag");
        let more_fragments = ipv4_with_flags(ROUTER, COLLECTOR, 0x2000, &segment);
        let later_fragment = ipv4_with_flags(ROUTER, COLLECTOR, 0x0010, b"tail");
        let mut udp = ipv4(ROUTER, COLLECTOR, &segment);
        udp[9] = 17;
        let arp = ethernet(0x0806, &[0; 28]);
        let data = PcapWriter::ethernet()
            .record(1, 0, &ethernet(ETHERTYPE_IPV4, &more_fragments))
            .record(2, 0, &ethernet(ETHERTYPE_IPV4, &later_fragment))
            .record(3, 0, &ethernet(ETHERTYPE_IPV4, &udp))
            .record(4, 0, &arp)
            .finish();
        let capture = read(&data).unwrap();
        assert_eq!(capture.skipped_packets, 2);
        assert!(capture.flows.is_empty());
    }

    #[test]
    fn skips_packets_cut_by_the_snapshot_length() {
        let mut frame = to_collector(1, PSH_ACK, b"too long for the snaplen");
        frame.truncate(60);
        let data = PcapWriter::ethernet()
            .record(1, 0, &frame)
            .record(2, 0, &to_collector(25, PSH_ACK, b"ok"))
            .finish();
        let capture = read(&data).unwrap();
        assert_eq!(capture.skipped_packets, 1);
        assert_eq!(
            capture.flows.first().map(|flow| flow.payload.as_slice()),
            Some(&b"ok"[..])
        );
    }

    #[test]
    fn syn_takes_one_sequence_number() {
        let data = session(&[
            (1000, SYN, b""),
            (1001, PSH_ACK, b"abc"),
            (1004, PSH_ACK, b"def"),
        ]);
        let flow = only_flow(&data);
        assert_eq!(flow.payload, b"abcdef");
        assert_eq!(flow.first_ts, secs(1));
    }

    #[test]
    fn syn_with_payload() {
        // RFC 9293: the payload follows the SYN's sequence number.
        let rfc = session(&[(1000, SYN, b"abc"), (1004, PSH_ACK, b"def")]);
        assert_eq!(only_flow(&rfc).payload, b"abcdef");
        // scapy and pmacct's captures: the SYN takes no sequence space.
        let generated = session(&[(1, SYN, b"abc"), (4, PSH_ACK, b"def")]);
        assert_eq!(only_flow(&generated).payload, b"abcdef");
    }

    #[test]
    fn drops_retransmissions() {
        let data = session(&[
            (0, SYN, b""),
            (1, PSH_ACK, b"abcd"),
            (1, PSH_ACK, b"abcd"), // duplicate
            (3, PSH_ACK, b"cdef"), // overlaps by two bytes
            (0, SYN, b""),         // retransmitted SYN
            (2, PSH_ACK, b"XX"),   // old data, differing: the first copy wins
            (7, PSH_ACK, b"g"),
        ]);
        let flow = only_flow(&data);
        assert_eq!(flow.payload, b"abcdefg");
        assert_eq!(
            flow.segments,
            [
                Segment {
                    ts: secs(2),
                    offset: 0,
                    len: 4
                },
                Segment {
                    ts: secs(4),
                    offset: 4,
                    len: 2
                },
                Segment {
                    ts: secs(7),
                    offset: 6,
                    len: 1
                },
            ]
        );
    }

    #[test]
    fn reorders_segments() {
        let data = session(&[
            (0, SYN, b""),
            (4, PSH_ACK, b"def"),
            (7, PSH_ACK, b"gh"),
            (4, PSH_ACK, b"de"), // shorter copy of a held segment
            (1, PSH_ACK, b"abc"),
            (9, PSH_ACK, b"i"),
        ]);
        let flow = only_flow(&data);
        assert_eq!(flow.payload, b"abcdefghi");
        assert_eq!(flow.gaps, 0);
        assert_eq!(
            flow.segments,
            [
                Segment {
                    ts: secs(5),
                    offset: 0,
                    len: 8
                },
                Segment {
                    ts: secs(6),
                    offset: 8,
                    len: 1
                },
            ]
        );
    }

    #[test]
    fn stops_at_a_gap_that_never_fills() {
        let data = session(&[
            (0, SYN, b""),
            (1, PSH_ACK, b"abc"),
            (7, PSH_ACK, b"gh"), // 4..7 never arrives
            (9, PSH_ACK, b"ij"),
            (20, PSH_ACK, b"z"), // 11..20 never arrives
        ]);
        let flow = only_flow(&data);
        assert_eq!(flow.payload, b"abc");
        assert_eq!(flow.gaps, 2);

        // The first bytes were never captured.
        let headless = session(&[(0, SYN, b""), (5, PSH_ACK, b"efg")]);
        let flow = only_flow(&headless);
        assert!(flow.payload.is_empty() && flow.segments.is_empty());
        assert_eq!(flow.gaps, 1);
    }

    #[test]
    fn follows_sequence_wrap_around() {
        let isn = u32::MAX - 2;
        let data = session(&[
            (isn, SYN, b""),
            (u32::MAX - 1, PSH_ACK, b"ab"),
            (2, PSH_ACK, b"ef"), // out of order, past the wrap
            (0, PSH_ACK, b"cd"),
            (u32::MAX, PSH_ACK, b"b"), // retransmission from before the wrap
        ]);
        let flow = only_flow(&data);
        assert_eq!(flow.payload, b"abcdef");
        assert_eq!(flow.gaps, 0);
    }

    #[test]
    fn starts_mid_stream_without_a_syn() {
        let data = session(&[
            (5000, PSH_ACK, b"mid"),
            (4990, PSH_ACK, b"earlier"), // before the capture's view of the stream
            (5003, PSH_ACK, b"dle"),
        ]);
        assert_eq!(only_flow(&data).payload, b"middle");
    }

    #[test]
    fn separates_flows_and_connections() {
        let reply = tcp(BMP_PORT, ROUTER_PORT, 77, SYN | ACK, b"");
        let other_router = tcp(ROUTER_PORT, BMP_PORT, 5, PSH_ACK, b"second");
        let data = PcapWriter::ethernet()
            .record(1, 0, &to_collector(100, SYN, b""))
            .record(
                2,
                0,
                &ethernet(ETHERTYPE_IPV4, &ipv4(COLLECTOR, ROUTER, &reply)),
            )
            .record(
                3,
                0,
                &ethernet(
                    ETHERTYPE_IPV4,
                    &ipv4([192, 0, 2, 62], COLLECTOR, &other_router),
                ),
            )
            .record(4, 0, &to_collector(101, PSH_ACK, b"first"))
            // The router reconnects from the same port with a new ISN.
            .record(5, 0, &to_collector(9000, SYN, b""))
            .record(6, 0, &to_collector(9001, PSH_ACK, b"third"))
            .finish();
        let capture = read(&data).unwrap();
        let payloads: Vec<&[u8]> = capture
            .flows
            .iter()
            .map(|flow| flow.payload.as_slice())
            .collect();
        assert_eq!(payloads, [&b"first"[..], b"second", b"third"]);
        let starts: Vec<Duration> = capture.flows.iter().map(|flow| flow.first_ts).collect();
        assert_eq!(starts, [secs(1), secs(3), secs(5)]);
    }

    #[test]
    fn keeps_what_precedes_a_truncated_record() {
        let data = session(&[(1, PSH_ACK, b"kept"), (5, PSH_ACK, b"lost")]);
        for cut in [1, 10, 16, 30] {
            let short = data.get(..data.len() - cut).unwrap();
            let capture = read(short).unwrap();
            assert!(capture.truncated, "cut {cut}");
            assert_eq!(capture.flows.first().unwrap().payload, b"kept");
        }
        let whole = read(&data).unwrap();
        assert!(!whole.truncated);
        assert_eq!(whole.flows.first().unwrap().payload, b"keptlost");
    }

    /// A small deterministic pseudo-random generator (xorshift64).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn byte(&mut self) -> u8 {
            self.next().to_le_bytes()[0]
        }

        fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(bound).unwrap()).unwrap()
        }
    }

    #[test]
    fn survives_garbage() {
        let valid = session(&[
            (0, SYN, b""),
            (4, PSH_ACK, b"defg"),
            (1, PSH_ACK, b"abc"),
            (u32::MAX, PSH_ACK, b"zz"),
        ]);
        // Every prefix.
        for len in 0..=valid.len() {
            let _ = read(valid.get(..len).unwrap());
        }
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        // Mutations of a valid capture.
        for _ in 0..20_000 {
            let mut data = valid.clone();
            for _ in 0..=noise.below(4) {
                let at = noise.below(data.len());
                data[at] = noise.byte();
            }
            let _ = read(&data);
        }
        // Random records after each valid file header.
        for link in [0, 1, 101, 113, 276] {
            let header = PcapWriter::new(ByteOrder::Big, MAGIC_NANOS, link).finish();
            for _ in 0..5_000 {
                let mut data = header.clone();
                data.extend((0..noise.below(200)).map(|_| noise.byte()));
                let _ = read(&data);
            }
        }
        // Plain noise.
        for _ in 0..1_000 {
            let data: Vec<u8> = (0..noise.below(64)).map(|_| noise.byte()).collect();
            let _ = read(&data);
        }
    }

    /// Walks BMP messages (RFC 7854, section 4.1: version, 4-byte length,
    /// type) and counts them by type, up to where the framing breaks.
    /// Returns the counts and the offset where the walk stopped.
    fn walk_bmp(stream: &[u8]) -> (BTreeMap<u8, usize>, usize) {
        let mut counts = BTreeMap::new();
        let mut offset = 0;
        while let Some(header) = stream.get(offset..offset + 6) {
            let len = usize::try_from(be32(header, 1).unwrap()).unwrap();
            if header[0] != 3 || len < 6 || offset + len > stream.len() {
                break;
            }
            *counts.entry(header[5]).or_insert(0) += 1;
            offset += len;
        }
        (counts, offset)
    }

    /// Checks one of pmacct's captures (see
    /// `shared/testdata/pmacct/README.md`). The data lives outside the
    /// crate, next to the repository; without `CARGO_MANIFEST_DIR` at
    /// compile time the test has nothing to find and passes.
    fn check_pmacct_capture(dir: &str, ipv6: bool, expected: &[(u8, usize)]) {
        let Some(manifest) = option_env!("CARGO_MANIFEST_DIR") else {
            return;
        };
        let path = format!("{manifest}/../shared/testdata/pmacct/{dir}/traffic-00.pcap");
        let data = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        let capture = read(&data).unwrap();
        assert!(!capture.truncated);
        assert_eq!(capture.skipped_packets, 0);
        assert_eq!(capture.flows.len(), 1, "{dir}: one flow with payload");
        let flow = capture.flows.first().unwrap();
        assert_segments_cover(flow);
        assert_eq!(flow.gaps, 0);
        assert_eq!(flow.dst.port(), BMP_PORT);
        assert_eq!(flow.dst.is_ipv6(), ipv6);
        assert_eq!(flow.payload.first(), Some(&3), "{dir}: BMP version 3");
        let (counts, end) = walk_bmp(&flow.payload);
        let total: usize = counts.values().sum();
        println!(
            "{dir}: {} bytes in {} segments, {total} BMP messages by type {counts:?}",
            flow.payload.len(),
            flow.segments.len()
        );
        assert_eq!(
            end,
            flow.payload.len(),
            "{dir}: the BMP framing ends with the payload"
        );
        assert_eq!(counts, expected.iter().copied().collect());
    }

    // BMP message types: 0 route monitoring, 1 statistics, 2 peer down,
    // 3 peer up, 4 initiation.

    #[test]
    fn pmacct_200_huawei_locrib() {
        check_pmacct_capture(
            "200-BMP-HUAWEI-locrib_instance",
            false,
            &[(0, 84), (3, 18), (4, 1)],
        );
    }

    #[test]
    fn pmacct_201_cisco_rd_instance() {
        check_pmacct_capture(
            "201-BMP-CISCO-rd_instance",
            false,
            &[(0, 251), (1, 42), (3, 42), (4, 1)],
        );
    }

    #[test]
    fn pmacct_204_cisco_peer_down_over_ipv6() {
        check_pmacct_capture(
            "204-BMP-CISCO-peer_down",
            true,
            &[(0, 301), (1, 28), (2, 3), (3, 10), (4, 1)],
        );
    }

    /// pmacct says this capture holds invalid BMP data. The BMP framing is
    /// sound all the way through; what is wrong sits inside messages (FRR's
    /// Loc-RIB pseudo-peer with an all-zero Peer Up, and AS_PATHs in 2-octet
    /// encoding on a 4-octet session), which is the wire decoder's business.
    #[test]
    fn pmacct_205_frr_peer_down() {
        check_pmacct_capture(
            "205-BMP-6wind-FRR-peer_down",
            false,
            &[(0, 451), (1, 48), (2, 2), (3, 7), (4, 1)],
        );
    }
}
