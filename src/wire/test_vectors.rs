//! Hand-built wire vectors shared by the decode tests (next to each
//! decoder) and the encode tests (`encode.rs`), so that one annotated byte
//! string pins both directions [hickory `bin_tests.rs`].
//!
//! Conventions: protocol values are hex, addresses and ports decimal. The
//! canonical peer is a global-instance IPv4 peer 192.0.2.1, AS 65000, seen
//! at 1700000000.000123; the monitored router is 192.0.2.254.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::bgp::afi_safi::AfiSafi;
use super::bgp::nlri::{Labels, Nlri, Prefix, RouteDistinguisher};
use super::bmp::BmpMessage;
use super::bmp::header::{PeerFlags, PeerType, PerPeerHeader};
use super::frame::{DEFAULT_MAX_MESSAGE_LEN, Frame};

/// Wraps `parts` in a BMP common header of type `msg_type`.
pub(crate) fn bmp(msg_type: u8, parts: &[&[u8]]) -> Vec<u8> {
    let body = parts.concat();
    let len = u32::try_from(body.len() + 6).unwrap();
    let mut v = vec![0x03];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(&body);
    v
}

/// Wraps `parts` in a BGP header of type `msg_type`.
pub(crate) fn bgp(msg_type: u8, parts: &[&[u8]]) -> Vec<u8> {
    let body = parts.concat();
    let len = u16::try_from(body.len() + 19).unwrap();
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(&body);
    v
}

/// An UPDATE body (after the BGP header) from its three fields.
pub(crate) fn update_body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(withdrawn.len())
        .unwrap()
        .to_be_bytes()
        .to_vec();
    v.extend_from_slice(withdrawn);
    v.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    v.extend_from_slice(attrs);
    v.extend_from_slice(nlri);
    v
}

/// One path attribute; the extended-length form when `value` needs it.
pub(crate) fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, code];
    match u8::try_from(value.len()) {
        Ok(l) if flags & 0x10 == 0 => v.push(l),
        _ => {
            v[0] |= 0x10;
            v.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        }
    }
    v.extend_from_slice(value);
    v
}

/// A per-peer header with the canonical AS, BGP ID and timestamp.
pub(crate) fn peer_header(peer_type: u8, flags: u8, rd: [u8; 8], address: [u8; 16]) -> Vec<u8> {
    let mut v = vec![peer_type, flags];
    v.extend_from_slice(&rd);
    v.extend_from_slice(&address);
    v.extend_from_slice(&PEER_GLOBAL_V4[26..]);
    v
}

/// A 16-octet address field holding an IPv4 address.
pub(crate) fn v4_field(a: [u8; 4]) -> [u8; 16] {
    let mut f = [0; 16];
    f[12..].copy_from_slice(&a);
    f
}

/// Frames exactly one whole message.
pub(crate) fn frame(msg: &[u8]) -> Frame<'_> {
    let f = Frame::parse(msg, DEFAULT_MAX_MESSAGE_LEN)
        .expect("frames")
        .expect("complete");
    assert_eq!(f.wire_len(), msg.len(), "one message, no tail");
    f
}

/// Frames and parses exactly one whole message.
pub(crate) fn parse(msg: &[u8]) -> BmpMessage<'_> {
    BmpMessage::parse(frame(msg)).expect("parses")
}

/// The canonical per-peer header.
#[rustfmt::skip]
pub(crate) const PEER_GLOBAL_V4: [u8; 42] = [
    0x00,                                           // peer type 0: global instance
    0x00,                                           // flags: IPv4, pre-policy, 4-octet, Adj-RIB-In
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // peer distinguisher: none
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             // peer address: IPv4 in the
    192, 0, 2, 1,                                   //   last four octets: 192.0.2.1
    0x00, 0x00, 0xfd, 0xe8,                         // peer AS 65000
    192, 0, 2, 1,                                   // peer BGP ID 192.0.2.1
    0x65, 0x53, 0xf1, 0x00,                         // timestamp 1700000000 s
    0x00, 0x00, 0x00, 0x7b,                         //   and 123 µs
];

