//! The relay joins by token, forwards unchanged and in order, and holds messages while cut.

use std::time::Duration;

use webrtc::runtime::Runtime;

use super::*;
use crate::net::{LinkConfig, Network};

const DELAY: Duration = Duration::from_millis(30);

fn relay() -> (SimRuntime, Relay) {
    let runtime = SimRuntime::new(Network::new(LinkConfig::default(), 1));
    let relay = Relay::new(runtime.clone(), Recorder::default(), DELAY, 9);
    (runtime, relay)
}

#[test]
fn a_wrong_token_is_refused_with_a_clear_error() {
    let (_, relay) = relay();
    let token = relay.create_session("alice");
    let error = relay.join("not-the-token", "bob").unwrap_err();
    assert_eq!(error, SignalingError::UnknownToken("not-the-token".into()));
    assert_eq!(error.to_string(), "no session has token `not-the-token`");
    assert_eq!(
        relay.send("carol", b"offer".to_vec()),
        Err(SignalingError::NotInSession("carol".into()))
    );
    relay.join(&token, "bob").expect("the right token is accepted");
    assert_eq!(
        relay.join(&token, "mallory"),
        Err(SignalingError::SessionFull(token))
    );
}

#[test]
fn messages_arrive_unchanged_in_order_after_the_delay() {
    let (runtime, relay) = relay();
    let mut bob = relay.connect("bob").unwrap();
    let token = relay.create_session("alice");
    relay.join(&token, "bob").unwrap();
    let messages: Vec<Vec<u8>> = vec![b"{\"offer\":1}".to_vec(), vec![0, 255, 7], b"candidate".to_vec()];
    for message in &messages {
        relay.send("alice", message.clone()).unwrap();
    }
    let clock = runtime.clone();
    let received = runtime
        .run_until(
            async move {
                let mut received = Vec::new();
                for _ in 0..3 {
                    received.push((bob.recv().await.unwrap(), clock.elapsed()));
                }
                received
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(
        received.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(),
        messages
    );
    assert!(received.iter().all(|(_, at)| *at == DELAY), "{received:?}");
    assert_eq!(
        relay.log().iter().map(|f| f.bytes).collect::<Vec<_>>(),
        [11, 3, 9]
    );
}

#[test]
fn what_the_caller_sends_before_the_callee_joins_reaches_it_after_joining() {
    let (runtime, relay) = relay();
    let mut bob = relay.connect("bob").unwrap();
    let token = relay.create_session("alice");
    relay.send("alice", b"offer".to_vec()).unwrap();
    relay.send("alice", b"candidate".to_vec()).unwrap();
    let join_at = Duration::from_secs(1);
    let (clock, joiner, wait) = (runtime.clone(), relay.clone(), runtime.sleep(join_at));
    let received = runtime
        .run_until(
            async move {
                wait.await;
                joiner.join(&token, "bob").unwrap();
                let (first, second) = (bob.recv().await.unwrap(), bob.recv().await.unwrap());
                (first, second, clock.elapsed())
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(
        received,
        (b"offer".to_vec(), b"candidate".to_vec(), join_at + DELAY)
    );
}

#[test]
fn a_cut_relay_holds_messages_until_restored() {
    let (runtime, relay) = relay();
    let mut alice = relay.connect("alice").unwrap();
    let token = relay.create_session("alice");
    relay.join(&token, "bob").unwrap();
    relay.cut();
    relay.send("bob", b"answer".to_vec()).unwrap();

    let restore_at = Duration::from_secs(2);
    let (clock, restorer) = (runtime.clone(), relay.clone());
    let wait = runtime.sleep(restore_at);
    runtime.spawn(Box::pin(async move {
        wait.await;
        restorer.restore();
    }));
    let (message, at) = runtime
        .run_until(
            async move { (alice.recv().await.unwrap(), clock.elapsed()) },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(message, b"answer");
    assert_eq!(
        at,
        restore_at + DELAY,
        "held until restored, then forwarded after the delay"
    );
}

#[test]
fn a_peer_cut_off_gets_and_sends_nothing_until_it_reconnects() {
    let (runtime, relay) = relay();
    let mut alice = relay.connect("alice").unwrap();
    let mut bob = relay.connect("bob").unwrap();
    let token = relay.create_session("alice");
    relay.join(&token, "bob").unwrap();
    // Alice's offer is on its way when Bob's link goes down at 10 ms; his answer, sent while
    // he is away, waits too. Both move once he is back at 2 s.
    relay.send("alice", b"offer".to_vec()).unwrap();
    let (down, back) = (Duration::from_millis(10), Duration::from_secs(2));
    let (cutter, wait_down, wait_back) = (relay.clone(), runtime.sleep(down), runtime.sleep(back));
    runtime.spawn(Box::pin(async move {
        wait_down.await;
        cutter.cut_off("bob");
        cutter.send("bob", b"answer".to_vec()).unwrap();
        wait_back.await;
        cutter.reconnect("bob");
    }));
    let clock = runtime.clone();
    let (offer_at, answer_at) = runtime
        .run_until(
            async move {
                assert_eq!(bob.recv().await.unwrap(), b"offer");
                let offer_at = clock.elapsed();
                assert_eq!(alice.recv().await.unwrap(), b"answer");
                (offer_at, clock.elapsed())
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(
        offer_at, back,
        "what reached the relay for him arrives as he is back"
    );
    assert_eq!(answer_at, back + DELAY, "what he sent leaves once he is back");
}

#[test]
fn messages_due_at_one_instant_are_in_the_mailbox_together() {
    // A peer handling the first (an offer) must find the rest (its candidates) already
    // there, as one WebSocket read would return them: the stack applies them in one go.
    let (runtime, relay) = relay();
    let mut bob = relay.connect("bob").unwrap();
    let token = relay.create_session("alice");
    relay.join(&token, "bob").unwrap();
    for message in [
        b"offer".to_vec(),
        b"candidate 1".to_vec(),
        b"candidate 2".to_vec(),
    ] {
        relay.send("alice", message).unwrap();
    }
    let (first, waiting) = runtime
        .run_until(
            async move {
                let first = bob.recv().await.unwrap();
                let mut waiting = Vec::new();
                while let Ok(message) = bob.try_recv() {
                    waiting.push(message);
                }
                (first, waiting)
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(first, b"offer");
    assert_eq!(waiting, [b"candidate 1".to_vec(), b"candidate 2".to_vec()]);
}
