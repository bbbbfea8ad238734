//! What a decoder must know about a BGP session to read its UPDATEs:
//! ASN width and ADD-PATH per family. BMP derives it from the two OPENs of
//! the Peer Up (see `wire::bmp::peer_up`).

use super::afi_safi::{AfiSafi, DECODED_FAMILIES};

/// Per-peer decoding context.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct SessionContext {
    /// Whether AS_PATH and AGGREGATOR carry 4-octet ASNs.
    pub four_octet_as: bool,
    /// Bit `AfiSafi::slot()` set: NLRI of that family carry path IDs.
    add_path: u16,
}

impl SessionContext {
    /// A context with 4-octet ASNs and no ADD-PATH: what modern sessions
    /// and Loc-RIB peers use.
    pub const FOUR_OCTET: Self = Self {
        four_octet_as: true,
        add_path: 0,
    };

    /// Whether NLRI of `family` carry path identifiers.
    pub fn add_path(&self, family: AfiSafi) -> bool {
        family.slot().is_some_and(|s| self.add_path & (1 << s) != 0)
    }

    /// Sets whether NLRI of `family` carry path identifiers. Families that
    /// are kept raw have no path-ID setting and are ignored.
    pub fn set_add_path(&mut self, family: AfiSafi, on: bool) {
        if let Some(s) = family.slot() {
            if on {
                self.add_path |= 1 << s;
            } else {
                self.add_path &= !(1 << s);
            }
        }
    }

    /// This context with ADD-PATH for `family`.
    pub fn with_add_path(mut self, family: AfiSafi) -> Self {
        self.set_add_path(family, true);
        self
    }

    /// The families with ADD-PATH on.
    pub fn add_path_families(&self) -> impl Iterator<Item = AfiSafi> + '_ {
        DECODED_FAMILIES.into_iter().filter(|f| self.add_path(*f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::afi_safi::{IPV4_UNICAST, IPV6_UNICAST};

    #[test]
    fn add_path_bits() {
        let mut c = SessionContext::FOUR_OCTET.with_add_path(IPV6_UNICAST);
        assert!(c.add_path(IPV6_UNICAST));
        assert!(!c.add_path(IPV4_UNICAST));
        c.set_add_path(AfiSafi::new(25, 70), true);
        assert_eq!(c.add_path_families().collect::<Vec<_>>(), [IPV6_UNICAST]);
        c.set_add_path(IPV6_UNICAST, false);
        assert_eq!(c, SessionContext::FOUR_OCTET);
    }
}
