//! Processing time: each simulated host is a machine, and its work takes time.
//!
//! On the bare virtual clock computing is free, so everything a datagram or a timer sets off
//! happens at the very instant it was released, and what two things due at one instant do
//! is settled by the executor's fixed order — the same way for every seed. webrtc-rs has
//! races that a real machine settles by how long its work took (its driver loop writes,
//! handles events, reads, then sleeps to the next timer, so a step that comes in after the
//! writes ran waits a whole 200 ms ICE tick), and they then always come out one way.
//!
//! With [`Processing::Measured`], a run charges virtual time for that work, each cost drawn
//! from a distribution measured on the development machine, with a generator seeded from
//! the scenario's seed:
//!
//! * **Polls.** Each host (the host a task runs as, see [`super::host`]) has a CPU of
//!   [`CORES`] cores. A poll of one of its tasks occupies a core for a duration drawn from
//!   [`MEASURED_POLL`]. A woken task (by a datagram, a timer, another task) starts its poll
//!   on a free core of its host, or queues for one in the order it was woken. The task *runs
//!   at the end* of its drawn duration, all at once: it reads the clock, and what it sends
//!   leaves once its work is done, as a reply on a real host leaves after the work that
//!   made it.
//! * **Wake-ups.** A host with every core idle has parked its threads, and a real thread
//!   takes tens of microseconds to wake: the first task a datagram or a timer wakes there
//!   starts its poll after a wake-up drawn from [`MEASURED_WAKE`]. A task woken while a
//!   core is busy starts at once, and so does one woken by another task, which tokio puts
//!   in the waking thread's LIFO slot — but only the last one a poll wakes: each earlier
//!   one is pushed out of the slot to the run queue ([`WokenBy::Displaced`]) and starts
//!   after a parked worker's wake-up. webrtc-rs's calls into its driver and the app's
//!   signaling both wake a task, so which of them waits is the race the issue is about.
//! * **The kernel.** A UDP datagram a host's task sends enters the network after a latency
//!   drawn from [`MEASURED_KERNEL`] (the system calls and the loopback stack on each side),
//!   each host's datagrams in the order they were sent. Messages between tasks (signaling,
//!   in-process channels) take no such path, so on a fast network a datagram and a message
//!   sent at one instant race as they do on a real machine.
//! * Events (datagram arrivals, timers) are still released at their own time, so a host can
//!   be busy when a datagram arrives and handle it late, and two tasks racing to an instant
//!   are settled by how long each took to get there — differently for each seed.
//! * The end of a poll, and a datagram leaving a kernel, are events of the executor taking
//!   their turn with arrivals and timers (first among those due at one instant), so the
//!   rest of the executor's rules (events released one at a time, the clock jumping when
//!   everything is idle) stay.
//! * Not charged: polls of tasks that run on no host (the harness's own, such as the relay's
//!   forwarding; the servers answer inside the network), the future a run drives, tasks on
//!   tokio's runtime, and the segments of the simulated TCP stacks. The observer's reads
//!   of a connection, which no real app runs, neither take time nor the LIFO slot.
//! * **One machine.** [`Processing::MeasuredOneMachine`] puts every host on one machine of
//!   [`CORES`] cores: two `PeerConnection`s in one process, as integration tests on real
//!   sockets run them and as the reality below was measured. Then a message one peer sends
//!   the other in-process runs on the thread that sent it, while the other's datagram
//!   waits for a parked worker; with a machine per host (each peer its own device, what
//!   [`Processing::Measured`] models), both wake the receiving machine.
//!
//! Why two cores: stock webrtc-rs runs on tokio's multi-threaded runtime, where the task a
//! poll wakes starts on another worker while the first is still busy, and the machine
//! reality was measured on has two.
//!
//! Why wake-ups and the kernel: with polls alone, a connectivity check crossing a 0 ms link
//! beat the trickled candidate it races through the signaling relay on some seeds. The
//! agent then knows its peer only as peer-reflexive, which webrtc-rs does not nominate
//! before 1 s, and an ICE restart at 0 ms opened a 1 s gap on 3 of 20 seeds where reality
//! opens none. On a real machine the datagram also pays two system calls and the loopback
//! stack (about 13 µs), and either path pays a parked thread's wake-up (about 35 µs).
//!
//! [`Processing::None`] charges nothing: computing is free and every run is the exact
//! arithmetic of delays and timers, as it was before this model existed.
//!
//! Not modelled: tokio's 1 ms timer wheel, the work done outside a host's tasks, and a
//! host's other load.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::net::Datagram;

