//! The BGP OPEN message (RFC 4271 §4.2) with optional parameters
//! (RFC 9072 extended length) and capabilities (RFC 5492).

use core::net::Ipv4Addr;

use super::afi_safi::AfiSafi;
use crate::wire::{Reader, WireError};

/// Optional parameter type: capabilities.
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072: a non-extended length of 255 followed by this type marks the
/// extended optional parameters format.
const PARAM_EXTENDED: u8 = 255;

/// Capability codes this codec decodes.
pub mod cap {
    /// Multiprotocol extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// Graceful restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 4-octet AS numbers (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
}

/// ```text
///   0                   1                   2                   3
///   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///  +-+-+-+-+-+-+-+-+
///  |    Version    |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |     My Autonomous System      |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |           Hold Time           |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                         BGP Identifier                        |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  | Opt Parm Len  |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |             Optional Parameters (variable)                    |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Open<'a> {
    /// BGP version (4).
    pub version: u8,
    /// My Autonomous System (AS_TRANS 23456 for 4-octet speakers).
    pub my_as: u16,
    /// Hold time in seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Whether the optional parameters use the RFC 9072 extended format.
    pub extended_params: bool,
    /// The optional parameters, checked.
    params: &'a [u8],
}

impl<'a> Open<'a> {
    /// Parses an OPEN body (after the BGP header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = r.u8("OPEN version")?;
        let my_as = r.u16("OPEN my AS")?;
        let hold_time = r.u16("OPEN hold time")?;
        let bgp_id = Ipv4Addr::from(r.array::<4>("OPEN BGP identifier")?);
        let len = r.u8("OPEN optional parameters length")?;
        let extended_params = len == 255 && r.rest().first() == Some(&PARAM_EXTENDED);
        let params = if extended_params {
            r.u8("extended parameters type")?;
            let len = r.u16("extended parameters length")?;
            r.take(usize::from(len), "OPEN optional parameters")?
        } else {
            r.take(usize::from(len), "OPEN optional parameters")?
        };
        r.expect_empty("OPEN")?;
        let open = Self {
            version,
            my_as,
            hold_time,
            bgp_id,
            extended_params,
            params,
        };
        for p in open.raw_params() {
            let (t, v) = p?;
            if t == PARAM_CAPABILITIES {
                CapIter::new(v).try_for_each(|c| c.map(drop))?;
            }
        }
        Ok(open)
    }

    fn raw_params(&self) -> ParamIter<'a> {
        ParamIter {
            r: Reader::new(self.params),
            extended: self.extended_params,
        }
    }

    /// All capabilities, from every capabilities parameter.
    pub fn capabilities(&self) -> impl Iterator<Item = Capability<'a>> + 'a {
        self.raw_params()
            .filter_map(Result::ok)
            .filter(|&(t, _)| t == PARAM_CAPABILITIES)
            .flat_map(|(_, v)| CapIter::new(v).filter_map(Result::ok))
    }

    /// The 4-octet AS number, if the capability is present.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(asn),
            _ => None,
        })
    }

    /// The speaker's AS: the 4-octet one if announced, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// The ADD-PATH direction announced for a family, if any.
    pub fn add_path(&self, family: AfiSafi) -> Option<AddPathDirection> {
        self.capabilities()
            .filter_map(|c| match c {
                Capability::AddPath(v) => Some(add_path_entries(v)),
                _ => None,
            })
            .flatten()
            .find(|(f, _)| *f == family)
            .map(|(_, d)| d)
    }
}

struct ParamIter<'a> {
    r: Reader<'a>,
    extended: bool,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Result<(u8, &'a [u8]), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let extended = self.extended;
        self.r.next_item(|r| {
            let t = r.u8("optional parameter type")?;
            let len = if extended {
                r.u16("optional parameter length")?
            } else {
                u16::from(r.u8("optional parameter length")?)
            };
            Ok((t, r.take(usize::from(len), "optional parameter")?))
        })
    }
}

