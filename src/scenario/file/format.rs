//! The scenario file format, as serde reads it and `netsim schema` describes it. The doc
//! comments here are the schema's descriptions, so they speak to the file's author.
//!
//! Values keep their place in the file (`Spanned`) where a later check may need to point
//! at them; everything else is checked by serde while reading.
//!
//! Tables that share keys (a peer's link and a timeline link change, a peer's NAT and a
//! timeline NAT change, the stream checks) are declared by one macro per list of keys, so
//! the lists and their descriptions cannot drift apart. They are macros rather than
//! `#[serde(flatten)]` because flattening loses the places of values in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::num::{NonZeroU16, NonZeroU32, NonZeroUsize};
use std::time::Duration;

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{
    ArrayValidation, InstanceType, Metadata, Schema, SchemaObject, SingleOrVec, SubschemaValidation,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, Visitor};
use toml::Spanned;

use super::units::{Bps, RateLimit, Share, WithUnit};
use crate::net::{Filtering, Mapping, NatConfig, PortAssignment, QueueLimit};
use crate::scenario::expect::Percentile;
use crate::sim::Role;

/// A webrtc-netsim scenario: two peers calling each other over a simulated network, what
/// happens during the call, and what must hold about it.
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
    /// Plays the scenario once per seed of "A..B" (both included, e.g. "1..20") instead of
    /// once with `seed`: each expectation must hold on every seed, or on its `share` of them.
    #[schemars(with = "Option<String>")]
    pub seeds: Option<Spanned<String>>,
    /// The internet between the access networks (the same both ways).
    #[serde(default)]
    pub core: LinkText,
    #[serde(default)]
    pub signaling: SignalingText,
    /// Whether computing takes virtual time: "none" (the default: free, so runs are the
    /// exact arithmetic of delays and timers) or "measured" (each poll of a host's task
    /// occupies the host for a duration drawn, from the seed, from measured polls of
    /// webrtc-rs: seeds then settle the stack's timing races differently), or
    /// "measured-one-machine" (the same, with every peer's host on one machine).
    #[serde(default)]
    pub processing: ProcessingText,
    /// How often each peer's stack reports its own statistics (`get_stats`: RTT, loss,
    /// jitter, NACKs, PLIs) into the trace, e.g. "1s". Default: never.
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub stats: Option<Spanned<WithUnit<Duration>>>,
    #[serde(default)]
    pub servers: ServersText,
    /// The two peers, by name: one `role = "caller"`, one `role = "callee"`.
    #[schemars(with = "BTreeMap<String, PeerText>")]
    pub peers: BTreeMap<String, Spanned<PeerText>>,
    /// Other devices' traffic on the peers' access links, by flow name: a device on a
    /// peer's network uploading or downloading beside the call.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, CrossTrafficText>")]
    pub cross_traffic: BTreeMap<String, Spanned<CrossTrafficText>>,
    /// What happens during the call: each `[[timeline]]` holds `at` and one action.
    #[serde(default)]
    #[schemars(schema_with = "timeline_schema")]
    pub timeline: Vec<Spanned<TimelineText>>,
    /// What must hold about the call; each `[[expect]]` holds one check, and a `share`
    /// if it need not hold on every seed.
    #[serde(default)]
    #[schemars(with = "Vec<ExpectText>")]
    pub expect: Vec<Spanned<ExpectText>>,
    /// Plays the scenario once per combination of these values (at most 64): each key the
    /// dotted path of one setting of this file, in quotes, each value the list of values
    /// it takes, e.g. `"peers.alice.link.loss" = ["0%", "2%", "5%"]`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, SweepValues>")]
    pub sweep: BTreeMap<Spanned<String>, SweepValues>,
}

/// The values a `[sweep]` path takes, each with its place in the file.
#[derive(Debug)]
pub struct SweepValues(pub Vec<Spanned<toml::Value>>);

impl<'de> Deserialize<'de> for SweepValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values;

        impl<'de> Visitor<'de> for Values {
            type Value = SweepValues;

            // Unquoted, `core.delay = [...]` is a table `core` in TOML: say how to write it.
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of values with its path in quotes, such as `\"core.delay\" = [\"20ms\", \"150ms\"]`")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element()? {
                    values.push(value);
                }
                Ok(SweepValues(values))
            }
        }

        // Any, not seq: toml reads a table as a seq of its entries, and the error says less.
        deserializer.deserialize_any(Values)
    }
}

impl JsonSchema for SweepValues {
    fn schema_name() -> String {
        "SweepValues".to_owned()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let value = SchemaObject {
            instance_type: Some(SingleOrVec::Vec(vec![
                InstanceType::String,
                InstanceType::Number,
                InstanceType::Boolean,
            ])),
            ..SchemaObject::default()
        };
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some("The values a swept setting takes, as the setting writes them.".to_owned()),
                ..Metadata::default()
            })),
            instance_type: Some(InstanceType::Array.into()),
            array: Some(Box::new(ArrayValidation {
                items: Some(SingleOrVec::Single(Box::new(value.into()))),
                min_items: Some(1),
                ..ArrayValidation::default()
            })),
            ..SchemaObject::default()
        })
    }
}

/// The signaling relay the peers meet on.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Signaling")]
#[serde(deny_unknown_fields)]
pub struct SignalingText {
    /// How long the relay takes to forward a message. Default "20ms".
    pub delay: Option<WithUnit<Duration>>,
}

