//! Address families (RFC 4760 AFI/SAFI) and which of them we decode.

use core::fmt;

/// Address Family Identifier: IPv4.
pub const AFI_IPV4: u16 = 0x0001;
/// Address Family Identifier: IPv6.
pub const AFI_IPV6: u16 = 0x0002;
/// Address Family Identifier: L2VPN (EVPN, VPLS).
pub const AFI_L2VPN: u16 = 0x0019;
/// Address Family Identifier: BGP-LS.
pub const AFI_BGP_LS: u16 = 0x4004;

/// SAFI: unicast.
pub const SAFI_UNICAST: u8 = 0x01;
/// SAFI: multicast.
pub const SAFI_MULTICAST: u8 = 0x02;
/// SAFI: labeled unicast (RFC 8277).
pub const SAFI_LABELED: u8 = 0x04;
/// SAFI: EVPN.
pub const SAFI_EVPN: u8 = 0x46;
/// SAFI: BGP-LS.
pub const SAFI_BGP_LS: u8 = 0x47;
/// SAFI: MPLS-labeled VPN (RFC 4364).
pub const SAFI_MPLS_VPN: u8 = 0x80;
/// SAFI: multicast VPN routes in the VPN format.
pub const SAFI_MULTICAST_VPN: u8 = 0x81;
/// SAFI: flow specification.
pub const SAFI_FLOWSPEC: u8 = 0x85;
/// SAFI: VPN flow specification.
pub const SAFI_FLOWSPEC_VPN: u8 = 0x86;

/// An AFI/SAFI pair exactly as it appeared on the wire.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct AfiSafi {
    /// Address family identifier.
    pub afi: u16,
    /// Subsequent address family identifier.
    pub safi: u8,
}

/// IPv4 unicast, the family of the UPDATE's own NLRI fields.
pub const IPV4_UNICAST: AfiSafi = AfiSafi::new(AFI_IPV4, SAFI_UNICAST);
/// IPv6 unicast.
pub const IPV6_UNICAST: AfiSafi = AfiSafi::new(AFI_IPV6, SAFI_UNICAST);

/// The families whose NLRI are decoded prefix by prefix, in
/// the order of their ADD-PATH bits in a session context.
pub const DECODED_FAMILIES: [AfiSafi; 10] = [
    AfiSafi::new(AFI_IPV4, SAFI_UNICAST),
    AfiSafi::new(AFI_IPV4, SAFI_MULTICAST),
    AfiSafi::new(AFI_IPV4, SAFI_LABELED),
    AfiSafi::new(AFI_IPV4, SAFI_MPLS_VPN),
    AfiSafi::new(AFI_IPV4, SAFI_MULTICAST_VPN),
    AfiSafi::new(AFI_IPV6, SAFI_UNICAST),
    AfiSafi::new(AFI_IPV6, SAFI_MULTICAST),
    AfiSafi::new(AFI_IPV6, SAFI_LABELED),
    AfiSafi::new(AFI_IPV6, SAFI_MPLS_VPN),
    AfiSafi::new(AFI_IPV6, SAFI_MULTICAST_VPN),
];

/// The IP version of a prefix.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum Family {
    /// IPv4: prefixes up to 32 bits.
    V4,
    /// IPv6: prefixes up to 128 bits.
    V6,
}

impl Family {
    /// The longest prefix of this family, in bits.
    pub fn max_len(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

/// How the NLRI of a family are laid out.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum Encoding {
    /// Length and prefix (RFC 4271, RFC 4760).
    Plain,
    /// Length, label stack and prefix (RFC 8277).
    Labeled,
    /// Length, label stack, route distinguisher and prefix (RFC 4364).
    Vpn,
}

/// A family whose NLRI this codec decodes prefix by prefix.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct NlriKind {
    /// IPv4 or IPv6.
    pub family: Family,
    /// How each NLRI is laid out.
    pub encoding: Encoding,
}

impl AfiSafi {
    /// A pair from its parts.
    pub const fn new(afi: u16, safi: u8) -> Self {
        Self { afi, safi }
    }

    /// How to decode this family's NLRI, or `None` for families that are
    /// recognised and kept raw (EVPN, BGP-LS, flowspec, unknown ones).
    pub fn nlri_kind(self) -> Option<NlriKind> {
        let family = match self.afi {
            AFI_IPV4 => Family::V4,
            AFI_IPV6 => Family::V6,
            _ => return None,
        };
        let encoding = match self.safi {
            SAFI_UNICAST | SAFI_MULTICAST => Encoding::Plain,
            SAFI_LABELED => Encoding::Labeled,
            SAFI_MPLS_VPN | SAFI_MULTICAST_VPN => Encoding::Vpn,
            _ => return None,
        };
        Some(NlriKind { family, encoding })
    }

