//! Packet capture, opt-in: every datagram at the interface that sends or receives it, for
//! the pcap files of reports.
//!
//! A world builds its network itself, so capturing is switched on by a scope around the
//! run ([`capturing`]) rather than a setter: a network built inside the scope on the same
//! thread records into the scope's sink.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Datagram;

/// A datagram as one host's interface saw it leave or arrive: what a packet capture on that
/// host would hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub at: Duration,
    /// The host whose interface sent or received it.
    pub host: String,
    pub datagram: Datagram,
}

/// Where a capturing network records.
#[derive(Debug, Clone, Default)]
pub(super) struct CaptureSink(Arc<Mutex<Vec<Captured>>>);

impl CaptureSink {
    /// The sink of the [`capturing`] scope this thread is in, if any.
    pub(super) fn current() -> Option<CaptureSink> {
        SCOPE.with_borrow(Clone::clone)
    }

    pub(super) fn record(&self, at: Duration, host: &str, datagram: &Datagram) {
        let captured = Captured {
            at,
            host: host.to_owned(),
            datagram: datagram.clone(),
        };
        self.0.lock().expect("capture poisoned").push(captured);
    }
}

thread_local! {
    static SCOPE: RefCell<Option<CaptureSink>> = const { RefCell::new(None) };
}

/// Runs `f` (typically a scenario run) with every network built meanwhile on this thread
/// recording each datagram at the interface that sends or receives it, servers included;
/// returns what they recorded, in time order. Opt-in, since a capture holds every payload.
pub fn capturing<T>(f: impl FnOnce() -> T) -> (T, Vec<Captured>) {
    /// Puts back the scope that was there before, even if `f` panics.
    struct Restore(Option<CaptureSink>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPE.set(self.0.take());
        }
    }
    let sink = CaptureSink::default();
    let restore = Restore(SCOPE.replace(Some(sink.clone())));
    let output = f();
    drop(restore);
    let captured = std::mem::take(&mut *sink.0.lock().expect("capture poisoned"));
    (output, captured)
}
