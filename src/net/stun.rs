//! A STUN server (RFC 8489 Binding): it tells each client the address its request came
//! from, so peers behind NATs gather real server-reflexive candidates. Messages are
//! encoded and decoded with webrtc-rs's own `stun` crate.

use std::net::SocketAddr;
use std::time::Duration;

use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Message, MessageType, Setter, is_stun_message};
use rtc::stun::xoraddr::XorMappedAddress;

use super::network::{Datagram, Reply, Server, Transport};

/// The STUN server of a world. It has no state: every Binding request gets its answer.
#[derive(Debug, Default)]
pub struct StunServer;

impl Server for StunServer {
    fn receive(&mut self, _now: Duration, datagram: Datagram) -> Reply {
        let mut reply = Reply::default();
        match decode(&datagram.payload) {
            Some(request) if request.typ == BINDING_REQUEST => {
                if let Some(response) = binding_response(&request, datagram.from) {
                    reply.datagrams.push(answer(&datagram, response));
                }
            }
            Some(request) => reply
                .notes
                .push(format!("ignored {} from {}", request.typ, datagram.from)),
            None => reply
                .notes
                .push(format!("ignored a non-STUN datagram from {}", datagram.from)),
        }
        reply
    }
}

/// Parses a STUN message, or `None` for anything else.
pub(crate) fn decode(payload: &[u8]) -> Option<Message> {
    if !is_stun_message(payload) {
        return None;
    }
    let mut message = Message::new();
    message.unmarshal_binary(payload).ok()?;
    Some(message)
}

/// A Binding success response carrying `client` as XOR-MAPPED-ADDRESS.
pub(crate) fn binding_response(request: &Message, client: SocketAddr) -> Option<Vec<u8>> {
    let mapped = XorMappedAddress {
        ip: client.ip(),
        port: client.port(),
    };
    build(request, BINDING_SUCCESS, &[&mapped, &FINGERPRINT])
}

/// A response of type `typ` to `request` (same transaction id) with `attributes`.
pub(crate) fn build(request: &Message, typ: MessageType, attributes: &[&dyn Setter]) -> Option<Vec<u8>> {
    let mut message = Message::new();
    message.transaction_id = request.transaction_id;
    message.set_type(typ);
    message.write_header();
    for attribute in attributes {
        attribute.add_to(&mut message).ok()?;
    }
    Some(message.raw)
}

/// The datagram that answers `request` from the address it was sent to.
pub(crate) fn answer(request: &Datagram, payload: Vec<u8>) -> Datagram {
    Datagram {
        from: request.to,
        to: request.from,
        transport: Transport::Udp,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::Getter;

    #[test]
    fn a_binding_request_is_answered_with_the_source_address() {
        let mut request = Message::new();
        request
            .build(&[
                Box::new(BINDING_REQUEST),
                Box::new(rtc::stun::message::TransactionId::new()),
            ])
            .unwrap();
        let client: SocketAddr = "127.3.0.100:40000".parse().unwrap();
        let server: SocketAddr = "127.3.0.200:3478".parse().unwrap();
        let datagram = Datagram {
            from: client,
            to: server,
            transport: Transport::Udp,
            payload: request.raw.clone(),
        };

        let reply = StunServer.receive(Duration::ZERO, datagram);
        assert_eq!(reply.datagrams.len(), 1, "{:?}", reply.notes);
        let response = &reply.datagrams[0];
        assert_eq!((response.from, response.to), (server, client));
        let decoded = decode(&response.payload).expect("a STUN response");
        assert_eq!(decoded.typ, BINDING_SUCCESS);
        assert_eq!(decoded.transaction_id, request.transaction_id);
        let mut mapped = XorMappedAddress::default();
        mapped.get_from(&decoded).unwrap();
        assert_eq!(SocketAddr::new(mapped.ip, mapped.port), client);
    }

    #[test]
    fn anything_else_is_ignored_with_a_note() {
        let datagram = Datagram {
            from: "127.3.0.1:1".parse().unwrap(),
            to: "127.3.0.200:3478".parse().unwrap(),
            transport: Transport::Udp,
            payload: b"hello".to_vec(),
        };
        let reply = StunServer.receive(Duration::ZERO, datagram);
        assert!(reply.datagrams.is_empty());
        assert_eq!(reply.notes.len(), 1);
    }
}
