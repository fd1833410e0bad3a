//! Processing time: each simulated host is a CPU, and a poll of one of its tasks takes time.
//!
//! On the bare virtual clock computing is free, so everything a datagram or a timer sets off
//! happens at the very instant it was released, and what two things due at one instant do
//! is settled by the executor's fixed order — the same way for every seed. webrtc-rs has
//! races that a real machine settles by how long its work took (its driver loop writes,
//! handles events, reads, then sleeps to the next timer, so a step that comes in after the
//! writes ran waits a whole 200 ms ICE tick), and they then always come out one way.
//!
//! With [`Processing::Measured`], a run charges virtual time for that work:
//!
//! * Each host (the host a task runs as, see [`super::host`]) is a CPU of [`CORES`] cores.
//!   A poll of one of its tasks occupies a core for a duration drawn from
//!   [`MEASURED_POLL`], with a generator seeded from the scenario's seed.
//! * A woken task (by a datagram, a timer, another task) starts its poll on a free core of
//!   its host, or queues for one in the order it was woken. The task *runs at the end* of
//!   its drawn duration, all at once: it reads the clock, and what it sends leaves, once its
//!   work is done, as a reply on a real host leaves after the work that made it.
//! * Events (datagram arrivals, timers) are still released at their own time, so a host can
//!   be busy when a datagram arrives and handle it late, and two tasks racing to an instant
//!   are settled by how long each took to get there — differently for each seed.
//! * The end of a poll is one more event of the executor, taking its turn with arrivals and
//!   timers (first among those due at one instant), so the rest of the executor's rules
//!   (events released one at a time, the clock jumping when everything is idle) stay.
//! * Not charged: polls of tasks that run on no host (the harness's own), the future a run
//!   drives, and tasks on tokio's runtime.
//!
//! Why two cores: stock webrtc-rs runs on tokio's multi-threaded runtime, where the task a
//! poll wakes starts on another worker while the first is still busy, and the machine
//! reality was measured on has two. With one core per host, the branch where the caller's
//! ICE agent pings before the remote candidate is in never came up at 50 ms one way (20
//! seeds: 500 and 550 ms only; reality: mostly 706); with two, it does.
//!
//! [`Processing::None`] charges nothing: computing is free and every run is the exact
//! arithmetic of delays and timers, as it was before this model existed.
//!
//! Not modelled: the kernel (system calls, a thread's wake-up latency, tokio's 1 ms timer
//! wheel), the work done outside a host's tasks, and a host's other load.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Whether a run charges virtual time for the work its hosts do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Processing {
    /// Computing is free: the exact arithmetic of delays and timers.
    #[default]
    None,
    /// Each poll of a host's task occupies that host for a duration drawn from the measured
    /// distribution, seeded from the scenario's seed.
    Measured,
}

/// The measured distribution of one poll's duration: `(cumulative share, nanoseconds)`,
/// from the minimum (share 0) to the maximum (share 1).
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

/// A draw from [`MEASURED_POLL`] by inverse transform: `u`, uniform in `[0, 1)`, falls
/// between two measured quantiles and is interpolated linearly between them.
fn quantile(u: f64) -> Duration {
    let upper = MEASURED_POLL
        .iter()
        .position(|(share, _)| *share > u)
        .unwrap_or(MEASURED_POLL.len() - 1);
    let ((p0, t0), (p1, t1)) = (MEASURED_POLL[upper - 1], MEASURED_POLL[upper]);
    let within = if p1 > p0 { (u - p0) / (p1 - p0) } else { 0.0 };
    Duration::from_nanos(t0 + ((t1 - t0) as f64 * within) as u64)
}

/// The CPUs of a world's hosts: the polls in progress on each and the woken tasks waiting
/// for it. Empty, and never consulted, with [`Processing::None`].
pub(crate) struct Cpus<T> {
    /// The generator of poll durations; none with [`Processing::None`].
    draws: Option<ChaCha20Rng>,
    hosts: BTreeMap<Arc<str>, Cpu<T>>,
}

/// Cores per host.
pub(crate) const CORES: usize = 2;

struct Cpu<T> {
    /// Polls in progress, each with the instant it ends: at most [`CORES`].
    running: Vec<(Duration, T)>,
    waiting: VecDeque<T>,
}

