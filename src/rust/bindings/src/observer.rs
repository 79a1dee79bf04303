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
    /// R functions of custom metrics, each wrapped by R to return
    /// `list(values = )` or `list(error = )`.
    custom_metrics: Vec<Function>,
}

impl RObserver {
    pub fn new(interrupt_after: Option<usize>) -> Self {
        RObserver {
            interrupt_after,
            steps: 0,
            last_check: Instant::now(),
            custom_metrics: Vec::new(),
        }
    }

    /// Sets the R functions of the model's custom metrics, in index order.
    pub fn with_custom_metrics(mut self, functions: Vec<Function>) -> Self {
        self.custom_metrics = functions;
        self
    }
}

impl Observer for RObserver {
    fn print(&mut self, text: &str) {
        rprint!("{}", text);
        // SAFETY: main thread; flushes R's console buffer.
        unsafe { R_FlushConsole() };
    }

    fn external_metric(
        &mut self,
        index: usize,
        y_true: &[f32],
        y_pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
    ) -> engine::Result<Vec<f64>> {
        let f = self.custom_metrics.get(index).ok_or_else(|| {
            engine::Error::State(format!("custom metric {} has no R function", index + 1))
        })?;
        let t = crate::convert::to_r(y_true, &[batch, target_width]);
        let p = crate::convert::to_r(y_pred, &[batch, width]);
        let result = f
            .call(pairlist!(t, p))
            .map_err(|_| engine::Error::State(format!("custom metric {} failed", index + 1)))?;
        let result: List = result.try_into().map_err(|_| {
            engine::Error::State("a custom metric wrapper returned an invalid value".into())
        })?;
        let field = |name: &str| result.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        if let Some(message) = field("error").and_then(|v| v.as_str().map(|s| s.to_string())) {
            return Err(engine::Error::InvalidArgument(message));
        }
        field("values")
            .and_then(|v| v.as_real_vector())
            .ok_or_else(|| engine::Error::State("a custom metric returned no values".into()))
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
