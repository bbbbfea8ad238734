//! Statistics Report (RFC 7854 §4.8), with the types of RFC 8671 and
//! RFC 9972.

use super::header::PerPeerHeader;
use crate::wire::bgp::afi_safi::AfiSafi;
use crate::wire::{Reader, WireError};

/// A statistic's value.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum StatValue<'a> {
    /// A 32-bit counter.
    Counter32(u32),
    /// A 64-bit gauge.
    Gauge64(u64),
    /// A 64-bit gauge for one family (AFI, SAFI, gauge).
    AfiSafiGauge64(AfiSafi, u64),
    /// A value of a type or length this codec does not know.
    Raw(&'a [u8]),
}

impl StatValue<'_> {
    /// The numeric value, if it has one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Counter32(v) => Some(u64::from(v)),
            Self::Gauge64(v) | Self::AfiSafiGauge64(_, v) => Some(v),
            Self::Raw(_) => None,
        }
    }

    /// The family of a per-AFI/SAFI statistic.
    pub fn afi_safi(&self) -> Option<AfiSafi> {
        match *self {
            Self::AfiSafiGauge64(f, _) => Some(f),
            _ => None,
        }
    }
}

/// One statistic.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct Stat<'a> {
    /// The statistics type.
    pub stat_type: u16,
    /// The value.
    pub value: StatValue<'a>,
}

/// How the value of a known type is laid out.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Layout {
    Counter,
    Gauge,
    AfiSafiGauge,
}

/// Names and layouts of the statistics types in the IANA registry.
const TYPES: [(&str, Layout); 42] = [
    ("prefixes rejected by inbound policy", Layout::Counter),
    ("duplicate prefix advertisements", Layout::Counter),
    ("duplicate withdraws", Layout::Counter),
    (
        "updates invalidated due to CLUSTER_LIST loop",
        Layout::Counter,
    ),
    ("updates invalidated due to AS_PATH loop", Layout::Counter),
    ("updates invalidated due to ORIGINATOR_ID", Layout::Counter),
    ("updates invalidated due to AS_CONFED loop", Layout::Counter),
    ("routes in Adj-RIBs-In", Layout::Gauge),
    ("routes in Loc-RIB", Layout::Gauge),
    ("routes in per-AFI/SAFI Adj-RIB-In", Layout::AfiSafiGauge),
    ("routes in per-AFI/SAFI Loc-RIB", Layout::AfiSafiGauge),
    ("updates subjected to treat-as-withdraw", Layout::Counter),
    ("prefixes subjected to treat-as-withdraw", Layout::Counter),
    ("duplicate update messages received", Layout::Counter),
    ("routes in pre-policy Adj-RIB-Out", Layout::Gauge),
    ("routes in post-policy Adj-RIB-Out", Layout::Gauge),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-Out",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-Out",
        Layout::AfiSafiGauge,
    ),
    ("routes in pre-policy Adj-RIB-In", Layout::Gauge),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-In",
        Layout::AfiSafiGauge,
    ),
    ("routes in post-policy Adj-RIB-In", Layout::Gauge),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-In rejected by inbound policy",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In accepted by inbound policy",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI selected as primary",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI selected as backup",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In or Loc-RIB suppressed by damping",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI stale by graceful restart",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI stale by long-lived graceful restart",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in post-policy Adj-RIB-In left before threshold",
        Layout::Gauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In left before threshold",
        Layout::AfiSafiGauge,
    ),
    ("routes left until license threshold", Layout::Gauge),
    (
        "routes in per-AFI/SAFI left until license threshold",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-Out rejected by outbound policy",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-Out accepted by outbound policy",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-In invalid by ROV",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In invalid by ROV",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI Loc-RIB invalid by ROV",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-In invalid by ASPA",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI post-policy Adj-RIB-In invalid by ASPA",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI Loc-RIB invalid by ASPA",
        Layout::AfiSafiGauge,
    ),
    (
        "routes in per-AFI/SAFI pre-policy Adj-RIB-Out invalid by ASPA",
        Layout::AfiSafiGauge,
    ),
];

/// A description of a statistics type, `None` if it is not registered.
pub fn stat_name(stat_type: u16) -> Option<&'static str> {
    TYPES.get(usize::from(stat_type)).map(|(n, _)| *n)
}

impl<'a> Stat<'a> {
    fn decode(stat_type: u16, v: &'a [u8]) -> Self {
        let layout = TYPES.get(usize::from(stat_type)).map(|(_, l)| *l);
        let value = match (layout, v) {
            (Some(Layout::Counter) | None, &[a, b, c, d]) => {
                StatValue::Counter32(u32::from_be_bytes([a, b, c, d]))
            }
            (Some(Layout::Gauge) | None, &[a, b, c, d, e, f, g, h]) => {
                StatValue::Gauge64(u64::from_be_bytes([a, b, c, d, e, f, g, h]))
            }
            (Some(Layout::AfiSafiGauge) | None, &[x, y, s, a, b, c, d, e, f, g, h]) => {
                StatValue::AfiSafiGauge64(
                    AfiSafi::new(u16::from_be_bytes([x, y]), s),
                    u64::from_be_bytes([a, b, c, d, e, f, g, h]),
                )
            }
            _ => StatValue::Raw(v),
        };
        Self { stat_type, value }
    }
}

/// A Statistics Report.
///
/// ```text
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                        Stats Count                            |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |         Stat Type             |          Stat Len             |
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///  |                        Stat Data                              |
///  ~                                                               ~
///  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StatisticsReport<'a> {
    /// The per-peer header.
    pub peer: PerPeerHeader,
    /// The stats: exactly `count` TLVs.
    raw: &'a [u8],
    count: u32,
}

