//! The virtual-time runtime: webrtc-rs's [`Runtime`] on one thread, one clock and the
//! simulated network.
//!
//! * [`SimRuntime::spawn`] puts tasks on one FIFO run queue (via `async-task`), so the same
//!   inputs always run in the same order.
//! * When the queue is empty, [`SimRuntime::run_until`] jumps the clock to the earliest
//!   timer or packet arrival: a 60 s call takes milliseconds, never a wall-clock sleep.
//!   Events due at one instant are released one at a time, each after the tasks the last
//!   one woke went idle, so no task finds two wake-up sources ready at once.
//! * A task that never goes idle (one that keeps yielding) does not hold back events due
//!   now: every [`RELEASE_BUDGET`] task runs, the next one is released anyway. The clock
//!   only moves when the queue is empty, or when all that is runnable is tasks back from a
//!   `yield_now`, which spin until time brings what they wait for.
//! * The apps' own tokio calls (`tokio::time::sleep`, `timeout`, `Instant::now`,
//!   `tokio::spawn`) run on the same virtual clock, in a paused tokio runtime the world
//!   drives ([`tokio_time`]): tokio's timers take their turn among the world's events. A
//!   world of the harness's built-in peers, which call no tokio, runs without it and plays
//!   the same ([`SimRuntime::without_tokio`]).
//! * When nothing is runnable or scheduled, only a tokio timer or a waker woken from another
//!   thread (wakers are `Send`) can still move the run: it waits for one ([`parking`])
//!   before it reports a deadlock — briefly in [`SimRuntime::run_until`], up to the
//!   watchdog in `block_on`.
//! * [`SimRuntime::spawn_on`] runs a future as a simulated host, and what it spawns inherits
//!   the host ([`host`]): an app's wildcard bind lands on that host's simulated address.
//! * [`SimRuntime::wrap_udp_socket`] keeps a real socket only to hold a 127.x address;
//!   datagrams go through [`Network`] and never through the kernel. webrtc-rs's mDNS socket
//!   becomes an inert stand-in ([`mdns`]).
//! * With [`Processing::Measured`] ([`SimRuntime::with_processing`]) each host is a CPU and
//!   a poll of one of its tasks takes a drawn, measured time ([`processing`]); by default
//!   computing is free.
//! * [`SimRuntime::realtime`] is the cross-check: the same network, on tokio and the wall
//!   clock (see [`wall`]).

mod clock;
pub mod entropy;
mod host;
mod mdns;
mod parking;
pub mod processing;
mod socket;
mod tasks;
mod tcp;
mod tokio_time;
mod wall;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_task::Runnable;
use webrtc::runtime::{AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, Runtime};

use crate::net::{Datagram, Network, Transport};
use clock::Clock;
use host::OnHost;
use mdns::InertMdnsSocket;
use parking::Parking;
use processing::{Machines, Processing, WokenBy};
use socket::Inbox;
pub use socket::SimUdpSocket;
use tasks::{LiveTasks, SimJoinHandle};
pub use tcp::{SimTcpListener, SimTcpStream};
use tokio_time::TokioTime;
use wall::Wall;

/// Why a run stopped before its main future finished.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stuck {
    /// Every task is blocked, no timer or packet is due, and no wake came from another
    /// thread in time: nothing can ever happen again.
    #[error("deadlock at virtual time {at:?}: every task is blocked and nothing is scheduled")]
    Deadlock { at: Duration },
    /// Virtual time reached the limit the caller set.
    #[error("virtual time limit {limit:?} reached")]
    TimeLimit { limit: Duration },
    /// The watchdog: this much wall-clock time passed (a livelock, or a stack spinning
    /// without letting virtual time move).
    #[error("watchdog: {limit:?} of wall-clock time passed, virtual time reached {at:?}")]
    Watchdog { limit: Duration, at: Duration },
    /// [`interrupt`] was called (Ctrl-C).
    #[error("interrupted at virtual time {at:?}")]
    Interrupted { at: Duration },
}

/// Set once by [`interrupt`]; every run then stops at its next look at the clock.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stops every run of this process soon, with [`Stuck::Interrupted`]: what Ctrl-C does.
/// Process-wide, like the signal it answers.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Release);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Acquire)
}

/// How far a run may go before it is declared stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub virtual_time: Duration,
    /// Wall-clock time, read only to stop a run that never ends; it never steers the
    /// simulation.
    pub wall_time: Option<Duration>,
}

impl From<Duration> for Limits {
    /// Only a virtual-time limit.
    fn from(virtual_time: Duration) -> Self {
        Limits {
            virtual_time,
            wall_time: None,
        }
    }
}

/// Task runs between two looks at the wall clock for the watchdog (and at [`interrupted`]).
const WATCHDOG_STRIDE: u32 = 256;

/// Task runs after which the next event due at the current instant is released even though
/// tasks are still runnable. A task that keeps yielding never lets the queue empty — such
/// as webrtc-rs's data-channel writer, which yields every 128 messages and, when the send
/// buffer is full, until the acks that free it arrive — and must not starve the datagrams
/// and timers due now. Far more runs than the tasks one event wakes usually take to go
/// idle, so in a call the ordinary rule (release when idle) still decides the order; few
/// enough that a spinning task holds an event back by little wall time and no virtual time.
/// When nothing is due now and every runnable task is only back from a
/// [`Runtime::yield_now`] — they spin, waiting for something that time must bring (the acks
/// a full send buffer waits for) — the next event is released anyway and the clock jumps to
/// it, as it would if they were idle: on a real clock, time passes while a task spins.
const RELEASE_BUDGET: usize = 128;