/// Whether computing takes virtual time.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Processing")]
#[serde(rename_all = "lowercase")]
pub enum ProcessingText {
    /// Computing is free.
    #[default]
    None,
    /// Each poll of a host's task takes a measured, seeded duration.
    Measured,
    /// As `measured`, every peer's host on one 2-core machine: both peers in one process.
    #[serde(rename = "measured-one-machine")]
    MeasuredOneMachine,
}

/// One flow of cross traffic: a device sharing a peer's access link and NAT, and a server in
/// the core, the device opening the flow.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "CrossTraffic")]
#[serde(deny_unknown_fields)]
pub struct CrossTrafficText {
    /// Whose access link (and NAT) the flow's device shares.
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
    /// "up" (from the device towards the core: an upload) or "down" (a download).
    pub direction: CrossDirectionText,
    /// "constant" (UDP at `rate`), "on-off" (UDP at `rate` for `on`, silent for `off`,
    /// repeated) or "tcp" (a bulk transfer as fast as TCP goes).
    pub kind: CrossKindText,
    /// The UDP kinds' rate, of whole IP datagrams of 1200 bytes, e.g. "500kbps".
    #[schemars(with = "Option<WithUnit<Bps>>")]
    pub rate: Option<Spanned<WithUnit<Bps>>>,
    /// "on-off": how long each burst lasts, e.g. "500ms".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub on: Option<Spanned<WithUnit<Duration>>>,
    /// "on-off": how long each silence lasts, e.g. "2s".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub off: Option<Spanned<WithUnit<Duration>>>,
    /// When it starts, before the call's end. Default "0s".
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub from: Option<Spanned<WithUnit<Duration>>>,
    /// When it stops. Default: it runs to the call's end.
    #[schemars(with = "Option<WithUnit<Duration>>")]
    pub to: Option<Spanned<WithUnit<Duration>>>,
}

/// Which way a flow of cross traffic goes.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "CrossDirection")]
#[serde(rename_all = "lowercase")]
pub enum CrossDirectionText {
    /// From the device towards the core, on the peer's uplink.
    Up,
    /// From the core to the device, on the peer's downlink.
    Down,
}

/// What a flow of cross traffic sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(rename = "CrossKind")]
#[serde(rename_all = "kebab-case")]
pub enum CrossKindText {
    Constant,
    OnOff,
    Tcp,
}

/// The STUN and TURN servers in the core. Peers use the ones their `ice_servers` name.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(rename = "Servers")]
#[serde(deny_unknown_fields)]
pub struct ServersText {
    /// A STUN server, `stun.netsim:3478`. Default false.
    #[serde(default)]
    pub stun: bool,
    /// A TURN server, `turn.netsim:3478` (UDP), accepting this user.
    pub turn: Option<CredentialsText>,
    /// More TURN servers by name, each on a core host of its own at `<name>.netsim:3478`
    /// (UDP), accepting its user: `extra_turn = { backup = { user = "qa", password = "secret" } }`.
    /// Peers name them in `ice_servers` as they name "turn". A name is lowercase letters,
    /// digits and `-`, and not "stun", "turn" or a peer's.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, CredentialsText>")]
    pub extra_turn: BTreeMap<Spanned<String>, CredentialsText>,
}

/// A TURN user and password (long-term credentials).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(rename = "Credentials")]
#[serde(deny_unknown_fields)]
pub struct CredentialsText {
    #[serde(deserialize_with = "not_empty")]
    #[schemars(length(min = 1))]
    pub user: String,
    #[serde(deserialize_with = "not_empty")]
    #[schemars(length(min = 1))]
    pub password: String,
}

/// A TURN user or password: WebRTC refuses a TURN server with an empty one
/// (`set_configuration()` fails), so the file cannot give one.
fn not_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(de::Error::custom(
            "TURN credentials cannot be empty: WebRTC refuses a TURN server without a user and a password",
        ));
    }
    Ok(text)
}

/// One peer and its access network.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Peer")]
#[serde(deny_unknown_fields)]
pub struct PeerText {
    /// Who starts the call.
    #[schemars(schema_with = "role_schema")]
    pub role: Spanned<Role>,
    /// The app it runs: the name a test target registered its own app under (see the
    /// README, "Test your own app"). Default: the built-in app, which `netsim` runs; both
    /// peers run the built-in app, or both a registered one.
    #[schemars(with = "Option<String>")]
    pub app: Option<Spanned<String>>,
    /// What it sends; for a registered app, what the app sends, so that checks can name its
    /// streams. Default all three: ["audio", "video", "data"].
    pub media: Option<Vec<MediaText>>,
    /// Bitrate of its synthetic video. Default "800kbps". With `congestion_control` on, the
    /// video follows the estimate instead.
    pub video_bitrate: Option<WithUnit<Bps>>,
    /// webrtc-rs's Google Congestion Control with TWCC feedback on its sending side: its
    /// video then follows the estimate's target bitrate (less the audio), within `min` and
    /// `max`. `{}` for the defaults. Default: off.
    #[schemars(with = "Option<CongestionControlText>")]
    pub congestion_control: Option<Spanned<CongestionControlText>>,
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
    /// The NAT between its access link and the core: a type ("symmetric"), "none" (the
    /// default) or a table.
    #[schemars(with = "Option<NatText>")]
    pub nat: Option<Spanned<NatText>>,
    /// The servers of `[servers]` it uses to gather candidates: "stun", "turn" or the name
    /// of an `extra_turn` server (with the `[servers]` credentials), or
    /// `{ turn = { user, password } }` to present others (with `server = "backup"` for an
    /// extra one). Default none: host candidates only.
    #[serde(default)]
    #[schemars(with = "Vec<IceServerText>")]
    pub ice_servers: Vec<Spanned<IceServerText>>,
    /// Which candidates ICE may use: "all" (default) or "relay" (TURN only).
    #[schemars(with = "Option<TransportPolicyText>")]
    pub ice_transport_policy: Option<Spanned<TransportPolicyText>>,
    /// ICE over TCP too (RFC 6544): TCP candidates beside the UDP ones, a listener on port
    /// 443 (passive) and connections out from it (active). Default false.
    pub ice_tcp: Option<bool>,
    /// A firewall on its network, as corporate and hotel networks have: `udp = "blocked"`,
    /// `tcp_ports = [443]` (the only ports TCP may connect out to; default any). TCP comes
    /// in only on connections the peer opened. Default none.
    pub firewall: Option<FirewallText>,
    /// What its app does when ICE reports `disconnected` and still does after the delay.
    /// Default nothing.
    pub on_disconnected: Option<RestartPolicyText>,
    /// What its app does when ICE reports `failed`. Default nothing: the call stays failed.
    pub on_failed: Option<RestartPolicyText>,
    /// A caller's callee, by name; needed when the file has more than one callee.
    #[schemars(with = "Option<String>")]
    pub calls: Option<Spanned<String>>,
    /// Another peer whose network this one is on, as a second device at home is: it shares
    /// that peer's access link (queue, rate, outages), NAT and firewall, and gives no
    /// `link`, `uplink`, `downlink`, `nat` or `firewall` of its own.
    #[schemars(with = "Option<String>")]
    pub same_network_as: Option<Spanned<String>>,
}