impl<'a> StatisticsReport<'a> {
    /// Parses a Statistics Report body (after the common header).
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let (peer, rest) = PerPeerHeader::parse(body)?;
        let mut r = Reader::new(rest);
        let count = r.u32("stats count")?;
        let raw = r.rest();
        for _ in 0..count {
            r.u16("stat type")?;
            let len = r.u16("stat length")?;
            r.take(usize::from(len), "stat data")?;
        }
        r.expect_empty("Statistics Report")?;
        Ok(Self { peer, raw, count })
    }

    /// Number of statistics.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The statistics.
    pub fn stats(&self) -> impl Iterator<Item = Stat<'a>> + 'a {
        let mut r = Reader::new(self.raw);
        core::iter::from_fn(move || {
            let t = r.u16("stat type").ok()?;
            let len = r.u16("stat length").ok()?;
            let v = r.take(usize::from(len), "stat data").ok()?;
            Some(Stat::decode(t, v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::bgp::afi_safi::IPV6_UNICAST;
    use crate::wire::bmp::BmpMessage;
    use crate::wire::test_vectors::{self as tv, parse};

    fn report(stats: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = tv::PEER_GLOBAL_V4.to_vec();
        body.extend_from_slice(&u32::try_from(stats.len()).unwrap().to_be_bytes());
        for (t, v) in stats {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
            body.extend_from_slice(v);
        }
        body
    }

    #[test]
    fn counter_gauge_and_per_family_vector() {
        let bytes = tv::stats_report();
        let BmpMessage::StatisticsReport(m) = parse(&bytes) else {
            panic!("not a Statistics Report");
        };
        assert_eq!(m.peer, tv::peer_global_v4());
        assert_eq!(m.count(), 3);
        let stats: Vec<_> = m.stats().collect();
        assert_eq!(
            stats,
            [
                Stat {
                    stat_type: 0,
                    value: StatValue::Counter32(7)
                },
                Stat {
                    stat_type: 7,
                    value: StatValue::Gauge64(4_294_967_298)
                },
                Stat {
                    stat_type: 9,
                    value: StatValue::AfiSafiGauge64(IPV6_UNICAST, 1000)
                },
            ]
        );
        let values: Vec<_> = stats.iter().map(|s| s.value.as_u64()).collect();
        assert_eq!(values, [Some(7), Some(4_294_967_298), Some(1000)]);
        let families: Vec<_> = stats.iter().map(|s| s.value.afi_safi()).collect();
        assert_eq!(families, [None, None, Some(IPV6_UNICAST)]);
    }

    /// Every registered type decodes with its layout when the length fits.
    #[test]
    fn every_registered_type() {
        for (t, (name, layout)) in TYPES.iter().enumerate() {
            let t = u16::try_from(t).unwrap();
            let (value, expected): (&[u8], _) = match layout {
                Layout::Counter => (&[0, 0, 0, 5], StatValue::Counter32(5)),
                Layout::Gauge => (&[0, 0, 0, 0, 0, 0, 0, 5], StatValue::Gauge64(5)),
                Layout::AfiSafiGauge => (
                    &[0x00, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0, 5], // IPv4 VPN
                    StatValue::AfiSafiGauge64(AfiSafi::new(1, 128), 5),
                ),
            };
            let body = report(&[(t, value)]);
            let m = StatisticsReport::parse(&body).unwrap();
            let s = m.stats().next().unwrap();
            assert_eq!(s.value, expected, "type {t}");
            assert_eq!(stat_name(t), Some(*name));
        }
        assert_eq!(stat_name(0), Some("prefixes rejected by inbound policy"));
        assert_eq!(stat_name(42), None);
        assert_eq!(stat_name(0xffff), None);
    }

    #[test]
    fn unknown_types_by_length_and_raw() {
        let v11 = [0x00, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 9];
        let body = report(&[
            (0x8000, &[0, 0, 0, 1]),         // unknown, 4 octets: counter
            (42, &[0, 0, 0, 0, 0, 0, 0, 2]), // unknown, 8 octets: gauge
            (0xfffe, &v11),                  // unknown, 11 octets: per-family gauge
            (0x8001, &[1, 2, 3]),            // unknown, 3 octets: raw
            (0, &[0, 0, 0, 0, 0, 0, 0, 1]),  // counter type with 8 octets: raw
            (7, &[0, 0, 0, 1]),              // gauge type with 4 octets: raw
            (9, &[0, 0, 0, 0, 0, 0, 0, 1]),  // per-family type with 8 octets: raw
            (1, &[]),                        // empty: raw
        ]);
        let m = StatisticsReport::parse(&body).unwrap();
        let values: Vec<_> = m.stats().map(|s| s.value).collect();
        assert_eq!(
            values,
            [
                StatValue::Counter32(1),
                StatValue::Gauge64(2),
                StatValue::AfiSafiGauge64(IPV6_UNICAST, 9),
                StatValue::Raw(&[1, 2, 3]),
                StatValue::Raw(&[0, 0, 0, 0, 0, 0, 0, 1]),
                StatValue::Raw(&[0, 0, 0, 1]),
                StatValue::Raw(&[0, 0, 0, 0, 0, 0, 0, 1]),
                StatValue::Raw(&[]),
            ]
        );
        assert_eq!(StatValue::Raw(&[1]).as_u64(), None);
        assert_eq!(m.count(), 8);
    }

    #[test]
    fn empty_report() {
        let body = report(&[]);
        let m = StatisticsReport::parse(&body).unwrap();
        assert_eq!(m.count(), 0);
        assert_eq!(m.stats().count(), 0);
    }
}
