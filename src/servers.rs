//! The servers of a world's core and the ICE servers a peer is given: STUN, the TURN
//! server `turn` and extra TURN servers by name, each found by its simulated DNS name
//! (`stun.netsim`, `turn.netsim`, `<name>.netsim`).

use std::collections::BTreeMap;

use crate::net::TURN_PORT;

/// The name of the STUN server; its DNS name is `stun.netsim`.
pub const STUN: &str = "stun";

/// Servers the world runs in its core, each on a host of its own. Peers find them as
/// `stun.netsim:3478`, `turn.netsim:3478` and `<name>.netsim:3478` for the extra TURN
/// servers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Servers {
    pub stun: bool,
    /// The TURN server `turn`, accepting this user.
    pub turn: Option<Credentials>,
    /// More TURN servers by name (not `stun` or `turn`), each accepting its user: a backup
    /// to move to, another region.
    pub extra_turn: BTreeMap<String, Credentials>,
}

impl Servers {
    /// Whether a TURN server called `name` (`turn`, or one of the extra ones) is declared.
    pub fn has_turn(&self, name: &str) -> bool {
        if name == TURN {
            self.turn.is_some()
        } else {
            self.extra_turn.contains_key(name)
        }
    }
}

/// The name of the TURN server declared as `turn`.
pub const TURN: &str = "turn";

/// A TURN user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// An ICE server a peer is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceServer {
    Stun,
    /// The TURN server `turn`, with the credentials this peer presents (which may be wrong).
    Turn(Credentials),
    /// One of the extra TURN servers, by name, with the credentials this peer presents.
    ExtraTurn {
        server: String,
        credentials: Credentials,
    },
}

impl IceServer {
    /// The name of the TURN server it is, if it is one.
    pub fn turn_server(&self) -> Option<&str> {
        match self {
            IceServer::Stun => None,
            IceServer::Turn(_) => Some(TURN),
            IceServer::ExtraTurn { server, .. } => Some(server),
        }
    }
}

/// `stun`, or a TURN server's name and the user it presents: `turn-backup as qa`.
impl std::fmt::Display for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IceServer::Stun => f.write_str("stun"),
            IceServer::Turn(credentials) | IceServer::ExtraTurn { credentials, .. } => {
                let name = self.turn_server().unwrap_or(TURN);
                write!(f, "{name} as {}", credentials.user)
            }
        }
    }
}

/// The `RTCIceServer`s a peer is configured with.
pub fn rtc_ice_servers(servers: &[IceServer]) -> Vec<webrtc::peer_connection::RTCIceServer> {
    servers
        .iter()
        .map(|server| match server {
            IceServer::Stun => webrtc::peer_connection::RTCIceServer {
                urls: vec![format!("stun:{}:3478", dns_name(STUN))],
                ..Default::default()
            },
            IceServer::Turn(credentials) | IceServer::ExtraTurn { credentials, .. } => {
                let name = dns_name(server.turn_server().unwrap_or(TURN));
                webrtc::peer_connection::RTCIceServer {
                    urls: vec![format!("turn:{name}:{TURN_PORT}?transport=udp")],
                    username: credentials.user.clone(),
                    credential: credentials.password.clone(),
                }
            }
        })
        .collect()
}

/// The simulated DNS name of the server `name`: `turn.netsim`.
pub fn dns_name(name: &str) -> String {
    format!("{name}.netsim")
}
