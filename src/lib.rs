//! webrtc-netsim puts real webrtc-rs peers through simulated bad networks, on a virtual
//! clock, deterministically.
//!
//! The code reads as the data flow of a run:
//!
//! | module | what it is |
//! |---|---|
//! | [`scenario`] | who calls whom over what network, for how long (built in code or from a file) |
//! | [`world`] | builds hosts, links, relay and peers from a scenario, plays the call |
//! | [`sim`] | a world built in code whose peers are your own webrtc-rs apps, each handed a context |
//! | [`runtime`] | webrtc-rs's `Runtime` on one thread and one virtual clock, sockets on the sim network |
//! | [`net`] | the network model: links (delay, jitter, loss, rate, queue) and routing; no async, no clock |
//! | [`timeline`] | what changes during a call: links, outages, address moves, NATs, signaling, ICE restarts |
//! | [`signaling`] | the relay that joins peers by token and forwards what it cannot read |
//! | [`peer`] | a real `PeerConnection` plus the app around it: signaling, synthetic media |
//! | [`tap`] | the wire tap: any app's RTP, recorded in its interceptor chain, joined into media events |
//! | [`trace`] | every timestamped event of a run |
//! | [`metrics`] | connect time, delivery, gaps, delay, freezes — computed from the trace |
//! | [`report`] | what a run leaves for people and CI: JSON, an HTML timeline, JUnit, pcap captures |
//! | [`suite`] | a folder of scenario files as tests, one per file and sweep point, your apps registered |
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

pub mod metrics;
pub mod net;
pub mod peer;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod signaling;
pub mod sim;
pub mod suite;
pub mod tap;
pub mod timeline;
pub mod trace;
pub mod world;

pub use metrics::{Metrics, StreamMetrics};
pub use net::{LinkConfig, Loss, QueueLimit};
pub use peer::{AppPolicy, MediaPlan, RestartPolicy, Role};
pub use scenario::{PeerSpec, Scenario};
pub use timeline::{Action, Direction, LinkChange, SignalingChange, TimedAction};
pub use trace::{Event, MediaKind, What};
pub use world::{Run, RunError};