/// How long [`SimRuntime::run_until`] waits for a wake from another thread once nothing is
/// runnable or scheduled, before it reports a deadlock. A world runs everything on the
/// calling thread (it starts no threads, and webrtc-rs spawns on this runtime), so there an
/// idle run is a deadlock and this only delays its verdict, once; a caller that hands a
/// waker to a thread of its own gets woken if that thread answers within it.
const DEADLOCK_GRACE: Duration = Duration::from_millis(100);

/// What [`SimRuntime::advance_to_next_event`] did.
enum Advanced {
    /// It released an event, or tokio made something runnable.
    Moved,
    /// Nothing is runnable or scheduled since this instant, but perhaps a timer of tokio's.
    Idle { since: Duration },
}

/// What keeps time for a runtime's tasks.
enum Timekeeping {
    /// The virtual clock, with a paused tokio runtime following it for the apps' own tokio
    /// calls ([`tokio_time`]).
    VirtualWithTokio,
    /// The virtual clock alone: no task calls tokio.
    Virtual,
    /// tokio and the wall clock ([`wall`]).
    Wall(Wall),
}

/// The watchdog of `Runtime::block_on`, whose callers (`main`, test harnesses) set no
/// limits: as `netsim run --watchdog`'s default. Its future may wait on other threads for
/// any time, so a run idle in `block_on` waits for their wakes up to this.
const BLOCK_ON_WATCHDOG: Duration = Duration::from_secs(300);

/// The runtime handed to every peer connection of one world. Cheap to clone.
#[derive(Clone)]
pub struct SimRuntime {
    shared: Arc<Shared>,
    /// The host the tasks spawned through this handle run as ([`SimRuntime::on_host`]).
    host: Option<Arc<str>>,
}

/// A task on the run queue.
type Task = Runnable<TaskTag>;

/// What the executor knows of a task.
struct TaskTag {
    /// The host it runs as; none for the world's own tasks.
    host: Option<Arc<str>>,
    /// Unique in the world: tells a task waking itself from one waking others.
    id: u64,
    /// The harness looking on (the observer's reads of the connection), which no real app
    /// runs: it takes no processing time and no place in the LIFO slot.
    looks_on: bool,
}

impl std::fmt::Debug for SimRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRuntime")
            .field("now", &self.elapsed())
            .finish()
    }
}

struct Shared {
    state: Mutex<State>,
    /// Woken tasks in wake order, with what woke each.
    ready: Mutex<VecDeque<(Task, WokenBy)>>,
    /// Set while an event's waker (a datagram's, a timer's) is called: a task scheduled then
    /// was woken by the event, not by another task ([`processing`]).
    waking_for_event: AtomicBool,
    /// Where the driving thread waits for a task to be woken from another thread.
    parking: Arc<Parking>,
    /// Tasks spawned so far: the next one's id.
    spawned: AtomicU64,
    /// The tasks not finished, for [`SimRuntime::shut_down`] to drop.
    live: Arc<LiveTasks<TaskTag>>,
    /// Whether what woke a task matters, as it does only when polls take time: without the
    /// model, [`Shared::run`] leaves the run queue alone.
    charges_time: bool,
    /// Tasks (or the main future) back on the run queue from a [`Runtime::yield_now`], not
    /// polled since. Atomic, not in [`State`], since a yield may be dropped anywhere.
    yielding: AtomicUsize,
    /// Set in the wall-clock mode: tokio then runs tasks and timers, and `ready` and the
    /// virtual clock stay unused.
    wall: Option<Wall>,
    /// tokio on the virtual clock, for the apps' own tokio calls; none in the wall-clock
    /// mode, which is on tokio already, nor in a world no task of which calls tokio.
    tokio: Option<TokioTime>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("runtime state poisoned")
    }

    /// Runs `task`. Of the other tasks it wakes, the last is in the LIFO slot and every
    /// earlier one is [`WokenBy::Displaced`]; a task that wakes itself goes behind them (as a
    /// yield does on tokio), and the harness looking on takes no part.
    fn run(&self, task: Task) {
        if !self.charges_time {
            task.run();
            return;
        }
        let (running, before) = (
            task.metadata().id,
            self.ready.lock().expect("run queue poisoned").len(),
        );
        task.run();
        let mut ready = self.ready.lock().expect("run queue poisoned");
        let before = before.min(ready.len());
        let mut woken = (ready.range_mut(before..))
            .filter(|(task, woken_by)| {
                let tag = task.metadata();
                *woken_by == WokenBy::Task && tag.id != running && !tag.looks_on
            })
            .map(|(_, woken_by)| woken_by)
            .peekable();
        while let Some(woken_by) = woken.next() {
            if woken.peek().is_some() {
                *woken_by = WokenBy::Displaced;
            }
        }
    }
}

/// Everything the runtime's time and I/O act on, behind one lock (there is one thread).
pub(crate) struct State {
    pub(crate) clock: Clock,
    pub(crate) network: Network,
    sockets: BTreeMap<SocketAddr, Inbox>,
    /// The hosts' TCP stacks ([`tcp`]).
    tcp: tcp::Stacks,
    /// Datagrams that reached their host at the current instant but are not in their
    /// socket's inbox yet: they go in one socket at a time.
    arrived: VecDeque<(Duration, Datagram)>,
    /// Every address a socket was ever bound to, for the "only 127/8" guarantee.
    bound: Vec<SocketAddr>,
    /// Names the simulated DNS resolves (`stun.netsim` → its address).
    names: BTreeMap<String, IpAddr>,
    /// Each host's current interface address, where its wildcard binds land.
    hosts: BTreeMap<String, IpAddr>,
    /// The hosts' machines: their CPUs, the woken tasks waiting for them, the datagrams in
    /// their kernels ([`processing`]).
    machines: Machines<Task>,
}

