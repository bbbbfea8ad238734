//! A classic pcap writer, so that the traffic loadgen generates can be
//! checked by a decoder we did not write (tshark) and replayed later.
//!
//! [`write()`] turns each (source, destination, payload) into one complete
//! IPv4 TCP connection, as a capture on the wire would show it:
//!
//! 1. the three-way handshake (RFC 9293, section 3.5): SYN, SYN-ACK, ACK;
//! 2. the payload, from the source, in segments of at most [`MSS`] octets,
//!    each acknowledged by the destination;
//! 3. the close: FIN from the source, FIN-ACK from the destination, ACK.
//!
//! Sequence and acknowledgement numbers are those of a real connection
//! (modulo 2^32, from fixed initial sequence numbers), and both checksums
//! are right: the IPv4 header checksum (RFC 791, section 3.1) and the TCP
//! checksum over the pseudo-header (RFC 9293, section 3.1), both the
//! one's complement sum of RFC 1071. Frames are Ethernet II (link type 1)
//! with locally administered MAC addresses made from the IPv4 addresses
//! (`02:00:a.b.c.d`). Connections follow one another; timestamps, in
//! microseconds, start at `start` and grow by 1 µs per packet.
//!
//! The file is the classic libpcap format (version 2.4, microsecond
//! timestamps, little-endian headers, snapshot length 65535) that
//! `riptide::capture::read`, tshark and every other pcap reader take.

use std::io::{self, BufWriter, Write};
use std::net::SocketAddrV4;
use std::time::Duration;

/// Largest payload in one segment: the MSS of a 1500-octet Ethernet MTU
/// less 40 octets of IPv4 and TCP headers and 12 of TCP timestamps, as
/// Linux sends it.
pub(crate) const MSS: usize = 1448;

/// Magic number of a pcap file with microsecond timestamps, written in the
/// file's (little-endian) byte order.
const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const VERSION_MAJOR: u16 = 2;
const VERSION_MINOR: u16 = 4;
/// No packet is cut short: every frame is far below it.
const SNAPLEN: u32 = 65_535;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u32 = 1;

const ETHERNET_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const IPV4_HEADER_LEN: usize = 20;
/// Version 4, header length 5 words (no options).
const IPV4_VERSION_IHL: u8 = 0x45;
/// Don't Fragment, fragment offset 0.
const IPV4_FLAGS_DF: u16 = 0x4000;
const IPV4_TTL: u8 = 64;
const IPPROTO_TCP: u8 = 6;
const TCP_HEADER_LEN: usize = 20;
/// Data offset 5 words (no options), in the upper nibble.
const TCP_DATA_OFFSET: u8 = 0x50;
const TCP_WINDOW: u16 = 65_535;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Initial sequence numbers of the source and the destination of every
/// connection. Each connection has its own address pair, so they need not
/// differ.
const SOURCE_ISN: u32 = 0x1000_0000;
const DESTINATION_ISN: u32 = 0x2000_0000;

/// Writes each `(src, dst, payload)` of `conns` as one IPv4 TCP connection
/// (see the module documentation) to `out`, as a classic pcap file whose
/// first packet has the timestamp `start` (since the Unix epoch).
///
/// Output goes through a buffer of its own; `out` is flushed at the end.
///
/// # Errors
///
/// Fails if writing to `out` fails, or with [`io::ErrorKind::InvalidInput`]
/// if a packet's timestamp does not fit the format's 32-bit seconds
/// (after 2106-02-07).
pub(crate) fn write(
    out: &mut impl Write,
    conns: &[(SocketAddrV4, SocketAddrV4, &[u8])],
    start: Duration,
) -> io::Result<()> {
    let mut writer = Writer {
        out: BufWriter::new(out),
        frame: Vec::with_capacity(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + TCP_HEADER_LEN + MSS),
        start,
        packets: 0,
    };
    writer.file_header()?;
    for &(src, dst, payload) in conns {
        writer.connection(src, dst, payload)?;
    }
    writer.out.flush()
}

/// One TCP segment to write, from `src` to `dst`.
#[derive(Clone, Copy, Debug)]
struct Packet<'a> {
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    /// Zero unless `flags` has [`ACK`].
    ack: u32,
    flags: u8,
    payload: &'a [u8],
}

