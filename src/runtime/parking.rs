//! How the world's wakes reach the thread driving it while it waits inside tokio.
//!
//! When nothing of the world's is runnable, the driving thread waits in tokio's runtime
//! ([`super::tokio_time`]): for tokio's own tasks and timers, and for any of the world's
//! tasks to become runnable, woken by another task or from another thread. Every waker of
//! the world's tasks calls [`Parking::notify`], which ends that wait; an [`Alarm`] ends it
//! after some wall-clock time, so that a world nothing can move any more is reported stuck.
//! A world without tokio waits in [`Parking::wait`], the thread parked, for the same
//! notifications and a deadline of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The waker of the future waiting, while it waits.
#[derive(Default)]
pub(crate) struct Parking(Mutex<Option<Waker>>);

impl Parking {
    /// Ends the wait, if one is on. Every waker calls it once its task is queued (or its
    /// flag set).
    pub(crate) fn notify(&self) {
        if let Some(waker) = self.waiting().take() {
            waker.wake();
        }
    }

    /// Has `waker` woken at the next [`Parking::notify`]; the caller asks whether it should
    /// stop waiting only after this, so a wake in between is not missed.
    pub(crate) fn wake_on_notify(&self, waker: &Waker) {
        *self.waiting() = Some(waker.clone());
    }

    /// Undoes [`Parking::wake_on_notify`] once the future stopped waiting.
    pub(crate) fn forget_future(&self) {
        self.waiting().take();
    }

    /// Blocks the calling thread until `stop()` holds, asked at each [`Parking::notify`],
    /// or for at most `timeout` of wall-clock time: the wait of a world without tokio.
    /// Tells whether `stop()` came to hold.
    pub(crate) fn wait(&self, timeout: Duration, stop: impl Fn() -> bool) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        loop {
            self.wake_on_notify(&waker);
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            let stopped = stop();
            if stopped || left.is_some_and(|left| left.is_zero()) {
                self.forget_future();
                return stopped;
            }
            match left {
                Some(left) => std::thread::park_timeout(left),
                None => std::thread::park(),
            }
        }
    }

    fn waiting(&self) -> MutexGuard<'_, Option<Waker>> {
        self.0.lock().expect("parking poisoned")
    }
}

/// Wakes a thread blocked in [`Parking::wait`].
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Notifies a [`Parking`] once `after` of wall-clock time has passed, unless dropped first.
pub(crate) struct Alarm {
    state: Arc<AlarmState>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct AlarmState {
    rang: AtomicBool,
    cancelled: AtomicBool,
}

impl Alarm {
    /// No thread for a wait without end (`Duration::MAX`).
    pub(crate) fn set(after: Duration, parking: Arc<Parking>) -> Self {
        let state = Arc::new(AlarmState::default());
        let deadline = Instant::now().checked_add(after);
        let thread = deadline.map(|deadline| {
            let state = state.clone();
            std::thread::spawn(move || {
                while !state.cancelled.load(Ordering::Acquire) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        state.rang.store(true, Ordering::Release);
                        parking.notify();
                        return;
                    }
                    std::thread::park_timeout(left);
                }
            })
        });
        Alarm { state, thread }
    }

    pub(crate) fn rang(&self) -> bool {
        self.state.rang.load(Ordering::Acquire)
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.state.cancelled.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
