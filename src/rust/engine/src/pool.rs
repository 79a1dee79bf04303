//! The engine's own rayon thread pool.
//!
//! The pool is rebuilt when the process id changes: a forked R worker
//! (`parallel::mclapply`) inherits the parent's pool without its threads and
//! would hang on it. The stale pool is leaked, because dropping it would try
//! to join threads that do not exist in the child.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
}

static POOL: Mutex<Option<PoolState>> = Mutex::new(None);
static REQUESTED: Mutex<Option<usize>> = Mutex::new(None);

/// Returns the number of logical cores, or 1 when it cannot be read.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn requested_threads() -> usize {
    let requested = REQUESTED.lock().unwrap_or_else(|e| e.into_inner());
    requested.unwrap_or_else(available_cores)
}

/// Returns the pool for this process, building it on first use or after a fork.
pub fn pool() -> Arc<rayon::ThreadPool> {
    let threads = requested_threads();
    let pid = std::process::id();
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(state) = guard.as_ref() {
        if state.pid == pid && state.threads == threads {
            return Arc::clone(&state.pool);
        }
    }
    if let Some(old) = guard.take() {
        if old.pid != pid {
            // Joining the parent's threads would hang in a forked child.
            std::mem::forget(old);
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("kerust-{i}"))
        .start_handler(|_| flush_denormals())
        .build()
        .map(Arc::new)
        .unwrap_or_else(|_| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .expect("a one-thread pool can always be built"),
            )
        });
    *guard = Some(PoolState {
        pid,
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Returns the number of threads the engine uses.
pub fn threads() -> usize {
    requested_threads()
}

/// Returns the largest thread count accepted: 4 per logical core. More
/// threads than cores only add switching, and thousands exhaust the system.
pub fn max_threads() -> usize {
    4 * available_cores()
}

/// Sets the number of threads; the pool is rebuilt on its next use.
pub fn set_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidArgument(
            "the number of threads must be at least 1".into(),
        ));
    }
    let max = max_threads();
    if n > max {
        return Err(Error::InvalidArgument(format!(
            "the number of threads must be at most {max} (4 per logical core), got {n}"
        )));
    }
    *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
    Ok(())
}

/// True on a thread of a rayon pool. Parallel code checks it so that work
/// started outside [`install`] stays on the calling thread instead of
/// starting rayon's global pool (which would hang forked R workers).
pub fn in_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// Runs `f` inside the engine's pool.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

/// Makes this thread treat subnormal floats as zero (x86 FTZ and DAZ).
///
/// Optimizer states such as Adam's second moment decay into the subnormal
/// range, where every arithmetic instruction is up to 100 times slower;
/// flushing them changes results by less than 1e-38. The pool's threads
/// set it at start; [`with_flushed_denormals`] sets it temporarily on the
/// calling thread, so R's own arithmetic is not affected.
pub fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: reading and writing MXCSR only changes this thread's
        // floating-point modes; bits 15 (FTZ) and 6 (DAZ).
        #[allow(deprecated)]
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | 0x8040);
        }
    }
}

/// Runs `f` with subnormals flushed to zero on the calling thread, then
/// restores the previous floating-point modes.
pub fn with_flushed_denormals<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(deprecated)]
        // SAFETY: as in flush_denormals; the saved modes are restored below.
        let saved = unsafe { std::arch::x86_64::_mm_getcsr() };
        flush_denormals();
        let result = f();
        #[allow(deprecated)]
        // SAFETY: restores the modes read above.
        unsafe {
            std::arch::x86_64::_mm_setcsr(saved)
        };
        result
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        f()
    }
}