impl SimRuntime {
    /// A runtime over `network`, at virtual time zero.
    pub fn new(network: Network) -> Self {
        Self::build(network, Timekeeping::VirtualWithTokio, Processing::None, 0)
    }

    /// A runtime over `network`, at virtual time zero, charging processing time as
    /// `processing` says, its draws seeded from `seed` (see [`processing`]).
    pub fn with_processing(network: Network, processing: Processing, seed: u64) -> Self {
        Self::build(network, Timekeeping::VirtualWithTokio, processing, seed)
    }

    /// [`SimRuntime::with_processing`] for a world none of whose tasks calls tokio, such as
    /// one of the harness's built-in peers only: no tokio runtime runs beside it, so the
    /// clock moves without a pass of tokio's scheduler at each millisecond it crosses. A
    /// tokio call in it panics, as it does outside any tokio runtime.
    pub(crate) fn without_tokio(network: Network, processing: Processing, seed: u64) -> Self {
        // A tokio runtime, as it is built and first runs, takes three of the thread's std
        // hash keys (for the seeds of its own random choices; counted with getrandom
        // fixed), and the keys every later `HashMap` of the thread gets, so the order
        // webrtc-rs iterates them in, follow from that (see `entropy`). Taken here too,
        // they make a world play the same without tokio as with it: a speed-up, not
        // another run.
        for _ in 0..3 {
            drop(std::collections::hash_map::RandomState::new());
        }
        Self::build(network, Timekeeping::Virtual, processing, seed)
    }

    /// A runtime over `network` on tokio and the wall clock, for cross-checking the virtual
    /// clock; it starts its own tokio threads.
    pub fn realtime(network: Network) -> io::Result<Self> {
        let runtime = Self::build(network, Timekeeping::Wall(Wall::new()?), Processing::None, 0);
        if let Some(wall) = &runtime.shared.wall {
            wall.start_delivery(Arc::downgrade(&runtime.shared));
        }
        Ok(runtime)
    }

    fn build(network: Network, timekeeping: Timekeeping, processing: Processing, seed: u64) -> Self {
        let shared = Arc::new_cyclic(|shared: &std::sync::Weak<Shared>| {
            let tokio = matches!(timekeeping, Timekeeping::VirtualWithTokio).then(|| {
                let shared = shared.clone();
                let follow = move |now| {
                    if let Some(shared) = shared.upgrade() {
                        shared.state().clock.advance_to(now);
                    }
                };
                TokioTime::new(clock::CLOCK_OFFSET, follow)
                    .expect("a current-thread tokio runtime without I/O builds")
            });
            let clock = match &tokio {
                Some(tokio) => Clock::starting_at(tokio.epoch()),
                None => Clock::new(),
            };
            let wall = match timekeeping {
                Timekeeping::Wall(wall) => Some(wall),
                Timekeeping::Virtual | Timekeeping::VirtualWithTokio => None,
            };
            Shared {
                state: Mutex::new(State {
                    clock,
                    network,
                    sockets: BTreeMap::new(),
                    tcp: tcp::Stacks::default(),
                    arrived: VecDeque::new(),
                    bound: Vec::new(),
                    names: BTreeMap::new(),
                    hosts: BTreeMap::new(),
                    machines: Machines::new(processing, seed),
                }),
                ready: Mutex::new(VecDeque::new()),
                waking_for_event: AtomicBool::new(false),
                spawned: AtomicU64::new(0),
                live: Arc::default(),
                charges_time: processing != Processing::None,
                parking: Arc::default(),
                yielding: AtomicUsize::new(0),
                wall,
                tokio,
            }
        });
        SimRuntime { shared, host: None }
    }

