//! The wire codec: BMP and the BGP messages inside it, decoded from
//! borrowed bytes and encoded for tests and the load generator.
//!
//! This module is pure: no IO, no `unsafe`, and no heap allocation on the
//! decode path. Every message type is a view over the input, validated
//! once by its `parse` constructor; accessors after that cannot fail.
//!
//! - [`frame`] finds message boundaries in a byte stream.
//! - [`bmp`] decodes BMP messages (RFC 7854, RFC 8671, RFC 9069).
//! - [`bgp`] decodes OPEN and UPDATE (RFC 4271, 4760, 6793, 7911, 7606).
//! - [`encode`] builds the same messages.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::panic
    )
)]

pub mod bgp;
pub mod bmp;
pub mod encode;
mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod reader;

pub use error::WireError;
pub use reader::Reader;

#[cfg(test)]
pub(crate) mod test_vectors;

#[cfg(test)]
mod tests {
    //! Golden rejection files: one `testdata/invalid-<reason>.bin` per
    //! rejection path of the framer, the BMP message parsers, OPEN and
    //! UPDATE, each asserted by its exact error (see `testdata/README.md`).

    use super::WireError::{self, *};
    use super::bgp::session::SessionContext;
    use super::bmp::BmpMessage;
    use super::frame::{DEFAULT_MAX_MESSAGE_LEN, Frame};

    /// Where decoding is expected to stop.
    #[derive(Clone, Copy, Debug, Eq, PartialEq)]
    enum Stage {
        /// `Frame::parse`.
        Frame,
        /// `BmpMessage::parse` (OPENs of a Peer Up included).
        Message,
        /// `RouteMonitoring::update`, with 4-octet ASNs and no ADD-PATH.
        Update,
    }

    /// Runs a file through the collector's decode path.
    fn decode(buf: &[u8]) -> Result<(), (Stage, WireError)> {
        let frame = Frame::parse(buf, DEFAULT_MAX_MESSAGE_LEN)
            .map_err(|e| (Stage::Frame, e))?
            .expect("golden files hold a whole message");
        assert_eq!(frame.wire_len(), buf.len(), "exactly one message");
        let msg = BmpMessage::parse(frame).map_err(|e| (Stage::Message, e))?;
        if let BmpMessage::RouteMonitoring(rm) = msg {
            rm.update(&SessionContext::FOUR_OCTET)
                .map_err(|e| (Stage::Update, e))?;
        }
        Ok(())
    }

    macro_rules! golden {
        ($($name:literal => $stage:ident, $err:expr;)*) => {
            [$((
                concat!("invalid-", $name, ".bin"),
                include_bytes!(concat!("testdata/invalid-", $name, ".bin")) as &[u8],
                Stage::$stage,
                $err,
            ),)*]
        };
    }

