//! The BMP per-peer header (RFC 7854 §4.2, RFC 8671 §4, RFC 9069 §4.1).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zerocopy::network_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::wire::WireError;
use crate::wire::bgp::nlri::RouteDistinguisher;

/// Length of the per-peer header.
pub const PER_PEER_HEADER_LEN: usize = 42;

/// The per-peer header as it is on the wire.
///
/// ```text
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |   Peer Type   |  Peer Flags   |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |         Peer Distinguisher (present based on peer type)       |
///  |                                                               |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                 Peer Address (16 bytes)                       |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                           Peer AS                             |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                         Peer BGP ID                           |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                    Timestamp (seconds)                        |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                  Timestamp (microseconds)                     |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(FromBytes, KnownLayout, Immutable, Unaligned, Debug)]
#[repr(C)]
pub struct RawPerPeerHeader {
    /// Peer type.
    pub peer_type: u8,
    /// Peer flags.
    pub flags: u8,
    /// Peer distinguisher.
    pub distinguisher: U64,
    /// Peer address; IPv4 in the last four octets.
    pub address: [u8; 16],
    /// Peer AS.
    pub asn: U32,
    /// Peer BGP identifier.
    pub bgp_id: [u8; 4],
    /// Timestamp, seconds.
    pub ts_sec: U32,
    /// Timestamp, microseconds.
    pub ts_usec: U32,
}

const _: () = assert!(size_of::<RawPerPeerHeader>() == PER_PEER_HEADER_LEN);

/// Peer types (RFC 7854 §10.2, RFC 9069).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum PeerType {
    /// 0: Global Instance Peer.
    Global,
    /// 1: RD Instance Peer.
    RdInstance,
    /// 2: Local Instance Peer.
    LocalInstance,
    /// 3: Loc-RIB Instance Peer (RFC 9069).
    LocRib,
    /// Anything else.
    Unknown(u8),
}

impl PeerType {
    /// From the wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Global,
            1 => Self::RdInstance,
            2 => Self::LocalInstance,
            3 => Self::LocRib,
            other => Self::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Global => 0,
            Self::RdInstance => 1,
            Self::LocalInstance => 2,
            Self::LocRib => 3,
            Self::Unknown(v) => v,
        }
    }

    /// A stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::RdInstance => "rd-instance",
            Self::LocalInstance => "local-instance",
            Self::LocRib => "loc-rib",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// Peer flags.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct PeerFlags(pub u8);

impl PeerFlags {
    /// V: the peer address is IPv6 (peer types 0-2).
    pub const V: u8 = 0x80;
    /// L: post-policy (peer types 0-2).
    pub const L: u8 = 0x40;
    /// A: legacy 2-octet AS_PATH format (peer types 0-2).
    pub const A: u8 = 0x20;
    /// O: Adj-RIB-Out (RFC 8671, peer types 0-2).
    pub const O: u8 = 0x10;
    /// F: the Loc-RIB is filtered (RFC 9069, peer type 3).
    pub const F: u8 = 0x80;

    /// Whether all bits of `mask` are set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// Which RIB a message reports on.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum RibKind {
    /// Adj-RIB-In, pre-policy.
    AdjRibInPre,
    /// Adj-RIB-In, post-policy.
    AdjRibInPost,
    /// Loc-RIB (RFC 9069).
    LocRib,
    /// Adj-RIB-Out, pre-policy (RFC 8671).
    AdjRibOutPre,
    /// Adj-RIB-Out, post-policy (RFC 8671).
    AdjRibOutPost,
}

impl RibKind {
    /// Every RIB kind, in [`Self::code`] order.
    pub const ALL: [Self; 5] = [
        Self::AdjRibInPre,
        Self::AdjRibInPost,
        Self::LocRib,
        Self::AdjRibOutPre,
        Self::AdjRibOutPost,
    ];

    /// A stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AdjRibInPre => "adj-rib-in-pre",
            Self::AdjRibInPost => "adj-rib-in-post",
            Self::LocRib => "loc-rib",
            Self::AdjRibOutPre => "adj-rib-out-pre",
            Self::AdjRibOutPost => "adj-rib-out-post",
        }
    }

    /// A small code for storage: 0..=4 in declaration order.
    pub fn code(self) -> u8 {
        match self {
            Self::AdjRibInPre => 0,
            Self::AdjRibInPost => 1,
            Self::LocRib => 2,
            Self::AdjRibOutPre => 3,
            Self::AdjRibOutPost => 4,
        }
    }
}