/// The state of a pcap file being written.
#[derive(Debug)]
struct Writer<W: Write> {
    out: W,
    /// The frame being built, reused from packet to packet.
    frame: Vec<u8>,
    /// Timestamp of the first packet.
    start: Duration,
    /// Packets written so far; the next one's timestamp is `start` plus as
    /// many microseconds.
    packets: u64,
}

impl<W: Write> Writer<W> {
    /// The pcap file header (24 octets).
    fn file_header(&mut self) -> io::Result<()> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_MICROS.to_le_bytes());
        header.extend_from_slice(&VERSION_MAJOR.to_le_bytes());
        header.extend_from_slice(&VERSION_MINOR.to_le_bytes());
        header.extend_from_slice(&0_i32.to_le_bytes()); // thiszone: UTC
        header.extend_from_slice(&0_u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        self.out.write_all(&header)
    }

    /// One whole connection: handshake, payload, close.
    fn connection(
        &mut self,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
    ) -> io::Result<()> {
        // Segments without payload, from the source and from the
        // destination.
        let forward = |seq: u32, ack: u32, flags: u8| Packet {
            src,
            dst,
            seq,
            ack,
            flags,
            payload: &[],
        };
        let backward = |seq: u32, ack: u32, flags: u8| Packet {
            src: dst,
            dst: src,
            seq,
            ack,
            flags,
            payload: &[],
        };
        // Both SYNs take up one sequence number.
        let mut seq = SOURCE_ISN.wrapping_add(1);
        let peer_seq = DESTINATION_ISN.wrapping_add(1);
        self.packet(forward(SOURCE_ISN, 0, SYN))?;
        self.packet(backward(DESTINATION_ISN, seq, SYN | ACK))?;
        self.packet(forward(seq, peer_seq, ACK))?;
        for chunk in payload.chunks(MSS) {
            self.packet(Packet {
                payload: chunk,
                ..forward(seq, peer_seq, PSH | ACK)
            })?;
            // Sequence numbers count modulo 2^32 (RFC 9293, section 3.4):
            // the truncation is the wrap-around. `chunk` is at most MSS
            // octets, so nothing else is lost.
            seq = seq.wrapping_add(chunk.len() as u32);
            self.packet(backward(peer_seq, seq, ACK))?;
        }
        // Both FINs take up one sequence number too.
        self.packet(forward(seq, peer_seq, FIN | ACK))?;
        self.packet(backward(peer_seq, seq.wrapping_add(1), FIN | ACK))?;
        self.packet(forward(seq.wrapping_add(1), peer_seq.wrapping_add(1), ACK))
    }

    /// Builds one frame and writes it with its record header.
    fn packet(&mut self, packet: Packet<'_>) -> io::Result<()> {
        let ts = self
            .start
            .checked_add(Duration::from_micros(self.packets))
            .ok_or_else(|| invalid_input("packet timestamp overflows"))?;
        let secs = u32::try_from(ts.as_secs()).map_err(|_| {
            invalid_input(format!(
                "packet timestamp {} s since the Unix epoch does not fit a pcap record's \
                 32-bit seconds",
                ts.as_secs()
            ))
        })?;
        build_frame(&mut self.frame, &packet)?;
        let len = u32::try_from(self.frame.len())
            .map_err(|_| invalid_input("frame longer than 4 GiB"))?;
        let mut record = [0_u8; 16];
        record[0..4].copy_from_slice(&secs.to_le_bytes());
        record[4..8].copy_from_slice(&ts.subsec_micros().to_le_bytes());
        record[8..12].copy_from_slice(&len.to_le_bytes()); // captured length
        record[12..16].copy_from_slice(&len.to_le_bytes()); // length on the wire
        self.out.write_all(&record)?;
        self.out.write_all(&self.frame)?;
        self.packets = self.packets.saturating_add(1);
        Ok(())
    }
}

