//! tokio on the virtual clock: an app's `tokio::time::sleep`, `timeout`, `interval` and
//! `Instant::now`, and the tasks it `tokio::spawn`s, work inside a world and read the
//! world's time, so an app written for tokio runs unchanged.
//!
//! A world owns a current-thread tokio runtime with paused time, as each of turmoil's hosts
//! does, and the two clocks never disagree: `tokio::time::Instant::now()` is
//! `Runtime::now()`. The virtual clock stays in charge and moves from event to event to the
//! nanosecond. tokio's timers fire on whole milliseconds since its start, its resolution on
//! a real runtime too, so they get their turn whenever the clock would cross a millisecond:
//! the world then lets tokio's paused clock jump on its own, as paused tokio does when it is
//! idle, to its next timer or to the last millisecond before the world's next event,
//! whichever comes first. Within a millisecond the clock moves exactly.
//!
//! Same seed, same run still holds: tokio's current-thread scheduler runs tasks in the
//! order they were woken, and nothing here reads the wall clock.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::parking::{Alarm, Parking};

/// tokio's timer resolution.
const TICK: Duration = Duration::from_millis(1);

pub(crate) struct TokioTime {
    /// Taken at shut-down, which drops tokio's tasks.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    /// Asked at every move of the clock whether tokio has tasks: kept, not made anew.
    metrics: tokio::runtime::RuntimeMetrics,
    /// tokio's instant at virtual time zero, on one of its milliseconds.
    epoch: tokio::time::Instant,
    /// Tells the virtual clock where tokio's clock went.
    follow: Arc<dyn Fn(Duration) + Send + Sync>,
    idle: Arc<IdleWatch>,
}

impl TokioTime {
    /// A paused tokio runtime whose virtual time zero lies `offset` after its start.
    /// `follow(t)` moves the virtual clock to `t`: it is called before tokio's tasks run at
    /// an instant tokio's clock jumped to on its own.
    pub(crate) fn new(
        offset: Duration,
        follow: impl Fn(Duration) + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let follow: Arc<dyn Fn(Duration) + Send + Sync> = Arc::new(follow);
        let idle = Arc::new(IdleWatch::default());
        let epoch_once = Arc::new(OnceLock::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .on_thread_park({
                let idle = idle.clone();
                move || idle.on_park()
            })
            .on_thread_unpark({
                let (epoch, follow) = (epoch_once.clone(), follow.clone());
                move || {
                    if let Some(epoch) = epoch.get() {
                        follow(tokio::time::Instant::now() - *epoch);
                    }
                }
            })
            .build()?;
        let epoch = runtime.block_on(async {
            tokio::time::advance(offset).await;
            tokio::time::Instant::now()
        });
        epoch_once.set(epoch).expect("the epoch is set once");
        Ok(TokioTime {
            handle: runtime.handle().clone(),
            metrics: runtime.metrics(),
            runtime: Mutex::new(Some(runtime)),
            epoch,
            follow,
            idle,
        })
    }

    /// The `std::time::Instant` of virtual time zero.
    pub(crate) fn epoch(&self) -> std::time::Instant {
        self.epoch.into_std()
    }

    /// Makes tokio's API reach this runtime from the calling thread while the guard lives.
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.handle.enter()
    }

    /// Whether any task spawned on tokio is still alive.
    pub(crate) fn has_tasks(&self) -> bool {
        self.metrics.num_alive_tasks() > 0
    }

    /// Moves tokio's clock alone from `from` to `to` if nothing of tokio's can happen on the
    /// way: no task of its is alive and no millisecond of its lies between, so no timer of
    /// its can fire. Tells whether it did; the caller moves the virtual clock. Most of the
    /// clock's moves with [`super::Processing::Measured`] are such short steps, from the
    /// end of one drawn duration to the next, and this takes no turn of tokio's scheduler.
    pub(crate) fn move_in_place(&self, from: Duration, to: Duration) -> bool {
        if crosses_tick(from, to) || self.has_tasks() {
            return false;
        }
        if to > from {
            // `tokio::time::advance` moves the clock on its first poll; the yield that
            // follows, made outside tokio's scheduler, only wakes the no-op waker.
            let _tokio = self.enter();
            let advance = pin!(tokio::time::advance(to - from));
            let _yielded = advance.poll(&mut std::task::Context::from_waker(Waker::noop()));
        }
        true
    }

