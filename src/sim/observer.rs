//! What the world sees of an app's connection without the app doing anything for it: the
//! observer wrapped around its event handler, and the trace handle apps record their own
//! events through.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidate, RTCIceConnectionState, RTCIceGatheringState,
    RTCIceProtocol, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSignalingState,
};

use rtc::peer_connection::transport::RTCIceTcpCandidateType;

use crate::runtime::SimRuntime;
use crate::trace::{AddressBook, Recorder, What};

/// The run's trace as an app adds to it: its events land among the world's, at the world's
/// time, and show in the report. The built-in app records its negotiation steps, restarts
/// and data-channel probes through it. Cheap to clone.
#[derive(Clone)]
pub struct TraceHandle {
    pub(super) runtime: SimRuntime,
    pub(super) recorder: Recorder,
    /// Names for addresses, so candidates read `host alice:5000`.
    pub(super) book: Arc<AddressBook>,
}

impl TraceHandle {
    /// Records `what` now.
    pub fn record(&self, what: What) {
        self.record_at(self.now(), what);
    }

    /// Records `what` at `at`, a time [`TraceHandle::now`] gave: when something measured
    /// happened before it is recorded.
    pub fn record_at(&self, at: Duration, what: What) {
        self.recorder.record(at, what);
    }

    /// Virtual time since the world began: the trace's time.
    pub fn now(&self) -> Duration {
        self.runtime.elapsed()
    }

    /// A stable name for a random `value` of some `kind` (`ufrag#1`), so that traces of one
    /// seed compare equal.
    pub fn alias(&self, kind: &str, value: &str) -> String {
        self.recorder.alias(kind, value)
    }

    /// A candidate as the trace shows it: `host alice:5000`, and a TCP one with its
    /// protocol and type, `host alice:443/tcp passive` (an active one's port is RFC 6544's
    /// placeholder 9).
    pub fn candidate(&self, candidate: &RTCIceCandidate) -> String {
        let place = self.book.label_text(&candidate.address, candidate.port);
        if candidate.protocol != RTCIceProtocol::Tcp {
            return format!("{} {place}", candidate.typ);
        }
        let tcp_type = match candidate.tcp_type {
            RTCIceTcpCandidateType::Active => "active",
            RTCIceTcpCandidateType::Passive => "passive",
            RTCIceTcpCandidateType::SimultaneousOpen => "so",
            // Unspecified, and whatever later versions add (the enum is non-exhaustive).
            _ => "",
        };
        format!("{} {place}/tcp {tcp_type}", candidate.typ)
            .trim_end()
            .to_owned()
    }
}

/// Where an observer finds its connection, once the app has built it ([`super::Stack::watch`]).
pub(super) type ConnectionSlot = Arc<OnceLock<Weak<dyn PeerConnection>>>;

/// Records what the connection reports, then hands it to the app's handler. Once it knows
/// the connection, it also records what the events do not carry: each new local description's
/// ICE credentials, and the selected pair.
pub(super) struct Observer {
    peer: String,
    /// The trace, and the world's runtime it reads the time from, which runs the reads.
    trace: TraceHandle,
    inner: Arc<dyn PeerConnectionEventHandler>,
    connection: ConnectionSlot,
    /// The last local description recorded: its type, ufrag and pwd.
    last_description: Arc<Mutex<Option<(String, String, String)>>>,
}

impl Observer {
    pub(super) fn new(peer: &str, trace: TraceHandle, inner: Arc<dyn PeerConnectionEventHandler>) -> Self {
        Observer {
            peer: peer.to_owned(),
            trace,
            inner,
            connection: Default::default(),
            last_description: Default::default(),
        }
    }

    pub(super) fn connection_slot(&self) -> ConnectionSlot {
        self.connection.clone()
    }

    fn record(&self, what: What) {
        self.trace.record(what);
    }