/// Whether a run charges virtual time for the work its hosts do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Processing {
    /// Computing is free: the exact arithmetic of delays and timers.
    #[default]
    None,
    /// Each poll of a host's task, each wake-up of an idle host and each datagram through
    /// its kernel takes a duration drawn from the measured distributions, seeded from the
    /// scenario's seed.
    Measured,
    /// As [`Processing::Measured`], with every host on one machine: two `PeerConnection`s
    /// in one process, as integration tests on real sockets run them, and as the reality
    /// this model is calibrated against was measured.
    #[serde(rename = "measured-one-machine")]
    MeasuredOneMachine,
}

/// What woke a task. A host's parked threads wake up for a datagram or a timer. A task woken
/// by another task goes into the waking thread's LIFO slot, as tokio's multi-threaded
/// runtime does, and that thread, awake, runs it next; but the slot holds one task, so when
/// one poll wakes several, only the last stays there, and each earlier one is pushed to the
/// run queue, where a parked worker wakes up to take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WokenBy {
    /// A datagram's arrival, a timer: the runtime's events.
    Event,
    /// Another task (or the harness, or the future a run drives), the last one it woke.
    Task,
    /// Another task that went on to wake one more.
    Displaced,
}

/// A measured distribution of a duration: `(cumulative share, nanoseconds)`, from the
/// minimum (share 0) to the maximum (share 1).
type Distribution = [(f64, u64)];

/// One poll's duration.
///
/// Measured: 27 190 polls of tasks on a host, `Instant::now()` around `Runnable::run`,
/// release build, on the development machine (2 cores, shared with other builds), over 20
/// runs without the model (seeds 1–10 of a 3 s audio call at 0 ms one way / 20 ms
/// signaling and at 50 ms one way / 0 ms signaling). Mean 2.26 µs; most polls handle a
/// datagram or a timer in under 3 µs, and the rare long ones are DTLS's cryptography.
pub(crate) const MEASURED_POLL: [(f64, u64); 10] = [
    (0.0, 80),
    (0.10, 230),
    (0.25, 320),
    (0.50, 531),
    (0.75, 2_333),
    (0.90, 2_544),
    (0.95, 2_895),
    (0.99, 25_388),
    (0.999, 201_541),
    (1.0, 356_542),
];

/// From a message sent to a task on a parked tokio runtime to that task running: the
/// wake-up of an idle host.
///
/// Measured: half the round trip of a message between the main thread and a task on tokio
/// 1.54's multi-threaded runtime (2 workers) over unbounded mpsc channels, 2 ms apart so
/// that every thread parks in between; 2 × 5 000 round trips on the development machine,
/// the two runs' quantiles averaged. Median 35 µs.
pub(crate) const MEASURED_WAKE: [(f64, u64); 10] = [
    (0.0, 9_600),
    (0.10, 19_700),
    (0.25, 24_650),
    (0.50, 35_450),
    (0.75, 61_850),
    (0.90, 98_700),
    (0.95, 133_250),
    (0.99, 364_400),
    (0.999, 1_061_050),
    (1.0, 1_716_150),
];

/// From `sendto` to the datagram being read on the other side of a loopback, both ends
/// spinning on non-blocking sockets: the kernel's part of a datagram's trip, without any
/// wake-up.
///
/// Measured: half the round trip of a 100-byte UDP datagram between two threads on
/// 127.0.0.1, 200 µs apart; 2 × 5 000 round trips on the development machine, the two
/// runs' quantiles averaged. Median 12.6 µs.
pub(crate) const MEASURED_KERNEL: [(f64, u64); 10] = [
    (0.0, 5_450),
    (0.10, 10_300),
    (0.25, 11_400),
    (0.50, 12_650),
    (0.75, 14_300),
    (0.90, 18_100),
    (0.95, 27_950),
    (0.99, 53_400),
    (0.999, 337_450),
    (1.0, 1_444_400),
];

