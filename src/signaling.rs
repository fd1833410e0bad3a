//! The signaling relay, modelled on a WebSocket signaling server that cannot read what it
//! forwards: the caller creates a session and gets a token, the callee joins with it, and
//! every message goes, opaque and in order, to the other member after the relay's delay.
//! The timeline can cut the relay (messages wait) and restore it (they flow again), and a
//! peer's outage cuts that peer's connection to it alone: what it sends and what is sent to
//! it wait until its link is back, as on the TCP connection under a WebSocket.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webrtc::runtime::{Receiver, Runtime, Sender, channel};

use crate::runtime::SimRuntime;
use crate::trace::{Recorder, What};

/// Messages a mailbox holds before the relay reports it full; far above any negotiation.
const MAILBOX_CAPACITY: usize = 4096;

/// Why the relay refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalingError {
    #[error("no session has token `{0}`")]
    UnknownToken(String),
    #[error("session `{0}` already has two members")]
    SessionFull(String),
    #[error("`{0}` is not in any session")]
    NotInSession(String),
    #[error("`{0}` is already connected to the relay")]
    AlreadyConnected(String),
}

/// One message the relay forwarded, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub at: Duration,
    pub from: String,
    pub to: String,
    pub bytes: usize,
}

/// The relay of one world. Cheap to clone; all clones are the same relay.
#[derive(Clone)]
pub struct Relay {
    runtime: SimRuntime,
    recorder: Recorder,
    state: Arc<Mutex<RelayState>>,
}

struct RelayState {
    delay: Duration,
    cut: bool,
    /// Peers whose own connection to the relay is down (their link is).
    cut_off: BTreeSet<String>,
    next_token: u64,
    /// Session token → its members, caller first.
    sessions: BTreeMap<String, Vec<String>>,
    mailboxes: BTreeMap<String, Sender<Vec<u8>>>,
    /// When the last message to each peer is delivered: delivery stays in order even if
    /// the delay shrinks, as on the TCP connection under a WebSocket.
    last_delivery: BTreeMap<String, Duration>,
    /// Messages on their way to each peer, in order: `(when it is delivered, sender, message)`.
    in_transit: BTreeMap<String, VecDeque<(Duration, String, Vec<u8>)>>,
    /// Messages the caller sent into a session nobody had joined yet, by token: the callee
    /// gets them when it joins, as a room server keeps them for whoever comes.
    unjoined: BTreeMap<String, Vec<Vec<u8>>>,
    /// Messages waiting for a cut relay to be restored.
    held: Vec<(String, String, Vec<u8>)>,
    log: Vec<Forwarded>,
}

impl Relay {
    /// A relay forwarding after `delay`; `token_seed` makes its session tokens.
    pub fn new(runtime: SimRuntime, recorder: Recorder, delay: Duration, token_seed: u64) -> Self {
        Relay {
            runtime,
            recorder,
            state: Arc::new(Mutex::new(RelayState {
                delay,
                cut: false,
                cut_off: BTreeSet::new(),
                next_token: token_seed,
                sessions: BTreeMap::new(),
                mailboxes: BTreeMap::new(),
                last_delivery: BTreeMap::new(),
                in_transit: BTreeMap::new(),
                unjoined: BTreeMap::new(),
                held: Vec::new(),
                log: Vec::new(),
            })),
        }
    }

    /// Opens `peer`'s connection to the relay; what the relay forwards to it arrives here.
    pub fn connect(&self, peer: &str) -> Result<Receiver<Vec<u8>>, SignalingError> {
        let mut state = self.lock();
        if state.mailboxes.contains_key(peer) {
            return Err(SignalingError::AlreadyConnected(peer.to_owned()));
        }
        let (sender, receiver) = channel(MAILBOX_CAPACITY);
        state.mailboxes.insert(peer.to_owned(), sender);
        Ok(receiver)
    }

    /// The caller opens a session; the token is what it shares with the callee.
    pub fn create_session(&self, caller: &str) -> String {
        let token = {
            let mut state = self.lock();
            state.next_token = crate::net::sub_seed(state.next_token, 1);
            let token = format!("{:012x}", state.next_token >> 16);
            state.sessions.insert(token.clone(), vec![caller.to_owned()]);
            token
        };
        self.record(What::SessionCreated {
            peer: caller.to_owned(),
            token: token.clone(),
        });
        token
    }

    /// The callee joins the session `token` names, and gets what the caller sent before.
    pub fn join(&self, token: &str, callee: &str) -> Result<(), SignalingError> {
        let result = {
            let mut state = self.lock();
            match state.sessions.get_mut(token) {
                None => Err(SignalingError::UnknownToken(token.to_owned())),
                Some(members) if members.len() >= 2 => Err(SignalingError::SessionFull(token.to_owned())),
                Some(members) => {
                    members.push(callee.to_owned());
                    let caller = members[0].clone();
                    for message in state.unjoined.remove(token).unwrap_or_default() {
                        self.pass(&mut state, caller.clone(), callee.to_owned(), message);
                    }
                    Ok(())
                }
            }
        };
        self.record(What::SessionJoined {
            peer: callee.to_owned(),
            accepted: result.is_ok(),
        });
        result
    }