    /// Where tokio's scheduler must take the clock on the way from `from` to `to`: all the
    /// way if tokio has tasks or no millisecond of its lies between; else only to its last
    /// millisecond before `to`, where its timers last fire, and the rest of the way is one
    /// [`TokioTime::move_in_place`]. A pass of tokio's scheduler fewer for most moves with
    /// [`super::Processing::Measured`], whose drawn durations end between milliseconds.
    pub(crate) fn scheduled_part(&self, from: Duration, to: Duration) -> Duration {
        let last = last_tick(to);
        if last <= from || self.has_tasks() {
            to
        } else {
            last
        }
    }

    /// Runs what is runnable on tokio, and moves tokio's clock (and through `follow` the
    /// virtual clock) from `from` toward `to`, stopping as soon as `stop()` holds once
    /// tokio is idle: something of the world's became runnable, or due before `to`. Wakes
    /// through `parking` end the wait. Returns at once after shut-down.
    pub(crate) fn move_toward(
        &self,
        from: Duration,
        to: Duration,
        parking: &Parking,
        stop: impl Fn() -> bool,
    ) {
        self.block_on(async {
            let mut now = from;
            loop {
                if self.has_tasks() {
                    self.until_idle(parking, &stop, None, None).await;
                }
                if now >= to || stop() {
                    return;
                }
                match next_step(now, to) {
                    Step::Exactly(at) => self.advance_exactly(now, at).await,
                    Step::Jump(at) => {
                        let sleep = pin!(tokio::time::sleep_until(self.epoch + at));
                        self.until_idle(parking, &stop, Some(self.epoch + now), Some(sleep))
                            .await;
                    }
                }
                now = tokio::time::Instant::now() - self.epoch;
            }
        });
    }

    /// The world has nothing scheduled: runs tokio until one of its timers fires (its clock
    /// jumps there) and what that woke is done, or until `stop()` holds (a wake, perhaps
    /// from another thread), for at most `timeout` of wall-clock time. Tells whether anything
    /// happened; not if tokio has neither a task to run nor a timer, nor a wake comes. The
    /// clock first moves to tokio's next millisecond, from where its own jumps start.
    pub(crate) fn wait(
        &self,
        now: Duration,
        parking: &Arc<Parking>,
        stop: impl Fn() -> bool,
        timeout: Duration,
    ) -> bool {
        self.block_on(async {
            let alarm = Alarm::set(timeout, parking.clone());
            let stop = || stop() || alarm.rang();
            let tick = next_tick(now);
            let on_tick = if now.as_nanos().is_multiple_of(TICK.as_nanos()) {
                now
            } else {
                self.advance_exactly(now, tick).await;
                tick
            };
            self.until_idle(parking, &stop, Some(self.epoch + on_tick), None)
                .await;
            !alarm.rang()
        })
        .unwrap_or(false)
    }

    /// Drives `future` on tokio's runtime; nothing after shut-down.
    fn block_on<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        self.runtime().as_ref().map(|runtime| runtime.block_on(future))
    }

    /// Moves both clocks from `now` to `to`, which no millisecond of tokio's lies before.
    async fn advance_exactly(&self, now: Duration, to: Duration) {
        (self.follow)(to);
        tokio::time::advance(to - now).await;
    }

    /// Waits until tokio is idle (with its clock moved off `unless_at`, if given: one of its
    /// timers fired and what it woke ran), until `sleep` is over, or until `stop()` holds.
    async fn until_idle(
        &self,
        parking: &Parking,
        stop: &impl Fn() -> bool,
        unless_at: Option<tokio::time::Instant>,
        mut sleep: Option<Pin<&mut tokio::time::Sleep>>,
    ) {
        let mut armed = false;
        std::future::poll_fn(|cx| {
            if armed && !self.idle.armed() {
                return Poll::Ready(());
            }
            if let Some(sleep) = sleep.as_mut()
                && sleep.as_mut().poll(cx).is_ready()
            {
                return Poll::Ready(());
            }
            armed = true;
            self.watch_or_stop(cx.waker(), parking, stop, unless_at)
        })
        .await;
        self.idle.disarm();
        parking.forget_future();
    }

    /// Has `waker` woken when tokio goes idle (once its clock left `unless_at`, if given),
    /// or at the world's next wake; ready at once if `stop()` already holds.
    fn watch_or_stop(
        &self,
        waker: &Waker,
        parking: &Parking,
        stop: &impl Fn() -> bool,
        unless_at: Option<tokio::time::Instant>,
    ) -> Poll<()> {
        self.idle.arm(waker, unless_at);
        parking.wake_on_notify(waker);
        if stop() {
            self.idle.disarm();
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Ends tokio's tasks, which may hold the world's runtime, so that both are freed.
    pub(crate) fn shut_down(&self) {
        if let Some(runtime) = self.runtime().take() {
            runtime.shutdown_background();
        }
    }

    fn runtime(&self) -> MutexGuard<'_, Option<tokio::runtime::Runtime>> {
        self.runtime
            .lock()
            .expect("SimRuntime: a world's run queue was driven from inside its own tokio runtime")
    }
}