impl PeerText {
    /// The keys only the built-in app reads, and whether the peer gives them: a registered
    /// app has its own media and policies.
    pub fn built_in_keys(&self) -> [(&'static str, bool); 7] {
        [
            ("ice_tcp", self.ice_tcp.is_some()),
            ("video_bitrate", self.video_bitrate.is_some()),
            ("congestion_control", self.congestion_control.is_some()),
            ("data_interval", self.data_interval.is_some()),
            ("ice_transport_policy", self.ice_transport_policy.is_some()),
            ("on_disconnected", self.on_disconnected.is_some()),
            ("on_failed", self.on_failed.is_some()),
        ]
    }
}

/// A firewall on a peer's network.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Firewall")]
#[serde(deny_unknown_fields)]
pub struct FirewallText {
    /// "blocked" (both ways) or "allowed" (the default).
    #[serde(default)]
    pub udp: UdpRuleText,
    /// The remote ports TCP may connect out to, e.g. [443]. Default: any.
    pub tcp_ports: Option<Vec<u16>>,
}

/// The firewall of a peer's network changes.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "FirewallChange")]
#[serde(deny_unknown_fields)]
pub struct FirewallChangeText {
    /// Whose network.
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
    /// As a peer's `firewall`.
    #[serde(default)]
    pub udp: UdpRuleText,
    /// As a peer's `firewall`.
    pub tcp_ports: Option<Vec<u16>>,
}

impl FirewallChangeText {
    pub fn config(&self) -> crate::net::FirewallConfig {
        firewall_config(self.udp, &self.tcp_ports)
    }
}

/// What a firewall does with UDP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(rename = "UdpRule")]
#[serde(rename_all = "lowercase")]
pub enum UdpRuleText {
    #[default]
    Allowed,
    Blocked,
}

impl FirewallText {
    pub fn config(&self) -> crate::net::FirewallConfig {
        firewall_config(self.udp, &self.tcp_ports)
    }
}

fn firewall_config(udp: UdpRuleText, tcp_ports: &Option<Vec<u16>>) -> crate::net::FirewallConfig {
    crate::net::FirewallConfig {
        block_udp: udp == UdpRuleText::Blocked,
        tcp_ports: tcp_ports.clone(),
    }
}

/// A peer's congestion control: where the estimate starts and the limits it stays within.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "CongestionControl")]
#[serde(deny_unknown_fields)]
pub struct CongestionControlText {
    /// The target before any feedback. Default "300kbps" (GCC's).
    pub start: Option<WithUnit<Bps>>,
    /// The target never goes below it. Default "100kbps" (GCC's).
    pub min: Option<WithUnit<Bps>>,
    /// The target never goes above it. Default "2.5Mbps".
    pub max: Option<WithUnit<Bps>>,
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

/// Declares a table with its own keys followed by the link keys.
macro_rules! with_link_keys {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($own)*
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
            /// Bottleneck rate, e.g. "2mbps", or "unlimited" (the default).
            pub rate: Option<RateLimit>,
            /// A recorded bottleneck instead of `rate`: a Mahimahi packet-delivery trace file,
            /// relative to the scenario file's folder, e.g. "../traces/cellular-walk.mahi".
            /// It loops, and starts when the link gets it.
            #[schemars(with = "Option<String>")]
            pub trace: Option<Spanned<String>>,
            /// Drop-tail limit of the bottleneck queue: time ("60ms"), bytes ("64kB") or
            /// packets ("50 packets"). Default "1000 packets".
            pub queue: Option<WithUnit<QueueLimit>>,
            /// Share of packets delivered twice, e.g. "0.5%".
            pub duplicate: Option<WithUnit<Share>>,
            /// Largest datagram payload in bytes; larger ones are dropped. Default 1500.
            pub mtu: Option<NonZeroU16>,
        }
    };
}

with_link_keys! {
    /// One direction of a link (or both, for `link` and `core`). Absent keys are ideal: no
    /// delay, no loss, no rate limit.
    #[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
    #[schemars(rename = "Link")]
    #[serde(deny_unknown_fields)]
    pub struct LinkText {}
}