    /// This runtime, as a handle whose spawned tasks run as the simulated host `host`
    /// wherever they are spawned from: what a peer's connection is built with, so that all
    /// of its stack's work is its host's.
    pub fn on_host(&self, host: &str) -> SimRuntime {
        SimRuntime {
            shared: self.shared.clone(),
            host: Some(host.into()),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Time since the world started: virtual, or in the wall-clock mode, real.
    pub fn elapsed(&self) -> Duration {
        match &self.shared.wall {
            Some(wall) => wall.elapsed(),
            None => self.state().clock.now(),
        }
    }

    /// Runs `f` on the simulated network (to change links mid-call, read counters...).
    pub fn with_network<T>(&self, f: impl FnOnce(&mut Network) -> T) -> T {
        f(&mut self.state().network)
    }

    /// Makes `name` resolve to `ip` in [`Runtime::resolve_host`].
    pub fn add_name(&self, name: &str, ip: IpAddr) {
        self.state().names.insert(name.to_owned(), ip);
    }

    /// Makes `ip` the interface address of `host`: where the sockets its tasks bind on the
    /// wildcard land from now on. The world calls it again when the host moves.
    pub fn set_host_address(&self, host: &str, ip: IpAddr) {
        self.state().hosts.insert(host.to_owned(), ip);
    }

    /// Runs `future` as the simulated host `host`, as [`Runtime::spawn`] does; every task
    /// spawned from inside it runs as `host` too.
    pub fn spawn_on(
        &self,
        host: &str,
        future: impl Future<Output = ()> + Send + 'static,
    ) -> Box<dyn JoinHandle> {
        self.spawn_task(Some(host.into()), false, future)
    }

    /// Runs `future` as a task of the world's own (the signaling relay's forwarding), on no
    /// host whichever task spawns it: its work is no host's, so it takes no processing time.
    pub(crate) fn spawn_on_no_host(
        &self,
        future: impl Future<Output = ()> + Send + 'static,
    ) -> Box<dyn JoinHandle> {
        self.spawn_task(None, false, future)
    }

    /// Runs `future` as the harness looking on (reading what a peer's connection does not
    /// report itself): on no host, and, since no real app runs it, apart from the tasks the
    /// stack wakes ([`processing`]).
    pub(crate) fn spawn_looking_on(
        &self,
        future: impl Future<Output = ()> + Send + 'static,
    ) -> Box<dyn JoinHandle> {
        self.spawn_task(None, true, future)
    }

    /// `future`, run as the simulated host `host` wherever it is polled: what
    /// [`SimRuntime::spawn_on`] does for a task, for a future that is neither `Send` nor
    /// `'static`, such as the one a test hands to `Runtime::block_on`. Every task spawned from
    /// inside it runs as `host` too.
    pub fn as_host<F: Future>(&self, host: &str, future: F) -> impl Future<Output = F::Output> + use<F> {
        OnHost {
            host: host.into(),
            future: Box::pin(future),
        }
    }

    /// Every address a socket of this runtime was bound to.
    pub fn bound_addresses(&self) -> Vec<SocketAddr> {
        self.state().bound.clone()
    }

    /// Whether any live socket's real kernel socket has a datagram queued (it never should).
    pub fn kernel_received_anything(&self) -> bool {
        self.state().sockets.values().any(Inbox::kernel_has_datagram)
    }

    /// Drives `future` and every spawned task on the calling thread until `future` finishes,
    /// jumping the clock whenever all tasks are idle. Fails if nothing can happen any more
    /// (after [`DEADLOCK_GRACE`] without a wake from another thread), or if a limit is
    /// passed.
    pub fn run_until<F: Future>(&self, future: F, limits: impl Into<Limits>) -> Result<F::Output, Stuck> {
        self.drive(future, limits.into(), DEADLOCK_GRACE)
    }

    /// [`SimRuntime::run_until`], waiting up to `idle_wait` for a wake from another thread
    /// each time nothing is runnable or scheduled.
    fn drive<F: Future>(&self, future: F, limits: Limits, idle_wait: Duration) -> Result<F::Output, Stuck> {
        let Limits {
            virtual_time: limit,
            wall_time,
        } = limits;
        if let Some(wall) = &self.shared.wall {
            // Both limits are wall-clock time here; the watchdog is the shorter one.
            let watchdog = wall_time.filter(|watchdog| *watchdog < limit);
            return wall
                .block_on(future, watchdog.unwrap_or(limit))
                .map_err(|at| match watchdog {
                    _ if interrupted() => Stuck::Interrupted { at },
                    Some(limit) => Stuck::Watchdog { limit, at },
                    None => Stuck::TimeLimit { limit },
                });
        }
        let started = Instant::now();
        let mut steps: u32 = 0;
        let main_wake = Arc::new(MainWake {
            woken: AtomicBool::new(true),
            parking: self.shared.parking.clone(),
        });
        let main_waker = Waker::from(main_wake.clone());
        // Something is runnable besides tasks only back from a yield (see RELEASE_BUDGET).
        // Tasks waiting for their host's CPU may be back from a yield too, and are not
        // runnable: so many fewer yielders can be on the queue (which errs towards fresh).
        let fresh_work = || {
            let runnable = self.shared.ready.lock().expect("run queue poisoned").len()
                + usize::from(main_wake.woken.load(Ordering::Acquire));
            let waiting = self.state().machines.waiting();
            runnable
                > self
                    .shared
                    .yielding
                    .load(Ordering::Acquire)
                    .saturating_sub(waiting)
        };
        // The apps' tokio calls reach this world's tokio from every task polled below.
        let _tokio = self.shared.tokio.as_ref().map(TokioTime::enter);
        let mut future = std::pin::pin!(future);
        let mut runs_before_release = RELEASE_BUDGET;
        loop {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(WATCHDOG_STRIDE) {
                if interrupted() {
                    return Err(Stuck::Interrupted { at: self.elapsed() });
                }
                if let Some(wall_limit) = wall_time
                    && started.elapsed() > wall_limit
                {
                    return Err(Stuck::Watchdog {
                        limit: wall_limit,
                        at: self.elapsed(),
                    });
                }
            }
            if main_wake.woken.swap(false, Ordering::AcqRel)
                && let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&main_waker))
            {
                return Ok(output);
            }
            let next = self.shared.ready.lock().expect("run queue poisoned").pop_front();
            if let Some((runnable, woken_by)) = next {
                if let Some(runnable) = self.admit(runnable, woken_by) {
                    // Run at once: no model, or a task of the world's own (the relay's
                    // forwarding), which passes on to what it wakes the event that woke it.
                    self.shared
                        .waking_for_event
                        .store(woken_by == WokenBy::Event, Ordering::Release);
                    self.shared.run(runnable);
                    self.shared.waking_for_event.store(false, Ordering::Release);
                }
                runs_before_release -= 1;
                if runs_before_release == 0 {
                    self.release_event_while_busy(limit, &fresh_work)?;
                    // Every task queued now, the one just woken last, runs before the next.
                    let queued = self.shared.ready.lock().expect("run queue poisoned").len();
                    runs_before_release = RELEASE_BUDGET.max(queued);
                }
                continue;
            }
            if main_wake.woken.load(Ordering::Acquire) {
                continue;
            }
            let Advanced::Idle { since } = self.advance_to_next_event(limit, &fresh_work)? else {
                runs_before_release = RELEASE_BUDGET;
                continue;
            };
            // Nothing is runnable or scheduled: only a wake from another thread is left.
            let watchdog_left =
                wall_time.map_or(Duration::MAX, |limit| limit.saturating_sub(started.elapsed()));
            if !self.wait_for_wake(since, idle_wait.min(watchdog_left), &fresh_work) {
                return Err(match wall_time {
                    Some(limit) if started.elapsed() >= limit => Stuck::Watchdog { limit, at: since },
                    _ => Stuck::Deadlock { at: since },
                });
            }
        }
    }

