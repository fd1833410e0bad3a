//! The virtual clock: the one time base of a world.
//!
//! Time only moves when the executor finds every task idle and jumps to the next due event,
//! so nothing here ever reads the wall clock.

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::{Duration, Instant};

/// How far virtual time 0 sits ahead of the wall clock, so that any stray `Instant::now()`
/// in the stack is an hour in the past of every deadline and breaks loudly instead of
/// working by accident (the trick of webrtc-rs's own `runtime/mock.rs`).
pub(super) const CLOCK_OFFSET: Duration = Duration::from_secs(3600);

/// Virtual time plus the timers armed against it, ordered by `(deadline, id)` so that
/// timers due at the same instant fire in the order they were armed.
///
/// A timer is due once the executor *fires* it ([`Clock::fire_next`]), not as soon as the
/// clock reaches its deadline: the executor fires one timer at a time and lets the woken task
/// run to idleness first, so no task ever sees two timers (or a timer and a datagram) become
/// ready at once — which one it would then act on first could depend on a random choice
/// (webrtc-rs's driver waits in `futures::select!`, which polls its branches in random order).
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    now: Duration,
    timers: BTreeMap<(Duration, u64), Option<Waker>>,
    next_timer_id: u64,
}

impl Clock {
    /// Virtual time zero [`CLOCK_OFFSET`] from now.
    pub(crate) fn new() -> Self {
        Self::starting_at(Instant::now() + CLOCK_OFFSET)
    }

    /// Virtual time zero at `base`.
    pub(crate) fn starting_at(base: Instant) -> Self {
        Clock {
            base,
            now: Duration::ZERO,
            timers: BTreeMap::new(),
            next_timer_id: 0,
        }
    }

    /// Virtual time since the world started.
    pub(crate) fn now(&self) -> Duration {
        self.now
    }

    /// The `Instant` the webrtc stack sees for virtual time `at`.
    pub(crate) fn instant_at(&self, at: Duration) -> Instant {
        self.base + at
    }

    /// Arms a timer for `deadline`; returns the key to poll or cancel it with.
    pub(crate) fn arm(&mut self, deadline: Duration) -> (Duration, u64) {
        let key = (deadline, self.next_timer_id);
        self.next_timer_id += 1;
        self.timers.insert(key, None);
        key
    }

    /// Whether the timer has fired; if not, remembers `waker` to wake when it does.
    pub(crate) fn poll_timer(&mut self, key: (Duration, u64), waker: &Waker) -> bool {
        match self.timers.get_mut(&key) {
            Some(slot) => {
                *slot = Some(waker.clone());
                false
            }
            None => true,
        }
    }

    pub(crate) fn cancel(&mut self, key: (Duration, u64)) {
        self.timers.remove(&key);
    }

    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        self.timers.keys().next().map(|(deadline, _)| *deadline)
    }

    /// Moves time forward to `to` (never backwards: a timer armed for a past deadline
    /// fires at the current instant).
    pub(crate) fn advance_to(&mut self, to: Duration) {
        self.now = self.now.max(to);
    }

    /// Fires the earliest timer, which must be due by now; returns the waker of the task
    /// waiting on it (none if it was never polled: its next poll finds it fired).
    pub(crate) fn fire_next(&mut self) -> Option<Waker> {
        let entry = self.timers.first_entry()?;
        debug_assert!(entry.key().0 <= self.now, "a timer fires only once due");
        entry.remove()
    }

    /// Drops every armed timer (and the task references their wakers hold).
    pub(crate) fn clear(&mut self) {
        self.timers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn timers_fire_in_deadline_then_arming_order_and_not_before() {
        let mut clock = Clock::new();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let late = clock.arm(Duration::from_millis(20));
        let early = clock.arm(Duration::from_millis(10));
        assert!(!clock.poll_timer(late, &waker));
        assert!(!clock.poll_timer(early, &waker));
        assert_eq!(clock.next_deadline(), Some(Duration::from_millis(10)));

        clock.advance_to(Duration::from_millis(10));
        assert!(!clock.poll_timer(early, &waker), "due, but not fired yet");
        assert!(clock.fire_next().is_some());
        assert!(clock.poll_timer(early, &waker));
        assert!(!clock.poll_timer(late, &waker));
        assert_eq!(clock.next_deadline(), Some(Duration::from_millis(20)));
        clock.advance_to(Duration::from_millis(25));
        assert!(clock.fire_next().is_some());
        assert!(clock.poll_timer(late, &waker));
        assert_eq!(clock.next_deadline(), None);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "firing hands wakers back, not wakes"
        );
    }

    #[test]
    fn a_cancelled_timer_never_fires() {
        let mut clock = Clock::new();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let key = clock.arm(Duration::from_millis(5));
        assert!(!clock.poll_timer(key, &Waker::from(counter.clone())));
        clock.cancel(key);
        clock.advance_to(Duration::from_secs(1));
        assert_eq!(clock.next_deadline(), None);
        assert!(clock.fire_next().is_none());
    }

    #[test]
    fn virtual_instants_are_far_from_the_wall_clock() {
        let clock = Clock::new();
        let gap = clock.instant_at(Duration::ZERO) - Instant::now();
        assert!(gap > Duration::from_secs(3000), "offset was {gap:?}");
    }
}