    #[rustfmt::skip]
    const GOLDEN: [(&str, &[u8], Stage, WireError); 80] = golden! {
        // Frame::parse
        "version-1-partial-header" => Frame, BadVersion(1);
        "version-2" => Frame, BadVersion(2);
        "length-below-header" => Frame, BadLength("BMP common header");
        "length-above-max" => Frame, BadLength("BMP common header");
        // Route Monitoring
        "route-monitoring-per-peer-header-truncated" => Message, Truncated("per-peer header");
        "route-monitoring-bgp-marker-truncated" => Message, Truncated("BGP marker");
        "route-monitoring-bgp-marker" => Message, BadMarker;
        "route-monitoring-bgp-length-truncated" => Message, Truncated("BGP length");
        "route-monitoring-bgp-type-truncated" => Message, Truncated("BGP type");
        "route-monitoring-bgp-length-below-header" => Message, BadLength("BGP header");
        "route-monitoring-bgp-message-truncated" => Message, Truncated("BGP message");
        "route-monitoring-bgp-trailing-bytes" => Message, TrailingBytes("BGP message");
        "route-monitoring-not-update" => Message, UnexpectedBgpType(4);
        // Statistics Report
        "stats-per-peer-header-truncated" => Message, Truncated("per-peer header");
        "stats-count-truncated" => Message, Truncated("stats count");
        "stats-count-too-high" => Message, Truncated("stat type");
        "stats-stat-length-truncated" => Message, Truncated("stat length");
        "stats-stat-data-truncated" => Message, Truncated("stat data");
        "stats-count-too-low" => Message, TrailingBytes("Statistics Report");
        // Peer Down
        "peer-down-per-peer-header-truncated" => Message, Truncated("per-peer header");
        "peer-down-reason-truncated" => Message, Truncated("Peer Down reason");
        "peer-down-notification-missing" => Message, Truncated("BGP marker");
        "peer-down-notification-marker" => Message, BadMarker;
        "peer-down-notification-length-below-header" => Message, BadLength("BGP header");
        "peer-down-notification-truncated" => Message, Truncated("BGP message");
        "peer-down-not-notification" => Message, UnexpectedBgpType(1);
        "peer-down-notification-code-truncated" => Message, Truncated("NOTIFICATION code");
        "peer-down-notification-subcode-truncated" => Message, Truncated("NOTIFICATION subcode");
        "peer-down-notification-trailing-bytes" => Message, TrailingBytes("Peer Down");
        "peer-down-fsm-event-truncated" => Message, Truncated("Peer Down FSM event code");
        "peer-down-fsm-event-trailing-bytes" => Message, TrailingBytes("Peer Down");
        "peer-down-remote-no-data-trailing-bytes" => Message, TrailingBytes("Peer Down");
        "peer-down-deconfigured-trailing-bytes" => Message, TrailingBytes("Peer Down");
        "peer-down-tlv-value-truncated" => Message, Truncated("TLV value");
        // Peer Up
        "peer-up-per-peer-header-truncated" => Message, Truncated("per-peer header");
        "peer-up-local-address-truncated" => Message, Truncated("Peer Up local address");
        "peer-up-local-port-truncated" => Message, Truncated("Peer Up local port");
        "peer-up-remote-port-truncated" => Message, Truncated("Peer Up remote port");
        "peer-up-sent-open-missing" => Message, Truncated("BGP marker");
        "peer-up-sent-not-open" => Message, UnexpectedBgpType(2);
        "peer-up-received-open-missing" => Message, Truncated("BGP marker");
        "peer-up-received-not-open" => Message, UnexpectedBgpType(4);
        "peer-up-received-open-marker" => Message, BadMarker;
        "peer-up-tlv-type-truncated" => Message, Truncated("TLV type");
        "peer-up-tlv-length-truncated" => Message, Truncated("TLV length");
        "peer-up-tlv-value-truncated" => Message, Truncated("TLV value");
        // OPEN, inside a Peer Up
        "peer-up-open-version-truncated" => Message, Truncated("OPEN version");
        "peer-up-open-my-as-truncated" => Message, Truncated("OPEN my AS");
        "peer-up-open-hold-time-truncated" => Message, Truncated("OPEN hold time");
        "peer-up-open-bgp-id-truncated" => Message, Truncated("OPEN BGP identifier");
        "peer-up-open-params-length-truncated" => Message, Truncated("OPEN optional parameters length");
        "peer-up-open-params-truncated" => Message, Truncated("OPEN optional parameters");
        "peer-up-open-trailing-bytes" => Message, TrailingBytes("OPEN");
        "peer-up-open-extended-params-length-truncated" => Message, Truncated("extended parameters length");
        "peer-up-open-param-length-truncated" => Message, Truncated("optional parameter length");
        "peer-up-open-param-truncated" => Message, Truncated("optional parameter");
        "peer-up-open-capability-length-truncated" => Message, Truncated("capability length");
        "peer-up-open-capability-value-truncated" => Message, Truncated("capability value");
        "peer-up-open-multiprotocol-capability-length" => Message, BadLength("multiprotocol capability");
        "peer-up-open-four-octet-as-capability-length" => Message, BadLength("4-octet AS capability");
        "peer-up-open-add-path-capability-length" => Message, BadLength("ADD-PATH capability");
        // Initiation, Termination, Route Mirroring
        "initiation-tlv-type-truncated" => Message, Truncated("TLV type");
        "initiation-tlv-length-truncated" => Message, Truncated("TLV length");
        "initiation-tlv-value-truncated" => Message, Truncated("TLV value");
        "termination-tlv-value-truncated" => Message, Truncated("TLV value");
        "route-mirroring-per-peer-header-truncated" => Message, Truncated("per-peer header");
        "route-mirroring-tlv-value-truncated" => Message, Truncated("TLV value");
        // UPDATE, inside a Route Monitoring
        "update-withdrawn-length-truncated" => Update, Truncated("withdrawn routes length");
        "update-withdrawn-routes-truncated" => Update, Truncated("withdrawn routes");
        "update-attributes-length-truncated" => Update, Truncated("path attributes length");
        "update-attributes-truncated" => Update, Truncated("path attributes");
        "update-duplicate-mp-reach" => Update, Duplicate("MP_REACH_NLRI");
        "update-duplicate-mp-unreach" => Update, Duplicate("MP_UNREACH_NLRI");
        "update-mp-reach-afi-truncated" => Update, Truncated("MP_REACH_NLRI AFI");
        "update-mp-reach-safi-truncated" => Update, Truncated("MP_REACH_NLRI SAFI");
        "update-mp-reach-next-hop-length-truncated" => Update, Truncated("MP_REACH_NLRI next hop length");
        "update-mp-reach-next-hop-truncated" => Update, Truncated("MP_REACH_NLRI next hop");
        "update-mp-reach-reserved-truncated" => Update, Truncated("MP_REACH_NLRI reserved");
        "update-mp-unreach-afi-truncated" => Update, Truncated("MP_UNREACH_NLRI AFI");
        "update-mp-unreach-safi-truncated" => Update, Truncated("MP_UNREACH_NLRI SAFI");
    };