    /// Nothing is runnable or scheduled: waits for tokio's timers and tasks to make
    /// something runnable, or for a wake from another thread, up to `timeout` of wall-clock
    /// time. Tells whether something happened.
    fn wait_for_wake(&self, now: Duration, timeout: Duration, fresh_work: &dyn Fn() -> bool) -> bool {
        match &self.shared.tokio {
            Some(tokio) => tokio.wait(now, &self.shared.parking, fresh_work, timeout),
            None => self.shared.parking.wait(timeout, fresh_work),
        }
    }

    /// Everything is idle: releases the next event — the datagrams that arrived for one
    /// socket, or one timer — and wakes the task waiting on it, jumping the clock if it is
    /// due later. Events at one instant are released one at a time (arrivals first, in
    /// arrival order, then timers in deadline and arming order), each after the tasks the
    /// previous one woke have run to idleness. So a task never finds two of its wake-up
    /// sources ready at once, and what it does never hangs on which one it picks first:
    /// webrtc-rs's driver picks among ready branches of a `futures::select!` at random (a
    /// per-thread generator whose state depends on everything run on that thread before).
    ///
    /// tokio's tasks and timers ([`tokio_time`]) run first, up to the event's instant; if
    /// what they do makes `fresh_work` hold, or schedules an earlier event, the clock stops
    /// there and the event waits.
    fn advance_to_next_event(
        &self,
        limit: Duration,
        fresh_work: &dyn Fn() -> bool,
    ) -> Result<Advanced, Stuck> {
        if self.release_within_tokio_millisecond(limit) {
            return Ok(Advanced::Moved);
        }
        let (now, next) = {
            let state = self.state();
            (state.clock.now(), state.next_event().map(|(at, _)| at))
        };
        if let Some(next) = next {
            let to = next.min(limit);
            match &self.shared.tokio {
                Some(tokio) if to > now || tokio.has_tasks() => {
                    let earlier_event = || self.state().next_event().is_some_and(|(at, _)| at < to);
                    let to = tokio.scheduled_part(now, to);
                    tokio.move_toward(now, to, &self.shared.parking, || fresh_work() || earlier_event());
                }
                Some(_) => {}
                // Where tokio's clock would stop, with nothing of tokio's to do.
                None => self.state().clock.advance_to(tokio_time::last_tick(to)),
            }
        }
        if fresh_work() {
            return Ok(Advanced::Moved);
        }
        let released = {
            let mut state = self.state();
            let Some((at, event)) = state.next_event() else {
                return Ok(Advanced::Idle { since: now });
            };
            if state.clock.now() < at.min(limit) {
                // tokio's clock stopped on the way: where something new was scheduled, or
                // at its last millisecond before the event.
                return Ok(Advanced::Moved);
            }
            if at > limit {
                return Err(Stuck::TimeLimit { limit });
            }
            state.release(at, event)
        };
        released.carry_out(&self.shared);
        Ok(Advanced::Moved)
    }

    /// [`SimRuntime::advance_to_next_event`]'s short cut: releases the next event if tokio
    /// has nothing to do before it ([`TokioTime::move_in_place`]), in one look at the
    /// state. Nothing runs between, so nothing of the world's becomes runnable either.
    ///
    /// A world without tokio keeps tokio's milliseconds too: an event past the next one is
    /// left to the long way, which first stops the clock on the last millisecond before
    /// it, as tokio's clock does. Nothing runs there but tasks spinning on a yield, which
    /// run once more; so a world plays the same with tokio (an app of the user's) as
    /// without (built-in peers only).
    fn release_within_tokio_millisecond(&self, limit: Duration) -> bool {
        let released = {
            let mut state = self.state();
            let now = state.clock.now();
            match state.next_event() {
                Some((at, event))
                    if at <= limit
                        && match &self.shared.tokio {
                            Some(tokio) => tokio.move_in_place(now, at),
                            None => !tokio_time::crosses_tick(now, at),
                        } =>
                {
                    state.release(at, event)
                }
                _ => return false,
            }
        };
        released.carry_out(&self.shared);
        true
    }

    /// Tasks are still runnable: releases the next event if it is due at the current
    /// instant, so the clock does not move under them, or, if all that is runnable is
    /// tasks back from a yield (`fresh_work` does not hold), whenever it is due (see
    /// [`RELEASE_BUDGET`]).
    fn release_event_while_busy(&self, limit: Duration, fresh_work: &dyn Fn() -> bool) -> Result<(), Stuck> {
        // Asked before the state is locked: it reads the state.
        let fresh = fresh_work();
        let released = {
            let mut state = self.state();
            match state.next_event() {
                Some((at, event)) if at <= state.clock.now() => state.release(at, event),
                _ if fresh => Released::Wake(None),
                _ => {
                    drop(state);
                    return self.advance_to_next_event(limit, fresh_work).map(drop);
                }
            }
        };
        released.carry_out(&self.shared);
        Ok(())
    }