/// ADD-PATH Send/Receive field (RFC 7911 §4).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum AddPathDirection {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
    /// Anything else.
    Unknown(u8),
}

impl AddPathDirection {
    /// From the wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Receive,
            2 => Self::Send,
            3 => Self::Both,
            other => Self::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Receive => 1,
            Self::Send => 2,
            Self::Both => 3,
            Self::Unknown(v) => v,
        }
    }

    /// Whether it includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }

    /// Whether it includes sending.
    pub fn sends(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }
}

/// The (family, direction) entries of an ADD-PATH capability value.
pub fn add_path_entries(value: &[u8]) -> impl Iterator<Item = (AfiSafi, AddPathDirection)> + '_ {
    value.as_chunks::<4>().0.iter().map(|&[a, b, s, d]| {
        (
            AfiSafi::new(u16::from_be_bytes([a, b]), s),
            AddPathDirection::from_u8(d),
        )
    })
}

/// One capability.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Capability<'a> {
    /// Multiprotocol extensions for a family.
    Multiprotocol(AfiSafi),
    /// Route refresh.
    RouteRefresh,
    /// Extended message.
    ExtendedMessage,
    /// Graceful restart (value kept raw).
    GracefulRestart(&'a [u8]),
    /// 4-octet AS support, with the speaker's AS.
    FourOctetAs(u32),
    /// ADD-PATH entries; read them with [`add_path_entries`].
    AddPath(&'a [u8]),
    /// Any other capability, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value.
        value: &'a [u8],
    },
}

impl Capability<'_> {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Multiprotocol(_) => cap::MULTIPROTOCOL,
            Self::RouteRefresh => cap::ROUTE_REFRESH,
            Self::ExtendedMessage => cap::EXTENDED_MESSAGE,
            Self::GracefulRestart(_) => cap::GRACEFUL_RESTART,
            Self::FourOctetAs(_) => cap::FOUR_OCTET_AS,
            Self::AddPath(_) => cap::ADD_PATH,
            Self::Unknown { code, .. } => *code,
        }
    }
}

/// Iterator over the capabilities in one capabilities parameter.
#[derive(Clone, Debug)]
pub struct CapIter<'a> {
    r: Reader<'a>,
}

impl<'a> CapIter<'a> {
    /// Capabilities in a capabilities parameter value.
    pub fn new(value: &'a [u8]) -> Self {
        Self {
            r: Reader::new(value),
        }
    }

