//! Fidelity: with processing time on, seeds settle webrtc-rs's timing races the ways a real
//! run does, and the set-ups the bare virtual clock already got right stay right (issue
//! 14). Reality, measured with stock webrtc-rs 0.21.1 on its stock tokio runtime over real
//! sockets (one Opus-typed stream, trickled candidates, 5–15 runs each):
//!
//! * 0 ms one way, 20 ms signaling: 8 runs ≈ 224 ms, 3 ≈ 246 ms, 4 ≈ 426 ms;
//! * 50 ms one way, 0 ms signaling: 11 runs ≈ 706 ms, 4 ≈ 505 ms;
//! * an ICE restart at 0 ms: no media gap, restart 1 ms;
//! * 25 ms one way, 20 ms signaling: 378 ms; 150 ms: 1.5 s;
//! * an ICE restart on 20 ms links with 20 ms signaling: restart 125 ms, gap 140 ms;
//! * an outage: ICE `disconnected` 3.90 s and `failed` 28.84 s after it starts;
//! * relay-only through TURN (coturn 4.6.1) at 0 ms: connect 4.43 s [4.23–4.43].
//!
//! Reality ran both peers in one process, so these runs put both on one machine
//! (`Processing::MeasuredOneMachine`). Without the model every seed gives 420 ms and 500 ms
//! in the first two.

use std::ops::Range;
use std::time::Duration;

use webrtc_netsim::metrics::Window;
use webrtc_netsim::scenario::{Credentials, IceServer, Processing, Servers};
use webrtc_netsim::timeline::Action;
use webrtc_netsim::trace::What;
use webrtc_netsim::{LinkConfig, MediaKind, PeerSpec, Run, Scenario, StreamMetrics};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The seeds each set-up is played with.
const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// An audio call `length` long, `one_way` from peer to peer (split over the two access
/// links, or all in the core), the relay taking `signaling`; with `relay_only`, both peers
/// use relay candidates of the TURN server only.
struct Call {
    one_way: Duration,
    in_core: bool,
    signaling: Duration,
    length: Duration,
    relay_only: bool,
}

impl Call {
    fn new(one_way: Duration, signaling: Duration) -> Self {
        Call {
            one_way,
            in_core: false,
            signaling,
            length: Duration::from_secs(3),
            relay_only: false,
        }
    }

    fn scenario(&self, processing: Processing, seed: u64) -> Scenario {
        let (access, core) = match self.in_core {
            true => (Duration::ZERO, self.one_way),
            false => (self.one_way / 2, Duration::ZERO),
        };
        let link = LinkConfig {
            delay: access,
            ..LinkConfig::default()
        };
        let turn = Credentials {
            user: "qa".into(),
            password: "secret".into(),
        };
        let peer = |spec: PeerSpec| {
            let spec = spec.media(&[MediaKind::Audio]).link(link.clone());
            match self.relay_only {
                true => spec.ice_servers(vec![IceServer::Turn(turn.clone())]).relay_only(),
                false => spec,
            }
        };
        Scenario::new("fidelity")
            .seed(seed)
            .duration(self.length)
            .core(LinkConfig {
                delay: core,
                ..LinkConfig::default()
            })
            .signaling_delay(self.signaling)
            .processing(processing)
            .servers(Servers {
                turn: self.relay_only.then(|| turn.clone()),
                ..Servers::default()
            })
            .peer(peer(PeerSpec::caller("alice")))
            .peer(peer(PeerSpec::callee("bob")))
    }

    fn run(&self, processing: Processing, seed: u64) -> Run {
        self.scenario(processing, seed)
            .run()
            .expect("the call runs to its end")
    }
}

/// Prints `values` per seed under `label`, in milliseconds.
fn show(label: &str, values: &[Duration]) {
    let shown: Vec<String> = values
        .iter()
        .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
        .collect();
    println!("{label} (ms) per seed: {shown:?}");
}

/// The connect time of every seed, with the model on.
fn connect_times(call: &Call) -> Vec<Duration> {
    let times: Vec<Duration> = SEEDS
        .map(|seed| {
            call.run(Processing::MeasuredOneMachine, seed)
                .metrics
                .connect_time
                .unwrap_or_else(|| panic!("seed {seed}: the peers never connected"))
        })
        .collect();
    show(
        &format!(
            "{:?} one way, {:?} signaling: connect",
            call.one_way, call.signaling
        ),
        &times,
    );
    times
}