    /// A task was woken: hands it back to run now, or queues it on its host's CPU.
    fn admit(&self, task: Task, woken_by: WokenBy) -> Option<Task> {
        let host = task.metadata().host.clone();
        let mut state = self.state();
        let now = state.clock.now();
        state.machines.admit(host.as_ref(), now, task, woken_by)
    }

    /// Drops every task, timer and packet so that tasks (which hold this runtime), the
    /// runtime (which holds their wakers) and tasks waiting on each other free each other
    /// at the end of a world.
    /// Also closes the real sockets: a run stopped midway (the watchdog) can leave tasks
    /// waiting on each other forever, and their addresses must not stay taken.
    pub fn shut_down(&self) {
        if let Some(wall) = &self.shared.wall {
            wall.shut_down();
        }
        if let Some(tokio) = &self.shared.tokio {
            tokio.shut_down();
        }
        let mut state = self.state();
        state.clock.clear();
        state.arrived.clear();
        state.sockets.clear();
        // Dropped unlocked: a waker they hold may be the last hold on a task, whose streams
        // then release themselves, through the state.
        let stacks = std::mem::take(&mut state.tcp);
        let waiting = state.machines.take_all();
        drop(state);
        drop(stacks);
        drop(waiting);
        self.drop_tasks();
    }

    /// Cancels every task still alive ([`tasks`]), and drops the futures of all of them:
    /// the peers' stacks are freed as the run ends, before its trace and metrics are built.
    /// A cancelled idle task is scheduled once more for its runnable to drop its future,
    /// and a future may spawn or wake others as it drops, so this goes on until none is left.
    fn drop_tasks(&self) {
        loop {
            // Taken out first: dropping a task may schedule another, which locks the queue.
            let live = self.shared.live.take_all();
            let queued = std::mem::take(&mut *self.shared.ready.lock().expect("run queue poisoned"));
            if live.is_empty() && queued.is_empty() {
                return;
            }
            drop(live);
            drop(queued);
        }
    }

    /// A datagram a task sends: into the network now, or once it leaves its host's kernel
    /// ([`processing`]).
    pub(crate) fn send_datagram(&self, datagram: Datagram) {
        let now = self.elapsed();
        let mut state = self.state();
        if let Some(datagram) = state.machines.send(host::current().as_ref(), now, datagram) {
            state.network.send(now, datagram);
        }
        drop(state);
        if let Some(wall) = &self.shared.wall {
            wall.datagram_sent();
        }
    }
}

impl State {
    /// Binds, in place of a socket at `foreign` (the wildcard, or an interface of the real
    /// machine: where webrtc-rs binds `0.0.0.0:0`), a real socket on the current host's
    /// simulated address, on `foreign`'s port if it is free there and on any port otherwise.
    /// The task binding it must run on a host ([`SimRuntime::spawn_on`]).
    fn rebind_on_current_host(&self, foreign: SocketAddr) -> io::Result<(std::net::UdpSocket, SocketAddr)> {
        let ip = self.current_host_ip().map_err(|why| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("{foreign} is not a simulated interface, and {why}"),
            )
        })?;
        let socket = std::net::UdpSocket::bind((ip, foreign.port()))
            .or_else(|_| std::net::UdpSocket::bind((ip, 0)))?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        Ok((socket, local))
    }

    /// The simulated address of the host the current task runs on; else why there is none.
    fn current_host_ip(&self) -> Result<IpAddr, String> {
        let Some(host) = host::current() else {
            return Err("its task runs on no simulated host".to_owned());
        };
        let Some(ip) = self.hosts.get(&*host).copied() else {
            return Err(format!("its host `{host}` has no address"));
        };
        if !self.network.has_interface(ip) {
            return Err(format!(
                "its host `{host}`'s address {ip} is no simulated interface"
            ));
        }
        Ok(ip)
    }

    /// The wall-clock mode's delivery: moves the network to `now` and queues everything
    /// that arrived on its sockets at once (tokio's scheduling is not reproducible anyway);
    /// returns the wakers of the tasks waiting on them.
    fn deliver_due(&mut self, now: Duration) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for (at, datagram) in self.network.advance(now) {
            match self.sockets.get_mut(&datagram.to) {
                Some(inbox) => wakers.extend(inbox.push(datagram)),
                None => self.network.port_unreachable(at, &datagram),
            }
        }
        wakers
    }
}

/// What [`SimRuntime::run_until`] can release next, in the order it releases events due at
/// one instant.
enum Event {
    /// Datagrams that reached their host at the current instant, for one socket at a time.
    Arrivals,
    /// The end of a poll on a host's CPU ([`processing`]).
    PollDone,
    /// A datagram leaving its host's kernel for the network ([`processing`]).
    Sent,
    /// A datagram reaching its next hop (which may be its host).
    Packet,
    /// A TCP stack's own timer (retransmission, delayed ACK, close): smoltcp's `poll_at`.
    TcpPoll,
    /// The earliest timer.
    Timer,
}