/// A draw from `distribution` by inverse transform: `u`, uniform in `[0, 1)`, falls
/// between two measured quantiles and is interpolated linearly between them.
fn quantile(distribution: &Distribution, u: f64) -> Duration {
    let upper = distribution
        .iter()
        .position(|(share, _)| *share > u)
        .unwrap_or(distribution.len() - 1);
    let ((p0, t0), (p1, t1)) = (distribution[upper - 1], distribution[upper]);
    let within = if p1 > p0 { (u - p0) / (p1 - p0) } else { 0.0 };
    Duration::from_nanos(t0 + ((t1 - t0) as f64 * within) as u64)
}

/// The machines of a world's hosts: on each, the polls in progress, the woken tasks
/// waiting for a core and the datagrams in its kernel. Empty, and never consulted, with
/// [`Processing::None`].
pub(crate) struct Machines<T> {
    /// The generator of every drawn duration; none with [`Processing::None`].
    draws: Option<ChaCha20Rng>,
    /// By host, in name order (the first of equals among hosts is the first by name), or
    /// with [`Processing::MeasuredOneMachine`] one, under [`ONE_MACHINE`]. A list, not a
    /// map: a world has a handful of hosts, and the executor asks for their next instants
    /// a couple of times per event.
    hosts: Vec<(Arc<str>, Machine<T>)>,
    one_machine: bool,
}

/// The name of the one machine of [`Processing::MeasuredOneMachine`].
const ONE_MACHINE: &str = "";

/// Cores per host.
pub(crate) const CORES: usize = 2;

struct Machine<T> {
    /// Polls in progress, each with the instant it ends: at most [`CORES`].
    running: Vec<(Duration, T)>,
    waiting: VecDeque<T>,
    /// When the host is awake from its last idle spell: no poll starts before. A host is
    /// idle when no poll is running, and then wakes up on the first task it gets.
    awake_from: Duration,
    /// Datagrams sent, each with the instant it leaves the kernel, in sending order.
    sending: VecDeque<(Duration, Datagram)>,
}

impl<T> Machine<T> {
    fn new() -> Self {
        Machine {
            running: Vec::new(),
            waiting: VecDeque::new(),
            awake_from: Duration::ZERO,
            sending: VecDeque::new(),
        }
    }

    /// The core whose poll ends first, and when.
    fn next_done(&self) -> Option<(usize, Duration)> {
        (self.running.iter().enumerate())
            .map(|(core, (end, _))| (core, *end))
            .min_by_key(|(_, end)| *end)
    }

    /// When the first datagram in the kernel leaves it.
    fn next_sent(&self) -> Option<Duration> {
        self.sending.front().map(|(leaves, _)| *leaves)
    }
}

/// The machine whose next `due` instant comes first (the first such host of equals), if it
/// is due by `now`.
fn first_due<T, D>(
    hosts: &mut [(Arc<str>, Machine<T>)],
    now: Duration,
    due: impl Fn(&Machine<T>) -> Option<D>,
    at: impl Fn(&D) -> Duration,
) -> Option<(&mut Machine<T>, D)> {
    hosts
        .iter_mut()
        .filter_map(|(_, machine)| due(machine).map(|due| (machine, due)))
        .min_by_key(|(_, due)| at(due))
        .filter(|(_, due)| at(due) <= now)
}

impl<T> Machines<T> {
    pub(crate) fn new(processing: Processing, seed: u64) -> Self {
        Machines {
            draws: (processing != Processing::None).then(|| ChaCha20Rng::seed_from_u64(seed)),
            hosts: Vec::new(),
            one_machine: processing == Processing::MeasuredOneMachine,
        }
    }

