//! A TURN server (RFC 8656, UDP) with long-term credentials, so peers gather real relay
//! candidates through webrtc-rs's own TURN client.
//!
//! Messages are encoded and decoded with webrtc-rs's `stun` and `turn` crates; the server
//! logic is ours (that family has no sans-I/O TURN server). It answers on port
//! [`TURN_PORT`] of its address and relays from other ports of the same address.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtc::crypto::{RTCCryptoProvider, default_provider};
use rtc::stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc::stun::error_code::{
    CODE_ALLOC_MISMATCH, CODE_BAD_REQUEST, CODE_UNAUTHORIZED, CODE_UNSUPPORTED_TRANS_PROTO, ErrorCode,
};
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{
    BINDING_REQUEST, CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter,
    METHOD_ALLOCATE, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_DATA, METHOD_REFRESH, METHOD_SEND,
    Message, MessageType, Setter,
};
use rtc::stun::textattrs::TextAttribute;
use rtc::stun::xoraddr::XorMappedAddress;
use rtc::turn::proto::chandata::ChannelData;
use rtc::turn::proto::channum::ChannelNumber;
use rtc::turn::proto::data::Data;
use rtc::turn::proto::lifetime::Lifetime;
use rtc::turn::proto::peeraddr::PeerAddress;
use rtc::turn::proto::relayaddr::RelayedAddress;
use rtc::turn::proto::reqtrans::RequestedTransport;
use rtc::turn::proto::{PROTO_UDP, Protocol};

use super::network::{Datagram, Reply, Server, Transport};
use super::stun::{answer, binding_response, build, decode};

/// The port TURN clients talk to.
pub const TURN_PORT: u16 = 3478;
/// The realm of the long-term credentials.
pub const REALM: &str = "netsim";
/// Relay ports are handed out from here up.
const FIRST_RELAY_PORT: u16 = 50_000;
const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
const MAX_LIFETIME: Duration = Duration::from_secs(3600);
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// One fixed nonce: the simulation has no replay attacker to guard against.
const NONCE: &str = "netsim-nonce";

/// One client's allocation: its relay port, permissions (by peer IP) and channels.
#[derive(Debug)]
struct Allocation {
    client: SocketAddr,
    relay: SocketAddr,
    expires: Duration,
    permissions: BTreeMap<IpAddr, Duration>,
    channels: BTreeMap<u16, (SocketAddr, Duration)>,
}

impl Allocation {
    fn permits(&self, now: Duration, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|expires| now < *expires)
    }

    fn channel_of(&self, now: Duration, peer: SocketAddr) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, (bound, expires))| *bound == peer && now < *expires)
            .map(|(number, _)| *number)
    }
}

/// The TURN server of a world.
pub struct TurnServer {
    address: SocketAddr,
    users: BTreeMap<String, String>,
    crypto: Arc<dyn RTCCryptoProvider>,
    /// Allocations by client address (the 5-tuple, as all share the server's address).
    allocations: BTreeMap<SocketAddr, Allocation>,
    next_relay_port: u16,
}

impl fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnServer")
            .field("address", &self.address)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("allocations", &self.allocations)
            .finish()
    }
}

impl TurnServer {
    /// A server at `ip` accepting `users` (user → password).
    pub fn new(ip: IpAddr, users: BTreeMap<String, String>) -> Result<Self, String> {
        Ok(TurnServer {
            address: SocketAddr::new(ip, TURN_PORT),
            users,
            crypto: default_provider().map_err(|error| format!("no crypto provider for TURN: {error}"))?,
            allocations: BTreeMap::new(),
            next_relay_port: FIRST_RELAY_PORT,
        })
    }

    /// Live allocations (for tests and reports).
    pub fn allocation_count(&self, now: Duration) -> usize {
        self.allocations.values().filter(|a| now < a.expires).count()
    }

    fn expire(&mut self, now: Duration) {
        self.allocations.retain(|_, allocation| now < allocation.expires);
    }