with_link_keys! {
    /// Some settings of a peer's access link change; the others stay as they are. A `rate`
    /// replaces a trace, a `trace` replaces the rate.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "LinkChange")]
    #[serde(deny_unknown_fields)]
    pub struct LinkChangeText {
        /// Whose access link.
        #[schemars(with = "String")]
        pub peer: Spanned<String>,
        /// Which direction: "both" (the default), "up" (towards the core) or "down".
        pub direction: Option<DirectionText>,
    }
}

impl LinkChangeText {
    /// The link keys it gives.
    pub fn keys(&self) -> LinkText {
        LinkText {
            delay: self.delay,
            jitter: self.jitter,
            reorder: self.reorder,
            loss: self.loss,
            burst: self.burst.clone(),
            rate: self.rate,
            trace: self.trace.clone(),
            queue: self.queue,
            duplicate: self.duplicate,
            mtu: self.mtu,
        }
    }
}

/// Which direction of an access link.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "Direction")]
#[serde(rename_all = "lowercase")]
pub enum DirectionText {
    Both,
    /// Towards the core.
    Up,
    /// From the core.
    Down,
}

/// A value written either as a name or as a table, such as `nat = "symmetric"` or
/// `nat = { type = "symmetric", ports = "random" }`.
#[derive(Debug)]
pub enum NameOrTable<N, T> {
    Name(N),
    Table(T),
}

impl<'de, N: Deserialize<'de>, T: Deserialize<'de>> Deserialize<'de> for NameOrTable<N, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either<N, T>(PhantomData<(N, T)>);

        impl<'de, N: Deserialize<'de>, T: Deserialize<'de>> Visitor<'de> for Either<N, T> {
            type Value = NameOrTable<N, T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or a table")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                N::deserialize(name.into_deserializer()).map(NameOrTable::Name)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(NameOrTable::Table)
            }
        }

        deserializer.deserialize_any(Either(PhantomData))
    }
}

impl<N: JsonSchema, T: JsonSchema> JsonSchema for NameOrTable<N, T> {
    fn is_referenceable() -> bool {
        false
    }

    fn schema_name() -> String {
        format!("{}_or_{}", N::schema_name(), T::schema_name())
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Schema::Object(SchemaObject {
            subschemas: Some(Box::new(SubschemaValidation {
                any_of: Some(vec![
                    generator.subschema_for::<N>(),
                    generator.subschema_for::<T>(),
                ]),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        })
    }
}

/// A NAT: a type, "none", or a table.
pub type NatText = NameOrTable<NatName, NatTableText>;

/// A NAT type (one of [`NatConfig::SHORTHANDS`]) as its configuration, or "none": `None`.
#[derive(Debug, Clone)]
pub struct NatName(pub Option<NatConfig>);

/// The names a [`NatName`] accepts.
const NAT_NAMES: [&str; 5] = {
    let [a, b, c, d] = NatConfig::SHORTHANDS;
    [a, b, c, d, "none"]
};

impl<'de> Deserialize<'de> for NatName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match NatConfig::from_shorthand(&name) {
            Some(config) => Ok(NatName(Some(config))),
            None if name == "none" => Ok(NatName(None)),
            None => Err(de::Error::unknown_variant(&name, &NAT_NAMES)),
        }
    }
}

impl JsonSchema for NatName {
    fn schema_name() -> String {
        "NatType".to_owned()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(
                    "A NAT type after RFC 4787: full-cone (endpoint-independent mapping and \
                     filtering), restricted-cone (address-dependent filtering), \
                     port-restricted-cone (address-and-port-dependent filtering), symmetric \
                     (address-and-port-dependent mapping and filtering); or none."
                        .to_owned(),
                ),
                ..Metadata::default()
            })),
            enum_values: Some(NAT_NAMES.iter().map(|name| (*name).into()).collect()),
            ..SchemaObject::default()
        })
    }
}

/// Declares a table with its own keys followed by the NAT keys.
macro_rules! with_nat_keys {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($own)*
            /// The NAT type to start from; the other keys change it. Without it, give
            /// `mapping` and `filtering`.
            #[serde(rename = "type")]
            #[schemars(with = "Option<NatName>")]
            pub kind: Option<Spanned<NatName>>,
            /// When a private endpoint gets a new public address: per "endpoint-independent"
            /// (one for every destination), "address-dependent" or "address-and-port-dependent"
            /// destination.
            pub mapping: Option<NatBehaviourText>,
            /// Which outside endpoints may send through a mapping: "endpoint-independent"
            /// (anyone), or only those it sent to, "address-dependent" or
            /// "address-and-port-dependent".
            pub filtering: Option<NatBehaviourText>,
            /// How a mapping picks its public port: "preserve" (the default) or "random".
            pub ports: Option<PortsText>,
            /// A binding dies when nothing went out through it for this long. Default "120s".
            #[schemars(with = "Option<WithUnit<Duration>>")]
            pub binding_lifetime: Option<Spanned<WithUnit<Duration>>>,
            /// Whether a host may reach another behind the same NAT through its public
            /// address. Default true.
            pub hairpinning: Option<bool>,
        }
    };
}

with_nat_keys! {
    /// A NAT after RFC 4787, key by key.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "Nat")]
    #[serde(deny_unknown_fields)]
    pub struct NatTableText {}
}

with_nat_keys! {
    /// The NAT in front of a peer changes behaviour (its bindings stay).
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "NatChange")]
    #[serde(deny_unknown_fields)]
    pub struct NatChangeText {
        /// Whose NAT.
        #[schemars(with = "String")]
        pub peer: Spanned<String>,
    }
}

