//! A peer: a real webrtc-rs `PeerConnection` plus the small application around it (see
//! [`app`]) that a real calling app has.

mod app;
mod congestion;
pub mod media;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rtc::crypto::{CryptoError, PublicKey, SignatureScheme, SigningKey};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::interceptor_registry::{
    CongestionFeedback, configure_congestion_control,
};
use serde::{Deserialize, Serialize};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceConnectionState,
    RTCIceServer, RTCIceTransportPolicy, Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::runtime::{Receiver, Runtime};

use crate::runtime::SimRuntime;
use crate::signaling::Relay;
use crate::tap::WireTap;
use crate::trace::AddressBook;
use crate::trace::{MediaKind, Recorder, What};
use app::{App, Callbacks};
pub use congestion::{CongestionControl, Estimate};

/// Who starts the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Caller,
    Callee,
}

/// What a peer sends, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlan {
    pub kinds: Vec<MediaKind>,
    /// Video bitrate of the synthetic encoder, when congestion control is off.
    pub video_bitrate_bps: u64,
    /// webrtc-rs's GCC with TWCC feedback, whose target the video then follows; `None`
    /// (the default): off, the video stays at `video_bitrate_bps`.
    pub congestion_control: Option<CongestionControl>,
    /// Time between two data-channel messages.
    pub data_interval: Duration,
    /// When the senders stop (the end of the call; the world then drains what is in flight).
    pub until: Duration,
}

impl Default for MediaPlan {
    fn default() -> Self {
        MediaPlan {
            kinds: vec![MediaKind::Audio, MediaKind::Video, MediaKind::Data],
            video_bitrate_bps: 800_000,
            congestion_control: None,
            data_interval: Duration::from_millis(100),
            until: Duration::MAX,
        }
    }
}

/// "Restart ICE `delay` after it happens, at most `max_attempts` times in the call."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub delay: Duration,
    pub max_attempts: u32,
}

/// What the app does when ICE goes bad, as real apps decide it. `None`: nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppPolicy {
    pub on_disconnected: Option<RestartPolicy>,
    pub on_failed: Option<RestartPolicy>,
}

/// The address a peer binds, which the world can move (a phone changing networks). webrtc-rs
/// resolves it again at every ICE-restart rebind, so the restart gathers on the new address.
#[derive(Debug, Clone)]
pub struct BindAddress(Arc<Mutex<SocketAddr>>);

impl BindAddress {
    pub fn new(address: SocketAddr) -> Self {
        BindAddress(Arc::new(Mutex::new(address)))
    }

    pub fn get(&self) -> SocketAddr {
        *self.0.lock().expect("address poisoned")
    }

    pub fn set(&self, address: SocketAddr) {
        *self.0.lock().expect("address poisoned") = address;
    }
}

impl std::net::ToSocketAddrs for BindAddress {
    type Iter = std::option::IntoIter<SocketAddr>;

    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        Ok(Some(self.get()).into_iter())
    }
}

/// How to build one peer.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub name: String,
    pub remote: String,
    pub role: Role,
    pub media: MediaPlan,
    pub policy: AppPolicy,
    /// The address its socket binds (an address of its simulated interface).
    pub address: BindAddress,
    pub ice_servers: Vec<RTCIceServer>,
    /// Use relay candidates only.
    pub relay_only: bool,
    /// Seed for values the harness chooses for it (SSRCs).
    pub seed: u64,
}

/// The peer's DTLS certificate, whose every signature has the same length.
///
/// webrtc-rs's default certificate signs with ECDSA P-256, and an ECDSA signature's DER
/// length varies by a byte or two with its random nonce. That changes the size of the DTLS
/// flights, which on a rate-limited link shifts every later packet: a run would stop being
/// reproducible from its seed. (Ed25519 would be fixed-length, but webrtc-rs 0.21's DTLS
/// server accepts only ECDSA keys for its ECDHE_ECDSA suites.)
pub(crate) fn certificate(name: &str, seed: u64) -> Result<RTCCertificate, webrtc::error::Error> {
    let crypto = rtc::crypto::default_provider().map_err(other_error)?;
    let key = crypto
        .crypto()
        .generate_signing_key(SignatureScheme::EcdsaP256Sha256)
        .map_err(other_error)?;
    let mut params = CertificateParams::new(vec![certificate_name(name)]).map_err(other_error)?;
    // rcgen's default serial is a hash with leading zeros stripped: its length varies too.
    let mut serial = crate::net::sub_seed(seed, 0x5e71a1).to_be_bytes();
    serial[0] = serial[0] % 0x7f + 1;
    params.serial_number = Some(serial.to_vec().into());
    let key = Arc::new(FullLengthEcdsa(key));
    RTCCertificate::generate_from_signing_key(params, SignatureScheme::EcdsaP256Sha256, key)
}

/// `name` as a certificate's DNS name, which is ASCII (an IA5String): peer names may hold
/// any letter, so each one that is not ASCII is written as its code point, `\u{430}`. The same
/// name always gives the same certificate name, and so the same DTLS flight sizes.
fn certificate_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// An ECDSA P-256 key that draws a fresh nonce until the DER signature has its full
/// length (72 bytes: both integers with a leading zero byte, about one draw in four).
struct FullLengthEcdsa(Arc<dyn SigningKey>);

impl FullLengthEcdsa {
    const SIGNATURE_LEN: usize = 72;
    /// (3/4)^100 ≈ 3e-13: after this many draws the last signature is used as it is.
    const MAX_DRAWS: usize = 100;
}