    /// Control traffic on the TURN port: requests, Send indications and ChannelData.
    fn on_control(&mut self, now: Duration, datagram: &Datagram, reply: &mut Reply) {
        if ChannelData::is_channel_data(&datagram.payload) {
            return self.relay_channel_data(now, datagram, reply);
        }
        let Some(mut message) = decode(&datagram.payload) else {
            return reply
                .notes
                .push(format!("ignored a non-STUN datagram from {}", datagram.from));
        };
        if message.typ == BINDING_REQUEST {
            reply
                .datagrams
                .extend(binding_response(&message, datagram.from).map(|p| answer(datagram, p)));
            return;
        }
        if message.typ.class == CLASS_INDICATION && message.typ.method == METHOD_SEND {
            return self.relay_send_indication(now, datagram, &message, reply);
        }
        if message.typ.class != CLASS_REQUEST {
            return reply
                .notes
                .push(format!("ignored {} from {}", message.typ, datagram.from));
        }
        let key = match self.authenticate(&mut message) {
            Ok(key) => key,
            Err(why) => {
                reply
                    .notes
                    .push(format!("401 Unauthorized to {} ({why})", datagram.from));
                let realm = TextAttribute::new(ATTR_REALM, REALM.to_owned());
                let nonce = TextAttribute::new(ATTR_NONCE, NONCE.to_owned());
                let error = error_type(&message);
                reply.datagrams.extend(
                    build(&message, error, &[&CODE_UNAUTHORIZED, &realm, &nonce])
                        .map(|p| answer(datagram, p)),
                );
                return;
            }
        };
        let outcome = match message.typ.method {
            METHOD_ALLOCATE => self.allocate(now, datagram, &message),
            METHOD_REFRESH => self.refresh(now, datagram, &message),
            METHOD_CREATE_PERMISSION => self.create_permission(now, datagram, &message),
            METHOD_CHANNEL_BIND => self.channel_bind(now, datagram, &message),
            _ => Err((
                CODE_BAD_REQUEST,
                format!("unsupported method {}", message.typ.method),
            )),
        };
        let integrity = MessageIntegrity::new_raw_integrity_with_provider(key, self.crypto.crypto());
        let response = match outcome {
            Ok((attributes, note)) => {
                reply.notes.push(note);
                let success = MessageType::new(message.typ.method, CLASS_SUCCESS_RESPONSE);
                let mut all: Vec<&dyn Setter> = attributes.iter().map(|a| a.as_ref()).collect();
                all.push(&integrity);
                build(&message, success, &all)
            }
            Err((code, why)) => {
                reply
                    .notes
                    .push(format!("{} to {} ({why})", code.0, datagram.from));
                build(&message, error_type(&message), &[&code, &integrity])
            }
        };
        reply.datagrams.extend(response.map(|p| answer(datagram, p)));
    }

    /// Checks the long-term credentials; returns the key for the response's integrity.
    fn authenticate(&self, message: &mut Message) -> Result<Vec<u8>, String> {
        if !message.contains(ATTR_MESSAGE_INTEGRITY) {
            return Err("no credentials yet".to_owned());
        }
        let user =
            TextAttribute::get_from_as(message, ATTR_USERNAME).map_err(|_| "no USERNAME".to_owned())?;
        let user = user.to_string();
        let password = self
            .users
            .get(&user)
            .ok_or_else(|| format!("unknown user `{user}`"))?;
        let crypto = self.crypto.crypto();
        let key = MessageIntegrity::long_term_integrity_key(
            user.clone(),
            REALM.to_owned(),
            password.clone(),
            crypto,
        )
        .map_err(|error| error.to_string())?;
        MessageIntegrity::check(message, &key, crypto).map_err(|_| format!("wrong password for `{user}`"))?;
        Ok(key)
    }

    fn allocate(&mut self, now: Duration, datagram: &Datagram, message: &Message) -> Outcome {
        let mut transport = RequestedTransport {
            protocol: Protocol(0),
        };
        transport
            .get_from(message)
            .map_err(|_| (CODE_BAD_REQUEST, "no REQUESTED-TRANSPORT".to_owned()))?;
        if transport.protocol != PROTO_UDP {
            return Err((CODE_UNSUPPORTED_TRANS_PROTO, "only UDP relays".to_owned()));
        }
        if self.allocations.contains_key(&datagram.from) {
            return Err((CODE_ALLOC_MISMATCH, "already allocated".to_owned()));
        }
        let lifetime = requested_lifetime(message);
        let relay = SocketAddr::new(self.address.ip(), self.next_relay_port);
        self.next_relay_port = self.next_relay_port.wrapping_add(1).max(FIRST_RELAY_PORT);
        self.allocations.insert(
            datagram.from,
            Allocation {
                client: datagram.from,
                relay,
                expires: now + lifetime,
                permissions: BTreeMap::new(),
                channels: BTreeMap::new(),
            },
        );
        Ok((
            vec![
                Box::new(RelayedAddress {
                    ip: relay.ip(),
                    port: relay.port(),
                }),
                Box::new(XorMappedAddress {
                    ip: datagram.from.ip(),
                    port: datagram.from.port(),
                }),
                Box::new(Lifetime(lifetime)),
            ],
            format!("allocated relay {relay} for {} ({lifetime:?})", datagram.from),
        ))
    }

