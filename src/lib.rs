//! webrtc-netsim puts real webrtc-rs peers through simulated bad networks, on a virtual
//! clock, deterministically.
//!
//! The modules stack in layers: each uses only modules above it in this table, never one
//! below, and no two use each other (`tests/layering.rs` holds the code to it).
//!
//! | module | what it is | uses |
//! |---|---|---|
//! | [`net`] | the network model: links (delay, jitter, loss, rate, queue), NATs, STUN/TURN servers, routing; no async, no clock | — |
//! | [`trace`] | every timestamped event of a run, and the names the trace gives addresses | `net` |
//! | [`servers`] | the STUN/TURN servers of a world's core, and the ICE servers a peer is given | `net` |
//! | [`runtime`] | webrtc-rs's `Runtime` (and tokio's clock) on one thread and one virtual clock, sockets on the network | `net` |
//! | [`signaling`] | the relay that joins peers by token and forwards what it cannot read | `net`, `runtime`, `trace` |
//! | [`cross`] | cross traffic: other devices' flows on a peer's access link (constant and on-off UDP, bulk TCP), metered into the trace | `runtime`, `trace` |
//! | [`timeline`] | what changes during a call: links, outages, address moves, NATs, signaling, ICE restarts | `net`, `servers` |
//! | [`metrics`] | connect time, delivery, gaps, delay, freezes — computed from the trace | `trace` |
//! | [`tap`] | the wire tap: any app's RTP, recorded in its interceptor chain, joined into media events | `metrics`, `runtime`, `trace` |
//! | [`world`] | one running world: addresses, network, servers, relay, the timeline played; a run's result | all of the above |
//! | [`sim`] | a world built in code whose peers are webrtc-rs apps, each handed a context | `world` and below |
//! | [`peer`] | the built-in app, one app among others on the sim's public API: a real `PeerConnection`, its signaling, synthetic media, policies | `net`, `sim`, `trace` |
//! | [`scenario`] | a call described in code or in a file (the file front end and its checks); plays it as a sim of built-in or registered apps | `peer`, `sim` and below |
//! | [`report`] | what a run leaves for people and CI: JSON, an HTML timeline, JUnit, pcap captures | `scenario` and below |
//! | [`suite`] | a folder of scenario files as tests, one per file and sweep point, your apps registered | `report` and below |
//!
//! ```no_run
//! use std::time::Duration;
//! use webrtc_netsim::{LinkConfig, PeerSpec, Scenario};
//!
//! let link = LinkConfig { delay: Duration::from_millis(50), ..LinkConfig::default() };
//! let run = Scenario::new("clean call")
//!     .duration(Duration::from_secs(10))
//!     .peer(PeerSpec::caller("alice").link(link.clone()))
//!     .peer(PeerSpec::callee("bob").link(link))
//!     .run()
//!     .expect("the call runs");
//! println!("connected after {:?}", run.metrics.connect_time);
//! ```

pub mod cross;
pub mod metrics;
pub mod net;
pub mod peer;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod servers;
pub mod signaling;
pub mod sim;
pub mod suite;
pub mod tap;
pub mod timeline;
pub mod trace;
pub mod world;

pub use metrics::{Metrics, StreamMetrics};
pub use net::{LinkConfig, Loss, QueueLimit};
pub use peer::{AppPolicy, MediaPlan, RestartPolicy};
pub use scenario::{PeerSpec, Scenario};
pub use sim::Role;
pub use timeline::{Action, Direction, LinkChange, SignalingChange, TimedAction};
pub use trace::{Event, MediaKind, What};
pub use world::{Run, RunError};