impl SigningKey for FullLengthEcdsa {
    fn supports(&self, scheme: SignatureScheme) -> bool {
        self.0.supports(scheme)
    }

    fn public_key(&self) -> PublicKey<'_> {
        self.0.public_key()
    }

    fn sign(&self, scheme: SignatureScheme, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut signature = self.0.sign(scheme, message)?;
        for _ in 1..Self::MAX_DRAWS {
            if signature.len() == Self::SIGNATURE_LEN {
                break;
            }
            signature = self.0.sign(scheme, message)?;
        }
        Ok(signature)
    }
}

fn other_error(error: impl std::fmt::Display) -> webrtc::error::Error {
    webrtc::error::Error::Other(error.to_string())
}

/// A running peer.
pub struct Peer {
    app: Arc<App>,
    connection: Arc<dyn PeerConnection>,
}

impl Peer {
    /// Builds the peer connection on the simulated runtime and adds its tracks.
    pub async fn build(
        setup: PeerSetup,
        runtime: SimRuntime,
        recorder: Recorder,
        relay: Relay,
        book: Arc<AddressBook>,
        tap: &WireTap,
    ) -> Result<Arc<Peer>, webrtc::error::Error> {
        // Everything its app and its stack spawn is its host's work.
        let runtime = runtime.on_host(&setup.name);
        let tracks: Vec<_> = setup
            .media
            .kinds
            .iter()
            .filter(|kind| **kind != MediaKind::Data)
            .map(|kind| {
                let ssrc = crate::net::sub_seed(setup.seed, *kind as u64) as u32;
                (*kind, ssrc, media::local_track(&setup.name, *kind, ssrc))
            })
            .collect();
        let (estimator, estimate) = match setup.media.congestion_control {
            Some(control) => {
                let origin = runtime.now() - runtime.elapsed();
                let (estimator, estimate) = congestion::Reporting::new(
                    control,
                    &setup.name,
                    recorder.clone(),
                    origin,
                    runtime.elapsed(),
                );
                (Some(estimator), Some(estimate))
            }
            None => (None, None),
        };
        let app = Arc::new(App {
            name: setup.name.clone(),
            remote: setup.remote.clone(),
            polite: setup.role == Role::Callee,
            media: setup.media.clone(),
            policy: setup.policy,
            runtime: runtime.clone(),
            recorder,
            relay,
            book,
            tracks,
            estimate,
            media_started: AtomicBool::new(false),
            policy_restarts: AtomicU32::new(0),
            ice_state: Mutex::new(RTCIceConnectionState::New),
            negotiation: Default::default(),
            early_candidates: Mutex::new(Vec::new()),
            connection: OnceLock::new(),
        });

        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs()?;
        let mut interceptors = Registry::new();
        if let Some(estimator) = estimator {
            // The send history, the pacer and the TWCC sender and receiver; the far side's
            // default interceptors already report arrivals with TWCC.
            interceptors = configure_congestion_control(
                interceptors,
                estimator,
                CongestionFeedback::Twcc,
                &mut media_engine,
            )?;
        }
        // The wire tap measures its RTP, as it measures any app's.
        let interceptors = tap.register(
            &setup.name,
            register_default_interceptors(interceptors, &mut media_engine)?,
        );
        // Discarding the old generation's local candidates on restart is what makes
        // webrtc-rs rebind its sockets, and so gather on a moved address.
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_include_loopback_candidate(true)
            .with_discard_local_candidates_during_ice_restart(true)
            .build();
        let policy = if setup.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_certificates(vec![certificate(&setup.name, setup.seed)?])
            .with_ice_servers(setup.ice_servers.clone())
            .with_ice_transport_policy(policy)
            .build();
        let connection: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(configuration)
                .with_setting_engine(settings)
                .with_media_engine(media_engine)
                .with_interceptor_registry(interceptors)
                .with_runtime(Arc::new(runtime))
                .with_handler(Arc::new(Callbacks(app.clone())))
                .with_udp_addrs(vec![setup.address])
                .build()
                .await?,
        );
        let _ = app.connection.set(Arc::downgrade(&connection));
        for (_, _, track) in &app.tracks {
            connection.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        }
        if setup.role == Role::Caller && setup.media.kinds.contains(&MediaKind::Data) {
            let channel = connection.create_data_channel("netsim-data", None).await?;
            app.watch_data_channel(channel);
        }
        Ok(Arc::new(Peer { app, connection }))
    }

    /// The caller's first move: offer, apply it, send it.
    pub async fn call(&self) -> Result<(), String> {
        self.app.record(What::OfferCreated {
            peer: self.app.name.clone(),
        });
        self.app.call().await
    }

    /// `restart_ice()` and a new offer, as the app does when the timeline says so.
    pub async fn restart_ice(&self, reason: &str) {
        if let Err(error) = self.app.restart_ice(reason).await {
            self.app.error(error);
        }
    }

    /// `set_configuration()` with new ICE servers.
    pub async fn set_ice_servers(&self, servers: Vec<RTCIceServer>) {
        if let Err(error) = self.app.set_ice_servers(servers).await {
            self.app.error(error);
        }
    }

    /// Handles what the relay brings, until the relay connection closes.
    pub async fn handle_signals(self: Arc<Self>, inbox: Receiver<Vec<u8>>) {
        self.app.clone().handle_signals(inbox).await
    }

    /// Ends the call.
    pub async fn close(&self) {
        if let Err(error) = self.connection.close().await {
            self.app.error(format!("close: {error}"));
        }
    }
}