    fn refresh(&mut self, now: Duration, datagram: &Datagram, message: &Message) -> Outcome {
        let lifetime = requested_lifetime(message);
        let allocation = self.allocation(datagram)?;
        if lifetime.is_zero() {
            self.allocations.remove(&datagram.from);
            return Ok((
                vec![Box::new(Lifetime(Duration::ZERO))],
                format!("released the allocation of {}", datagram.from),
            ));
        }
        allocation.expires = now + lifetime;
        Ok((
            vec![Box::new(Lifetime(lifetime))],
            format!("refreshed {} for {lifetime:?}", datagram.from),
        ))
    }

    fn create_permission(&mut self, now: Duration, datagram: &Datagram, message: &Message) -> Outcome {
        let peers = peer_addresses(message);
        if peers.is_empty() {
            return Err((CODE_BAD_REQUEST, "no XOR-PEER-ADDRESS".to_owned()));
        }
        let allocation = self.allocation(datagram)?;
        for peer in &peers {
            allocation
                .permissions
                .insert(peer.ip(), now + PERMISSION_LIFETIME);
        }
        let peers: Vec<String> = peers.iter().map(SocketAddr::to_string).collect();
        Ok((
            vec![],
            format!("permission for {} to reach {}", datagram.from, peers.join(", ")),
        ))
    }

    fn channel_bind(&mut self, now: Duration, datagram: &Datagram, message: &Message) -> Outcome {
        let mut number = ChannelNumber::default();
        number
            .get_from(message)
            .map_err(|_| (CODE_BAD_REQUEST, "no CHANNEL-NUMBER".to_owned()))?;
        let peer = *peer_addresses(message)
            .first()
            .ok_or((CODE_BAD_REQUEST, "no XOR-PEER-ADDRESS".to_owned()))?;
        if !number.valid() {
            return Err((CODE_BAD_REQUEST, format!("channel {} out of range", number.0)));
        }
        let allocation = self.allocation(datagram)?;
        allocation
            .channels
            .insert(number.0, (peer, now + CHANNEL_LIFETIME));
        allocation
            .permissions
            .insert(peer.ip(), now + PERMISSION_LIFETIME);
        Ok((
            vec![],
            format!("channel {:#x} of {} bound to {peer}", number.0, datagram.from),
        ))
    }

    fn allocation(&mut self, datagram: &Datagram) -> Result<&mut Allocation, (ErrorCode, String)> {
        self.allocations
            .get_mut(&datagram.from)
            .ok_or((CODE_ALLOC_MISMATCH, "no allocation".to_owned()))
    }

    /// A Send indication: the client asks to send DATA to XOR-PEER-ADDRESS from its relay.
    fn relay_send_indication(
        &mut self,
        now: Duration,
        datagram: &Datagram,
        message: &Message,
        reply: &mut Reply,
    ) {
        let mut data = Data::default();
        let (Some(peer), Ok(())) = (peer_addresses(message).first().copied(), data.get_from(message)) else {
            return reply
                .notes
                .push(format!("malformed Send indication from {}", datagram.from));
        };
        self.relay_to_peer(now, datagram.from, peer, data.0, reply);
    }

    fn relay_channel_data(&mut self, now: Duration, datagram: &Datagram, reply: &mut Reply) {
        let mut channel_data = ChannelData {
            raw: datagram.payload.clone(),
            ..Default::default()
        };
        if channel_data.decode().is_err() {
            return reply
                .notes
                .push(format!("malformed ChannelData from {}", datagram.from));
        }
        let peer = self
            .allocations
            .get(&datagram.from)
            .and_then(|a| a.channels.get(&channel_data.number.0))
            .filter(|(_, expires)| now < *expires)
            .map(|(peer, _)| *peer);
        match peer {
            Some(peer) => self.relay_to_peer(now, datagram.from, peer, channel_data.data, reply),
            None => reply.notes.push(format!(
                "ChannelData on unbound channel {:#x} from {}",
                channel_data.number.0, datagram.from
            )),
        }
    }

    fn relay_to_peer(
        &mut self,
        now: Duration,
        client: SocketAddr,
        peer: SocketAddr,
        payload: Vec<u8>,
        reply: &mut Reply,
    ) {
        match self.allocations.get(&client) {
            Some(allocation) if allocation.permits(now, peer.ip()) => reply.datagrams.push(Datagram {
                from: allocation.relay,
                to: peer,
                transport: Transport::Udp,
                payload,
            }),
            Some(_) => reply
                .notes
                .push(format!("dropped relay from {client} to {peer}: no permission")),
            None => reply
                .notes
                .push(format!("dropped relay from {client}: no allocation")),
        }
    }