    /// Runs `read` on the connection, if the app let the observer see it, as a task of its
    /// own: asking the connection from inside a callback would wait on the driver that is
    /// running the callback.
    fn read_connection<F>(&self, read: impl FnOnce(Arc<dyn PeerConnection>, String, TraceHandle) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(connection) = self.connection.get().and_then(Weak::upgrade) else {
            return;
        };
        let task = read(connection, self.peer.clone(), self.trace.clone());
        self.trace.runtime.spawn_looking_on(task);
    }

    /// Records the local description if its type or ICE credentials are new.
    fn record_local_description(&self) {
        let last = self.last_description.clone();
        self.read_connection(|connection, peer, trace| async move {
            let Some(description) = connection.local_description().await else {
                return;
            };
            let (ufrag, pwd) = ice_credentials(&description.sdp);
            let seen = (description.sdp_type.to_string(), ufrag, pwd);
            let mut last = last.lock().expect("description poisoned");
            if last.as_ref() == Some(&seen) {
                return;
            }
            trace.record(What::LocalDescription {
                peer,
                sdp_type: seen.0.clone(),
                ufrag: trace.alias("ufrag", &seen.1),
                pwd: trace.alias("pwd", &seen.2),
            });
            *last = Some(seen);
        });
    }

    /// Records the candidate pair ICE selected.
    fn record_selected_pair(&self) {
        self.read_connection(|connection, peer, trace| async move {
            let dtls = match connection.sctp().await {
                Some(sctp) => Some(sctp.transport()),
                None => match connection.get_senders().await.first() {
                    Some(sender) => sender.transport().await.ok().flatten(),
                    None => None,
                },
            };
            let Some(dtls) = dtls else { return };
            match dtls.ice_transport().get_selected_candidate_pair().await {
                Ok(Some(pair)) => trace.record(What::SelectedPair {
                    peer,
                    local: trace.candidate(pair.local()),
                    remote: trace.candidate(pair.remote()),
                }),
                Ok(None) => {}
                Err(error) => trace.record(What::Error {
                    peer,
                    message: format!("selected candidate pair: {error}"),
                }),
            }
        });
    }
}

/// The ICE ufrag and pwd an SDP carries (the first of each).
fn ice_credentials(sdp: &str) -> (String, String) {
    let attribute = |name: &str| {
        sdp.lines()
            .find_map(|line| line.trim().strip_prefix(name).map(str::to_owned))
            .unwrap_or_default()
    };
    (attribute("a=ice-ufrag:"), attribute("a=ice-pwd:"))
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Observer {
    async fn on_negotiation_needed(&self) {
        self.inner.on_negotiation_needed().await;
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        self.record(What::Candidate {
            peer: self.peer.clone(),
            candidate: self.trace.candidate(&event.candidate),
        });
        self.inner.on_ice_candidate(event).await;
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        self.record(What::SignalingState {
            peer: self.peer.clone(),
            state: state.to_string(),
        });
        self.record_local_description();
        self.inner.on_signaling_state_change(state).await;
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.record(What::IceGatheringState {
            peer: self.peer.clone(),
            state: state.to_string(),
        });
        self.inner.on_ice_gathering_state_change(state).await;
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.record(What::IceConnectionState {
            peer: self.peer.clone(),
            state: state.to_string(),
        });
        if state == RTCIceConnectionState::Connected {
            self.record_selected_pair();
        }
        self.inner.on_ice_connection_state_change(state).await;
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.record(What::PeerConnectionState {
            peer: self.peer.clone(),
            state: state.to_string(),
        });
        self.inner.on_connection_state_change(state).await;
    }

    async fn on_data_channel(&self, channel: Arc<dyn webrtc::data_channel::DataChannel>) {
        self.inner.on_data_channel(channel).await;
    }

    async fn on_track(&self, track: Arc<dyn webrtc::media_stream::track_remote::TrackRemote>) {
        self.inner.on_track(track).await;
    }
}