/// An [`io::ErrorKind::InvalidInput`] error.
fn invalid_input(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

/// Replaces `frame` with the Ethernet frame of `packet`: Ethernet II, IPv4
/// without options, TCP without options, payload.
///
/// # Errors
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the payload does not fit
/// one IPv4 packet (64 KiB less the headers); [`write()`] never gives more
/// than [`MSS`] octets.
fn build_frame(frame: &mut Vec<u8>, packet: &Packet<'_>) -> io::Result<()> {
    let tcp_len = TCP_HEADER_LEN + packet.payload.len();
    let tcp_len16 = u16::try_from(tcp_len)
        .map_err(|_| invalid_input("TCP segment longer than 65535 octets"))?;
    let total_len = u16::try_from(IPV4_HEADER_LEN + tcp_len)
        .map_err(|_| invalid_input("IPv4 packet longer than 65535 octets"))?;
    let src = packet.src.ip().octets();
    let dst = packet.dst.ip().octets();
    frame.clear();

    // Ethernet II: destination MAC, source MAC, ethertype.
    frame.extend_from_slice(&mac(dst));
    frame.extend_from_slice(&mac(src));
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    // IPv4 header (RFC 791, section 3.1):
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |Version|  IHL  |Type of Service|          Total Length         |
    // |         Identification        |Flags|      Fragment Offset    |
    // |  Time to Live |    Protocol   |         Header Checksum       |
    // |                       Source Address                          |
    // |                    Destination Address                        |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    let ip = frame.len();
    frame.push(IPV4_VERSION_IHL);
    frame.push(0); // type of service
    frame.extend_from_slice(&total_len.to_be_bytes());
    // Identification: only fragments need it, and DF forbids fragmenting
    // (RFC 6864, section 4.1); the low bits of the sequence number keep it
    // changing from packet to packet as real stacks do.
    frame.extend_from_slice(&packet.seq.to_be_bytes()[2..4]);
    frame.extend_from_slice(&IPV4_FLAGS_DF.to_be_bytes());
    frame.push(IPV4_TTL);
    frame.push(IPPROTO_TCP);
    frame.extend_from_slice(&[0, 0]); // checksum, filled in below
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&dst);
    let ip_checksum = checksum(0, &frame[ip..]);
    frame[ip + 10..ip + 12].copy_from_slice(&ip_checksum.to_be_bytes());

    // TCP header (RFC 9293, section 3.1):
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |          Source Port          |       Destination Port        |
    // |                        Sequence Number                        |
    // |                    Acknowledgment Number                      |
    // |  Data |       |C|E|U|A|P|R|S|F|                               |
    // | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
    // |           Checksum            |         Urgent Pointer        |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    let tcp = frame.len();
    frame.extend_from_slice(&packet.src.port().to_be_bytes());
    frame.extend_from_slice(&packet.dst.port().to_be_bytes());
    frame.extend_from_slice(&packet.seq.to_be_bytes());
    frame.extend_from_slice(&packet.ack.to_be_bytes());
    frame.push(TCP_DATA_OFFSET);
    frame.push(packet.flags);
    frame.extend_from_slice(&TCP_WINDOW.to_be_bytes());
    frame.extend_from_slice(&[0, 0]); // checksum, filled in below
    frame.extend_from_slice(&[0, 0]); // urgent pointer
    frame.extend_from_slice(packet.payload);
    // The pseudo-header: source, destination, zero, protocol, TCP length.
    let mut pseudo = [0_u8; 12];
    pseudo[0..4].copy_from_slice(&src);
    pseudo[4..8].copy_from_slice(&dst);
    pseudo[9] = IPPROTO_TCP;
    pseudo[10..12].copy_from_slice(&tcp_len16.to_be_bytes());
    let tcp_checksum = checksum(sum(0, &pseudo), &frame[tcp..]);
    frame[tcp + 16..tcp + 18].copy_from_slice(&tcp_checksum.to_be_bytes());
    Ok(())
}

/// A locally administered unicast MAC address that carries `ip`.
fn mac(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0x00, ip[0], ip[1], ip[2], ip[3]]
}

/// Adds `data`, as big-endian 16-bit words (an odd last octet padded with
/// zero), to the running sum `acc` (RFC 1071, section 4.1). `acc` is a
/// `u64`, so it cannot overflow for any input shorter than 2^48 words.
fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        acc += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