/// How tokio's clock moves next on the way from `now` to `to`.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Straight to this instant: no millisecond of tokio's lies before it.
    Exactly(Duration),
    /// Let tokio's clock jump, millisecond by millisecond, to this instant or to the first
    /// of tokio's timers before it.
    Jump(Duration),
}

fn next_step(now: Duration, to: Duration) -> Step {
    let tick = next_tick(now);
    if to <= tick {
        Step::Exactly(to)
    } else if now.as_nanos().is_multiple_of(TICK.as_nanos()) {
        Step::Jump(last_tick(to))
    } else {
        Step::Exactly(tick)
    }
}

/// tokio's first millisecond after `now`.
fn next_tick(now: Duration) -> Duration {
    last_tick(now) + TICK
}

/// Whether a move of the clock from `from` to `to` reaches one of tokio's milliseconds,
/// where its timers fire.
pub(super) fn crosses_tick(from: Duration, to: Duration) -> bool {
    to >= next_tick(from)
}

/// tokio's last millisecond at or before `at`.
pub(super) fn last_tick(at: Duration) -> Duration {
    Duration::from_millis((at.as_nanos() / TICK.as_nanos()) as u64)
}

/// Wakes the future moving tokio's clock when tokio is about to park: idle, with nothing
/// left to run at this instant.
#[derive(Default)]
struct IdleWatch(Mutex<Option<Watch>>);

struct Watch {
    waker: Waker,
    /// Not while tokio's clock still reads this: then no timer of tokio's fired yet, and
    /// tokio's clock may jump on.
    unless_at: Option<tokio::time::Instant>,
}

impl IdleWatch {
    fn on_park(&self) {
        let mut watch = self.watch();
        let due = watch
            .as_ref()
            .is_some_and(|watch| watch.unless_at != Some(tokio::time::Instant::now()));
        if due && let Some(watch) = watch.take() {
            watch.waker.wake();
        }
    }

    fn arm(&self, waker: &Waker, unless_at: Option<tokio::time::Instant>) {
        *self.watch() = Some(Watch {
            waker: waker.clone(),
            unless_at,
        });
    }

    fn armed(&self) -> bool {
        self.watch().is_some()
    }

    fn disarm(&self) {
        self.watch().take();
    }

    fn watch(&self) -> MutexGuard<'_, Option<Watch>> {
        self.0.lock().expect("idle watch poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    #[test]
    fn the_clock_moves_exactly_within_a_millisecond_and_jumps_across_them() {
        assert_eq!(next_step(us(300), us(900)), Step::Exactly(us(900)));
        assert_eq!(next_step(us(300), us(1000)), Step::Exactly(us(1000)));
        assert_eq!(next_step(us(300), us(1200)), Step::Exactly(us(1000)));
        assert_eq!(next_step(us(1000), us(1700)), Step::Exactly(us(1700)));
        assert_eq!(next_step(us(1000), us(2000)), Step::Exactly(us(2000)));
        assert_eq!(next_step(us(1000), us(5400)), Step::Jump(us(5000)));
        assert_eq!(next_step(us(1000), us(5000)), Step::Jump(us(5000)));
    }
}
