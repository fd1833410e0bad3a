//! The wall-clock mode (`netsim run --realtime`): the same simulated network, but tokio runs
//! the tasks and timers and time is the wall clock.
//!
//! It exists to cross-check the virtual clock: in virtual time computing takes no time and
//! tasks run one at a time in a fixed order; here they run on tokio's worker threads and
//! every millisecond webrtc-rs spends is a real millisecond. A scenario whose verdicts
//! differ between the two modes depends on something the virtual clock hides.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use webrtc::runtime::{AsyncInterval, JoinHandle};

use super::Shared;

/// How often a wall-clock run looks at whether it was interrupted.
const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// The tokio runtime and the instant the world started.
pub(super) struct Wall {
    /// Taken at shut-down, which drops every task still running.
    tokio: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    start: Instant,
    /// Signalled on every send, so the delivery task looks again at the next arrival.
    sent: Notify,
}

impl Wall {
    pub(super) fn new() -> std::io::Result<Self> {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .thread_name("netsim-realtime")
            .build()?;
        Ok(Wall {
            handle: tokio.handle().clone(),
            tokio: Mutex::new(Some(tokio)),
            start: Instant::now(),
            sent: Notify::new(),
        })
    }

    pub(super) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub(super) fn datagram_sent(&self) {
        self.sent.notify_one();
    }

    pub(super) fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        Box::new(WallJoinHandle(Mutex::new(Some(self.handle.spawn(future)))))
    }

    pub(super) fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let _context = self.handle.enter();
        Box::pin(tokio::time::sleep(duration))
    }

    pub(super) fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        let _context = self.handle.enter();
        Box::new(WallInterval(tokio::time::interval(period)))
    }

    /// Runs `future` on the calling thread, inside tokio's context, for at most `limit`;
    /// `Err` with the time reached if it ran out of time or was [interrupted](super::interrupt).
    pub(super) fn block_on<F: Future>(&self, future: F, limit: Duration) -> Result<F::Output, Duration> {
        let interrupted = async {
            while !super::interrupted() {
                tokio::time::sleep(INTERRUPT_POLL).await;
            }
        };
        self.handle.block_on(async {
            let limited = tokio::time::timeout(limit, future);
            match futures::future::select(std::pin::pin!(limited), std::pin::pin!(interrupted)).await {
                futures::future::Either::Left((Ok(output), _)) => Ok(output),
                _ => Err(self.elapsed()),
            }
        })
    }

    /// Starts the task that hands each datagram to its socket when it is due.
    pub(super) fn start_delivery(&self, shared: Weak<Shared>) {
        self.handle.spawn(async move {
            loop {
                let Some(shared) = shared.upgrade() else { return };
                let Some(wall) = shared.wall.as_ref() else { return };
                let sent = wall.sent.notified();
                let next = shared.state().network.next_event();
                let due = next.map(|at| tokio::time::Instant::from_std(wall.start + at));
                match due {
                    Some(due) => {
                        let due = std::pin::pin!(tokio::time::sleep_until(due));
                        futures::future::select(due, std::pin::pin!(sent)).await;
                    }
                    None => sent.await,
                }
                let now = wall.elapsed();
                let wakers = shared.state().deliver_due(now);
                drop(shared);
                wakers.into_iter().for_each(std::task::Waker::wake);
            }
        });
    }

    /// Stops every task; they hold the runtime, so this also frees it.
    pub(super) fn shut_down(&self) {
        if let Some(tokio) = self.tokio.lock().expect("wall runtime poisoned").take() {
            tokio.shutdown_background();
        }
    }
}

/// A task on tokio; dropping the handle detaches it, as the `Runtime` contract requires.
struct WallJoinHandle(Mutex<Option<tokio::task::JoinHandle<()>>>);

impl JoinHandle for WallJoinHandle {
    fn detach(&self) {
        self.0.lock().expect("join handle poisoned").take();
    }

    fn abort(&self) {
        if let Some(task) = self.0.lock().expect("join handle poisoned").take() {
            task.abort();
        }
    }

    fn is_finished(&self) -> bool {
        self.0
            .lock()
            .expect("join handle poisoned")
            .as_ref()
            .is_none_or(tokio::task::JoinHandle::is_finished)
    }
}

struct WallInterval(tokio::time::Interval);

impl AsyncInterval for WallInterval {
    fn tick(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            self.0.tick().await;
        })
    }
}
