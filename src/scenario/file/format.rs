//! The scenario file format, as serde reads it and `netsim schema` describes it. The doc
//! comments here are the schema's descriptions, so they speak to the file's author.
//!
//! Values keep their place in the file (`Spanned`) where a later check may need to point
//! at them; everything else is checked by serde while reading.

use std::collections::BTreeMap;
use std::num::NonZeroU16;
use std::time::Duration;

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{Metadata, Schema, SchemaObject};
use serde::Deserialize;
use toml::Spanned;

use super::units::{Bps, Share, WithUnit};
use crate::net::QueueLimit;
use crate::peer::Role;
use crate::scenario::expect::Percentile;

/// A webrtc-netsim scenario: two peers calling each other over a simulated network, and
/// what must hold about the call.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "webrtc-netsim scenario")]
pub struct ScenarioText {
    /// What reports call it; the file name without `.toml` if absent.
    pub name: Option<String>,
    /// The story the scenario tells, for `netsim list` and the reports.
    #[serde(default)]
    pub description: String,
    /// Virtual length of the call, e.g. "30s".
    #[schemars(with = "WithUnit<Duration>")]
    pub duration: Spanned<WithUnit<Duration>>,
    /// Seeds every random choice; the same seed gives the same run. Default 1.
    pub seed: Option<u64>,
    /// The internet between the access networks (the same both ways).
    #[serde(default)]
    pub core: LinkText,
    #[serde(default)]
    pub signaling: SignalingText,
    /// The two peers, by name: one `role = "caller"`, one `role = "callee"`.
    #[schemars(with = "BTreeMap<String, PeerText>")]
    pub peers: BTreeMap<String, Spanned<PeerText>>,
    /// What must hold about the call; each `[[expect]]` holds one check.
    #[serde(default)]
    #[schemars(with = "Vec<CheckText>")]
    pub expect: Vec<Spanned<CheckText>>,
}

/// The signaling relay the peers meet on.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Signaling")]
#[serde(deny_unknown_fields)]
pub struct SignalingText {
    /// How long the relay takes to forward a message. Default "20ms".
    pub delay: Option<WithUnit<Duration>>,
}

/// One peer and its access network.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Peer")]
#[serde(deny_unknown_fields)]
pub struct PeerText {
    /// Who starts the call.
    #[schemars(schema_with = "role_schema")]
    pub role: Spanned<Role>,
    /// What it sends. Default all three: ["audio", "video", "data"].
    pub media: Option<Vec<MediaText>>,
    /// Bitrate of its synthetic video. Default "800kbps".
    pub video_bitrate: Option<WithUnit<Bps>>,
    /// Time between two data-channel messages. Default "100ms".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub data_interval: Option<Spanned<WithUnit<Duration>>>,
    /// Its access link, both directions.
    #[serde(default)]
    pub link: LinkText,
    /// Towards the core: these keys replace `link`'s.
    #[serde(default)]
    pub uplink: LinkText,
    /// From the core: these keys replace `link`'s.
    #[serde(default)]
    pub downlink: LinkText,
}

/// A medium a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(rename = "Medium")]
#[serde(rename_all = "lowercase")]
pub enum MediaText {
    /// Opus-typed, one packet every 20 ms.
    Audio,
    /// VP8-typed, 30 frames a second in MTU-sized packets.
    Video,
    /// A numbered message on a reliable ordered data channel every `data_interval`.
    Data,
}

/// One direction of a link (or both, for `link` and `core`). Absent keys are ideal: no
/// delay, no loss, no rate limit.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[schemars(rename = "Link")]
#[serde(deny_unknown_fields)]
pub struct LinkText {
    /// Propagation delay, e.g. "20ms".
    pub delay: Option<WithUnit<Duration>>,
    /// Extra random delay, uniform between 0 and this.
    pub jitter: Option<WithUnit<Duration>>,
    /// Whether jitter may reorder packets. Default false: a packet never overtakes an
    /// earlier one.
    pub reorder: Option<bool>,
    /// Share of packets lost, e.g. "1%": independently, or in bursts with `burst`.
    pub loss: Option<WithUnit<Share>>,
    /// Mean number of packets lost in a row (Gilbert–Elliott bursty loss); needs `loss`.
    #[schemars(with = "Option<f64>", range(min = 1))]
    pub burst: Option<Spanned<f64>>,
    /// Bottleneck rate, e.g. "2mbps". Default unlimited.
    pub rate: Option<WithUnit<Bps>>,
    /// Drop-tail limit of the bottleneck queue: time ("60ms"), bytes ("64kB") or packets
    /// ("50 packets"). Default "1000 packets".
    pub queue: Option<WithUnit<QueueLimit>>,
    /// Share of packets delivered twice, e.g. "0.5%".
    pub duplicate: Option<WithUnit<Share>>,
    /// Largest datagram payload in bytes; larger ones are dropped. Default 1500.
    pub mtu: Option<NonZeroU16>,
}