    /// Forwards `message` from `from` to the other member of its session, or keeps it for
    /// the callee until it joins.
    pub fn send(&self, from: &str, message: Vec<u8>) -> Result<(), SignalingError> {
        let mut state = self.lock();
        let (token, to) = state
            .sessions
            .iter()
            .find(|(_, members)| members.iter().any(|m| m == from))
            .map(|(token, members)| (token.clone(), members.iter().find(|m| *m != from).cloned()))
            .ok_or_else(|| SignalingError::NotInSession(from.to_owned()))?;
        match to {
            Some(to) => self.pass(&mut state, from.to_owned(), to, message),
            None => state.unjoined.entry(token).or_default().push(message),
        }
        Ok(())
    }

    /// Forwards `message`, or holds it while the relay, or the sender's connection to it, is
    /// cut. (One for a peer cut off waits in its queue at the relay: see [`Relay::deliver_due`].)
    fn pass(&self, state: &mut RelayState, from: String, to: String, message: Vec<u8>) {
        if state.cut || state.cut_off.contains(&from) {
            state.held.push((from, to, message));
        } else {
            self.forward(state, from, to, message);
        }
    }

    /// What the relay has delivered so far, in order.
    pub fn log(&self) -> Vec<Forwarded> {
        self.lock().log.clone()
    }

    /// Changes the forwarding delay for messages sent from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Cuts the relay: messages wait until [`Relay::restore`].
    pub fn cut(&self) {
        self.lock().cut = true;
    }

    /// Restores a cut relay and forwards what waited, in order.
    pub fn restore(&self) {
        let mut state = self.lock();
        state.cut = false;
        self.pass_held(&mut state);
    }

    /// Cuts `peer`'s own connection to the relay: what it sends waits until
    /// [`Relay::reconnect`], and what is sent to it waits at the relay, delivered as it is back.
    pub fn cut_off(&self, peer: &str) {
        self.lock().cut_off.insert(peer.to_owned());
    }

    /// Brings `peer`'s connection back: what waited for it is forwarded in order, and what
    /// reached the relay for it while it was away is delivered now.
    pub fn reconnect(&self, peer: &str) {
        {
            let mut state = self.lock();
            state.cut_off.remove(peer);
            self.pass_held(&mut state);
        }
        self.deliver_due(peer);
    }

    /// Passes on the held messages, in order; those still blocked stay held.
    fn pass_held(&self, state: &mut RelayState) {
        for (from, to, message) in std::mem::take(&mut state.held) {
            self.pass(state, from, to, message);
        }
    }

    fn forward(&self, state: &mut RelayState, from: String, to: String, message: Vec<u8>) {
        let now = self.runtime.elapsed();
        let previous = state.last_delivery.get(&to).copied().unwrap_or_default();
        let deliver_at = (now + state.delay).max(previous);
        state.last_delivery.insert(to.clone(), deliver_at);
        if !state.mailboxes.contains_key(&to) {
            return;
        }
        state
            .in_transit
            .entry(to.clone())
            .or_default()
            .push_back((deliver_at, from, message));
        let relay = self.clone();
        // Without a delay, at once: through a timer, an idle peer would wake up for it as
        // for a datagram, where a real app's in-process channel hands it over on a running
        // thread (see `runtime::processing`).
        let wait = (deliver_at > now).then(|| self.runtime.sleep(deliver_at - now));
        self.runtime.spawn_on_no_host(Box::pin(async move {
            if let Some(wait) = wait {
                wait.await;
            }
            relay.deliver_due(&to);
        }));
    }

    /// Puts every message due by now in `to`'s mailbox at once, as one read of the
    /// WebSocket would return them, so that the peer handles what arrived together without
    /// running anything else in between. (The first of their timers delivers them all; the
    /// others find nothing left.) Nothing reaches a peer cut off from the relay.
    fn deliver_due(&self, to: &str) {
        let at = self.runtime.elapsed();
        let mut due = Vec::new();
        let mailbox = {
            let mut state = self.lock();
            let state = &mut *state;
            if state.cut_off.contains(to) {
                return;
            }
            if let Some(queue) = state.in_transit.get_mut(to) {
                while let Some((_, from, message)) =
                    queue.pop_front_if(|(deliver_at, _, _)| *deliver_at <= at)
                {
                    state.log.push(Forwarded {
                        at,
                        from: from.clone(),
                        to: to.to_owned(),
                        bytes: message.len(),
                    });
                    due.push((from, message));
                }
            }
            state.mailboxes.get(to).cloned()
        };
        let Some(mailbox) = mailbox else { return };
        for (from, message) in due {
            self.record(What::Relayed {
                from,
                to: to.to_owned(),
            });
            let _ = mailbox.try_send(message);
        }
    }

    fn record(&self, what: What) {
        self.recorder.record(self.runtime.elapsed(), what);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RelayState> {
        self.state.lock().expect("relay poisoned")
    }
}

#[cfg(test)]
mod tests;