    /// A datagram from a peer to a relay address: to the client, by channel or Data indication.
    fn on_relay(&mut self, now: Duration, datagram: Datagram, reply: &mut Reply) {
        let Some(allocation) = self.allocations.values().find(|a| a.relay == datagram.to) else {
            return reply
                .notes
                .push(format!("dropped datagram to unallocated relay {}", datagram.to));
        };
        if !allocation.permits(now, datagram.from.ip()) {
            return reply.notes.push(format!(
                "dropped datagram from {} to relay {}: no permission",
                datagram.from, datagram.to
            ));
        }
        let payload = match allocation.channel_of(now, datagram.from) {
            Some(number) => {
                let mut channel_data = ChannelData {
                    data: datagram.payload,
                    number: ChannelNumber(number),
                    raw: vec![],
                };
                channel_data.encode();
                channel_data.raw
            }
            None => {
                let mut indication = Message::new();
                let peer = PeerAddress {
                    ip: datagram.from.ip(),
                    port: datagram.from.port(),
                };
                let built = indication.build(&[
                    Box::new(rtc::stun::message::TransactionId::new()),
                    Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
                    Box::new(peer),
                    Box::new(Data(datagram.payload)),
                ]);
                if built.is_err() {
                    return reply.notes.push("could not build a Data indication".to_owned());
                }
                indication.raw
            }
        };
        reply.datagrams.push(Datagram {
            from: self.address,
            to: allocation.client,
            transport: Transport::Udp,
            payload,
        });
    }
}

/// Attributes of a success response, and a note for the trace — or an error code and why.
type Outcome = Result<(Vec<Box<dyn Setter>>, String), (ErrorCode, String)>;

impl Server for TurnServer {
    fn receive(&mut self, now: Duration, datagram: Datagram) -> Reply {
        self.expire(now);
        let mut reply = Reply::default();
        if datagram.to == self.address {
            self.on_control(now, &datagram, &mut reply);
        } else {
            self.on_relay(now, datagram, &mut reply);
        }
        reply
    }
}

fn error_type(request: &Message) -> MessageType {
    MessageType::new(request.typ.method, CLASS_ERROR_RESPONSE)
}

fn requested_lifetime(message: &Message) -> Duration {
    let mut lifetime = Lifetime::default();
    match lifetime.get_from(message) {
        Ok(()) => lifetime.0.min(MAX_LIFETIME),
        Err(_) => DEFAULT_LIFETIME,
    }
}

