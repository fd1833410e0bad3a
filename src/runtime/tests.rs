//! Contracts of the virtual-time runtime, each pinned by a test that could fail.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use webrtc::runtime::Runtime;

use super::*;
use crate::net::{LinkConfig, Network};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn runtime() -> SimRuntime {
    SimRuntime::new(Network::new(LinkConfig::default(), 1))
}

/// A runtime with tokio beside it, and one without (a world of built-in peers).
fn with_and_without_tokio() -> [SimRuntime; 2] {
    let network = || Network::new(LinkConfig::default(), 1);
    [
        runtime(),
        SimRuntime::without_tokio(network(), Processing::None, 1),
    ]
}

/// A runtime over alice (127.`block`.0.1) and bob (127.`block`.0.2), access links of
/// `delay` each, with a socket on each host.
struct TwoHosts {
    rt: SimRuntime,
    sender: Arc<dyn webrtc::runtime::AsyncUdpSocket>,
    receiver: Arc<dyn webrtc::runtime::AsyncUdpSocket>,
}

fn two_hosts(block: u8, delay: Duration) -> TwoHosts {
    two_hosts_processing(block, delay, Processing::None, 1)
}

/// [`two_hosts`], charging processing time as `processing` says, seeded from `seed`.
fn two_hosts_processing(block: u8, delay: Duration, processing: Processing, seed: u64) -> TwoHosts {
    let (alice, bob) = (
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 2)),
    );
    let mut network = Network::new(LinkConfig::default(), 1);
    let access = LinkConfig {
        delay,
        ..LinkConfig::default()
    };
    network.add_interface(Duration::ZERO, "alice", alice, access.clone(), access.clone());
    network.add_interface(Duration::ZERO, "bob", bob, access.clone(), access);
    let rt = SimRuntime::with_processing(network, processing, seed);
    let bind = |ip| std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).expect("127/8 is bindable");
    let sender = rt.wrap_udp_socket(bind(alice)).unwrap();
    let receiver = rt.wrap_udp_socket(bind(bob)).unwrap();
    TwoHosts { rt, sender, receiver }
}