/// A decoded per-peer header.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct PerPeerHeader {
    /// Peer type.
    pub peer_type: PeerType,
    /// Raw flags.
    pub flags: PeerFlags,
    /// Peer distinguisher (zero for global peers).
    pub distinguisher: RouteDistinguisher,
    /// Peer address (unspecified for Loc-RIB).
    pub address: IpAddr,
    /// Peer AS.
    pub asn: u32,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Seconds since the epoch.
    pub ts_sec: u32,
    /// Microseconds.
    pub ts_usec: u32,
}

impl PerPeerHeader {
    /// Reads the per-peer header at the start of `buf`; returns it and the
    /// rest.
    pub fn parse(buf: &[u8]) -> Result<(Self, &[u8]), WireError> {
        let (raw, rest) = buf
            .split_first_chunk::<PER_PEER_HEADER_LEN>()
            .ok_or(WireError::Truncated("per-peer header"))?;
        // Checked at compile time (same size, no alignment).
        let raw: &RawPerPeerHeader = zerocopy::transmute_ref!(raw);
        let peer_type = PeerType::from_u8(raw.peer_type);
        let flags = PeerFlags(raw.flags);
        let v6 = peer_type != PeerType::LocRib && flags.has(PeerFlags::V);
        let address = if v6 {
            IpAddr::V6(Ipv6Addr::from(raw.address))
        } else {
            let [.., a, b, c, d] = raw.address;
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        };
        let h = Self {
            peer_type,
            flags,
            distinguisher: RouteDistinguisher(raw.distinguisher.get().to_be_bytes()),
            address,
            asn: raw.asn.get(),
            bgp_id: Ipv4Addr::from(raw.bgp_id),
            ts_sec: raw.ts_sec.get(),
            ts_usec: raw.ts_usec.get(),
        };
        Ok((h, rest))
    }

    /// The RIB the message reports on.
    pub fn rib_kind(&self) -> RibKind {
        if self.peer_type == PeerType::LocRib {
            return RibKind::LocRib;
        }
        match (self.flags.has(PeerFlags::O), self.flags.has(PeerFlags::L)) {
            (false, false) => RibKind::AdjRibInPre,
            (false, true) => RibKind::AdjRibInPost,
            (true, false) => RibKind::AdjRibOutPre,
            (true, true) => RibKind::AdjRibOutPost,
        }
    }

    /// Whether the A flag says AS_PATH uses 2-octet ASNs.
    pub fn legacy_as_path(&self) -> bool {
        self.peer_type != PeerType::LocRib && self.flags.has(PeerFlags::A)
    }

    /// Whether a Loc-RIB peer's RIB is filtered (F flag).
    pub fn loc_rib_filtered(&self) -> bool {
        self.peer_type == PeerType::LocRib && self.flags.has(PeerFlags::F)
    }