impl NatChangeText {
    /// The NAT keys it gives.
    pub fn keys(&self) -> NatTableText {
        NatTableText {
            kind: self.kind.clone(),
            mapping: self.mapping,
            filtering: self.filtering,
            ports: self.ports,
            binding_lifetime: self.binding_lifetime.clone(),
            hairpinning: self.hairpinning,
        }
    }
}

/// A NAT's mapping or filtering behaviour (RFC 4787 §4.1, §5).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "NatBehaviour")]
#[serde(rename_all = "kebab-case")]
pub enum NatBehaviourText {
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent,
}

impl NatBehaviourText {
    pub fn mapping(self) -> Mapping {
        match self {
            NatBehaviourText::EndpointIndependent => Mapping::EndpointIndependent,
            NatBehaviourText::AddressDependent => Mapping::AddressDependent,
            NatBehaviourText::AddressAndPortDependent => Mapping::AddressAndPortDependent,
        }
    }

    pub fn filtering(self) -> Filtering {
        match self {
            NatBehaviourText::EndpointIndependent => Filtering::EndpointIndependent,
            NatBehaviourText::AddressDependent => Filtering::AddressDependent,
            NatBehaviourText::AddressAndPortDependent => Filtering::AddressAndPortDependent,
        }
    }
}

/// How a NAT picks the public port of a new mapping.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "NatPorts")]
#[serde(rename_all = "lowercase")]
pub enum PortsText {
    /// The private port when it is free.
    Preserve,
    Random,
}

impl PortsText {
    pub fn assignment(self) -> PortAssignment {
        match self {
            PortsText::Preserve => PortAssignment::Preserve,
            PortsText::Random => PortAssignment::Random,
        }
    }
}

/// An ICE server a peer uses: "stun", "turn", an extra TURN server's name, or
/// `{ turn = { user, password } }`.
pub type IceServerText = NameOrTable<ServerName, IceServerTableText>;

/// A server of `[servers]`: "stun", "turn" or the name of an `extra_turn` server; a TURN
/// server's name presents the credentials declared there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ServerName(pub String);

impl JsonSchema for ServerName {
    fn schema_name() -> String {
        "ServerName".to_owned()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(
                    "A server of `[servers]`: \"stun\", \"turn\" or the name of an `extra_turn` \
                     server; a TURN server presents the credentials declared there."
                        .to_owned(),
                ),
                ..Metadata::default()
            })),
            instance_type: Some(InstanceType::String.into()),
            ..SchemaObject::default()
        })
    }
}

/// A TURN server of `[servers]`, with credentials of the peer's own (which may be wrong).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "TurnWithCredentials")]
#[serde(deny_unknown_fields)]
pub struct IceServerTableText {
    pub turn: CredentialsText,
    /// Which TURN server: "turn" (the default) or the name of an `extra_turn` server.
    pub server: Option<String>,
}

/// Which candidates ICE may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(rename = "TransportPolicy")]
#[serde(rename_all = "lowercase")]
pub enum TransportPolicyText {
    All,
    /// Relay candidates only: every packet goes through the TURN server.
    Relay,
}

/// The app restarts ICE after `restart_ice`, if ICE is still disconnected or failed then.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "RestartPolicy")]
#[serde(deny_unknown_fields)]
pub struct RestartPolicyText {
    /// How long the app waits before calling `restart_ice()`, e.g. "0ms" or "2s".
    pub restart_ice: WithUnit<Duration>,
    /// Restarts the app's policies make in the whole call at most, both policies counted
    /// together. Default 3.
    pub max_attempts: Option<NonZeroU32>,
}

/// One thing that happens during the call: `at`, and exactly one action.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "TimelineEntry")]
#[serde(deny_unknown_fields)]
pub struct TimelineText {
    /// When, from the start of the call, e.g. "10s". Entries may come in any order; entries
    /// at the same time happen in file order.
    #[schemars(with = "WithUnit<Duration>")]
    pub at: Spanned<WithUnit<Duration>>,
    pub link: Option<LinkChangeText>,
    pub outage: Option<OutageText>,
    pub change_address: Option<ChangeAddressText>,
    /// The NAT in front of a peer drops every binding (a reboot, a timeout).
    pub nat_reset: Option<PeerRefText>,
    pub nat: Option<NatChangeText>,
    /// The firewall of a peer's network becomes this one (UDP blocked mid-call); one with
    /// `peer` alone blocks only unsolicited TCP.
    pub firewall: Option<FirewallChangeText>,
    /// The relay: "cut" (messages wait), "restore" (they go on), or `{ delay = "2s" }`.
    pub signaling: Option<SignalingChangeText>,
    pub set_ice_servers: Option<SetIceServersText>,
    /// The app calls `restart_ice()` and sends an offer with new ICE credentials.
    pub restart_ice: Option<PeerRefText>,
    /// The app sends no audio or video for a while (mute), then goes on.
    pub pause_media: Option<PauseMediaText>,
    /// The app hangs up.
    pub close: Option<PeerRefText>,
}

impl TimelineText {
    /// The peer named by an action its app carries out (`restart_ice`, `set_ice_servers`,
    /// `close`), if the entry holds one.
    pub fn app_peer(&self) -> Option<&Spanned<String>> {
        let on_peer = self.restart_ice.as_ref().or(self.close.as_ref());
        on_peer
            .map(|action| &action.peer)
            .or(self.set_ice_servers.as_ref().map(|set| &set.peer))
            .or(self.pause_media.as_ref().map(|pause| &pause.peer))
    }