/// The Internet checksum of `data` on top of the running sum `acc`: the
/// one's complement of the one's complement sum (RFC 1071).
fn checksum(acc: u64, data: &[u8]) -> u16 {
    let mut folded = sum(acc, data);
    while folded > 0xffff {
        folded = (folded & 0xffff) + (folded >> 16);
    }
    // The loop leaves at most 16 bits.
    !(folded as u16)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr};

    use riptide::capture;

    use super::*;

    const START: Duration = Duration::from_secs(1_700_000_000);

    #[test]
    fn checksums_match_known_values() {
        // RFC 1071, section 3: the sum of these octets is 0xddf2.
        assert_eq!(
            checksum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // A well-known IPv4 header (192.168.0.1 to 192.168.0.199, UDP).
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(0, &header), 0xb861);
        // An odd length pads with a zero octet.
        assert_eq!(checksum(0, &[0x12]), !0x1200);
    }

    #[test]
    fn round_trips_through_the_capture_reader() {
        let a = SocketAddrV4::new(Ipv4Addr::new(127, 0, 1, 1), 40_001);
        let b = SocketAddrV4::new(Ipv4Addr::new(127, 0, 1, 2), 40_002);
        let collector = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 11_019);
        // Three segments, the last one short; and one segment.
        let long: Vec<u8> = (0..2 * MSS + 100).map(|i| (i % 251) as u8).collect();
        let short = b"\x03\x00\x00\x00\x06\x04";
        let mut file = Vec::new();
        write(
            &mut file,
            &[(a, collector, &long[..]), (b, collector, &short[..])],
            START,
        )
        .unwrap();

        let capture = capture::read(&file).unwrap();
        assert!(!capture.truncated);
        assert_eq!(capture.skipped_packets, 0);
        assert_eq!(capture.flows.len(), 2, "the destination sends no payload");
        let (first, second) = (&capture.flows[0], &capture.flows[1]);
        assert_eq!(first.payload, long);
        assert_eq!(second.payload, short);
        assert_eq!(
            (first.src, first.dst),
            (SocketAddr::V4(a), SocketAddr::V4(collector))
        );
        assert_eq!(
            (second.src, second.dst),
            (SocketAddr::V4(b), SocketAddr::V4(collector))
        );
        assert_eq!((first.gaps, second.gaps), (0, 0));
        assert_eq!(first.segments.len(), 3);
        // The first packet (the SYN) is at `start`; the data segments are
        // packets 3, 5 and 7; the second connection starts at packet 12.
        assert_eq!(first.first_ts, START);
        let micros: Vec<Duration> = first.segments.iter().map(|s| s.ts - START).collect();
        assert_eq!(micros, [3, 5, 7].map(Duration::from_micros));
        assert_eq!(second.first_ts, START + Duration::from_micros(12));
    }

    #[test]
    fn writes_valid_headers_and_checksums() {
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 2);
        let payload: [u8; 3] = [0xab; 3]; // odd length: the TCP checksum pads
        let mut file = Vec::new();
        write(&mut file, &[(a, b, &payload[..])], START).unwrap();

        assert_eq!(file[..4], MAGIC_MICROS.to_le_bytes());
        assert_eq!(file[16..20], SNAPLEN.to_le_bytes());
        assert_eq!(file[20..24], LINKTYPE_ETHERNET.to_le_bytes());
        // Walk the records: a valid checksum sums, with itself, to zero.
        let mut at = 24;
        let mut packets = 0;
        let mut flags = Vec::new();
        while at < file.len() {
            let len = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
            let frame = &file[at + 16..at + 16 + len];
            let ip = &frame[ETHERNET_HEADER_LEN..];
            assert_eq!(
                checksum(0, &ip[..IPV4_HEADER_LEN]),
                0,
                "IPv4 packet {packets}"
            );
            let tcp = &ip[IPV4_HEADER_LEN..];
            let mut pseudo = [0_u8; 12];
            pseudo[0..8].copy_from_slice(&ip[12..20]);
            pseudo[9] = IPPROTO_TCP;
            pseudo[10..12].copy_from_slice(&(tcp.len() as u16).to_be_bytes());
            assert_eq!(checksum(sum(0, &pseudo), tcp), 0, "TCP packet {packets}");
            flags.push(tcp[13]);
            packets += 1;
            at += 16 + len;
        }
        assert_eq!(at, file.len());
        assert_eq!(
            flags,
            [
                SYN,
                SYN | ACK,
                ACK,
                PSH | ACK,
                ACK,
                FIN | ACK,
                FIN | ACK,
                ACK
            ]
        );
    }

    #[test]
    fn rejects_timestamps_beyond_32_bit_seconds() {
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 2);
        let mut file: Vec<u8> = Vec::new();
        let error =
            write(&mut file, &[(a, b, &b""[..])], Duration::from_secs(1 << 32)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