    /// The generator and `host`'s machine, if the model is on and there is a host to charge.
    fn charged(&mut self, host: Option<&Arc<str>>) -> Option<(&mut ChaCha20Rng, &mut Machine<T>)> {
        let (draws, host) = (self.draws.as_mut()?, host?);
        let machine: &str = match self.one_machine {
            true => ONE_MACHINE,
            false => host,
        };
        let place = match self
            .hosts
            .binary_search_by(|(name, _)| name.as_ref().cmp(machine))
        {
            Ok(place) => place,
            Err(place) => {
                self.hosts.insert(place, (machine.into(), Machine::new()));
                place
            }
        };
        Some((draws, &mut self.hosts[place].1))
    }

    /// A task of `host` was woken at `now`: hands it back if it runs at once (no model, or
    /// no host), or starts its poll on a free core of its host (once the host is awake: an
    /// idle host woken by an event wakes up first), or queues it for one.
    pub(crate) fn admit(
        &mut self,
        host: Option<&Arc<str>>,
        now: Duration,
        task: T,
        woken_by: WokenBy,
    ) -> Option<T> {
        let Some((draws, machine)) = self.charged(host) else {
            return Some(task);
        };
        if machine.running.len() < CORES {
            if machine.running.is_empty() {
                machine.awake_from = match woken_by {
                    WokenBy::Event => now + quantile(&MEASURED_WAKE, draws.random()),
                    WokenBy::Task | WokenBy::Displaced => now,
                };
            }
            let starts = match woken_by {
                WokenBy::Displaced => now + quantile(&MEASURED_WAKE, draws.random()),
                WokenBy::Event | WokenBy::Task => machine.awake_from.max(now),
            };
            machine
                .running
                .push((starts + quantile(&MEASURED_POLL, draws.random()), task));
        } else {
            machine.waiting.push_back(task);
        }
        None
    }

    /// When the next poll ends, on whichever host.
    pub(crate) fn next_done(&self) -> Option<Duration> {
        self.hosts
            .iter()
            .filter_map(|(_, machine)| machine.next_done().map(|(_, end)| end))
            .min()
    }

    /// The task whose poll ends first, due by `now`, to run now; its core starts on the
    /// next task waiting for its host.
    pub(crate) fn take_done(&mut self, now: Duration) -> Option<T> {
        let draws = self.draws.as_mut()?;
        let (machine, (core, done)) = first_due(&mut self.hosts, now, Machine::next_done, |(_, end)| *end)?;
        let (_, task) = machine.running.remove(core);
        if let Some(next) = machine.waiting.pop_front() {
            machine
                .running
                .push((done + quantile(&MEASURED_POLL, draws.random()), next));
        }
        Some(task)
    }

    /// A task of `host` sends `datagram` at `now`: hands it back to enter the network at
    /// once (no model, or no host), or holds it in the host's kernel, behind the ones sent
    /// before it.
    pub(crate) fn send(
        &mut self,
        host: Option<&Arc<str>>,
        now: Duration,
        datagram: Datagram,
    ) -> Option<Datagram> {
        let Some((draws, machine)) = self.charged(host) else {
            return Some(datagram);
        };
        let drawn = now + quantile(&MEASURED_KERNEL, draws.random());
        let leaves = machine.sending.back().map_or(drawn, |(last, _)| drawn.max(*last));
        machine.sending.push_back((leaves, datagram));
        None
    }

    /// When the next datagram leaves its host's kernel, on whichever host.
    pub(crate) fn next_sent(&self) -> Option<Duration> {
        self.hosts
            .iter()
            .filter_map(|(_, machine)| machine.next_sent())
            .min()
    }

    /// The datagram leaving its host's kernel first, due by `now`, to enter the network.
    pub(crate) fn take_sent(&mut self, now: Duration) -> Option<Datagram> {
        let (machine, _) = first_due(&mut self.hosts, now, Machine::next_sent, |leaves| *leaves)?;
        machine.sending.pop_front().map(|(_, datagram)| datagram)
    }

    /// How many woken tasks wait for a core or are in a poll.
    pub(crate) fn waiting(&self) -> usize {
        self.hosts
            .iter()
            .map(|(_, machine)| machine.running.len() + machine.waiting.len())
            .sum()
    }

