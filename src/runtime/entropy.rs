//! Seeded OS randomness for the thread a world runs on.
//!
//! webrtc-rs keeps per-stream and per-request state in std `HashMap`s and iterates them to
//! decide the order in which it sends RTCP reports, NACKs and TURN requests due at the same
//! instant. A `HashMap`'s order comes from random keys that std draws once per thread, so
//! two runs sent those packets in different orders, the links' loss and jitter draws fell
//! on different packets, and the same seed gave different metrics. (`rand::rng()` is seeded
//! per thread the same way; `futures::select!`'s branch order is too, but only with the
//! workspace's patched futures-util: upstream seeds it from a process-wide counter, so the
//! n-th world of a process took other branches than the first. See vendor/futures-util.)
//!
//! So, like madsim, we answer `getrandom(2)` ourselves: on a thread started by
//! [`run_seeded`], every request for OS randomness (std's hash keys, `rand`'s and `ring`'s
//! seeds) is drawn from the world's seed; on every other thread it goes to the kernel.
//! DTLS keys are then a function of the seed too, which is harmless on a simulated network
//! that never leaves the process.

use std::cell::RefCell;
use std::ffi::{c_uint, c_void};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

thread_local! {
    /// Set once, first thing on a world's thread; const-initialised and without a
    /// destructor, so `getrandom` may read it at any point of the thread's life.
    static SEEDED: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

/// Runs `f` on a fresh thread whose OS randomness comes from `seed`. A fresh thread,
/// because std draws a thread's hash keys once, on its first `HashMap`.
pub fn run_seeded<T: Send>(seed: u64, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("netsim-world".to_owned())
            .spawn_scoped(scope, || {
                SEEDED.with(|rng| *rng.borrow_mut() = Some(ChaCha20Rng::seed_from_u64(seed)));
                f()
            })
            .expect("the OS starts a thread for the world");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Fills `buf` from the thread's seeded generator, if it has one.
fn fill_seeded(buf: &mut [u8]) -> bool {
    SEEDED
        .try_with(|rng| match rng.try_borrow_mut().as_deref_mut() {
            Ok(Some(rng)) => {
                rng.fill_bytes(buf);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// glibc's `getrandom(2)` wrapper, replaced for the whole process: std and the `getrandom`
/// crate call it by this name. Seeded on a world's thread, the kernel's everywhere else.
///
/// # Safety
/// As for `getrandom(2)`: `buf` must be valid for writes of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getrandom(buf: *mut c_void, len: usize, flags: c_uint) -> isize {
    if !buf.is_null() && len > 0 {
        // SAFETY: the caller hands a buffer valid for `len` bytes, as getrandom(2) requires.
        let bytes = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        if fill_seeded(bytes) {
            return len as isize;
        }
    }
    // SAFETY: the same contract, passed on to the kernel.
    unsafe { libc::syscall(libc::SYS_getrandom, buf, len, flags) as isize }
}