    /// Every action key, and whether the entry gives it (one should).
    pub fn action_keys(&self) -> [(&'static str, bool); 11] {
        [
            ("link", self.link.is_some()),
            ("outage", self.outage.is_some()),
            ("change_address", self.change_address.is_some()),
            ("nat_reset", self.nat_reset.is_some()),
            ("nat", self.nat.is_some()),
            ("firewall", self.firewall.is_some()),
            ("signaling", self.signaling.is_some()),
            ("set_ice_servers", self.set_ice_servers.is_some()),
            ("restart_ice", self.restart_ice.is_some()),
            ("pause_media", self.pause_media.is_some()),
            ("close", self.close.is_some()),
        ]
    }
}

/// An action on one peer.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "PeerAction")]
#[serde(deny_unknown_fields)]
pub struct PeerRefText {
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
}

/// A peer's app sends no audio or video for `duration` (RFC 8867 §5.8's media pause), then
/// resumes; its connection and data channel go on.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "PauseMedia")]
#[serde(deny_unknown_fields)]
pub struct PauseMediaText {
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
    /// How long, e.g. "20s"; `pause_media_end` is when it ends.
    #[schemars(with = "WithUnit<Duration>")]
    pub duration: Spanned<WithUnit<Duration>>,
}

/// A peer's access link, or a server's, goes down for `duration`, then comes back as it
/// was. Give `peer` or `server`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Outage")]
#[serde(deny_unknown_fields)]
pub struct OutageText {
    /// The peer whose link goes down.
    #[schemars(with = "Option<String>")]
    pub peer: Option<Spanned<String>>,
    /// The server whose host loses its link: "stun", "turn" or an `extra_turn` server's
    /// name. Its clients' allocations survive the outage.
    #[schemars(with = "Option<String>")]
    pub server: Option<Spanned<String>>,
    /// How long the link is down, e.g. "3s".
    #[schemars(with = "WithUnit<Duration>")]
    pub duration: Spanned<WithUnit<Duration>>,
}

/// The peer's interface moves to a new address (Wi-Fi to cellular); the old one is gone at
/// once. The peer gathers on the new address at its next ICE restart.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "ChangeAddress")]
#[serde(deny_unknown_fields)]
pub struct ChangeAddressText {
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
    /// The NAT of the new network, as for a peer. Default "none": a public address.
    #[schemars(with = "Option<NatText>")]
    pub nat: Option<Spanned<NatText>>,
    /// The new access link, both directions, as for a peer. Default: the same settings as
    /// before.
    pub link: Option<LinkText>,
}

/// What the signaling relay does from now on.
pub type SignalingChangeText = NameOrTable<SignalingName, SignalingDelayText>;

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "SignalingName")]
#[serde(rename_all = "lowercase")]
pub enum SignalingName {
    /// Messages wait at the relay.
    Cut,
    /// Waiting messages go on, and new ones too.
    Restore,
}

/// The relay's forwarding delay changes.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[schemars(rename = "SignalingDelay")]
#[serde(deny_unknown_fields)]
pub struct SignalingDelayText {
    pub delay: WithUnit<Duration>,
}

/// The app calls `set_configuration()` with new ICE servers; they are used from its next
/// ICE restart.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "SetIceServers")]
#[serde(deny_unknown_fields)]
pub struct SetIceServersText {
    #[schemars(with = "String")]
    pub peer: Spanned<String>,
    /// As a peer's `ice_servers`.
    #[schemars(with = "Vec<IceServerText>")]
    pub servers: Vec<Spanned<IceServerText>>,
}

/// What an `[[expect]]` holds when it holds more than one check, or none.
pub const ONE_CHECK: &str = "each [[expect]] holds exactly one check, such as `delivered = { ... }`, \
     and a `share` if it need not hold on every seed; give every check its own [[expect]]";

/// One `[[expect]]`: a check, and the share of the file's seeds it must hold on.
#[derive(Debug)]
pub struct ExpectText {
    pub check: CheckText,
    /// Of the file's `seeds`, the share on which the check must hold, e.g. "90%". Default
    /// "100%": every seed.
    pub share: Option<Spanned<WithUnit<Share>>>,
}

impl<'de> Deserialize<'de> for ExpectText {
    /// The check's key, whichever it is, and `share`, in either order. The check's value is
    /// read straight from the file's own deserializer, so its errors keep their place.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;

        impl<'de> Visitor<'de> for Entry {
            type Value = ExpectText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a check such as `delivered = { ... }`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExpectText, A::Error> {
                let (mut check, mut share) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    if key == "share" {
                        if share.is_some() {
                            return Err(de::Error::duplicate_field("share"));
                        }
                        share = Some(map.next_value()?);
                    } else if check.is_some() {
                        return Err(de::Error::custom(ONE_CHECK));
                    } else {
                        let entry = OneEntry {
                            key: Some(key),
                            map: &mut map,
                        };
                        check = Some(CheckText::deserialize(de::value::MapAccessDeserializer::new(
                            entry,
                        ))?);
                    }
                }
                let check = check.ok_or_else(|| de::Error::custom(ONE_CHECK))?;
                Ok(ExpectText { check, share })
            }
        }

        deserializer.deserialize_map(Entry)
    }
}

/// One entry of a map being read, as a map of its own: what an externally tagged enum is
/// read from.
struct OneEntry<'a, A> {
    key: Option<String>,
    map: &'a mut A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for OneEntry<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.key
            .take()
            .map(|key| seed.deserialize(key.into_deserializer()))
            .transpose()
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

impl JsonSchema for ExpectText {
    fn schema_name() -> String {
        "Expect".to_owned()
    }