    /// A small dense index for the families we decode, used for bit sets.
    pub(crate) fn slot(self) -> Option<u32> {
        let afi: u32 = match self.afi {
            AFI_IPV4 => 0,
            AFI_IPV6 => 1,
            _ => return None,
        };
        let safi = match self.safi {
            SAFI_UNICAST => 0,
            SAFI_MULTICAST => 1,
            SAFI_LABELED => 2,
            SAFI_MPLS_VPN => 3,
            SAFI_MULTICAST_VPN => 4,
            _ => return None,
        };
        afi.checked_mul(5)?.checked_add(safi)
    }

    /// A stable name such as `ipv4-unicast`, for logs, metrics and JSON.
    pub fn name(self) -> &'static str {
        match (self.afi, self.safi) {
            (AFI_IPV4, SAFI_UNICAST) => "ipv4-unicast",
            (AFI_IPV4, SAFI_MULTICAST) => "ipv4-multicast",
            (AFI_IPV4, SAFI_LABELED) => "ipv4-labeled-unicast",
            (AFI_IPV4, SAFI_MPLS_VPN) => "ipv4-vpn",
            (AFI_IPV4, SAFI_MULTICAST_VPN) => "ipv4-multicast-vpn",
            (AFI_IPV4, SAFI_FLOWSPEC) => "ipv4-flowspec",
            (AFI_IPV4, SAFI_FLOWSPEC_VPN) => "ipv4-flowspec-vpn",
            (AFI_IPV6, SAFI_UNICAST) => "ipv6-unicast",
            (AFI_IPV6, SAFI_MULTICAST) => "ipv6-multicast",
            (AFI_IPV6, SAFI_LABELED) => "ipv6-labeled-unicast",
            (AFI_IPV6, SAFI_MPLS_VPN) => "ipv6-vpn",
            (AFI_IPV6, SAFI_MULTICAST_VPN) => "ipv6-multicast-vpn",
            (AFI_IPV6, SAFI_FLOWSPEC) => "ipv6-flowspec",
            (AFI_IPV6, SAFI_FLOWSPEC_VPN) => "ipv6-flowspec-vpn",
            (AFI_L2VPN, SAFI_EVPN) => "l2vpn-evpn",
            (AFI_BGP_LS, SAFI_BGP_LS) => "bgp-ls",
            _ => "other",
        }
    }
}

impl fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.afi, self.safi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(
            AfiSafi::new(2, 128).nlri_kind(),
            Some(NlriKind {
                family: Family::V6,
                encoding: Encoding::Vpn
            })
        );
        assert_eq!(AfiSafi::new(25, 70).nlri_kind(), None);
        assert_eq!(AfiSafi::new(25, 70).name(), "l2vpn-evpn");
        assert_eq!(AfiSafi::new(1, 133).nlri_kind(), None);
        let slots: Vec<_> = DECODED_FAMILIES.iter().map(|f| f.slot().unwrap()).collect();
        assert_eq!(slots, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn names_and_raw_families() {
        let cases = [
            (AFI_IPV4, SAFI_UNICAST, "ipv4-unicast", true),
            (AFI_IPV4, SAFI_MULTICAST, "ipv4-multicast", true),
            (AFI_IPV4, SAFI_LABELED, "ipv4-labeled-unicast", true),
            (AFI_IPV4, SAFI_MPLS_VPN, "ipv4-vpn", true),
            (AFI_IPV4, SAFI_MULTICAST_VPN, "ipv4-multicast-vpn", true),
            (AFI_IPV4, SAFI_FLOWSPEC, "ipv4-flowspec", false),
            (AFI_IPV4, SAFI_FLOWSPEC_VPN, "ipv4-flowspec-vpn", false),
            (AFI_IPV6, SAFI_UNICAST, "ipv6-unicast", true),
            (AFI_IPV6, SAFI_MULTICAST, "ipv6-multicast", true),
            (AFI_IPV6, SAFI_LABELED, "ipv6-labeled-unicast", true),
            (AFI_IPV6, SAFI_MPLS_VPN, "ipv6-vpn", true),
            (AFI_IPV6, SAFI_MULTICAST_VPN, "ipv6-multicast-vpn", true),
            (AFI_IPV6, SAFI_FLOWSPEC, "ipv6-flowspec", false),
            (AFI_IPV6, SAFI_FLOWSPEC_VPN, "ipv6-flowspec-vpn", false),
            (AFI_L2VPN, SAFI_EVPN, "l2vpn-evpn", false),
            (AFI_BGP_LS, SAFI_BGP_LS, "bgp-ls", false),
            (AFI_IPV4, 0x47, "other", false),
            (0x0003, SAFI_UNICAST, "other", false),
        ];
        for (afi, safi, name, decoded) in cases {
            let f = AfiSafi::new(afi, safi);
            assert_eq!(f.name(), name);
            assert_eq!(f.nlri_kind().is_some(), decoded, "{name}");
            assert_eq!(f.slot().is_some(), decoded, "{name}");
            assert_eq!(DECODED_FAMILIES.contains(&f), decoded, "{name}");
        }
        assert_eq!(AfiSafi::new(25, 70).to_string(), "25/70");
        assert_eq!(Family::V4.max_len(), 32);
        assert_eq!(Family::V6.max_len(), 128);
    }
}