impl<T> Cpus<T> {
    pub(crate) fn new(processing: Processing, seed: u64) -> Self {
        Cpus {
            draws: (processing == Processing::Measured).then(|| ChaCha20Rng::seed_from_u64(seed)),
            hosts: BTreeMap::new(),
        }
    }

    /// A task of `host` was woken at `now`: hands it back if it runs at once (no model, or
    /// no host), or starts its poll on a free core of its host, or queues it for one.
    pub(crate) fn admit(&mut self, host: Option<&Arc<str>>, now: Duration, task: T) -> Option<T> {
        let (Some(draws), Some(host)) = (self.draws.as_mut(), host) else {
            return Some(task);
        };
        let cpu = self.hosts.entry(host.clone()).or_insert_with(|| Cpu {
            running: Vec::new(),
            waiting: VecDeque::new(),
        });
        if cpu.running.len() < CORES {
            cpu.running.push((now + quantile(draws.random()), task));
        } else {
            cpu.waiting.push_back(task);
        }
        None
    }

    /// When the next poll ends, on whichever host.
    pub(crate) fn next_done(&self) -> Option<Duration> {
        self.hosts
            .values()
            .flat_map(|cpu| cpu.running.iter().map(|(end, _)| *end))
            .min()
    }

    /// The task whose poll ends first, due by `now`, to run now; its core starts on the
    /// next task waiting for its host.
    pub(crate) fn take_done(&mut self, now: Duration) -> Option<T> {
        let done = self.next_done().filter(|done| *done <= now)?;
        let draws = self.draws.as_mut()?;
        let cpu = self
            .hosts
            .values_mut()
            .find(|cpu| cpu.running.iter().any(|(end, _)| *end == done))?;
        let core = cpu.running.iter().position(|(end, _)| *end == done)?;
        let (_, task) = cpu.running.remove(core);
        if let Some(next) = cpu.waiting.pop_front() {
            cpu.running.push((done + quantile(draws.random()), next));
        }
        Some(task)
    }

    /// How many woken tasks wait for a core or are in a poll.
    pub(crate) fn waiting(&self) -> usize {
        self.hosts
            .values()
            .map(|cpu| cpu.running.len() + cpu.waiting.len())
            .sum()
    }

    /// Drops every waiting task.
    pub(crate) fn clear(&mut self) {
        self.hosts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    #[test]
    fn without_the_model_or_a_host_a_task_runs_at_once() {
        let host: Arc<str> = "alice".into();
        let mut none = Cpus::new(Processing::None, 1);
        assert_eq!(none.admit(Some(&host), us(5), 'a'), Some('a'));
        let mut measured = Cpus::new(Processing::Measured, 1);
        assert_eq!(measured.admit(None, us(5), 'a'), Some('a'));
        assert_eq!((none.next_done(), measured.next_done()), (None, None));
    }

    #[test]
    fn a_host_polls_as_many_tasks_at_once_as_it_has_cores_and_queues_the_rest_in_order() {
        let host: Arc<str> = "alice".into();
        let mut cpus = Cpus::new(Processing::Measured, 3);
        let woken = ['a', 'b', 'c', 'd'];
        for task in woken {
            assert_eq!(cpus.admit(Some(&host), us(0), task), None);
        }
        assert_eq!(cpus.waiting(), 4);
        let queued = |cpus: &Cpus<char>| cpus.hosts[&host].waiting.iter().copied().collect::<Vec<_>>();
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
            assert!(cpus.hosts[&host].running.len() == CORES || queued(&cpus).is_empty());
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
        let (min, max) = (MEASURED_POLL[0].1, MEASURED_POLL[MEASURED_POLL.len() - 1].1);
        assert_eq!(quantile(0.0), Duration::from_nanos(min));
        assert!(quantile(0.999_999) <= Duration::from_nanos(max));
        for window in MEASURED_POLL.windows(2) {
            let [(p0, t0), (p1, t1)] = [window[0], window[1]];
            let mid = quantile((p0 + p1) / 2.0).as_nanos() as u64;
            assert!((t0..=t1).contains(&mid), "{mid} ns outside [{t0}, {t1}]");
        }
    }
}
