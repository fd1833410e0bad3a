//! How a call recovers: ICE restarts (SPEC `restart_time` and its evidence) and
//! reconnection after network events (`reconnect_time`, per direction).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::trace::{Event, What};

/// Timeline actions after which the network under a peer has changed, and the call must
/// find its way again. A peer's outage counts from its end: nothing passes until its link is
/// back. A server's outage (`server_outage`) counts from its start: the call can find
/// another path while the server is down (another server after `set_ice_servers`, another
/// candidate pair), and its `outage_end` may come after the call ends.
pub const NETWORK_EVENTS: [&str; 6] = [
    "change_address",
    "outage_end",
    "server_outage",
    "nat_reset",
    "nat",
    "firewall",
];

/// One ICE restart, and the evidence that it happened as ICE says it should.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restart {
    pub at: Duration,
    /// Who called `restart_ice()`.
    pub peer: String,
    /// `timeline`, `on_failed`, `on_disconnected` (the built-in app's), what another app
    /// recorded, or [`OBSERVED_RESTART`] for one seen only in its offer.
    pub reason: String,
    /// `restart_ice()` → both peers ICE-connected again under their new credentials.
    pub restart_time: Option<Duration>,
    /// The restarting peer's offer carried a new ufrag and pwd...
    pub offer_credentials_changed: bool,
    /// ...and the answer did too.
    pub answer_credentials_changed: bool,
    /// The restarting peer's selected pair before and after.
    pub pair_before: Option<String>,
    pub pair_after: Option<String>,
    /// Media packets (all streams) that arrived while the restart negotiated: media that
    /// kept flowing on the old pair.
    pub received_while_restarting: u64,
}

/// Reconnection after one network event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconnect {
    /// The timeline action (`change_address`, `outage_end`...).
    pub action: String,
    pub at: Duration,
    /// Per stream: the event → the first packet sent after it that arrived; `None` if none did.
    pub reconnect_time: BTreeMap<String, Option<Duration>>,
}

/// The reason of a restart no app recorded, seen from its offer alone.
pub const OBSERVED_RESTART: &str = "new credentials";

/// Every ICE restart in the trace.
pub fn restarts(trace: &[Event]) -> Vec<Restart> {
    let starts = restart_starts(trace);
    let peers: BTreeSet<&str> = trace
        .iter()
        .filter_map(|event| match &event.what {
            What::LocalDescription { peer, .. } => Some(peer.as_str()),
            _ => None,
        })
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(index, &(at, peer, reason))| {
            // The next restart ends what this one's evidence (pair, media) can be credited
            // with, but not its completion: a restart the app made on top of it, or one
            // the two sides' restarts were folded into (glare, a queued restart), still
            // brings the call back for both.
            let until = starts.get(index + 1).map_or(Duration::MAX, |next| next.0);
            let during = |event: &&Event| event.at >= at && event.at < until;
            let reconnected: Vec<Option<Duration>> = peers
                .iter()
                .map(|p| connected_after_new_credentials(trace, p, at))
                .collect();
            let restart_time = reconnected
                .iter()
                .copied()
                .collect::<Option<Vec<_>>>()
                .and_then(|times| times.into_iter().max().map(|done| done - at));
            let done = restart_time.map_or(until, |time| until.min(at + time));
            let offer = credentials_changed(trace, peer, "offer", at);
            let answer = peers
                .iter()
                .filter(|p| **p != peer)
                .any(|p| credentials_changed(trace, p, "answer", at));
            Restart {
                at,
                peer: peer.to_owned(),
                reason: reason.to_owned(),
                restart_time,
                offer_credentials_changed: offer,
                answer_credentials_changed: answer,
                pair_before: selected_pair(trace.iter().rev().filter(|e| e.at < at), peer),
                pair_after: selected_pair(trace.iter().filter(during), peer),
                received_while_restarting: trace
                    .iter()
                    .filter(|e| e.at > at && e.at < done && matches!(e.what, What::MediaReceived { .. }))
                    .count() as u64,
            }
        })
        .collect()
}

