//! The R side of the training loop: printing through R's console and
//! checking for Ctrl-C without letting R's longjmp cross Rust frames.

use std::ffi::c_void;
use std::time::Instant;

use extendr_api::prelude::*;

use engine::train::Observer;

extern "C" {
    fn R_CheckUserInterrupt();
    fn R_ToplevelExec(fun: extern "C" fn(*mut c_void), data: *mut c_void) -> i32;
    fn R_FlushConsole();
}

extern "C" fn check_interrupt(_: *mut c_void) {
    // SAFETY: called on R's main thread inside R_ToplevelExec, which catches
    // the longjmp that an interrupt raises.
    unsafe { R_CheckUserInterrupt() }
}

/// Returns true when the user pressed Ctrl-C. R_ToplevelExec returns FALSE
/// (0) when the call inside it was ended by a jump, which an interrupt is.
fn interrupt_pending() -> bool {
    // SAFETY: runs on R's main thread; the callback does not touch Rust state.
    unsafe { R_ToplevelExec(check_interrupt, std::ptr::null_mut()) == 0 }
}

/// Seconds between two checks of R's interrupt flag; checking also runs
/// R's event loop, which can be slow in some front ends.
const INTERRUPT_INTERVAL: f64 = 0.05;

pub struct RObserver {
    /// Test hook: report an interrupt at this step.
    interrupt_after: Option<usize>,
    steps: usize,
    last_check: Instant,
}

impl RObserver {
    pub fn new(interrupt_after: Option<usize>) -> Self {
        RObserver {
            interrupt_after,
            steps: 0,
            last_check: Instant::now(),
        }
    }
}

impl Observer for RObserver {
    fn print(&mut self, text: &str) {
        rprint!("{}", text);
        // SAFETY: main thread; flushes R's console buffer.
        unsafe { R_FlushConsole() };
    }

    fn interrupted(&mut self) -> bool {
        self.steps += 1;
        if let Some(limit) = self.interrupt_after {
            if self.steps >= limit {
                return true;
            }
        }
        if self.last_check.elapsed().as_secs_f64() < INTERRUPT_INTERVAL {
            return false;
        }
        self.last_check = Instant::now();
        interrupt_pending()
    }
}