    fn read(r: &mut Reader<'a>) -> Result<Capability<'a>, WireError> {
        let code = r.u8("capability code")?;
        let len = r.u8("capability length")?;
        let value = r.take(usize::from(len), "capability value")?;
        let c = match code {
            cap::MULTIPROTOCOL => match *value {
                [a, b, _, s] => {
                    Capability::Multiprotocol(AfiSafi::new(u16::from_be_bytes([a, b]), s))
                }
                _ => return Err(WireError::BadLength("multiprotocol capability")),
            },
            cap::ROUTE_REFRESH => Capability::RouteRefresh,
            cap::EXTENDED_MESSAGE => Capability::ExtendedMessage,
            cap::GRACEFUL_RESTART => Capability::GracefulRestart(value),
            cap::FOUR_OCTET_AS => match *value {
                [a, b, c, d] => Capability::FourOctetAs(u32::from_be_bytes([a, b, c, d])),
                _ => return Err(WireError::BadLength("4-octet AS capability")),
            },
            cap::ADD_PATH if value.len() % 4 == 0 => Capability::AddPath(value),
            cap::ADD_PATH => return Err(WireError::BadLength("ADD-PATH capability")),
            code => Capability::Unknown { code, value },
        };
        Ok(c)
    }
}

impl<'a> Iterator for CapIter<'a> {
    type Item = Result<Capability<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.r.next_item(Self::read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::afi_safi::{IPV4_UNICAST, IPV6_UNICAST};

    fn open_body(params: &[u8]) -> Vec<u8> {
        let mut b = vec![4, 0x5b, 0xa0, 0, 180, 192, 0, 2, 1, params.len() as u8];
        b.extend_from_slice(params);
        b
    }

    #[test]
    fn capabilities() {
        let caps = [
            2, 22, // capabilities parameter, 22 octets
            1, 4, 0, 2, 0, 1, // MP IPv6 unicast
            65, 4, 0xfb, 0xf0, 0x00, 0x5a, // 4-octet AS 4226809946
            69, 4, 0, 1, 1, 3, // ADD-PATH IPv4 unicast both
            0x80, 2, 0xaa, 0xbb, // unknown
        ];
        let body = open_body(&caps);
        let o = Open::parse(&body).unwrap();
        assert_eq!(o.my_as, 23456);
        assert_eq!(o.asn(), 4_226_809_946);
        assert_eq!(o.add_path(IPV4_UNICAST), Some(AddPathDirection::Both));
        assert_eq!(o.add_path(IPV6_UNICAST), None);
        let codes: Vec<_> = o.capabilities().map(|c| c.code()).collect();
        assert_eq!(codes, [1, 65, 69, 0x80]);
    }

    #[test]
    fn extended_params_rfc9072() {
        let mut b = vec![4, 0, 1, 0, 90, 10, 0, 0, 1, 255, 255, 0, 9];
        b.extend_from_slice(&[2, 0, 6, 65, 4, 0, 0, 0xfd, 0xe8]);
        let o = Open::parse(&b).unwrap();
        assert!(o.extended_params);
        assert_eq!(o.asn(), 65000);
    }

    #[test]
    fn rejects_bad_capabilities() {
        let body = open_body(&[2, 4, 65, 2, 0, 1]);
        assert_eq!(
            Open::parse(&body),
            Err(WireError::BadLength("4-octet AS capability"))
        );
        let body = open_body(&[2, 4, 65, 9, 0, 1]);
        assert_eq!(
            Open::parse(&body),
            Err(WireError::Truncated("capability value"))
        );
        let mut body = open_body(&[]);
        body.push(0);
        assert_eq!(Open::parse(&body), Err(WireError::TrailingBytes("OPEN")));
    }

    #[test]
    fn every_capability_kind() {
        #[rustfmt::skip]
        let params = [
            0x02, 0x06,                         // capabilities parameter, 6 octets
            0x01, 0x04, 0x00, 0x01, 0x00, 0x80, //   multiprotocol IPv4 VPN
            0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // parameter 1 (authentication, deprecated): skipped
            0x02, 0x02, 0x02, 0x00,             // capabilities: route refresh
            0x02, 0x02, 0x06, 0x00,             // capabilities: extended message
            0x02, 0x08,                         // capabilities parameter, 8 octets
            0x40, 0x06, 0x80, 0x78,             //   graceful restart: R, 120 s,
            0x00, 0x01, 0x01, 0x80,             //     IPv4 unicast, forwarding preserved
            0x02, 0x06,                         // capabilities parameter, 6 octets
            0x41, 0x04, 0xfa, 0x56, 0xea, 0x00, //   4-octet AS 4200000000
            0x02, 0x0a,                         // capabilities parameter, 10 octets
            0x45, 0x08,                         //   ADD-PATH, two entries:
            0x00, 0x01, 0x01, 0x01,             //     IPv4 unicast receive
            0x00, 0x02, 0x04, 0x02,             //     IPv6 labeled unicast send
            0x02, 0x03, 0x49, 0x01, 0x00,       // capabilities: unknown 73 (FQDN), 1 octet
        ];
        let body = open_body(&params);
        let o = Open::parse(&body).unwrap();
        let caps: Vec<_> = o.capabilities().collect();
        assert_eq!(
            caps,
            [
                Capability::Multiprotocol(AfiSafi::new(1, 0x80)),
                Capability::RouteRefresh,
                Capability::ExtendedMessage,
                Capability::GracefulRestart(&[0x80, 0x78, 0x00, 0x01, 0x01, 0x80]),
                Capability::FourOctetAs(4_200_000_000),
                Capability::AddPath(&[0x00, 0x01, 0x01, 0x01, 0x00, 0x02, 0x04, 0x02]),
                Capability::Unknown {
                    code: 0x49,
                    value: &[0x00]
                },
            ]
        );
        let codes: Vec<_> = caps.iter().map(Capability::code).collect();
        assert_eq!(codes, [1, 2, 6, 64, 65, 69, 73]);
        assert_eq!(o.asn(), 4_200_000_000);
        assert_eq!(o.add_path(IPV4_UNICAST), Some(AddPathDirection::Receive));
        assert_eq!(o.add_path(AfiSafi::new(2, 4)), Some(AddPathDirection::Send));
        assert_eq!(o.add_path(IPV6_UNICAST), None);
        assert!(!o.extended_params);
    }

    #[test]
    fn no_optional_parameters() {
        let body = open_body(&[]);
        let o = Open::parse(&body).unwrap();
        assert_eq!(o.version, 4);
        assert_eq!(o.hold_time, 180);
        assert_eq!(o.bgp_id, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(o.capabilities().count(), 0);
        assert_eq!(o.four_octet_as(), None);
        assert_eq!(o.asn(), 23456, "my AS when there is no 4-octet capability");
    }

    #[test]
    fn extended_params_with_two_parameters() {
        #[rustfmt::skip]
        let b = [
            0x04, 0xfd, 0xe8, 0x00, 0x5a, 10, 0, 0, 1, // version, AS 65000, hold 90, ID
            0xff,                   // non-extended length 255 ...
            0xff,                   // ... and type 255: RFC 9072 format
            0x00, 0x0e,             // extended parameters length 14
            0x01, 0x00, 0x02, 0xaa, 0xbb,       // parameter 1, 2 octets: skipped
            0x02, 0x00, 0x06,                   // capabilities, 6 octets
            0x45, 0x04, 0x00, 0x02, 0x01, 0x03, //   ADD-PATH IPv6 unicast both
        ];
        let o = Open::parse(&b).unwrap();
        assert!(o.extended_params);
        assert_eq!(o.asn(), 65000);
        assert_eq!(o.add_path(IPV6_UNICAST), Some(AddPathDirection::Both));
    }

    #[test]
    fn non_extended_length_255_without_marker() {
        // Length 255 followed by a capabilities parameter (type 2, not 255)
        // is the plain format: 255 octets of parameters.
        let mut params = vec![0x02, 0xfd]; // capabilities, 253 octets
        for _ in 0..125 {
            params.extend_from_slice(&[0x02, 0x00]); // route refresh
        }
        params.extend_from_slice(&[0x49, 0x01, 0x00]); // unknown 73, 1 octet
        let body = open_body(&params);
        assert_eq!(body[9], 255);
        let o = Open::parse(&body).unwrap();
        assert!(!o.extended_params);
        assert_eq!(o.capabilities().count(), 126);
    }

    #[test]
    fn add_path_directions() {
        use AddPathDirection::*;
        for v in 0..=u8::MAX {
            assert_eq!(AddPathDirection::from_u8(v).to_u8(), v);
        }
        let cases = [
            (Receive, true, false),
            (Send, false, true),
            (Both, true, true),
            (Unknown(0), false, false),
        ];
        for (d, receives, sends) in cases {
            assert_eq!((d.receives(), d.sends()), (receives, sends), "{d:?}");
        }
        // A trailing partial entry cannot happen (the length is checked),
        // but entries are read in whole chunks of four.
        let entries: Vec<_> = add_path_entries(&[0, 1, 1, 3, 0, 2, 1]).collect();
        assert_eq!(entries, [(IPV4_UNICAST, Both)]);
    }
}