/// When each restart began, who made it and why: the restarts the apps recorded
/// (`RestartIce`), and each local offer with ICE credentials new since its peer's previous
/// local description that no recorded restart explains: what the observer sees of an app's
/// `restart_ice()`, or of a connection it built anew, when the app records nothing itself.
fn restart_starts(trace: &[Event]) -> Vec<(Duration, &str, &str)> {
    /// A peer's last local description's ufrag and pwd, and whether it recorded a restart since.
    #[derive(Default)]
    struct Seen<'a> {
        credentials: Option<(&'a str, &'a str)>,
        explained: bool,
    }
    let mut starts = Vec::new();
    let mut peers: BTreeMap<&str, Seen> = BTreeMap::new();
    for event in trace {
        match &event.what {
            What::RestartIce { peer, reason } => {
                starts.push((event.at, peer.as_str(), reason.as_str()));
                peers.entry(peer).or_default().explained = true;
            }
            What::LocalDescription {
                peer,
                sdp_type,
                ufrag,
                pwd,
            } => {
                let seen = peers.entry(peer).or_default();
                let renewed = seen
                    .credentials
                    .is_some_and(|old| old != (ufrag.as_str(), pwd.as_str()));
                if renewed && sdp_type == "offer" && !seen.explained {
                    starts.push((event.at, peer.as_str(), OBSERVED_RESTART));
                }
                *seen = Seen {
                    credentials: Some((ufrag, pwd)),
                    explained: false,
                };
            }
            _ => {}
        }
    }
    starts
}

/// Reconnection after every network event of the timeline.
pub fn reconnects(trace: &[Event]) -> Vec<Reconnect> {
    let streams: BTreeSet<&str> = trace
        .iter()
        .filter_map(|event| match &event.what {
            What::MediaSent { stream, .. } => Some(stream.as_str()),
            _ => None,
        })
        .collect();
    trace
        .iter()
        .filter_map(|event| match &event.what {
            What::Timeline { action, .. } if NETWORK_EVENTS.contains(&action.as_str()) => {
                Some((event.at, action))
            }
            _ => None,
        })
        .map(|(at, action)| Reconnect {
            action: action.clone(),
            at,
            reconnect_time: streams
                .iter()
                .map(|stream| (stream.to_string(), reconnect_time(trace, stream, at)))
                .collect(),
        })
        .collect()
}

/// `at` → the first packet of `stream` sent at or after `at` that arrived.
pub fn reconnect_time(trace: &[Event], stream: &str, at: Duration) -> Option<Duration> {
    trace.iter().find_map(|event| match &event.what {
        What::MediaReceived {
            stream: s, sent_at, ..
        } if s == stream && *sent_at >= at => Some(event.at - at),
        _ => None,
    })
}

/// When `peer` was first ICE-connected after applying new credentials at or after `at`.
fn connected_after_new_credentials(trace: &[Event], peer: &str, at: Duration) -> Option<Duration> {
    let mut renegotiated = false;
    trace
        .iter()
        .filter(|e| e.at >= at)
        .find_map(|event| match &event.what {
            What::LocalDescription { peer: p, .. } if p == peer => {
                renegotiated = true;
                None
            }
            What::IceConnectionState { peer: p, state }
                if p == peer && renegotiated && state == "connected" =>
            {
                Some(event.at)
            }
            _ => None,
        })
}

/// Whether `peer`'s first `sdp_type` description after `at` has a ufrag and pwd different
/// from its previous description.
fn credentials_changed(trace: &[Event], peer: &str, sdp_type: &str, at: Duration) -> bool {
    let credentials = |event: &Event| match &event.what {
        What::LocalDescription {
            peer: p,
            sdp_type: t,
            ufrag,
            pwd,
        } if p == peer => Some((t.clone(), ufrag.clone(), pwd.clone())),
        _ => None,
    };
    let before = trace.iter().rev().filter(|e| e.at < at).find_map(credentials);
    let after = trace
        .iter()
        .filter(|e| e.at >= at)
        .find_map(credentials)
        .filter(|(t, ..)| t == sdp_type);
    match (before, after) {
        (Some((_, old_ufrag, old_pwd)), Some((_, ufrag, pwd))) => old_ufrag != ufrag && old_pwd != pwd,
        _ => false,
    }
}

/// The first selected pair of `peer` among `events`, as `local → remote`.
fn selected_pair<'a>(mut events: impl Iterator<Item = &'a Event>, peer: &str) -> Option<String> {
    events.find_map(|event| match &event.what {
        What::SelectedPair {
            peer: p,
            local,
            remote,
        } if p == peer => Some(format!("{local} → {remote}")),
        _ => None,
    })
}