#[test]
fn an_hour_of_sleep_takes_no_wall_time() {
    let rt = runtime();
    let started = Instant::now();
    let sleep = rt.sleep(Duration::from_secs(3600));
    rt.run_until(sleep, Duration::MAX).expect("the sleep completes");
    assert_eq!(rt.elapsed(), Duration::from_secs(3600));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn tasks_wake_in_deadline_order_then_spawn_order() {
    for rt in with_and_without_tokio() {
        let order = Arc::new(Mutex::new(Vec::new()));
        for (name, delay) in [("c", 30), ("a", 10), ("b", 10)] {
            let (order, sleep) = (order.clone(), rt.sleep(ms(delay)));
            rt.spawn(Box::pin(async move {
                sleep.await;
                order.lock().unwrap().push(name);
            }));
        }
        rt.run_until(rt.sleep(ms(50)), Duration::MAX).unwrap();
        assert_eq!(*order.lock().unwrap(), ["a", "b", "c"]);
        assert_eq!(rt.elapsed(), ms(50));
    }
}

#[test]
fn a_run_where_nothing_can_happen_reports_a_deadlock() {
    for rt in with_and_without_tokio() {
        let never = rt.sleep(ms(30)).then(|()| futures::future::pending::<()>());
        let started = Instant::now();
        assert_eq!(
            rt.run_until(never, Duration::MAX),
            Err(Stuck::Deadlock { at: ms(30) })
        );
        let waited = started.elapsed();
        assert!(
            (DEADLOCK_GRACE..Duration::from_secs(5)).contains(&waited),
            "waited {waited:?} for a wake from another thread"
        );
    }
}

#[test]
fn a_run_stops_at_its_virtual_time_limit() {
    let rt = runtime();
    let result = rt.run_until(rt.sleep(Duration::from_secs(10)), Duration::from_secs(5));
    assert_eq!(
        result,
        Err(Stuck::TimeLimit {
            limit: Duration::from_secs(5)
        })
    );
}

#[test]
fn a_dropped_sleep_disarms_its_timer() {
    let rt = runtime();
    drop(rt.sleep(Duration::from_secs(10)));
    let never = futures::future::pending::<()>();
    assert_eq!(
        rt.run_until(never, Duration::MAX),
        Err(Stuck::Deadlock { at: Duration::ZERO })
    );
}

#[test]
fn intervals_tick_at_start_plus_multiples_of_the_period() {
    let rt = runtime();
    let ticks = Arc::new(Mutex::new(Vec::new()));
    let (recorded, clock) = (ticks.clone(), rt.clone());
    rt.spawn(Box::pin(async move {
        let mut interval = clock.interval(ms(20));
        for _ in 0..4 {
            interval.tick().await;
            recorded.lock().unwrap().push(clock.elapsed());
        }
    }));
    rt.run_until(rt.sleep(ms(100)), Duration::MAX).unwrap();
    assert_eq!(*ticks.lock().unwrap(), [ms(0), ms(20), ms(40), ms(60)]);
}

#[test]
fn a_datagram_arrives_after_the_link_delay_and_only_through_the_sim() {
    let TwoHosts { rt, sender, receiver } = two_hosts(77, ms(15));
    let to = receiver.local_addr().unwrap();

    let (clock, from) = (rt.clone(), sender.local_addr().unwrap());
    let received = rt
        .run_until(
            async move {
                sender.send_to(b"hello", to).await.unwrap();
                let mut buf = [0u8; 16];
                let (len, source) = receiver.recv_from(&mut buf).await.unwrap();
                (buf[..len].to_vec(), source, clock.elapsed())
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(
        received,
        (b"hello".to_vec(), from, ms(30)),
        "uplink 15 ms + downlink 15 ms"
    );
    assert!(!rt.kernel_received_anything());
}

/// How long a datagram a task of alice's host sends takes to reach bob's socket over 0 ms
/// links.
fn zero_delay_trip(processing: Processing, seed: u64) -> Duration {
    let TwoHosts { rt, sender, receiver } = two_hosts_processing(79, Duration::ZERO, processing, seed);
    let to = receiver.local_addr().unwrap();
    let sent_at = Arc::new(Mutex::new(None));
    let (clock, sent) = (rt.clone(), sent_at.clone());
    rt.spawn_on("alice", async move {
        clock.sleep(ms(1)).await;
        sender.send_to(b"hello", to).await.unwrap();
        *sent.lock().unwrap() = Some(clock.elapsed());
    });
    let clock = rt.clone();
    let arrived = rt
        .run_until(
            // Read on no host, so that bob's wake-up and poll do not count.
            async move {
                let mut buf = [0u8; 16];
                receiver.recv_from(&mut buf).await.unwrap();
                clock.elapsed()
            },
            Duration::MAX,
        )
        .unwrap();
    let sent = sent_at.lock().unwrap().expect("sent");
    arrived - sent
}

#[test]
fn with_measured_processing_a_hosts_datagram_first_crosses_its_kernel() {
    assert_eq!(zero_delay_trip(Processing::None, 1), Duration::ZERO);
    let shortest = Duration::from_nanos(processing::MEASURED_KERNEL[0].1);
    let trips: Vec<Duration> = (1..=10)
        .map(|seed| zero_delay_trip(Processing::Measured, seed))
        .collect();
    assert!(trips.iter().all(|trip| *trip >= shortest), "{trips:?}");
    assert!(
        trips.windows(2).any(|pair| pair[0] != pair[1]),
        "drawn per seed: {trips:?}"
    );
}

#[test]
fn wrapping_a_socket_outside_the_simulation_is_refused() {
    let rt = runtime();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let error = rt.wrap_udp_socket(socket).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrNotAvailable);
}

#[test]
fn simulated_names_resolve_and_unknown_ones_fail() {
    let rt = runtime();
    rt.add_name("stun.netsim", IpAddr::V4(Ipv4Addr::new(127, 9, 0, 1)));
    let resolved = rt
        .run_until(rt.resolve_host("stun.netsim:3478"), Duration::MAX)
        .unwrap();
    assert_eq!(
        resolved.unwrap(),
        vec!["127.9.0.1:3478".parse::<SocketAddr>().unwrap()]
    );
    let unknown = rt
        .run_until(rt.resolve_host("nowhere.netsim:1"), Duration::MAX)
        .unwrap();
    assert_eq!(unknown.unwrap_err().kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn the_watchdog_stops_a_task_that_spins_without_letting_time_move() {
    let rt = runtime();
    // It wakes itself, not through `Runtime::yield_now` (a task that only spins on those
    // lets the clock move): busy forever at one instant.
    rt.spawn(Box::pin(futures::future::poll_fn(|cx| {
        cx.waker().wake_by_ref();
        std::task::Poll::<()>::Pending
    })));
    let limits = Limits {
        virtual_time: Duration::MAX,
        wall_time: Some(ms(200)),
    };
    let started = Instant::now();
    let result = rt.run_until(rt.sleep(Duration::from_secs(1)), limits);
    assert_eq!(
        result,
        Err(Stuck::Watchdog {
            limit: ms(200),
            at: Duration::ZERO
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped soon after its limit"
    );
    rt.shut_down();
}

/// Sends a datagram from alice to bob and arms a timer for `timer`, then records on bob
/// at what time, and together with what else, each of them became ready.
///
/// webrtc-rs's driver waits on both in a `futures::select!`, which picks at random among
/// the branches it finds ready: it must never find more than one.
fn watch_a_timer_and_a_datagram(
    hosts: TwoHosts,
    timer: Duration,
    limits: Limits,
) -> Result<Vec<(Duration, Vec<&'static str>)>, Stuck> {
    let TwoHosts { rt, sender, receiver } = hosts;
    let to = receiver.local_addr().unwrap();
    let clock = rt.clone();
    rt.run_until(
        async move {
            sender.send_to(b"hello", to).await.unwrap();
            let mut timer = clock.sleep(timer);
            let (mut timer_fired, mut datagram_read) = (false, false);
            let mut seen = Vec::new();
            std::future::poll_fn(|cx| {
                let mut ready = Vec::new();
                if !timer_fired && timer.as_mut().poll(cx).is_ready() {
                    timer_fired = true;
                    ready.push("timer");
                }
                if !datagram_read {
                    let mut buf = [0u8; 16];
                    let mut bufs = [std::io::IoSliceMut::new(&mut buf)];
                    let mut meta = [webrtc::runtime::RecvMeta::default()];
                    if receiver.poll_recv(cx, &mut bufs, &mut meta).is_ready() {
                        datagram_read = true;
                        ready.push("datagram");
                    }
                }
                if !ready.is_empty() {
                    seen.push((clock.elapsed(), ready));
                }
                if timer_fired && datagram_read {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            seen
        },
        limits,
    )
}

#[test]
fn a_timer_and_a_datagram_due_at_one_instant_wake_a_task_one_at_a_time() {
    let seen = watch_a_timer_and_a_datagram(two_hosts(78, ms(15)), ms(30), Duration::MAX.into());
    assert_eq!(
        seen,
        Ok(vec![(ms(30), vec!["datagram"]), (ms(30), vec!["timer"])]),
        "arrivals first, then timers, each seen alone"
    );
}

#[test]
fn a_task_that_never_stops_yielding_does_not_hold_back_events_due_now() {
    // webrtc-rs's data-channel writer yields every 128 messages, and one that finds the
    // send buffer full yields and retries until the acks that free it arrive.
    let hosts = two_hosts(79, Duration::ZERO);
    let rt = hosts.rt.clone();
    let spinner = rt.clone();
    rt.spawn(Box::pin(async move {
        loop {
            spinner.yield_now().await;
        }
    }));
    let limits = Limits {
        virtual_time: Duration::MAX,
        wall_time: Some(Duration::from_secs(2)),
    };
    let seen = watch_a_timer_and_a_datagram(hosts, Duration::ZERO, limits);
    rt.shut_down();
    assert_eq!(
        seen,
        Ok(vec![
            (Duration::ZERO, vec!["datagram"]),
            (Duration::ZERO, vec!["timer"])
        ]),
        "delivered while the spinner spins, one at a time, and the clock stays put"
    );
}

#[test]
fn a_sleep_already_due_fires_once_the_other_tasks_are_idle() {
    let rt = runtime();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (recorded, clock) = (order.clone(), rt.clone());
    rt.spawn(Box::pin(async move {
        clock.sleep(Duration::ZERO).await;
        recorded.lock().unwrap().push("slept");
    }));
    let recorded = order.clone();
    rt.spawn(Box::pin(async move {
        recorded.lock().unwrap().push("ran");
    }));
    rt.run_until(rt.sleep(ms(1)), Duration::MAX).unwrap();
    assert_eq!(*order.lock().unwrap(), ["ran", "slept"]);
}

#[test]
fn block_on_waits_for_a_wake_from_another_thread() {
    let rt = runtime();
    let (tx, rx) = futures::channel::oneshot::channel();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(ms(50));
        tx.send(7).unwrap();
    });
    let received = Arc::new(Mutex::new(None));
    let slot = received.clone();
    rt.block_on(Box::pin(async move {
        *slot.lock().unwrap() = rx.await.ok();
    }));
    thread.join().unwrap();
    assert_eq!(*received.lock().unwrap(), Some(7));
    assert_eq!(
        rt.elapsed(),
        Duration::ZERO,
        "waiting on a thread is not virtual time"
    );
}

#[test]
fn a_run_takes_a_wake_from_another_thread_that_comes_within_its_grace() {
    for rt in with_and_without_tokio() {
        let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
        let (tx, rx) = futures::channel::oneshot::channel();
        let thread = std::thread::spawn(move || {
            waiting_rx.recv().unwrap();
            std::thread::sleep(ms(20));
            tx.send(7).unwrap();
        });
        let received = rt.run_until(
            async move {
                waiting_tx.send(()).unwrap();
                rx.await
            },
            Duration::MAX,
        );
        thread.join().unwrap();
        assert_eq!(received, Ok(Ok(7)));
    }
}

/// A runtime over one host, alice, at 127.`block`.0.1 (and 127.`block`.0.2, where she moves).
fn alice_on(block: u8) -> (SimRuntime, IpAddr, IpAddr) {
    let (first, second) = (
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 2)),
    );
    let mut network = Network::new(LinkConfig::default(), 1);
    for ip in [first, second] {
        network.add_interface(
            Duration::ZERO,
            "alice",
            ip,
            LinkConfig::default(),
            LinkConfig::default(),
        );
    }
    let rt = SimRuntime::new(network);
    rt.set_host_address("alice", first);
    (rt, first, second)
}

/// What `wrap_udp_socket` made of a wildcard socket bound in a task that the task spawned on
/// `host` spawned in turn (as webrtc-rs's `build()` spawns its driver).
fn wildcard_bind_in_a_task_of(rt: &SimRuntime, host: &str) -> std::io::Result<SocketAddr> {
    let (slot, spawner) = (Arc::new(Mutex::new(None)), rt.clone());
    let result = slot.clone();
    rt.spawn_on(host, async move {
        let binder = spawner.clone();
        spawner.spawn(Box::pin(async move {
            let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            let wrapped = binder.wrap_udp_socket(socket).and_then(|s| s.local_addr());
            *result.lock().unwrap() = Some(wrapped);
        }));
    });
    rt.run_until(rt.sleep(ms(1)), Duration::MAX).unwrap();
    slot.lock().unwrap().take().expect("the inner task ran")
}

#[test]
fn a_wildcard_bind_in_a_hosts_task_gets_the_hosts_current_address() {
    let (rt, first, second) = alice_on(80);
    assert_eq!(wildcard_bind_in_a_task_of(&rt, "alice").unwrap().ip(), first);

    rt.set_host_address("alice", second);
    assert_eq!(
        wildcard_bind_in_a_task_of(&rt, "alice").unwrap().ip(),
        second,
        "a moved host binds on its new address"
    );
    assert!(rt.bound_addresses().iter().all(|addr| addr.ip().is_loopback()));
}

#[test]
fn a_wildcard_bind_outside_any_host_is_refused_saying_why() {
    let (rt, _, _) = alice_on(81);
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let local = socket.local_addr().unwrap();
    let error = rt.wrap_udp_socket(socket).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrNotAvailable);
    let message = error.to_string();
    assert!(
        message.contains(&local.to_string()) && message.contains("no simulated host"),
        "names the address and why: {message}"
    );
}

#[test]
fn the_mdns_socket_is_accepted_and_inert() {
    let (rt, _, _) = alice_on(82);
    let socket = rtc::mdns::MulticastSocket::new()
        .into_std()
        .expect("the sandbox lets a socket join 224.0.0.251");
    let mdns = rt.wrap_udp_socket(socket).expect("the mDNS socket is accepted");

    let query = b"a query for some-name.local";
    let sent = rt
        .run_until(
            mdns.send_to(query, "224.0.0.251:5353".parse().unwrap()),
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(sent.unwrap(), query.len(), "sending looks like it worked");
    let counters = rt.with_network(|network| network.counters());
    assert_eq!(counters.sent, 0, "nothing enters the network");
    assert!(counters.balanced());

    let (received, reader) = (Arc::new(Mutex::new(None)), mdns.clone());
    let slot = received.clone();
    rt.spawn(Box::pin(async move {
        let mut buf = [0u8; 64];
        *slot.lock().unwrap() = Some(reader.recv_from(&mut buf).await.map(|(len, _)| len));
    }));
    rt.run_until(rt.sleep(Duration::from_secs(10)), Duration::MAX)
        .unwrap();
    assert!(received.lock().unwrap().is_none(), "it never receives");
    assert!(!rt.kernel_received_anything());
}

#[test]
fn a_future_run_as_a_host_binds_the_wildcard_on_its_address_and_so_do_its_tasks() {
    let (rt, first, _) = alice_on(83);
    let wildcard = || std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let (borrowed, spawner) = (&rt, rt.clone());
    // Neither `Send` nor `'static`, as a test's future handed to `block_on` may be.
    let not_send = std::rc::Rc::new(());
    let (own, spawned) = rt
        .run_until(
            rt.as_host("alice", async move {
                let _keep = not_send;
                let own = borrowed.wrap_udp_socket(wildcard()).and_then(|s| s.local_addr());
                let (tx, rx) = futures::channel::oneshot::channel();
                let binder = spawner.clone();
                spawner.spawn(Box::pin(async move {
                    let wrapped = binder.wrap_udp_socket(wildcard()).and_then(|s| s.local_addr());
                    let _ = tx.send(wrapped);
                }));
                (own, rx.await.expect("the spawned task ran"))
            }),
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(own.unwrap().ip(), first, "the future itself binds on the host");
    assert_eq!(spawned.unwrap().ip(), first, "and so does a task it spawned");
    assert!(
        rt.wrap_udp_socket(wildcard()).is_err(),
        "the host ends with the future: a bind after it is refused"
    );
}

/// A task that spins on `yield_now` until a flag another task sets after a sleep (as
/// webrtc-rs's data-channel sender retries on a full buffer until acks free it).
fn spin_until_a_sleep_of(rt: &SimRuntime, delay: Duration) -> Arc<std::sync::atomic::AtomicU64> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let (done, spins) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let (flag, sleep) = (done.clone(), rt.sleep(delay));
    rt.spawn(Box::pin(async move {
        sleep.await;
        flag.store(true, Ordering::Release);
    }));
    let (yielder, counter) = (rt.clone(), spins.clone());
    rt.spawn(Box::pin(async move {
        while !done.load(Ordering::Acquire) {
            counter.fetch_add(1, Ordering::Relaxed);
            yielder.yield_now().await;
        }
    }));
    spins
}

#[test]
fn tasks_that_only_spin_on_yields_let_the_clock_reach_what_they_wait_for() {
    let rt = runtime();
    let spins = spin_until_a_sleep_of(&rt, ms(5));
    let limits = Limits {
        virtual_time: Duration::from_secs(1),
        wall_time: Some(Duration::from_secs(10)),
    };
    // The main future waits for the spinner to end: a sleep past the flag, then a yield-free
    // check that nothing is still spinning.
    rt.run_until(rt.sleep(ms(6)), limits)
        .expect("the spinner does not freeze the clock");
    let spun = spins.load(std::sync::atomic::Ordering::Relaxed);
    rt.run_until(rt.sleep(ms(1)), limits).unwrap();
    assert_eq!(
        spins.load(std::sync::atomic::Ordering::Relaxed),
        spun,
        "the spinner saw the flag and stopped"
    );
    assert!(
        spun >= RELEASE_BUDGET as u64,
        "it spun a budget before the clock moved: {spun}"
    );
}

#[test]
fn a_task_that_spins_beside_busy_tasks_does_not_move_the_clock_under_them() {
    let rt = runtime();
    spin_until_a_sleep_of(&rt, ms(5));
    // A task that stays runnable without yielding through the runtime (it wakes itself): it
    // is busy, not waiting for time, so the clock must not jump while it runs.
    let busy_runs = Arc::new(Mutex::new(0u32));
    let (counter, clock) = (busy_runs.clone(), rt.clone());
    let seen_at = Arc::new(Mutex::new(Vec::new()));
    let seen = seen_at.clone();
    rt.spawn(Box::pin(futures::future::poll_fn(move |cx| {
        let mut runs = counter.lock().unwrap();
        *runs += 1;
        seen.lock().unwrap().push(clock.elapsed());
        if *runs == 1000 {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })));
    rt.run_until(rt.sleep(ms(6)), Duration::from_secs(1)).unwrap();
    assert_eq!(*busy_runs.lock().unwrap(), 1000);
    assert!(
        seen_at.lock().unwrap().iter().all(|at| at.is_zero()),
        "the busy task ran at time zero throughout"
    );
}

// tokio on the virtual clock: an app's own tokio calls read and wait on the world's time.

fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

#[test]
fn a_tokio_sleep_ends_when_the_virtual_clock_reaches_it_and_tokio_reads_the_same_time() {
    let rt = runtime();
    let clock = rt.clone();
    let seen = rt
        .run_until(
            async move {
                let mut sleep = tokio_test::task::spawn(tokio::time::sleep(ms(1500)));
                tokio_test::assert_pending!(sleep.poll());
                clock.sleep(ms(1499)).await;
                tokio_test::assert_pending!(sleep.poll());
                assert!(!sleep.is_woken(), "woken 1 ms early");
                clock.sleep(ms(1)).await;
                assert!(sleep.is_woken(), "not woken at 1.5 s");
                tokio_test::assert_ready!(sleep.poll());
                (
                    clock.elapsed(),
                    tokio::time::Instant::now().into_std(),
                    clock.now(),
                )
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(seen.0, ms(1500));
    assert_eq!(seen.1, seen.2, "tokio::time::Instant::now() is Runtime::now()");
}

#[test]
fn tokio_reads_the_worlds_time_between_its_milliseconds_too() {
    let rt = runtime();
    let clock = rt.clone();
    let seen = rt
        .run_until(
            async move {
                let mut read = Vec::new();
                // 1.234 ms crosses one of tokio's milliseconds; the steps after stay in it.
                for step in [us(1234), us(300), us(5), us(400)] {
                    clock.sleep(step).await;
                    read.push((tokio::time::Instant::now().into_std(), clock.now()));
                }
                read
            },
            Duration::MAX,
        )
        .unwrap();
    for (tokio_now, world_now) in seen {
        assert_eq!(
            tokio_now, world_now,
            "tokio::time::Instant::now() is Runtime::now()"
        );
    }
}

#[test]
fn tokio_timers_and_the_worlds_events_take_turns_in_time_order() {
    let TwoHosts { rt, sender, receiver } = two_hosts(78, us(1100));
    let to = receiver.local_addr().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (clock, seen) = (rt.clone(), order.clone());
    let stamp = move |what: &'static str| seen.lock().unwrap().push((what, clock.elapsed()));
    let (in_tokio, in_sim, on_wire) = (stamp.clone(), stamp.clone(), stamp);
    let sim_clock = rt.clone();
    rt.spawn(Box::pin(async move {
        tokio::time::sleep(ms(5)).await;
        in_tokio("tokio timer");
    }));
    rt.spawn(Box::pin(async move {
        sim_clock.sleep(us(4500)).await;
        in_sim("sim timer");
    }));
    rt.spawn(Box::pin(async move {
        let mut buf = [0u8; 8];
        receiver.recv_from(&mut buf).await.unwrap();
        on_wire("datagram");
    }));
    rt.run_until(
        async move {
            sender.send_to(b"x", to).await.unwrap();
        },
        Duration::MAX,
    )
    .unwrap();
    rt.run_until(rt.sleep(ms(10)), Duration::MAX).unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        [
            ("datagram", us(2200)),
            ("sim timer", us(4500)),
            ("tokio timer", ms(5))
        ],
        "two 1.1 ms hops, to the microsecond; tokio's timer on its millisecond"
    );
}

#[test]
fn a_tokio_sleep_started_between_milliseconds_ends_on_the_next_one_after_it_as_tokio_rounds() {
    let rt = runtime();
    let clock = rt.clone();
    let ended = rt
        .run_until(
            async move {
                clock.sleep(us(1234)).await;
                tokio::time::sleep(ms(1)).await;
                clock.elapsed()
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!(
        ended,
        ms(3),
        "due at 2.234 ms, tokio's timer fires at its 3rd millisecond"
    );
}

#[test]
fn a_tokio_spawned_task_runs_on_the_virtual_clock_and_can_wait_on_a_simulated_socket() {
    let TwoHosts { rt, sender, receiver } = two_hosts(79, ms(20));
    let to = receiver.local_addr().unwrap();
    let clock = rt.clone();
    let (received, at) = rt
        .run_until(
            async move {
                let reader = tokio::spawn(async move {
                    let mut buf = [0u8; 8];
                    let (len, _) = receiver.recv_from(&mut buf).await.unwrap();
                    (buf[..len].to_vec(), tokio::time::Instant::now())
                });
                tokio::time::sleep(ms(100)).await;
                sender.send_to(b"late", to).await.unwrap();
                let (received, at) = reader.await.unwrap();
                (received, at.into_std() - clock.now() + clock.elapsed())
            },
            Duration::MAX,
        )
        .unwrap();
    assert_eq!((received, at), (b"late".to_vec(), ms(140)));
}

#[test]
fn a_tokio_timeout_on_a_read_that_never_comes_ends_at_its_virtual_deadline() {
    let TwoHosts { rt, receiver, .. } = two_hosts(80, ms(5));
    let clock = rt.clone();
    let (timed_out, at) = rt
        .run_until(
            async move {
                let mut buf = [0u8; 8];
                let read = tokio::time::timeout(Duration::from_secs(3), receiver.recv_from(&mut buf)).await;
                (read.is_err(), clock.elapsed())
            },
            Duration::MAX,
        )
        .unwrap();
    assert!(timed_out);
    assert_eq!(at, Duration::from_secs(3));
}

#[test]
fn a_world_where_only_a_tokio_task_waits_runs_on_and_then_reports_a_deadlock_when_it_ended() {
    let rt = runtime();
    let clock = rt.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let result = rt.run_until(
        async move {
            let handle = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(7)).await;
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            handle.await.unwrap();
            assert_eq!(clock.elapsed(), Duration::from_secs(7));
            futures::future::pending::<()>().await
        },
        Duration::MAX,
    );
    assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        result,
        Err(Stuck::Deadlock {
            at: Duration::from_secs(7)
        })
    );
}

/// Three tasks on each of two hosts, each waking at 10 ms then at 20 ms: who woke when, in
/// the order they ran.
fn race(processing: Processing, seed: u64) -> Vec<(&'static str, Duration)> {
    let rt = SimRuntime::with_processing(Network::new(LinkConfig::default(), 1), processing, seed);
    let log = Arc::new(Mutex::new(Vec::new()));
    let tasks = [
        ("alice", "a1"),
        ("alice", "a2"),
        ("alice", "a3"),
        ("bob", "b1"),
        ("bob", "b2"),
        ("bob", "b3"),
    ];
    for (host, name) in tasks {
        let (log, clock) = (log.clone(), rt.clone());
        rt.spawn_on(host, async move {
            for at in [ms(10), ms(20)] {
                clock.sleep(at.saturating_sub(clock.elapsed())).await;
                log.lock().unwrap().push((name, clock.elapsed()));
            }
        });
    }
    rt.run_until(rt.sleep(ms(50)), Duration::MAX).unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2 * tasks.len(), "every task woke twice");
    log
}

#[test]
fn without_processing_time_tasks_run_at_their_exact_instants_in_wake_order() {
    let names = ["a1", "a2", "a3", "b1", "b2", "b3"];
    let expected: Vec<_> = [ms(10), ms(20)]
        .into_iter()
        .flat_map(|at| names.map(|name| (name, at)))
        .collect();
    assert_eq!(race(Processing::None, 1), expected);
    assert_eq!(race(Processing::None, 2), expected, "the seed changes nothing");
}

#[test]
fn with_measured_processing_the_same_seed_gives_the_same_schedule() {
    for seed in [1, 7, 42] {
        assert_eq!(race(Processing::Measured, seed), race(Processing::Measured, seed));
    }
}

#[test]
fn with_measured_processing_polls_take_time_and_seeds_settle_races_differently() {
    let (min, max) = (
        Duration::from_nanos(processing::MEASURED_POLL[0].1),
        Duration::from_nanos(processing::MEASURED_POLL[processing::MEASURED_POLL.len() - 1].1),
    );
    let longest_wake = Duration::from_nanos(processing::MEASURED_WAKE[processing::MEASURED_WAKE.len() - 1].1);
    let mut orders = std::collections::BTreeSet::new();
    for seed in 1..=20 {
        let log = race(Processing::Measured, seed);
        for (index, (name, at)) in log.iter().enumerate() {
            let first = log[..index].iter().all(|(earlier, _)| earlier != name);
            let due = if first { ms(10) } else { ms(20) };
            // Three tasks on two cores of an idle host woken by their timers: the last waits
            // for the host's wake-up and at most two polls before its own.
            assert!(
                (due + min..=due + longest_wake + 2 * max).contains(at),
                "seed {seed}: {name} ran at {at:?}, due at {due:?}"
            );
        }
        orders.insert(log.iter().map(|(name, _)| *name).collect::<Vec<_>>());
    }
    assert!(
        orders.len() > 1,
        "20 seeds, yet the tasks always ran in one order: {orders:?}"
    );
}

/// A task of alice's host, woken by a timer at 1 ms, wakes two others of hers, `first` then
/// `last`: how long after its wake-up each one ran.
fn lifo(processing: Processing, seed: u64) -> (Duration, Duration) {
    let rt = SimRuntime::with_processing(Network::new(LinkConfig::default(), 1), processing, seed);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for name in ["first", "last"] {
        let (tx, rx) = futures::channel::oneshot::channel::<Duration>();
        let (ran, clock) = (ran.clone(), rt.clone());
        rt.spawn_on("alice", async move {
            let woken_at = rx.await.unwrap();
            ran.lock().unwrap().push((name, clock.elapsed() - woken_at));
        });
        senders.push(tx);
    }
    let clock = rt.clone();
    rt.spawn_on("alice", async move {
        clock.sleep(ms(1)).await;
        for tx in senders {
            tx.send(clock.elapsed()).unwrap();
        }
    });
    rt.run_until(rt.sleep(ms(5)), Duration::MAX).unwrap();
    let ran = ran.lock().unwrap().clone();
    let after = |name| ran.iter().find(|(ran, _)| *ran == name).expect("ran").1;
    (after("first"), after("last"))
}

#[test]
fn of_the_tasks_a_poll_wakes_the_last_runs_at_once_and_the_earlier_after_a_wake_up() {
    assert_eq!(lifo(Processing::None, 1), (Duration::ZERO, Duration::ZERO));
    let shortest_wake = Duration::from_nanos(processing::MEASURED_WAKE[0].1);
    let longest_poll = Duration::from_nanos(processing::MEASURED_POLL[processing::MEASURED_POLL.len() - 1].1);
    for seed in 1..=20 {
        let (first, last) = lifo(Processing::Measured, seed);
        assert!(
            last <= longest_poll,
            "seed {seed}: the LIFO slot's ran {last:?} after"
        );
        assert!(
            first > shortest_wake,
            "seed {seed}: the displaced one ran {first:?} after"
        );
    }
}

/// Two detached tasks waiting on each other, as webrtc-rs's driver and the app holding
/// its connection do, each keeping `guard` alive; they never finish.
fn spawn_a_cycle(rt: &SimRuntime, guard: &Arc<()>) {
    let (to_first, mut first_inbox) = futures::channel::mpsc::unbounded::<()>();
    let (to_second, mut second_inbox) = futures::channel::mpsc::unbounded::<()>();
    let (first_guard, second_guard) = (guard.clone(), guard.clone());
    rt.spawn(Box::pin(async move {
        let _keeps = (first_guard, to_second);
        futures::StreamExt::next(&mut first_inbox).await;
    }));
    rt.spawn(Box::pin(async move {
        let _keeps = (second_guard, to_first);
        futures::StreamExt::next(&mut second_inbox).await;
    }));
}

#[test]
fn shutting_down_drops_tasks_that_wait_on_each_other() {
    for rt in with_and_without_tokio() {
        let guard = Arc::new(());
        spawn_a_cycle(&rt, &guard);
        rt.run_until(rt.sleep(ms(10)), Duration::MAX)
            .expect("the sleep ends");
        assert_eq!(Arc::strong_count(&guard), 3, "both tasks are alive, waiting");
        rt.shut_down();
        assert_eq!(Arc::strong_count(&guard), 1, "both tasks' futures were dropped");
    }
}

#[test]
fn an_aborted_task_is_dropped_and_a_dropped_handle_lets_its_task_finish() {
    let rt = runtime();
    let guard = Arc::new(());
    let held = guard.clone();
    let clock = rt.clone();
    let aborted = rt.spawn(Box::pin(async move {
        let _held = held;
        clock.sleep(Duration::from_secs(60)).await;
    }));
    let finished = Arc::new(AtomicBool::new(false));
    let (done, clock) = (finished.clone(), rt.clone());
    drop(rt.spawn(Box::pin(async move {
        clock.sleep(ms(5)).await;
        done.store(true, Ordering::Release);
    })));
    rt.run_until(rt.sleep(ms(1)), Duration::MAX)
        .expect("the sleep ends");
    assert!(!aborted.is_finished());
    aborted.abort();
    assert!(aborted.is_finished(), "an aborted task counts as finished");
    rt.run_until(rt.sleep(ms(10)), Duration::MAX)
        .expect("the sleep ends");
    assert_eq!(
        Arc::strong_count(&guard),
        1,
        "the aborted task's future was dropped"
    );
    assert!(
        finished.load(Ordering::Acquire),
        "the task whose handle was dropped ran on"
    );
    rt.shut_down();
}