    /// Takes every waiting task and every datagram in a kernel away, for the caller to drop
    /// (a task's future may lock what holds the machines as it drops).
    pub(crate) fn take_all(&mut self) -> impl Drop + use<T> {
        std::mem::take(&mut self.hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    fn machine<'a>(machines: &'a Machines<char>, host: &str) -> &'a Machine<char> {
        let known = machines.hosts.iter().find(|(name, _)| name.as_ref() == host);
        &known.expect("the host has a machine").1
    }

    #[test]
    fn without_the_model_or_a_host_a_task_runs_at_once() {
        let host: Arc<str> = "alice".into();
        let mut none = Machines::new(Processing::None, 1);
        assert_eq!(none.admit(Some(&host), us(5), 'a', WokenBy::Event), Some('a'));
        let mut measured = Machines::new(Processing::Measured, 1);
        assert_eq!(measured.admit(None, us(5), 'a', WokenBy::Event), Some('a'));
        assert_eq!((none.next_done(), measured.next_done()), (None, None));
    }

    #[test]
    fn a_host_polls_as_many_tasks_at_once_as_it_has_cores_and_queues_the_rest_in_order() {
        let host: Arc<str> = "alice".into();
        let mut cpus = Machines::new(Processing::Measured, 3);
        let woken = ['a', 'b', 'c', 'd'];
        for task in woken {
            assert_eq!(cpus.admit(Some(&host), us(0), task, WokenBy::Event), None);
        }
        assert_eq!(cpus.waiting(), 4);
        let queued = |cpus: &Machines<char>| machine(cpus, &host).waiting.iter().copied().collect::<Vec<_>>();
        assert_eq!(queued(&cpus), woken[CORES..], "the rest queue in wake order");
        let mut ran = Vec::new();
        let mut last = Duration::ZERO;
        while let Some(done) = cpus.next_done() {
            assert!(done >= last, "polls end in time order");
            assert!(
                cpus.take_done(done - Duration::from_nanos(1)).is_none(),
                "not before it ends"
            );
            ran.push(cpus.take_done(done).expect("due"));
            assert!(machine(&cpus, &host).running.len() == CORES || queued(&cpus).is_empty());
            if ran.len() == 1 {
                assert_eq!(
                    queued(&cpus),
                    woken[CORES + 1..],
                    "the first queued took the core"
                );
            }
            last = done;
        }
        ran.sort();
        assert_eq!(ran, woken);
    }

    #[test]
    fn draws_stay_within_the_measured_range_and_follow_its_quantiles() {
        for distribution in [&MEASURED_POLL, &MEASURED_WAKE, &MEASURED_KERNEL] {
            let (min, max) = (distribution[0].1, distribution[distribution.len() - 1].1);
            assert_eq!(quantile(distribution, 0.0), Duration::from_nanos(min));
            assert!(quantile(distribution, 0.999_999) <= Duration::from_nanos(max));
            for window in distribution.windows(2) {
                let [(p0, t0), (p1, t1)] = [window[0], window[1]];
                let mid = quantile(distribution, (p0 + p1) / 2.0).as_nanos() as u64;
                assert!((t0..=t1).contains(&mid), "{mid} ns outside [{t0}, {t1}]");
            }
        }
    }

    fn shortest(distribution: &Distribution) -> Duration {
        Duration::from_nanos(distribution[0].1)
    }

    fn longest(distribution: &Distribution) -> Duration {
        Duration::from_nanos(distribution[distribution.len() - 1].1)
    }

    /// When the polls `host` is running end, in the order they started.
    fn poll_ends(machines: &Machines<char>, host: &Arc<str>) -> Vec<Duration> {
        machine(machines, host)
            .running
            .iter()
            .map(|(end, _)| *end)
            .collect()
    }

    #[test]
    fn an_idle_host_woken_by_an_event_wakes_up_before_its_polls() {
        let host: Arc<str> = "alice".into();
        for seed in 1..=20 {
            let mut machines = Machines::new(Processing::Measured, seed);
            machines.admit(Some(&host), us(100), 'a', WokenBy::Event);
            machines.admit(Some(&host), us(100), 'b', WokenBy::Event);
            for end in poll_ends(&machines, &host) {
                assert!(end - us(100) > shortest(&MEASURED_WAKE), "seed {seed}: {end:?}");
            }
        }
    }