/// [`PEER_GLOBAL_V4`] decoded.
pub(crate) fn peer_global_v4() -> PerPeerHeader {
    PerPeerHeader {
        peer_type: PeerType::Global,
        flags: PeerFlags(0),
        distinguisher: RouteDistinguisher([0; 8]),
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        asn: 65000,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        ts_sec: 1_700_000_000,
        ts_usec: 123,
    }
}

/// A per-peer header vector: the bytes and what they decode to.
pub(crate) struct PeerVector {
    pub(crate) name: &'static str,
    pub(crate) bytes: Vec<u8>,
    pub(crate) header: PerPeerHeader,
}

/// One vector per peer type (0-3 and an unknown one), covering the flags
/// V, L, A, O and F.
pub(crate) fn peer_vectors() -> Vec<PeerVector> {
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let rd = [0x00, 0x01, 192, 0, 2, 1, 0x00, 0x07]; // type 1: 192.0.2.1:7
    let base = peer_global_v4();
    vec![
        PeerVector {
            name: "global v4",
            bytes: PEER_GLOBAL_V4.to_vec(),
            header: base,
        },
        PeerVector {
            name: "rd-instance v6 post-policy",
            // type 1, flags V|L, RD 1:192.0.2.1:7, peer 2001:db8::1
            bytes: peer_header(0x01, 0x80 | 0x40, rd, v6.octets()),
            header: PerPeerHeader {
                peer_type: PeerType::RdInstance,
                flags: PeerFlags(PeerFlags::V | PeerFlags::L),
                distinguisher: RouteDistinguisher(rd),
                address: IpAddr::V6(v6),
                ..base
            },
        },
        PeerVector {
            name: "local-instance legacy AS_PATH, Adj-RIB-Out pre-policy",
            // type 2, flags A|O
            bytes: peer_header(0x02, 0x20 | 0x10, [0; 8], v4_field([192, 0, 2, 1])),
            header: PerPeerHeader {
                peer_type: PeerType::LocalInstance,
                flags: PeerFlags(PeerFlags::A | PeerFlags::O),
                ..base
            },
        },
        PeerVector {
            name: "loc-rib filtered",
            // type 3, flag F, peer address zero (RFC 9069 §4.1)
            bytes: peer_header(0x03, 0x80, [0; 8], [0; 16]),
            header: PerPeerHeader {
                peer_type: PeerType::LocRib,
                flags: PeerFlags(PeerFlags::F),
                address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                ..base
            },
        },
        PeerVector {
            name: "unknown peer type 9",
            bytes: peer_header(0x09, 0x00, [0; 8], v4_field([192, 0, 2, 1])),
            header: PerPeerHeader {
                peer_type: PeerType::Unknown(9),
                ..base
            },
        },
    ]
}

/// Initiation with a string, sysDescr and sysName TLV.
#[rustfmt::skip]
pub(crate) const INITIATION: [u8; 29] = [
    0x03,                   // version 3
    0x00, 0x00, 0x00, 0x1d, // message length 29
    0x04,                   // type 4: Initiation
    0x00, 0x00, 0x00, 0x03, // TLV type 0 (string), length 3
    b'l', b'a', b'b',
    0x00, 0x01, 0x00, 0x06, // TLV type 1 (sysDescr), length 6
    b'F', b'R', b'R', b' ', b'1', b'0',
    0x00, 0x02, 0x00, 0x02, // TLV type 2 (sysName), length 2
    b'r', b'1',
];

/// Termination with a string and a reason TLV.
#[rustfmt::skip]
pub(crate) const TERMINATION: [u8; 19] = [
    0x03,                   // version 3
    0x00, 0x00, 0x00, 0x13, // message length 19
    0x05,                   // type 5: Termination
    0x00, 0x00, 0x00, 0x03, // TLV type 0 (string), length 3
    b'b', b'y', b'e',
    0x00, 0x01, 0x00, 0x02, // TLV type 1 (reason), length 2
    0x00, 0x01,             // reason 1: unspecified
];