    /// The timestamp as microseconds since the epoch (0 if unset).
    pub fn timestamp_micros(&self) -> u64 {
        u64::from(self.ts_sec)
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(self.ts_usec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_vectors::{peer_global_v4, peer_vectors};

    pub(crate) fn raw_header(peer_type: u8, flags: u8, addr: [u8; 16]) -> Vec<u8> {
        let mut v = vec![peer_type, flags];
        v.extend_from_slice(&[0, 0, 0xfb, 0xf3, 0, 0, 0, 11]);
        v.extend_from_slice(&addr);
        v.extend_from_slice(&65000u32.to_be_bytes());
        v.extend_from_slice(&[192, 0, 2, 1]);
        v.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        v.extend_from_slice(&123u32.to_be_bytes());
        v
    }

    #[test]
    fn v4_and_flags() {
        let mut a = [0; 16];
        a[12..].copy_from_slice(&[198, 51, 100, 1]);
        let buf = raw_header(1, PeerFlags::L | PeerFlags::O | PeerFlags::A, a);
        let (h, rest) = PerPeerHeader::parse(&buf).unwrap();
        assert!(rest.is_empty());
        assert_eq!(h.peer_type, PeerType::RdInstance);
        assert_eq!(h.address.to_string(), "198.51.100.1");
        assert_eq!(h.rib_kind(), RibKind::AdjRibOutPost);
        assert!(h.legacy_as_path());
        assert_eq!(h.distinguisher.to_string(), "0:64499:11");
        assert_eq!(h.timestamp_micros(), 1_700_000_000_000_123);
    }

    #[test]
    fn loc_rib_f_flag_is_not_v() {
        let buf = raw_header(3, PeerFlags::F, [0; 16]);
        let (h, _) = PerPeerHeader::parse(&buf).unwrap();
        assert_eq!(h.rib_kind(), RibKind::LocRib);
        assert!(h.loc_rib_filtered());
        assert_eq!(h.address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn v6_and_truncated() {
        let a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let buf = raw_header(0, PeerFlags::V, a);
        let (h, _) = PerPeerHeader::parse(&buf).unwrap();
        assert_eq!(h.address.to_string(), "2001:db8::1");
        assert_eq!(h.rib_kind(), RibKind::AdjRibInPre);
        assert_eq!(
            PerPeerHeader::parse(&buf[..41]),
            Err(WireError::Truncated("per-peer header"))
        );
    }

    #[test]
    fn shared_vectors_decode() {
        for v in peer_vectors() {
            let (h, rest) = PerPeerHeader::parse(&v.bytes).unwrap();
            assert_eq!(h, v.header, "{}", v.name);
            assert!(rest.is_empty());
        }
    }

    /// (peer type, flags) → (RIB, legacy AS_PATH, filtered Loc-RIB, IPv6).
    #[test]
    fn flags_by_peer_type() {
        use RibKind::*;
        let (v, l, a, o) = (PeerFlags::V, PeerFlags::L, PeerFlags::A, PeerFlags::O);
        let cases = [
            (0, 0, AdjRibInPre, false, false, false),
            (0, v, AdjRibInPre, false, false, true),
            (0, l, AdjRibInPost, false, false, false),
            (1, a, AdjRibInPre, true, false, false),
            (2, o, AdjRibOutPre, false, false, false),
            (0, o | l, AdjRibOutPost, false, false, false),
            (1, v | l | a | o, AdjRibOutPost, true, false, true),
            (9, v | a, AdjRibInPre, true, false, true),
            // Loc-RIB: only F is defined; V, L, A, O bits mean nothing.
            (3, 0, LocRib, false, false, false),
            (3, PeerFlags::F, LocRib, false, true, false),
            (3, l | a | o, LocRib, false, false, false),
        ];
        let v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        for (t, flags, rib, legacy, filtered, is_v6) in cases {
            let (h, _) = PerPeerHeader::parse(&raw_header(t, flags, v6)).unwrap();
            let case = format!("type {t} flags {flags:#04x}");
            assert_eq!(h.rib_kind(), rib, "{case}");
            assert_eq!(h.legacy_as_path(), legacy, "{case}");
            assert_eq!(h.loc_rib_filtered(), filtered, "{case}");
            assert_eq!(h.address.is_ipv6(), is_v6, "{case}");
        }
    }

    #[test]
    fn codes_and_names() {
        for c in 0..=u8::MAX {
            assert_eq!(PeerType::from_u8(c).to_u8(), c);
        }
        let names: Vec<_> = (0..5).map(|c| PeerType::from_u8(c).name()).collect();
        assert_eq!(
            names,
            [
                "global",
                "rd-instance",
                "local-instance",
                "loc-rib",
                "unknown"
            ]
        );
        use RibKind::*;
        let ribs = [
            AdjRibInPre,
            AdjRibInPost,
            LocRib,
            AdjRibOutPre,
            AdjRibOutPost,
        ];
        let codes: Vec<_> = ribs.iter().map(|r| r.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        let names: Vec<_> = ribs.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            [
                "adj-rib-in-pre",
                "adj-rib-in-post",
                "loc-rib",
                "adj-rib-out-pre",
                "adj-rib-out-post"
            ]
        );
        let h = PerPeerHeader {
            ts_sec: 0,
            ts_usec: 0,
            ..peer_global_v4()
        };
        assert_eq!(h.timestamp_micros(), 0);
    }
}