    #[test]
    fn a_task_woken_by_a_task_or_on_a_busy_host_starts_at_once_and_an_idle_host_wakes_anew() {
        let host: Arc<str> = "alice".into();
        for seed in 1..=20 {
            let mut machines = Machines::new(Processing::Measured, seed);
            machines.admit(Some(&host), us(100), 'a', WokenBy::Task);
            machines.admit(Some(&host), us(100), 'b', WokenBy::Event);
            let ends = poll_ends(&machines, &host);
            for end in &ends {
                assert!(*end - us(100) <= longest(&MEASURED_POLL), "seed {seed}: {end:?}");
            }
            let last = ends.into_iter().max().expect("two polls");
            while machines.take_done(last).is_some() {}
            machines.admit(Some(&host), last, 'c', WokenBy::Event);
            let [end] = poll_ends(&machines, &host)[..] else {
                panic!("one poll")
            };
            assert!(end - last > shortest(&MEASURED_WAKE), "idle again, seed {seed}");
        }
    }

    #[test]
    fn on_one_machine_every_host_shares_its_cores() {
        let (alice, bob): (Arc<str>, Arc<str>) = ("alice".into(), "bob".into());
        for (processing, running) in [(Processing::Measured, 4), (Processing::MeasuredOneMachine, CORES)] {
            let mut machines = Machines::new(processing, 1);
            for (host, task) in [(&alice, 'a'), (&alice, 'b'), (&bob, 'c'), (&bob, 'd')] {
                assert_eq!(machines.admit(Some(host), us(0), task, WokenBy::Event), None);
            }
            let polling: usize = (machines.hosts.iter())
                .map(|(_, machine)| machine.running.len())
                .sum();
            assert_eq!(polling, running, "{processing:?}");
            assert_eq!(machines.waiting(), 4);
        }
    }

    fn datagram(port: u16) -> Datagram {
        Datagram {
            from: ([127, 0, 0, 1], port).into(),
            to: ([127, 0, 0, 2], 5000).into(),
            transport: crate::net::Transport::Udp,
            payload: Vec::new(),
        }
    }

    #[test]
    fn a_datagram_leaves_its_hosts_kernel_after_a_drawn_latency_in_sending_order() {
        let (alice, bob): (Arc<str>, Arc<str>) = ("alice".into(), "bob".into());
        let mut none = Machines::<char>::new(Processing::None, 1);
        assert_eq!(none.send(Some(&alice), us(5), datagram(1)), Some(datagram(1)));
        let mut measured = Machines::<char>::new(Processing::Measured, 1);
        assert_eq!(measured.send(None, us(5), datagram(1)), Some(datagram(1)));
        assert_eq!((none.next_sent(), measured.next_sent()), (None, None));

        let (shortest, longest) = (shortest(&MEASURED_KERNEL), longest(&MEASURED_KERNEL));
        for port in 1..=50 {
            assert_eq!(measured.send(Some(&alice), us(0), datagram(port)), None);
        }
        assert_eq!(measured.send(Some(&bob), us(0), datagram(100)), None);
        let mut left = Vec::new();
        while let Some(at) = measured.next_sent() {
            assert!(at >= shortest, "not before the kernel's shortest latency: {at:?}");
            assert!(measured.take_sent(at - Duration::from_nanos(1)).is_none());
            left.push((at, measured.take_sent(at).expect("due").from.port()));
        }
        assert!(left.iter().all(|(at, _)| *at <= longest));
        let alices: Vec<u16> = left
            .iter()
            .map(|(_, port)| *port)
            .filter(|port| *port <= 50)
            .collect();
        assert_eq!(
            alices,
            (1..=50).collect::<Vec<_>>(),
            "one host's datagrams keep their order"
        );
        assert!(
            left.windows(2).all(|pair| pair[0].0 <= pair[1].0),
            "released in time order"
        );
        assert_eq!(left.len(), 51);
    }
}