/// Peer Down, reason 1, with a NOTIFICATION Cease / Administrative
/// Shutdown.
pub(crate) fn peer_down_local_notification() -> Vec<u8> {
    #[rustfmt::skip]
    let tail = [
        0x01,                   // reason 1: local system closed, NOTIFICATION follows
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // BGP marker
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x00, 0x15,             // BGP length 21
        0x03,                   // type 3: NOTIFICATION
        0x06,                   // error code 6: Cease
        0x02,                   // subcode 2: Administrative Shutdown
    ];
    #[rustfmt::skip]
    let head = [
        0x03,                   // version 3
        0x00, 0x00, 0x00, 0x46, // message length 70
        0x02,                   // type 2: Peer Down
    ];
    [&head[..], &PEER_GLOBAL_V4, &tail].concat()
}

/// Statistics Report with a counter, a gauge and a per-AFI/SAFI gauge.
pub(crate) fn stats_report() -> Vec<u8> {
    #[rustfmt::skip]
    let head = [
        0x03,                   // version 3
        0x00, 0x00, 0x00, 0x57, // message length 87
        0x01,                   // type 1: Statistics Report
    ];
    #[rustfmt::skip]
    let tail = [
        0x00, 0x00, 0x00, 0x03, // stats count 3
        0x00, 0x00, 0x00, 0x04, // type 0 (rejected by inbound policy), length 4
        0x00, 0x00, 0x00, 0x07, //   counter32 7
        0x00, 0x07, 0x00, 0x08, // type 7 (routes in Adj-RIBs-In), length 8
        0x00, 0x00, 0x00, 0x01, //   gauge64 4294967296 + 2
        0x00, 0x00, 0x00, 0x02,
        0x00, 0x09, 0x00, 0x0b, // type 9 (per-AFI/SAFI Adj-RIB-In), length 11
        0x00, 0x02, 0x01,       //   AFI 2, SAFI 1: IPv6 unicast
        0x00, 0x00, 0x00, 0x00, //   gauge64 1000
        0x00, 0x00, 0x03, 0xe8,
    ];
    [&head[..], &PEER_GLOBAL_V4, &tail].concat()
}

/// The OPEN the monitored router sent in [`peer_up_v4`]: AS 65000,
/// IPv4 unicast, 4-octet AS, ADD-PATH IPv4 unicast receive.
#[rustfmt::skip]
pub(crate) const SENT_OPEN: [u8; 49] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // BGP marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x31,             // BGP length 49
    0x01,                   // type 1: OPEN
    0x04,                   // version 4
    0xfd, 0xe8,             // my AS 65000
    0x00, 0xb4,             // hold time 180
    192, 0, 2, 254,         // BGP identifier
    0x14,                   // optional parameters length 20
    0x02, 0x12,             // parameter 2 (capabilities), length 18
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // multiprotocol IPv4 unicast
    0x41, 0x04, 0x00, 0x00, 0xfd, 0xe8, // 4-octet AS 65000
    0x45, 0x04, 0x00, 0x01, 0x01, 0x01, // ADD-PATH IPv4 unicast, receive
];

/// The OPEN the monitored router received in [`peer_up_v4`]: AS 65001,
/// ADD-PATH IPv4 unicast send.
#[rustfmt::skip]
pub(crate) const RECEIVED_OPEN: [u8; 49] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // BGP marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x31,             // BGP length 49
    0x01,                   // type 1: OPEN
    0x04,                   // version 4
    0xfd, 0xe9,             // my AS 65001
    0x00, 0x5a,             // hold time 90
    192, 0, 2, 1,           // BGP identifier
    0x14,                   // optional parameters length 20
    0x02, 0x12,             // parameter 2 (capabilities), length 18
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // multiprotocol IPv4 unicast
    0x41, 0x04, 0x00, 0x00, 0xfd, 0xe9, // 4-octet AS 65001
    0x45, 0x04, 0x00, 0x01, 0x01, 0x02, // ADD-PATH IPv4 unicast, send
];