/// How many of `times` lie in `range`.
fn on(times: &[Duration], range: &Range<Duration>) -> usize {
    times.iter().filter(|time| range.contains(*time)).count()
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Whether `measured` is within `share` (0.05 for 5 %) of `reality`.
fn within(measured: Duration, reality: Duration, share: f64) -> bool {
    (measured.as_secs_f64() - reality.as_secs_f64()).abs() <= reality.as_secs_f64() * share
}

/// Both of reality's branches come out (≈ 224 and ≈ 246 ms, and ≈ 426 ms: 4 of 15 real
/// runs), the median within 10 % of reality's, and no seed falls off reality's branches.
/// The slow branch needs the one-process model: Bob's call into his driver (setting the
/// answer) is pushed out of tokio's LIFO slot by the answer he sends, so his trickled
/// candidate can reach Alice after her agent pinged with no pair.
#[test]
fn at_0ms_with_20ms_signaling_seeds_take_both_of_realitys_branches_around_its_median() {
    let (fast, slow) = (ms(200)..ms(270), ms(400)..ms(450));
    let times = connect_times(&Call::new(ms(0), ms(20)));
    for (branch, reality) in [(&fast, "≈ 224 ms"), (&slow, "≈ 426 ms")] {
        assert!(
            on(&times, branch) > 0,
            "no seed on reality's {reality} branch: {times:?}"
        );
    }
    assert_eq!(
        on(&times, &fast) + on(&times, &slow),
        times.len(),
        "a seed off reality's branches: {times:?}"
    );
    assert!(
        within(median(&times), ms(224), 0.10),
        "median {:?} not within 10 % of reality's 224 ms",
        median(&times)
    );
}

/// Both branches, most seeds on the slow one, as in reality (11 of 15 runs ≈ 706 ms): the
/// answer Bob sends takes the LIFO slot from his call into his driver, and Alice's agent
/// pings before his candidate is in. The model also gives ≈ 550 ms on a few seeds (a DTLS
/// flight waits on the far end's), which the 15 real runs never showed; that is not
/// asserted either way.
#[test]
fn at_50ms_with_0ms_signaling_seeds_take_both_branches_most_the_one_that_waits_a_tick() {
    let times = connect_times(&Call::new(ms(50), ms(0)));
    let (fast, slow) = (ms(480)..ms(530), ms(680)..ms(730));
    for (branch, reality) in [(&fast, "≈ 505 ms"), (&slow, "≈ 706 ms")] {
        assert!(
            on(&times, branch) > 0,
            "no seed on reality's {reality} branch: {times:?}"
        );
    }
    assert!(
        on(&times, &slow) * 2 > times.len(),
        "most seeds on the slow branch, as most real runs: {times:?}"
    );
}

/// A restart by Alice at 3 s of a 6 s call: its restart time and the longer audio gap of
/// the two directions from 2 s on.
fn restart(call: &Call, seed: u64) -> (Duration, Duration) {
    let run = call
        .scenario(Processing::MeasuredOneMachine, seed)
        .at(
            Duration::from_secs(3),
            Action::RestartIce { peer: "alice".into() },
        )
        .run()
        .expect("the call runs to its end");
    let [restart] = &run.metrics.restarts[..] else {
        panic!("seed {seed}: one restart, not {:?}", run.metrics.restarts)
    };
    let window = Window {
        from: Duration::from_secs(2),
        to: call.length,
    };
    let gap = ["bob<-alice:audio", "alice<-bob:audio"]
        .map(|stream| StreamMetrics::compute(&run.trace, stream, window).media_gap)
        .into_iter()
        .max()
        .expect("two streams");
    (restart.restart_time.expect("the restart completes"), gap)
}

/// Each seed's restart time and gap, printed.
fn restarts(call: &Call) -> (Vec<Duration>, Vec<Duration>) {
    let (times, gaps): (Vec<_>, Vec<_>) = SEEDS.map(|seed| restart(call, seed)).unzip();
    show("restart time", &times);
    show("audio gap", &gaps);
    (times, gaps)
}

/// Reality restarts in 1 ms and opens no gap; the issue allows one audio packet interval
/// (20 ms) and one ICE tick (200 ms). Where Bob's check beats his candidate to Alice, her
/// agent knows him as peer-reflexive, which webrtc-rs does not nominate before 1 s: a 1 s
/// gap. A model without wake-ups gave it on 3 of 20 seeds, and so did a machine per peer
/// with the LIFO slot on 7 of 20 (the candidate, through the relay, woke an idle Alice);
/// in one process the relay's message runs on the thread that sent it and never loses.
#[test]
fn an_ice_restart_at_0ms_opens_no_gap_longer_than_an_audio_interval_and_a_tick() {
    let call = Call {
        length: Duration::from_secs(6),
        ..Call::new(ms(0), ms(0))
    };
    let (times, gaps) = restarts(&call);
    assert!(
        times.iter().all(|time| *time <= ms(220)),
        "restart times {times:?}"
    );
    assert!(gaps.iter().all(|gap| *gap <= ms(220)), "gaps {gaps:?}");
}

/// The set-ups the bare virtual clock gets right, within 5 % of reality, stay so with the
/// model on (their median over the seeds).
#[test]
fn the_faithful_set_ups_stay_within_5_percent_of_reality() {
    let at_25ms = Call {
        in_core: true,
        ..Call::new(ms(25), ms(20))
    };
    let at_150ms = Call {
        length: Duration::from_secs(4),
        ..Call::new(ms(150), ms(20))
    };
    let relay_only = Call {
        relay_only: true,
        length: Duration::from_secs(6),
        ..Call::new(ms(0), ms(0))
    };
    for (call, reality) in [(at_25ms, ms(378)), (at_150ms, ms(1500)), (relay_only, ms(4430))] {
        let measured = median(&connect_times(&call));
        assert!(
            within(measured, reality, 0.05),
            "{:?} one way (relay only: {}): connect median {measured:?}, reality {reality:?}",
            call.one_way,
            call.relay_only
        );
    }
    let (times, gaps) = restarts(&Call {
        length: Duration::from_secs(6),
        ..Call::new(ms(20), ms(20))
    });
    for (what, values, reality) in [("restart", times, ms(125)), ("gap", gaps, ms(140))] {
        let measured = median(&values);
        assert!(
            within(measured, reality, 0.05),
            "20 ms restart: {what} median {measured:?}, reality {reality:?}"
        );
    }
}

/// The time from the outage's start until Alice's ICE first reports `state`.
fn after_outage(run: &Run, state: &str) -> Duration {
    run.trace
        .iter()
        .find(|event| {
            matches!(&event.what, What::IceConnectionState { peer, state: reached }
                if peer == "alice" && reached == state && event.at > OUTAGE_AT)
        })
        .map(|event| event.at - OUTAGE_AT)
        .unwrap_or_else(|| panic!("alice's ICE never reported {state}"))
}

const OUTAGE_AT: Duration = Duration::from_secs(3);

/// ICE's `disconnected` (reality +3.90 s) and `failed` (+28.84 s) after Alice's link goes
/// down for good, on a few seeds (each is a 35 s call).
#[test]
fn an_outage_reaches_disconnected_and_failed_within_5_percent_of_reality() {
    for seed in 1..=4 {
        let run = Call {
            length: Duration::from_secs(35),
            ..Call::new(ms(0), ms(20))
        }
        .scenario(Processing::MeasuredOneMachine, seed)
        .at(
            OUTAGE_AT,
            Action::Outage {
                peer: "alice".into(),
                duration: Duration::from_secs(40),
            },
        )
        .run()
        .expect("the call runs to its end");
        let (disconnected, failed) = (after_outage(&run, "disconnected"), after_outage(&run, "failed"));
        println!("seed {seed}: disconnected +{disconnected:?}, failed +{failed:?}");
        assert!(
            within(disconnected, ms(3_900), 0.05),
            "seed {seed}: +{disconnected:?}"
        );
        assert!(within(failed, ms(28_840), 0.05), "seed {seed}: +{failed:?}");
    }
}

#[test]
fn with_the_model_the_same_seed_gives_the_same_run_and_without_it_every_seed_one_branch() {
    let call = Call::new(ms(0), ms(20));
    let [first, second] = [0, 1].map(|_| call.run(Processing::MeasuredOneMachine, 3));
    assert_eq!(
        serde_json::to_string(&first.trace).unwrap(),
        serde_json::to_string(&second.trace).unwrap(),
        "same seed, same trace"
    );
    assert_eq!(first.metrics, second.metrics);

    let exact: Vec<_> = [1, 2, 3]
        .map(|seed| call.run(Processing::None, seed).metrics.connect_time)
        .into();
    assert!(
        exact.windows(2).all(|pair| pair[0] == pair[1]),
        "computing is free: every seed takes the same branch, {exact:?}"
    );
}