    #[test]
    fn golden_invalid_files_fail_with_exact_error() {
        for (name, bytes, stage, err) in GOLDEN {
            assert_eq!(decode(bytes), Err((stage, err)), "{name}");
        }
    }

    /// Every `invalid-*.bin` in `testdata/` is in the table and in the
    /// README, and every name in the table is distinct.
    #[test]
    fn golden_table_covers_testdata() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/wire/testdata");
        let readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".bin"))
            .collect();
        on_disk.sort();
        for n in &on_disk {
            assert!(readme.contains(&format!("`{n}`")), "{n} not in README.md");
        }
        let mut in_table: Vec<String> = GOLDEN.iter().map(|g| g.0.to_owned()).collect();
        in_table.sort();
        in_table.dedup();
        assert_eq!(in_table.len(), GOLDEN.len(), "duplicate names");
        let invalid: Vec<_> = on_disk
            .into_iter()
            .filter(|n| n.starts_with("invalid-"))
            .collect();
        assert_eq!(invalid, in_table);
    }

    /// The real captures decode without a framing or message error.
    #[test]
    fn real_captures_decode() {
        let captures: [&[u8]; 4] = [
            include_bytes!("testdata/huawei-locrib.bin"),
            include_bytes!("testdata/cisco-rd-instance.bin"),
            include_bytes!("testdata/cisco-peer-down-ipv6.bin"),
            include_bytes!("testdata/frr-peer-down.bin"),
        ];
        for cap in captures {
            let mut frames = super::frame::Frames::new(cap, DEFAULT_MAX_MESSAGE_LEN);
            let n = frames
                .by_ref()
                .map(|f| BmpMessage::parse(f.unwrap()).map(drop))
                .filter(Result::is_ok)
                .count();
            assert!(n > 0);
            assert!(frames.remainder().is_empty());
        }
    }
}