/// Peer Up of the canonical peer, IPv4 session, with a VRF/table name TLV.
pub(crate) fn peer_up_v4() -> Vec<u8> {
    #[rustfmt::skip]
    let head = [
        0x03,                   // version 3
        0x00, 0x00, 0x00, 0xae, // message length 174
        0x03,                   // type 3: Peer Up
    ];
    #[rustfmt::skip]
    let local = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // local address: IPv4 in the
        192, 0, 2, 254,                     //   last four octets
        0x00, 0xb3,                         // local port 179
        0xc3, 0x50,                         // remote port 50000
    ];
    #[rustfmt::skip]
    let info = [
        0x00, 0x03, 0x00, 0x04, // TLV type 3 (VRF/table name), length 4
        b'b', b'l', b'u', b'e',
    ];
    [
        &head[..],
        &PEER_GLOBAL_V4,
        &local,
        &SENT_OPEN,
        &RECEIVED_OPEN,
        &info,
    ]
    .concat()
}

/// Route Mirroring of a KEEPALIVE, with the "messages lost" information
/// code.
pub(crate) fn route_mirroring() -> Vec<u8> {
    #[rustfmt::skip]
    let head = [
        0x03,                   // version 3
        0x00, 0x00, 0x00, 0x4d, // message length 77
        0x06,                   // type 6: Route Mirroring
    ];
    #[rustfmt::skip]
    let tail = [
        0x00, 0x00, 0x00, 0x13, // TLV type 0 (BGP message), length 19
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // BGP marker
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x00, 0x13,             // BGP length 19
        0x04,                   // type 4: KEEPALIVE
        0x00, 0x01, 0x00, 0x02, // TLV type 1 (information), length 2
        0x00, 0x01,             // code 1: messages lost
    ];
    [&head[..], &PEER_GLOBAL_V4, &tail].concat()
}

/// The UPDATE of [`route_monitoring_v4`], BGP header included.
#[rustfmt::skip]
pub(crate) const UPDATE_V4: [u8; 102] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // BGP marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x66,             // BGP length 102
    0x02,                   // type 2: UPDATE
    0x00, 0x04,             // withdrawn routes length 4
    0x18, 198, 51, 100,     //   198.51.100.0/24
    0x00, 0x44,             // path attributes length 68
    0x40, 0x01, 0x01,       // ORIGIN (transitive), length 1
    0x00,                   //   IGP
    0x40, 0x02, 0x0e,       // AS_PATH (transitive), length 14
    0x02, 0x03,             //   AS_SEQUENCE of 3
    0x00, 0x00, 0xfd, 0xe8, //   65000
    0x00, 0x00, 0xfb, 0xf0, //   64496
    0xfa, 0x56, 0xea, 0x00, //   4200000000
    0x40, 0x03, 0x04,       // NEXT_HOP (transitive), length 4
    192, 0, 2, 1,
    0x80, 0x04, 0x04,       // MULTI_EXIT_DISC (optional), length 4
    0x00, 0x00, 0x00, 0x64, //   100
    0x40, 0x05, 0x04,       // LOCAL_PREF (transitive), length 4
    0x00, 0x00, 0x00, 0xc8, //   200
    0xc0, 0x08, 0x08,       // COMMUNITIES (optional transitive), length 8
    0xfd, 0xe8, 0x00, 0x64, //   65000:100
    0xff, 0xff, 0xff, 0x01, //   NO_EXPORT
    0xc0, 0x20, 0x0c,       // LARGE_COMMUNITY (optional transitive), length 12
    0x00, 0x00, 0xfd, 0xe8, //   global administrator 65000
    0x00, 0x00, 0x00, 0x01, //   local data 1
    0x00, 0x00, 0x00, 0x02, //   local data 2
    0x18, 203, 0, 113,      // NLRI 203.0.113.0/24
    0x10, 10, 1,            // NLRI 10.1.0.0/16
];