impl State {
    /// The next event and when it is due: arrivals waiting for their socket, then the end
    /// of a poll, then a datagram leaving a kernel, then a packet, then a TCP stack's poll,
    /// then a timer (at one instant, in that order).
    fn next_event(&self) -> Option<(Duration, Event)> {
        if !self.arrived.is_empty() {
            return Some((self.clock.now(), Event::Arrivals));
        }
        // Asked once per event released and more: one comparison per source, no list.
        let mut next = None;
        let mut unless_earlier = |at: Option<Duration>, event: Event| {
            // The first of equals stays: the order of the calls below breaks ties.
            if let Some(at) = at
                && next.as_ref().is_none_or(|(first, _)| at < *first)
            {
                next = Some((at, event));
            }
        };
        unless_earlier(self.machines.next_done(), Event::PollDone);
        unless_earlier(self.machines.next_sent(), Event::Sent);
        unless_earlier(self.network.next_event(), Event::Packet);
        unless_earlier(self.tcp.next_poll(), Event::TcpPoll);
        unless_earlier(self.clock.next_deadline(), Event::Timer);
        next
    }

    /// Releases `event`, due at `at`, moving the clock there; returns the waker of the task
    /// waiting on it, or the task whose poll ends now.
    fn release(&mut self, at: Duration, event: Event) -> Released {
        self.clock.advance_to(at);
        match event {
            Event::Arrivals => {}
            Event::PollDone => return Released::Wake(None).or_run(self.machines.take_done(at)),
            Event::Sent => {
                if let Some(datagram) = self.machines.take_sent(at) {
                    self.network.send(at, datagram);
                }
                return Released::Wake(None);
            }
            Event::Packet => {
                let arrived = self.network.advance(at);
                self.arrived.extend(arrived);
            }
            Event::TcpPoll => {
                // smoltcp wakes the tasks its timers concern itself.
                self.tcp.poll_due(&mut self.network, at);
                return Released::Wake(None);
            }
            Event::Timer => return Released::Wake(self.clock.fire_next()),
        }
        Released::Wake(self.deliver_next_arrivals())
    }

    /// Puts the first waiting datagram, and every other one waiting for the same socket, in
    /// that socket's inbox (together, as a kernel would have queued them); returns the waker
    /// of the task reading it. TCP segments go to their address's stack together, which
    /// reads them one by one and wakes the tasks they concern itself.
    fn deliver_next_arrivals(&mut self) -> Option<Waker> {
        let (_, first) = self.arrived.front()?;
        let (transport, to) = (first.transport, first.to);
        let together = |datagram: &Datagram| {
            datagram.transport == transport
                && match transport {
                    Transport::Udp => datagram.to == to,
                    Transport::Tcp => datagram.to.ip() == to.ip(),
                }
        };
        let mut waker = None;
        let mut rest = VecDeque::with_capacity(self.arrived.len());
        for (at, datagram) in std::mem::take(&mut self.arrived) {
            if !together(&datagram) {
                rest.push_back((at, datagram));
                continue;
            }
            if transport == Transport::Tcp {
                self.tcp.arrive(&mut self.network, at, datagram);
                continue;
            }
            match self.sockets.get_mut(&to) {
                Some(inbox) => waker = inbox.push(datagram).or(waker),
                None => self.network.port_unreachable(at, &datagram),
            }
        }
        self.arrived = rest;
        waker
    }
}

/// What releasing an event hands the executor.
enum Released {
    /// The waker of the task waiting on it.
    Wake(Option<Waker>),
    /// A task whose poll on its host's CPU ends now: it runs at once.
    Run(Task),
}

impl Released {
    fn or_run(self, task: Option<Task>) -> Self {
        task.map_or(self, Released::Run)
    }

    /// Wakes the task, or runs it; called with no lock held.
    fn carry_out(self, shared: &Shared) {
        match self {
            Released::Wake(waker) => {
                shared.waking_for_event.store(true, Ordering::Release);
                waker.into_iter().for_each(Waker::wake);
                shared.waking_for_event.store(false, Ordering::Release);
            }
            Released::Run(task) => shared.run(task),
        }
    }
}

/// Wakes the main future of [`SimRuntime::run_until`], which is polled in place.
struct MainWake {
    woken: AtomicBool,
    parking: Arc<Parking>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.parking.notify();
    }
}

/// A timer on the virtual clock; dropping it disarms it.
struct Sleep {
    runtime: SimRuntime,
    key: (Duration, u64),
    done: bool,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let due = self.runtime.state().clock.poll_timer(self.key, cx.waker());
        self.done = due;
        if due { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.done {
            self.runtime.state().clock.cancel(self.key);
        }
    }
}

impl SimRuntime {
    fn sleep_until(&self, deadline: Duration) -> Sleep {
        let key = self.state().clock.arm(deadline);
        Sleep {
            runtime: self.clone(),
            key,
            done: false,
        }
    }
}

/// [`Runtime::yield_now`] on the virtual clock: pending once, woken at once, counted in
/// `Shared::yielding` until polled again.
struct YieldNow {
    runtime: SimRuntime,
    counted: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.counted {
            self.counted = false;
            self.runtime.shared.yielding.fetch_sub(1, Ordering::AcqRel);
            return Poll::Ready(());
        }
        self.counted = true;
        self.runtime.shared.yielding.fetch_add(1, Ordering::AcqRel);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for YieldNow {
    fn drop(&mut self) {
        if self.counted {
            self.runtime.shared.yielding.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Ticks at `start + n × period`, like tokio's default, so a slow tick does not drift.
struct SimInterval {
    runtime: SimRuntime,
    next: Duration,
    period: Duration,
}

impl AsyncInterval for SimInterval {
    fn tick(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let deadline = self.next;
        self.next += self.period;
        Box::pin(self.runtime.sleep_until(deadline))
    }
}

impl Runtime for SimRuntime {
    /// Spawned from a task that runs on a host, the new task runs on it too; spawned through
    /// a handle of [`SimRuntime::on_host`], on that host.
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        let host = self.host.clone().or_else(host::current);
        self.spawn_task(host, false, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let local = socket.local_addr()?;
        if mdns::is_mdns(local) {
            return Ok(Arc::new(InertMdnsSocket::new(local)));
        }
        let mut state = self.state();
        let (socket, local) = if state.network.has_interface(local.ip()) {
            (socket, local)
        } else {
            // Closed first, so its port is free to ask for on the simulated address.
            drop(socket);
            state.rebind_on_current_host(local)?
        };
        if !local.ip().is_loopback() || !local.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("the simulation only binds 127.0.0.0/8 addresses, not {local}"),
            ));
        }
        state.sockets.insert(local, Inbox::new(socket));
        state.bound.push(local);
        drop(state);
        Ok(Arc::new(SimUdpSocket::new(self.clone(), local)))
    }

    /// Takes the listener's address, as [`SimRuntime::wrap_udp_socket`] does a socket's,
    /// and listens there on the simulated TCP stack ([`tcp`]); the real listener is closed.
    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        let local = listener.local_addr()?;
        drop(listener);
        if self.shared.wall.is_some() {
            return Err(tcp_needs_the_virtual_clock());
        }
        self.listen_tcp(local)
    }