    /// A check's schema, each of its alternatives taking `share` too.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut share = generator.subschema_for::<WithUnit<Share>>().into_object();
        share.metadata().description = Some(
            "Of the file's `seeds`, the share on which the check must hold, e.g. \"90%\". Default \"100%\"."
                .to_owned(),
        );
        let mut check = CheckText::json_schema(generator).into_object();
        for alternative in check.subschemas().one_of.iter_mut().flatten() {
            if let Schema::Object(alternative) = alternative {
                alternative
                    .object()
                    .properties
                    .insert("share".to_owned(), share.clone().into());
            }
        }
        Schema::Object(check)
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
    /// A network event → the first packet sent after it that arrived, per stream.
    ReconnectTime(ReconnectCheckText),
    /// `restart_ice()` → both peers ICE-connected again with new credentials, for every ICE
    /// restart of the call (the timeline's and the policies'), or the `nth`.
    RestartTime(RestartCheckText),
    /// How many ICE restarts the call had, the timeline's and the policies'.
    Restarts(BoundsText<u64>),
    /// Every target bitrate a peer's congestion control held within a window (the one in
    /// effect at its start and each it set before its end): the highest at most `max`, the
    /// lowest at least `min`.
    TargetBitrate(TargetBitrateCheckText),
    /// Payload bits per second a stream's receiver got within a window (by arrival time).
    Bitrate(StreamCheckText<WithUnit<Bps>>),
    /// A percentile of how long datagrams waited in a peer's access link's queue.
    QueueDelay(QueueDelayCheckText),
    /// Bits per second a flow of cross traffic delivered within a window.
    Throughput(ThroughputCheckText),
    /// The share of its capacity a peer's access link carried within a window.
    Utilization(UtilizationCheckText),
    /// A `link` event that sets a rate → a peer's target bitrate at most `of_capacity` of it.
    RampdownTime(RampCheckText),
    /// A `link` event that sets a rate → a peer's target bitrate at least `of_capacity` of it.
    RampupTime(RampCheckText),
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
            CheckText::ReconnectTime(_) => "reconnect_time",
            CheckText::RestartTime(_) => "restart_time",
            CheckText::Restarts(_) => "restarts",
            CheckText::TargetBitrate(_) => "target_bitrate",
            CheckText::Bitrate(_) => "bitrate",
            CheckText::QueueDelay(_) => "queue_delay",
            CheckText::Throughput(_) => "throughput",
            CheckText::Utilization(_) => "utilization",
            CheckText::RampdownTime(_) => "rampdown_time",
            CheckText::RampupTime(_) => "rampup_time",
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

/// The streams a stream check covers and the window it looks at, as written.
pub struct Scope<'a> {
    pub stream: &'a Spanned<String>,
    pub after: &'a Option<Spanned<String>>,
    pub from: &'a Option<Spanned<WithUnit<Duration>>>,
    pub to: &'a Option<Spanned<WithUnit<Duration>>>,
}

/// Declares a stream check: which streams, and the window, then its own keys.
macro_rules! stream_check {
    ($(#[$meta:meta])* pub struct $name:ident $(<$param:ident>)? { $($own:tt)* }) => {
        $(#[$meta])*
        pub struct $name $(<$param>)? {
            /// Which streams: "bob<-alice:audio" (what Bob receives from Alice), "*:audio",
            /// "bob<-*", "*". Every matching stream must pass.
            #[schemars(with = "String")]
            pub stream: Spanned<String>,
            /// Start the window at a timeline event instead of `from`: its action's name, the
            /// first one of the call ("outage" is when a peer's link goes down,
            /// "server_outage" a server's, "outage_end" when it comes back), or its n-th with
            /// "#n" ("outage#2").
            #[schemars(with = "Option<String>")]
            pub after: Option<Spanned<String>>,
            /// Start of the window, counting packets sent from then on. Default "0s".
            #[schemars(with = "Option<WithUnit<Duration>>")]
            pub from: Option<Spanned<WithUnit<Duration>>>,
            /// End of the window. Default: the end of the call.
            #[schemars(with = "Option<WithUnit<Duration>>")]
            pub to: Option<Spanned<WithUnit<Duration>>>,
            $($own)*
        }

        impl $(<$param>)? $name $(<$param>)? {
            pub fn scope(&self) -> Scope<'_> {
                Scope {
                    stream: &self.stream,
                    after: &self.after,
                    from: &self.from,
                    to: &self.to,
                }
            }
        }
    };
}

stream_check! {
    /// Limits on a stream metric within a window of the call.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "StreamCheck_of_{T}")]
    #[serde(deny_unknown_fields)]
    pub struct StreamCheckText<T> {
        pub min: Option<T>,
        pub max: Option<T>,
    }
}

stream_check! {
    /// Limits on one statistic of the one-way delay of streams within a window.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "DelayCheck")]
    #[serde(deny_unknown_fields)]
    pub struct DelayCheckText {
        /// Which statistic the limits apply to.
        pub percentile: Percentile,
        pub min: Option<WithUnit<Duration>>,
        pub max: Option<WithUnit<Duration>>,
    }
}

stream_check! {
    /// Streams within a window, for checks without limits.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "StreamWindow")]
    #[serde(deny_unknown_fields)]
    pub struct StreamWindowText {}
}

/// Declares a check on a window of the call that names no stream: its own keys, then the
/// window, as the stream checks write it.
macro_rules! window_check {
    ($(#[$meta:meta])* pub struct $name:ident { $($own:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($own)*
            /// Start the window at a timeline event instead of `from`, as for the stream checks.
            #[schemars(with = "Option<String>")]
            pub after: Option<Spanned<String>>,
            /// Start of the window. Default "0s".
            #[schemars(with = "Option<WithUnit<Duration>>")]
            pub from: Option<Spanned<WithUnit<Duration>>>,
            /// End of the window. Default: the end of the call.
            #[schemars(with = "Option<WithUnit<Duration>>")]
            pub to: Option<Spanned<WithUnit<Duration>>>,
        }

        impl $name {
            /// Its window, about `subject` (the key errors about what it names point at).
            pub fn scope<'a>(&'a self, subject: &'a Spanned<String>) -> Scope<'a> {
                Scope {
                    stream: subject,
                    after: &self.after,
                    from: &self.from,
                    to: &self.to,
                }
            }
        }
    };
}

window_check! {
    /// Limits on the target bitrates of peers' congestion control within a window.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "TargetBitrateCheck")]
    #[serde(deny_unknown_fields)]
    pub struct TargetBitrateCheckText {
        /// Whose: a peer with `congestion_control`. Default "*": every such peer.
        #[schemars(with = "Option<String>")]
        pub peer: Option<Spanned<String>>,
        pub min: Option<WithUnit<Bps>>,
        pub max: Option<WithUnit<Bps>>,
    }
}

window_check! {
    /// Limits on what a flow of cross traffic delivered within a window, in bits per second
    /// over its length (in whole 100 ms bins).
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "ThroughputCheck")]
    #[serde(deny_unknown_fields)]
    pub struct ThroughputCheckText {
        /// Which flow: a name under `[cross_traffic]`.
        #[schemars(with = "String")]
        pub flow: Spanned<String>,
        pub min: Option<WithUnit<Bps>>,
        pub max: Option<WithUnit<Bps>>,
    }
}