/// Every XOR-PEER-ADDRESS of a message (CreatePermission may carry several).
fn peer_addresses(message: &Message) -> Vec<SocketAddr> {
    message
        .attributes
        .0
        .iter()
        .filter(|attribute| attribute.typ == rtc::stun::attributes::ATTR_XOR_PEER_ADDRESS)
        .filter_map(|attribute| {
            let mut single = Message::new();
            single.transaction_id = message.transaction_id;
            single.add(attribute.typ, &attribute.value);
            let mut peer = PeerAddress {
                ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                port: 0,
            };
            peer.get_from(&single).ok()?;
            Some(SocketAddr::new(peer.ip, peer.port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::TransactionId;

    const CLIENT: &str = "127.4.0.100:40000";

    fn server() -> TurnServer {
        let users = BTreeMap::from([("qa".to_owned(), "secret".to_owned())]);
        TurnServer::new("127.4.0.201".parse().unwrap(), users).unwrap()
    }

    /// A request of `method` from the client, signed with `password` when given.
    fn request(
        method: rtc::stun::message::Method,
        password: Option<&str>,
        extra: Vec<Box<dyn Setter>>,
    ) -> Datagram {
        let crypto = default_provider().unwrap();
        let mut setters: Vec<Box<dyn Setter>> = vec![
            Box::new(TransactionId::new()),
            Box::new(MessageType::new(method, CLASS_REQUEST)),
        ];
        setters.extend(extra);
        let integrity;
        if let Some(password) = password {
            setters.push(Box::new(TextAttribute::new(ATTR_USERNAME, "qa".into())));
            setters.push(Box::new(TextAttribute::new(ATTR_REALM, REALM.into())));
            setters.push(Box::new(TextAttribute::new(ATTR_NONCE, NONCE.into())));
            integrity = MessageIntegrity::new_long_term_integrity_with_provider(
                "qa".into(),
                REALM.into(),
                password.into(),
                crypto.crypto(),
            )
            .unwrap();
            setters.push(Box::new(integrity));
        }
        let mut message = Message::new();
        message.build(&setters).unwrap();
        Datagram {
            from: CLIENT.parse().unwrap(),
            to: "127.4.0.201:3478".parse().unwrap(),
            transport: Transport::Udp,
            payload: message.raw,
        }
    }

    fn response_class(reply: &Reply) -> rtc::stun::message::MessageClass {
        decode(&reply.datagrams[0].payload)
            .expect("a STUN response")
            .typ
            .class
    }

    fn allocate(server: &mut TurnServer, now: Duration, password: &str) -> Reply {
        let udp = Box::new(RequestedTransport { protocol: PROTO_UDP });
        server.receive(now, request(METHOD_ALLOCATE, Some(password), vec![udp]))
    }

    #[test]
    fn allocate_needs_the_right_long_term_credentials() {
        let mut server = server();
        let first = server.receive(Duration::ZERO, request(METHOD_ALLOCATE, None, vec![]));
        assert_eq!(response_class(&first), CLASS_ERROR_RESPONSE);
        assert!(first.notes[0].starts_with("401"), "{:?}", first.notes);

        let wrong = allocate(&mut server, Duration::ZERO, "guess");
        assert_eq!(response_class(&wrong), CLASS_ERROR_RESPONSE);
        assert!(wrong.notes[0].contains("wrong password"), "{:?}", wrong.notes);
        assert_eq!(server.allocation_count(Duration::ZERO), 0);

        let right = allocate(&mut server, Duration::ZERO, "secret");
        assert_eq!(
            response_class(&right),
            CLASS_SUCCESS_RESPONSE,
            "{:?}",
            right.notes
        );
        assert_eq!(server.allocation_count(Duration::ZERO), 1);
    }

    #[test]
    fn an_allocation_lives_its_lifetime_unless_refreshed_or_released() {
        let mut server = server();
        allocate(&mut server, Duration::ZERO, "secret");
        assert_eq!(
            server.allocation_count(DEFAULT_LIFETIME - Duration::from_millis(1)),
            1
        );
        assert_eq!(
            server.allocation_count(DEFAULT_LIFETIME),
            0,
            "expired after its lifetime"
        );

        let mut server = self::server();
        allocate(&mut server, Duration::ZERO, "secret");
        let refresh = |lifetime| request(METHOD_REFRESH, Some("secret"), vec![Box::new(Lifetime(lifetime))]);
        let refreshed = server.receive(Duration::from_secs(500), refresh(Duration::from_secs(600)));
        assert_eq!(
            response_class(&refreshed),
            CLASS_SUCCESS_RESPONSE,
            "{:?}",
            refreshed.notes
        );
        assert_eq!(
            server.allocation_count(Duration::from_secs(1000)),
            1,
            "refreshed at 500 s for 600 s"
        );
        server.receive(Duration::from_secs(1000), refresh(Duration::ZERO));
        assert_eq!(
            server.allocation_count(Duration::from_secs(1000)),
            0,
            "a zero lifetime releases it"
        );
    }

    #[test]
    fn a_peer_reaches_the_client_only_after_a_permission() {
        let mut server = server();
        let allocated = allocate(&mut server, Duration::ZERO, "secret");
        let response = decode(&allocated.datagrams[0].payload).unwrap();
        let mut relayed = RelayedAddress {
            ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        };
        relayed.get_from(&response).unwrap();
        let relay = SocketAddr::new(relayed.ip, relayed.port);
        let peer: SocketAddr = "127.4.0.2:5000".parse().unwrap();
        let from_peer = || Datagram {
            from: peer,
            to: relay,
            transport: Transport::Udp,
            payload: b"media".to_vec(),
        };

        assert!(
            server.receive(Duration::ZERO, from_peer()).datagrams.is_empty(),
            "no permission yet"
        );
        let permit = Box::new(PeerAddress {
            ip: peer.ip(),
            port: peer.port(),
        });
        server.receive(
            Duration::ZERO,
            request(METHOD_CREATE_PERMISSION, Some("secret"), vec![permit]),
        );
        let forwarded = server.receive(Duration::ZERO, from_peer());
        assert_eq!(forwarded.datagrams.len(), 1, "{:?}", forwarded.notes);
        assert_eq!(forwarded.datagrams[0].to, CLIENT.parse::<SocketAddr>().unwrap());
        let indication = decode(&forwarded.datagrams[0].payload).expect("a Data indication");
        let mut data = Data::default();
        data.get_from(&indication).unwrap();
        assert_eq!(data.0, b"media");
        assert!(
            server
                .receive(PERMISSION_LIFETIME, from_peer())
                .datagrams
                .is_empty(),
            "the permission expired"
        );
    }
}
