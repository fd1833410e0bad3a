//! Which simulated host a task runs as.
//!
//! As in turmoil, the app's future *is* the host: [`SimRuntime::spawn_on`] starts it as
//! `alice`, and every task it spawns through `Runtime::spawn` (webrtc-rs's driver, for one) is
//! `alice` too. A socket such a task binds on the wildcard, or on one of the real machine's
//! interfaces, then lands on alice's simulated address (see [`SimRuntime::wrap_udp_socket`]).
//!
//! [`SimRuntime::spawn_on`]: super::SimRuntime::spawn_on
//! [`SimRuntime::wrap_udp_socket`]: super::SimRuntime::wrap_udp_socket

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

thread_local! {
    /// The host of the task being polled on this thread, if it runs on one.
    static CURRENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The host the task being polled runs as.
pub(crate) fn current() -> Option<Arc<str>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// A future that runs as `host`: it is the current host for the length of each poll. Being a
/// plain wrapper, it changes nothing about when or in which order tasks run.
pub(crate) struct OnHost<F: ?Sized> {
    pub(crate) host: Arc<str>,
    pub(crate) future: Pin<Box<F>>,
}

impl<F: Future + ?Sized> Future for OnHost<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Restored afterwards, also if the poll panics: a future polled inside another's
        // poll (a `block_on`) must not leave its host behind.
        let previous = CURRENT.with(|current| current.replace(Some(self.host.clone())));
        let _restore = Restore(previous);
        self.future.as_mut().poll(cx)
    }
}

/// Puts back the host that was current before a poll.
struct Restore(Option<Arc<str>>);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = self.0.take());
    }
}