window_check! {
    /// Limits on one statistic of how long the datagrams that entered a peer's access link
    /// within a window (in whole 100 ms bins) waited in its queue.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "QueueDelayCheck")]
    #[serde(deny_unknown_fields)]
    pub struct QueueDelayCheckText {
        /// Whose access link.
        #[schemars(with = "String")]
        pub peer: Spanned<String>,
        /// "up" (towards the core), "down", or "both" (the default: the datagrams of both).
        pub direction: Option<DirectionText>,
        /// Which statistic the limits apply to.
        pub percentile: Percentile,
        pub min: Option<WithUnit<Duration>>,
        pub max: Option<WithUnit<Duration>>,
    }
}

window_check! {
    /// Limits on the share of its capacity a peer's access link carried within a window (in
    /// whole 100 ms bins): whole datagrams, headers included, each counted over its
    /// serialization time, against its rate (or trace) over the window.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(rename = "UtilizationCheck")]
    #[serde(deny_unknown_fields)]
    pub struct UtilizationCheckText {
        /// Whose access link.
        #[schemars(with = "String")]
        pub peer: Spanned<String>,
        /// "up" (towards the core), "down", or "both" (the default: added up).
        pub direction: Option<DirectionText>,
        pub min: Option<WithUnit<Share>>,
        pub max: Option<WithUnit<Share>>,
    }
}

/// Limits on the time from a `link` event that sets a `rate` until a peer's congestion
/// control holds a target at most (`rampdown_time`) or at least (`rampup_time`) a share of
/// that rate.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "RampCheck")]
#[serde(deny_unknown_fields)]
pub struct RampCheckText {
    /// Whose target: a peer with `congestion_control`. Default "*": every such peer.
    #[schemars(with = "Option<String>")]
    pub peer: Option<Spanned<String>>,
    /// The `link` event, as for the other checks: "link" (the first) or "link#n".
    #[schemars(with = "String")]
    pub after: Spanned<String>,
    /// The share of the new rate the target must reach, e.g. "100%" (under it) or "80%".
    #[schemars(with = "WithUnit<Share>")]
    pub of_capacity: Spanned<WithUnit<Share>>,
    pub min: Option<WithUnit<Duration>>,
    pub max: Option<WithUnit<Duration>>,
}

/// Limits on the time from a network event to the first packet sent after it that
/// arrived, for each stream.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "ReconnectCheck")]
#[serde(deny_unknown_fields)]
pub struct ReconnectCheckText {
    /// The network event: "change_address", "outage_end", "server_outage" (from its start),
    /// "nat_reset" or "nat" (the first of the call), or its n-th with "#n" ("outage_end#2").
    #[schemars(with = "String")]
    pub after: Spanned<String>,
    /// Which streams, as for the other stream checks. Default "*": every stream.
    #[schemars(with = "Option<String>")]
    pub stream: Option<Spanned<String>>,
    pub min: Option<WithUnit<Duration>>,
    pub max: Option<WithUnit<Duration>>,
}

/// Limits on the time ICE restarts take. A restart that never completes fails the check.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "RestartCheck")]
#[serde(deny_unknown_fields)]
pub struct RestartCheckText {
    /// Only the n-th restart of the call (from 1). Default: every restart, and there must
    /// be at least one.
    pub nth: Option<NonZeroUsize>,
    pub min: Option<WithUnit<Duration>>,
    pub max: Option<WithUnit<Duration>>,
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

/// The timeline, each entry holding `at` and exactly one action: two keys.
fn timeline_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut entry = TimelineText::json_schema(generator).into_object();
    entry.object().required.insert("at".to_owned());
    entry.object().min_properties = Some(2);
    entry.object().max_properties = Some(2);
    Schema::Object(SchemaObject {
        instance_type: Some(InstanceType::Array.into()),
        array: Some(Box::new(ArrayValidation {
            items: Some(SingleOrVec::Single(Box::new(entry.into()))),
            ..ArrayValidation::default()
        })),
        ..SchemaObject::default()
    })
}
