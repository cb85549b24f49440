//! Fork detection without a system call per C function.
//!
//! A child process inherits the parent's initialised module but must call C_Initialize again
//! (PKCS#11 3.0 §5.4, "Applications that fork"). Comparing `getpid()` on every call costs a
//! system call; instead a `pthread_atfork` child handler bumps a generation counter, and the
//! module remembers the generation it was initialised in. glibc unregisters the handler when
//! the library is unloaded (`dlclose`), so it never outlives the code it points to.
//!
//! Where the handler cannot be registered, the generation is the process ID instead, which is
//! the same test at the old cost.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTERED: AtomicBool = AtomicBool::new(false);
static REGISTER: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Installs the fork handler once per loaded library (called by C_Initialize).
pub fn watch() {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` is an `extern "C"` function with no arguments that only touches
        // an atomic, which is async-signal-safe as a fork handler must be.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        REGISTERED.store(rc == 0, Ordering::Release);
    });
}

/// The current process generation: changes in a forked child and nowhere else.
pub fn generation() -> u64 {
    if REGISTERED.load(Ordering::Acquire) {
        GENERATION.load(Ordering::Relaxed)
    } else {
        u64::from(std::process::id()) | 1 << 63
    }
}