impl LinkText {
    /// These settings, with `base`'s for the keys not given here.
    pub fn or(&self, base: &LinkText) -> LinkText {
        LinkText {
            delay: self.delay.or(base.delay),
            jitter: self.jitter.or(base.jitter),
            reorder: self.reorder.or(base.reorder),
            loss: self.loss.or(base.loss),
            burst: self.burst.clone().or_else(|| base.burst.clone()),
            rate: self.rate.or(base.rate),
            queue: self.queue.or(base.queue),
            duplicate: self.duplicate.or(base.duplicate),
            mtu: self.mtu.or(base.mtu),
        }
    }
}

/// One check on the call.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Check")]
#[serde(rename_all = "snake_case")]
pub enum CheckText {
    /// Caller's offer → both peer connections connected.
    ConnectTime(BoundsText<WithUnit<Duration>>),
    /// Share of the packets sent that arrived, e.g. `min = "98%"`.
    Delivered(StreamCheckText<WithUnit<Share>>),
    /// Longest time without an arrival while the sender was sending.
    MediaGap(StreamCheckText<WithUnit<Duration>>),
    /// A percentile of receive time − send time.
    OneWayDelay(DelayCheckText),
    /// Video freezes (W3C `freezeCount`).
    Freezes(StreamCheckText<u64>),
    /// No data-channel message lost, duplicated or out of order, and some arrived.
    DataChannel(StreamWindowText),
    /// Each peer's connection state when the call ends (before hanging up).
    FinalState(PeerStateText),
}

impl CheckText {
    /// Its key in the file.
    pub fn name(&self) -> &'static str {
        match self {
            CheckText::ConnectTime(_) => "connect_time",
            CheckText::Delivered(_) => "delivered",
            CheckText::MediaGap(_) => "media_gap",
            CheckText::OneWayDelay(_) => "one_way_delay",
            CheckText::Freezes(_) => "freezes",
            CheckText::DataChannel(_) => "data_channel",
            CheckText::FinalState(_) => "final_state",
        }
    }
}

/// Limits on a value: at least `min`, at most `max`; one of them at least.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Bounds_of_{T}")]
#[serde(deny_unknown_fields)]
pub struct BoundsText<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// Limits on a stream metric within a window of the call.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "StreamCheck_of_{T}")]
#[serde(deny_unknown_fields)]
pub struct StreamCheckText<T> {
    /// Which streams: "bob<-alice:audio" (what Bob receives from Alice), "*:audio",
    /// "bob<-*", "*". Every matching stream must pass.
    #[schemars(with = "String")]
    pub stream: Spanned<String>,
    /// Start of the window, counting packets sent from then on. Default "0s".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub from: Option<Spanned<WithUnit<Duration>>>,
    /// End of the window. Default: the end of the call.
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub to: Option<Spanned<WithUnit<Duration>>>,
    pub min: Option<T>,
    pub max: Option<T>,
}

/// Limits on one statistic of the one-way delay of streams within a window.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "DelayCheck")]
#[serde(deny_unknown_fields)]
pub struct DelayCheckText {
    /// Which streams, as for the other stream checks.
    #[schemars(with = "String")]
    pub stream: Spanned<String>,
    /// Which statistic the limits apply to.
    pub percentile: Percentile,
    /// Start of the window. Default "0s".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub from: Option<Spanned<WithUnit<Duration>>>,
    /// End of the window. Default: the end of the call.
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub to: Option<Spanned<WithUnit<Duration>>>,
    pub min: Option<WithUnit<Duration>>,
    pub max: Option<WithUnit<Duration>>,
}

/// Streams within a window, for checks without limits.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "StreamWindow")]
#[serde(deny_unknown_fields)]
pub struct StreamWindowText {
    /// Which streams, as for the other stream checks.
    #[schemars(with = "String")]
    pub stream: Spanned<String>,
    /// Start of the window. Default "0s".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub from: Option<Spanned<WithUnit<Duration>>>,
    /// End of the window. Default: the end of the call.
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub to: Option<Spanned<WithUnit<Duration>>>,
}

/// A peer connection state, as webrtc-rs names them.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "PeerState")]
#[serde(rename_all = "lowercase")]
pub enum PeerStateText {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl PeerStateText {
    /// The name the trace records.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerStateText::New => "new",
            PeerStateText::Connecting => "connecting",
            PeerStateText::Connected => "connected",
            PeerStateText::Disconnected => "disconnected",
            PeerStateText::Failed => "failed",
            PeerStateText::Closed => "closed",
        }
    }
}

/// `Role` is the engine's type; the schema only needs its two names.
fn role_schema(_: &mut SchemaGenerator) -> Schema {
    Schema::Object(SchemaObject {
        metadata: Some(Box::new(Metadata {
            description: Some("Who starts the call.".to_owned()),
            ..Metadata::default()
        })),
        enum_values: Some(vec!["caller".into(), "callee".into()]),
        ..SchemaObject::default()
    })
}
