//! The app's signaling messages, as JSON on the [`crate::Transport`].
//!
//! Every message names the connection it belongs to, its *generation*: the caller numbers
//! each `PeerConnection` it builds, from 1, and the callee follows. A rebuild leaves
//! candidates and answers of the old connection in flight; the generation lets the far side
//! drop them instead of feeding them to the new one.

use serde::{Deserialize, Serialize};
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

/// One message between the two ends of a call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    /// An offer or an answer.
    Description {
        generation: u32,
        description: Box<RTCSessionDescription>,
    },
    /// A trickled local candidate.
    Candidate {
        generation: u32,
        candidate: RTCIceCandidateInit,
    },
    /// From the callee: its connection of this generation failed; the caller should build a
    /// new one and offer.
    Rebuild { generation: u32 },
    /// The other end hung up.
    Bye,
}

impl Signal {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a signal always serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Signal, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_tagged_json() {
        let json = String::from_utf8(Signal::Rebuild { generation: 3 }.to_bytes()).unwrap();
        assert_eq!(json, r#"{"type":"rebuild","generation":3}"#);
        assert!(matches!(
            Signal::from_bytes(json.as_bytes()).unwrap(),
            Signal::Rebuild { generation: 3 }
        ));
    }
}