    /// Connects from the current host's address through the simulated TCP stack ([`tcp`]).
    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        Box::pin(async move {
            if self.shared.wall.is_some() {
                return Err(tcp_needs_the_virtual_clock());
            }
            self.open_tcp(remote_addr).await
        })
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let resolved = self.resolve(host);
        Box::pin(async move { resolved })
    }

    fn now(&self) -> Instant {
        if self.shared.wall.is_some() {
            return Instant::now();
        }
        let state = self.state();
        state.clock.instant_at(state.clock.now())
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if let Some(wall) = &self.shared.wall {
            return wall.sleep(duration);
        }
        let deadline = self.elapsed() + duration;
        Box::pin(self.sleep_until(deadline))
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        if let Some(wall) = &self.shared.wall {
            return wall.interval(period);
        }
        Box::new(SimInterval {
            runtime: self.clone(),
            next: self.elapsed(),
            period,
        })
    }

    /// Waits for wakes from other threads up to [`BLOCK_ON_WATCHDOG`]: the contract lets
    /// the future wait on them.
    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        let limits = Limits {
            virtual_time: Duration::MAX,
            wall_time: Some(BLOCK_ON_WATCHDOG),
        };
        if let Err(stuck) = self.drive(future, limits, Duration::MAX) {
            panic!("SimRuntime::block_on: {stuck}");
        }
    }

    /// Back on the run queue at once, as the default does; counted while it waits there, so
    /// that tasks that only spin on yields let the clock move (see [`RELEASE_BUDGET`]).
    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if self.shared.wall.is_some() {
            // The trait's default: tokio runs the tasks, and its clock does not wait for them.
            let mut yielded = false;
            return Box::pin(futures::future::poll_fn(move |cx| {
                if yielded {
                    return Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }));
        }
        Box::pin(YieldNow {
            runtime: self.clone(),
            counted: false,
        })
    }

    fn name(&self) -> &'static str {
        match self.shared.wall {
            Some(_) => "webrtc-netsim wall clock (tokio)",
            None => "webrtc-netsim virtual time",
        }
    }
}

/// The wall-clock mode has no TCP: its stack's timers run on the virtual clock's events.
fn tcp_needs_the_virtual_clock() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the simulated TCP runs on the virtual clock only, not in the wall-clock mode",
    )
}

impl SimRuntime {
    /// Puts `future` on the run queue (or, in the wall-clock mode, on tokio), as `host` if
    /// it runs on one.
    fn spawn_task(
        &self,
        host: Option<Arc<str>>,
        looks_on: bool,
        future: impl Future<Output = ()> + Send + 'static,
    ) -> Box<dyn JoinHandle> {
        let future: Pin<Box<dyn Future<Output = ()> + Send>> = match host.clone() {
            Some(host) => Box::pin(OnHost {
                host,
                future: Box::pin(future),
            }),
            None => Box::pin(future),
        };
        if let Some(wall) = &self.shared.wall {
            return wall.spawn(future);
        }
        let shared = Arc::downgrade(&self.shared);
        let schedule = move |runnable: Task| {
            if let Some(shared) = shared.upgrade() {
                let woken_by = match shared.waking_for_event.load(Ordering::Acquire) {
                    true => WokenBy::Event,
                    false => WokenBy::Task,
                };
                shared
                    .ready
                    .lock()
                    .expect("run queue poisoned")
                    .push_back((runnable, woken_by));
                shared.parking.notify();
            }
        };
        let id = self.shared.spawned.fetch_add(1, Ordering::Relaxed);
        let tag = TaskTag { host, id, looks_on };
        let (runnable, task) = async_task::Builder::new()
            .metadata(tag)
            .spawn(move |_| future, schedule);
        self.shared.live.add(id, task);
        runnable.schedule();
        Box::new(SimJoinHandle {
            id,
            tasks: Arc::downgrade(&self.shared.live),
        })
    }

    /// Resolves `host:port` through the simulated DNS; IP literals resolve to themselves.
    fn resolve(&self, host: &str) -> io::Result<Vec<SocketAddr>> {
        if let Ok(addr) = host.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        let (name, port) = host.rsplit_once(':').ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("`{host}` is not host:port"))
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad port in `{host}`")))?;
        let ip = self.state().names.get(name).copied().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("the simulated DNS has no name `{name}`"),
            )
        })?;
        Ok(vec![SocketAddr::new(ip, port)])
    }
}

#[cfg(test)]
mod tests;