/// Route Monitoring of the canonical peer carrying [`UPDATE_V4`].
pub(crate) fn route_monitoring_v4() -> Vec<u8> {
    #[rustfmt::skip]
    let head = [
        0x03,                   // version 3
        0x00, 0x00, 0x00, 0x96, // message length 150
        0x00,                   // type 0: Route Monitoring
    ];
    [&head[..], &PEER_GLOBAL_V4, &UPDATE_V4].concat()
}

/// An NLRI vector: its layout, bytes, and what they decode to.
pub(crate) struct NlriVector {
    pub(crate) name: &'static str,
    pub(crate) family: AfiSafi,
    pub(crate) add_path: bool,
    pub(crate) bytes: &'static [u8],
    pub(crate) nlri: Nlri<'static>,
}

fn pfx(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
}

/// One NLRI per decoded encoding: plain, labeled, VPN, for IPv4 and IPv6,
/// unicast and multicast, with and without ADD-PATH.
pub(crate) fn nlri_vectors() -> Vec<NlriVector> {
    let plain = |prefix: &str, path_id| Nlri {
        path_id,
        prefix: pfx(prefix),
        rd: None,
        labels: Labels::default(),
    };
    vec![
        NlriVector {
            name: "ipv4 unicast",
            family: AfiSafi::new(0x0001, 0x01),
            add_path: false,
            bytes: &[0x18, 192, 0, 2], // length 24, 192.0.2.0
            nlri: plain("192.0.2.0/24", None),
        },
        NlriVector {
            name: "ipv4 unicast default route",
            family: AfiSafi::new(0x0001, 0x01),
            add_path: true,
            #[rustfmt::skip]
            bytes: &[
                0x00, 0x00, 0x00, 0x07, // path ID 7
                0x00,                   // length 0: 0.0.0.0/0
            ],
            nlri: plain("0.0.0.0/0", Some(7)),
        },
        NlriVector {
            name: "ipv4 unicast add-path",
            family: AfiSafi::new(0x0001, 0x01),
            add_path: true,
            #[rustfmt::skip]
            bytes: &[
                0x00, 0x00, 0x00, 0x2a, // path ID 42
                0x16, 198, 51, 100,     // length 22, 198.51.100.0
            ],
            nlri: plain("198.51.100.0/22", Some(42)),
        },
        NlriVector {
            name: "ipv4 multicast host route",
            family: AfiSafi::new(0x0001, 0x02),
            add_path: false,
            bytes: &[0x20, 232, 1, 1, 1], // length 32, 232.1.1.1
            nlri: plain("232.1.1.1/32", None),
        },
        NlriVector {
            name: "ipv6 unicast",
            family: AfiSafi::new(0x0002, 0x01),
            add_path: false,
            bytes: &[0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01], // length 48, 2001:db8:1::
            nlri: plain("2001:db8:1::/48", None),
        },
        NlriVector {
            name: "ipv6 unicast add-path /128",
            family: AfiSafi::new(0x0002, 0x01),
            add_path: true,
            #[rustfmt::skip]
            bytes: &[
                0xff, 0xff, 0xff, 0xff, // path ID 4294967295
                0x80,                   // length 128
                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
            ],
            nlri: plain("2001:db8::1/128", Some(u32::MAX)),
        },
        NlriVector {
            name: "ipv6 multicast",
            family: AfiSafi::new(0x0002, 0x02),
            add_path: false,
            bytes: &[0x10, 0xff, 0x0e], // length 16, ff0e::
            nlri: plain("ff0e::/16", None),
        },
        NlriVector {
            name: "ipv4 labeled unicast, two labels",
            family: AfiSafi::new(0x0001, 0x04),
            add_path: false,
            #[rustfmt::skip]
            bytes: &[
                0x48,             // length 72 = 2 × 24 label bits + 24
                0x00, 0x3e, 0x80, // label 1000, bottom-of-stack 0
                0x00, 0x7d, 0x01, // label 2000, bottom-of-stack 1
                203, 0, 113,      // 203.0.113.0/24
            ],
            nlri: Nlri {
                labels: Labels::new(&[0x00, 0x3e, 0x80, 0x00, 0x7d, 0x01]),
                ..plain("203.0.113.0/24", None)
            },
        },
        NlriVector {
            name: "ipv6 labeled unicast add-path",
            family: AfiSafi::new(0x0002, 0x04),
            add_path: true,
            #[rustfmt::skip]
            bytes: &[
                0x00, 0x00, 0x00, 0x01,       // path ID 1
                0x38,                         // length 56 = 24 + 32
                0x00, 0x00, 0x31,             // label 3, bottom-of-stack
                0x20, 0x01, 0x0d, 0xb8,       // 2001:db8::/32
            ],
            nlri: Nlri {
                labels: Labels::new(&[0x00, 0x00, 0x31]),
                ..plain("2001:db8::/32", Some(1))
            },
        },
        NlriVector {
            name: "ipv4 vpn",
            family: AfiSafi::new(0x0001, 0x80),
            add_path: false,
            #[rustfmt::skip]
            bytes: &[
                0x70,                   // length 112 = 24 + 64 + 24
                0x01, 0xf4, 0x01,       // label 8000, bottom-of-stack
                0x00, 0x00, 0xfd, 0xe8, // RD type 0: 65000:
                0x00, 0x00, 0x00, 0x64, //   100
                10, 1, 2,               // 10.1.2.0/24
            ],
            nlri: Nlri {
                rd: Some(RouteDistinguisher([0, 0, 0xfd, 0xe8, 0, 0, 0, 0x64])),
                labels: Labels::new(&[0x01, 0xf4, 0x01]),
                ..plain("10.1.2.0/24", None)
            },
        },
        NlriVector {
            name: "ipv6 vpn add-path",
            family: AfiSafi::new(0x0002, 0x80),
            add_path: true,
            #[rustfmt::skip]
            bytes: &[
                0x00, 0x00, 0x00, 0x05, // path ID 5
                0x98,                   // length 152 = 24 + 64 + 64
                0x01, 0xf4, 0x11,       // label 8001, bottom-of-stack
                0x00, 0x02, 0xfa, 0x56, // RD type 2: 4200000000:
                0xea, 0x00, 0x00, 0x07, //   7
                0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a, 0x00, 0x00, // 2001:db8:a::/64
            ],
            nlri: Nlri {
                rd: Some(RouteDistinguisher([0, 2, 0xfa, 0x56, 0xea, 0, 0, 7])),
                labels: Labels::new(&[0x01, 0xf4, 0x11]),
                ..plain("2001:db8:a::/64", Some(5))
            },
        },
        NlriVector {
            name: "ipv4 multicast vpn",
            family: AfiSafi::new(0x0001, 0x81),
            add_path: false,
            #[rustfmt::skip]
            bytes: &[
                0x78,                   // length 120 = 24 + 64 + 32
                0x00, 0x00, 0x11,       // label 1, bottom-of-stack
                0x00, 0x01, 192, 0,     // RD type 1: 192.0.2.1:
                2, 1, 0x00, 0x07,       //   7
                232, 0, 0, 1,           // 232.0.0.1/32
            ],
            nlri: Nlri {
                rd: Some(RouteDistinguisher([0, 1, 192, 0, 2, 1, 0, 7])),
                labels: Labels::new(&[0x00, 0x00, 0x11]),
                ..plain("232.0.0.1/32", None)
            },
        },
    ]
}
