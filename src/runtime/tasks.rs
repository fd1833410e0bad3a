//! The world's live tasks, so that its end can drop every one of them.
//!
//! A detached task is held only by the wakers others keep of it, and tasks that wait on
//! each other hold each other: webrtc-rs's driver waits on channels whose senders the
//! app's task holds in its `PeerConnection`, and the app waits on the stack. Such a cycle
//! outlives the world that ran it, with the peers' whole stacks: every 10 s call left
//! 3.5 MB behind in the process, so a suite or a run over many seeds grew without bound.
//! Kept here until it finishes, each task can be cancelled when the world ends.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, Weak};

use async_task::Task;
use webrtc::runtime::JoinHandle;

/// Finished tasks are swept out once this many are kept, and then at twice as many as
/// the last sweep left: a task costs one look per sweep, and a long call spawns few.
const FIRST_SWEEP: usize = 64;

/// Every task spawned and not yet finished (or not yet swept out), by id.
pub(super) struct LiveTasks<M> {
    inner: Mutex<Inner<M>>,
}

struct Inner<M> {
    tasks: BTreeMap<u64, Task<(), M>>,
    sweep_at: usize,
}

impl<M> Default for LiveTasks<M> {
    fn default() -> Self {
        LiveTasks {
            inner: Mutex::new(Inner {
                tasks: BTreeMap::new(),
                sweep_at: FIRST_SWEEP,
            }),
        }
    }
}

impl<M> LiveTasks<M> {
    fn lock(&self) -> MutexGuard<'_, Inner<M>> {
        self.inner.lock().expect("task registry poisoned")
    }

    /// Keeps `task`, spawned as `id`, until it finishes or [`LiveTasks::take_all`].
    pub(super) fn add(&self, id: u64, task: Task<(), M>) {
        let mut inner = self.lock();
        if inner.tasks.len() >= inner.sweep_at {
            inner.tasks.retain(|_, task| !task.is_finished());
            inner.sweep_at = FIRST_SWEEP.max(2 * inner.tasks.len());
        }
        inner.tasks.insert(id, task);
    }

    /// Every task kept, taken away: dropping one cancels it, and an idle one is then
    /// scheduled once more, for its runnable to drop its future.
    pub(super) fn take_all(&self) -> Vec<Task<(), M>> {
        std::mem::take(&mut self.lock().tasks).into_values().collect()
    }

    fn cancel(&self, id: u64) {
        let task = self.lock().tasks.remove(&id);
        // Dropped unlocked: cancelling schedules the task, which may look here.
        drop(task);
    }

    fn is_finished(&self, id: u64) -> bool {
        self.lock().tasks.get(&id).is_none_or(Task::is_finished)
    }
}

/// A spawned task. It runs to its end whether its handle is kept, detached or dropped, as
/// the `Runtime` contract requires, unless aborted or its world ends first.
pub(super) struct SimJoinHandle<M> {
    pub(super) id: u64,
    pub(super) tasks: Weak<LiveTasks<M>>,
}

impl<M: Send + Sync> JoinHandle for SimJoinHandle<M> {
    fn detach(&self) {}

    fn abort(&self) {
        if let Some(tasks) = self.tasks.upgrade() {
            tasks.cancel(self.id);
        }
    }

    fn is_finished(&self) -> bool {
        self.tasks
            .upgrade()
            .is_none_or(|tasks| tasks.is_finished(self.id))
    }
}
