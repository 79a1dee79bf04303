//! Callbacks run by the training loop at the points keras defines, with
//! keras's arguments and defaults. The built-in ones run in Rust; R
//! callbacks are another implementation of [`Callback`] in the bindings.
//! Epochs and batches are 0-based here, as in keras.

use std::fs::OpenOptions;
use std::io::Write;

use crate::error::{Error, Result};
use crate::model::Model;

/// The training loop's next move after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Stop,
}

/// Per-epoch or per-batch logs: (name, value) pairs in keras's order.
pub type Logs = Vec<(String, f64)>;

pub fn log_value(logs: &[(String, f64)], name: &str) -> Option<f64> {
    logs.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// A training callback. Every method has a default that does nothing.
pub trait Callback {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_batch_begin(
        &mut self,
        _epoch: usize,
        _batch: usize,
        _model: &mut Model,
    ) -> Result<Action> {
        Ok(Action::Continue)
    }
    fn on_batch_end(
        &mut self,
        _epoch: usize,
        _batch: usize,
        _logs: &[(String, f64)],
        _model: &mut Model,
    ) -> Result<Action> {
        Ok(Action::Continue)
    }
    /// May add entries to `logs` (e.g. `learning_rate`) before they are printed and recorded.
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _model: &mut Model,
    ) -> Result<Action> {
        Ok(Action::Continue)
    }
    /// Returns messages to print (e.g. "Epoch 7: early stopping").
    fn on_train_end(&mut self, _model: &mut Model) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Returns messages to print after the epoch's log line.
    fn epoch_messages(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// True when the callback sets the learning rate, so the logs report it.
    fn changes_learning_rate(&self) -> bool {
        false
    }
    /// True when `on_batch_end` does something. The loop builds per-batch
    /// logs (which allocates) only when a callback needs them.
    fn uses_batch_end(&self) -> bool {
        false
    }
}

/// Whether a larger or a smaller monitored value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    /// Resolves keras's `mode` ("min", "max" or "auto"); "auto" maximises
    /// accuracies, AUC, precision, recall and R2, and minimises the rest.
    pub fn resolve(mode: &str, monitor: &str) -> Result<Mode> {
        match mode {
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            "auto" => {
                let name = monitor.trim_start_matches("val_");
                let maximised = ["acc", "auc", "precision", "recall", "r2"];
                Ok(if maximised.iter().any(|m| name.contains(m)) {
                    Mode::Max
                } else {
                    Mode::Min
                })
            }
            other => Err(Error::InvalidArgument(format!(
                "`mode` must be \"auto\", \"min\" or \"max\", got \"{other}\""
            ))),
        }
    }
}

/// Checks that `monitor` is one of the logged names, listing them otherwise.
fn check_monitor(monitor: &str, logs: &[(String, f64)], what: &str) -> Result<f64> {
    log_value(logs, monitor).ok_or_else(|| {
        let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
        Error::InvalidArgument(format!(
            "{what}: `monitor` = \"{monitor}\" is not a logged metric; available: {}",
            names.join(", ")
        ))
    })
}

/// keras's EarlyStopping: stops when `monitor` has not improved by more than
/// `min_delta` for `patience` epochs. It can also restore the weights of the
/// best epoch at the end.
pub struct EarlyStopping {
    pub monitor: String,
    pub min_delta: f64,
    pub patience: usize,
    pub verbose: bool,
    pub mode: Mode,
    pub baseline: Option<f64>,
    pub restore_best_weights: bool,
    pub start_from_epoch: usize,
    wait: usize,
    stopped_epoch: Option<usize>,
    best: Option<f64>,
    best_epoch: usize,
    best_weights: Option<Vec<(Vec<usize>, Vec<f32>)>>,
}

impl EarlyStopping {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        monitor: &str,
        min_delta: f64,
        patience: usize,
        verbose: bool,
        mode: &str,
        baseline: Option<f64>,
        restore_best_weights: bool,
        start_from_epoch: usize,
    ) -> Result<Self> {
        Ok(EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: min_delta.abs(),
            patience,
            verbose,
            mode: Mode::resolve(mode, monitor)?,
            baseline,
            restore_best_weights,
            start_from_epoch,
            wait: 0,
            stopped_epoch: None,
            best: None,
            best_epoch: 0,
            best_weights: None,
        })
    }

    fn is_improvement(&self, value: f64, reference: Option<f64>) -> bool {
        match reference {
            None => true,
            // keras subtracts min_delta in the direction of improvement.
            Some(r) => match self.mode {
                Mode::Min => value + self.min_delta < r,
                Mode::Max => value - self.min_delta > r,
            },
        }
    }
}

fn snapshot(model: &Model) -> Vec<(Vec<usize>, Vec<f32>)> {
    model
        .weights()
        .iter()
        .map(|p| (p.shape.clone(), p.value.clone()))
        .collect()
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<Action> {
        self.wait = 0;
        self.stopped_epoch = None;
        self.best = None;
        self.best_epoch = 0;
        self.best_weights = None;
        Ok(Action::Continue)
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, model: &mut Model) -> Result<Action> {
        let current = check_monitor(&self.monitor, logs, "callback_early_stopping()")?;
        if epoch < self.start_from_epoch || current.is_nan() {
            return Ok(Action::Continue);
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(snapshot(model));
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if self.is_improvement(current, self.best) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(snapshot(model));
            }
            // Restart the wait only when the value also beats the baseline.
            if self.baseline.is_none() || self.is_improvement(current, self.baseline) {
                self.wait = 0;
            }
            return Ok(Action::Continue);
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            return Ok(Action::Stop);
        }
        Ok(Action::Continue)
    }

    fn on_train_end(&mut self, model: &mut Model) -> Result<Vec<String>> {
        let mut messages = Vec::new();
        if let (Some(epoch), true) = (self.stopped_epoch, self.verbose) {
            messages.push(format!("Epoch {}: early stopping", epoch + 1));
        }
        if self.restore_best_weights {
            if let Some(weights) = self.best_weights.take() {
                if self.verbose {
                    messages.push(format!(
                        "Restoring model weights from the end of the best epoch: {}.",
                        self.best_epoch + 1
                    ));
                }
                model.set_weights(weights)?;
            }
        }
        Ok(messages)
    }
}

/// keras's ReduceLROnPlateau: multiplies the learning rate by `factor` when
/// `monitor` has not improved by more than `min_delta` for `patience` epochs.
pub struct ReduceLrOnPlateau {
    pub monitor: String,
    pub factor: f64,
    pub patience: usize,
    pub verbose: bool,
    pub mode: Mode,
    pub min_delta: f64,
    pub cooldown: usize,
    pub min_lr: f64,
    best: f64,
    wait: usize,
    cooldown_counter: usize,
    messages: Vec<String>,
}

impl ReduceLrOnPlateau {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        monitor: &str,
        factor: f64,
        patience: usize,
        verbose: bool,
        mode: &str,
        min_delta: f64,
        cooldown: usize,
        min_lr: f64,
    ) -> Result<Self> {
        if !(0.0..1.0).contains(&factor) {
            return Err(Error::InvalidArgument(format!(
                "`factor` must be in [0, 1) (it multiplies the learning rate), got {factor}"
            )));
        }
        let mode = Mode::resolve(mode, monitor)?;
        Ok(ReduceLrOnPlateau {
            monitor: monitor.to_string(),
            factor,
            patience,
            verbose,
            mode,
            min_delta,
            cooldown,
            min_lr,
            best: if mode == Mode::Min {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
            wait: 0,
            cooldown_counter: 0,
            messages: Vec::new(),
        })
    }

    fn improved(&self, current: f64) -> bool {
        match self.mode {
            Mode::Min => current < self.best - self.min_delta,
            Mode::Max => current > self.best + self.min_delta,
        }
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, model: &mut Model) -> Result<Action> {
        if model
            .compiled
            .as_ref()
            .is_some_and(|c| c.optimizer.schedule.is_some())
        {
            return Err(Error::InvalidArgument(
                "callback_reduce_lr_on_plateau() cannot change a learning-rate schedule; use a constant `learning_rate`".into(),
            ));
        }
        self.best = if self.mode == Mode::Min {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(Action::Continue)
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &mut Logs, model: &mut Model) -> Result<Action> {
        let current = check_monitor(&self.monitor, logs, "callback_reduce_lr_on_plateau()")?;
        let in_cooldown = self.cooldown_counter > 0;
        if in_cooldown {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.improved(current) {
            self.best = current;
            self.wait = 0;
        } else if !in_cooldown {
            self.wait += 1;
            if self.wait >= self.patience {
                if let Some(c) = model.compiled.as_mut() {
                    let old = c.optimizer.learning_rate as f64;
                    if old > self.min_lr {
                        let new = (old * self.factor).max(self.min_lr);
                        c.optimizer.learning_rate = new as f32;
                        if self.verbose {
                            self.messages.push(format!(
                                "Epoch {}: ReduceLROnPlateau reducing learning rate to {}.",
                                epoch + 1,
                                new as f32
                            ));
                        }
                        self.cooldown_counter = self.cooldown;
                        self.wait = 0;
                    }
                }
            }
        }
        Ok(Action::Continue)
    }

    fn epoch_messages(&mut self) -> Vec<String> {
        std::mem::take(&mut self.messages)
    }

    fn changes_learning_rate(&self) -> bool {
        true
    }
}

/// keras's CSVLogger: one row per epoch with the epoch (0-based, as keras
/// writes it) and every log value, columns sorted by name.
pub struct CsvLogger {
    pub filename: String,
    pub separator: String,
    pub append: bool,
    columns: Option<Vec<String>>,
}

impl CsvLogger {
    pub fn new(filename: &str, separator: &str, append: bool) -> Self {
        CsvLogger {
            filename: filename.to_string(),
            separator: separator.to_string(),
            append,
            columns: None,
        }
    }

    fn write(&self, text: &str, truncate: bool) -> Result<()> {
        let mut options = OpenOptions::new();
        options.create(true);
        if truncate {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let mut file = options.open(&self.filename).map_err(|e| {
            Error::InvalidArgument(format!(
                "callback_csv_logger(): cannot write \"{}\": {e}",
                self.filename
            ))
        })?;
        file.write_all(text.as_bytes()).map_err(|e| {
            Error::InvalidArgument(format!(
                "callback_csv_logger(): cannot write \"{}\": {e}",
                self.filename
            ))
        })
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<Action> {
        self.columns = None;
        if !self.append {
            self.write("", true)?;
        }
        Ok(Action::Continue)
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _model: &mut Model,
    ) -> Result<Action> {
        let mut names: Vec<String> = logs.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        if self.columns.is_none() {
            let existing = std::fs::metadata(&self.filename)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
            if !(self.append && existing) {
                let mut header = vec!["epoch".to_string()];
                header.extend(names.iter().cloned());
                self.write(&format!("{}\n", header.join(&self.separator)), false)?;
            }
            self.columns = Some(names.clone());
        }
        let columns = self.columns.as_deref().unwrap_or(&[]);
        let mut row = vec![epoch.to_string()];
        for name in columns {
            row.push(
                log_value(logs, name)
                    .map(|v| format!("{v}"))
                    .unwrap_or_else(|| "NA".into()),
            );
        }
        self.write(&format!("{}\n", row.join(&self.separator)), false)?;
        Ok(Action::Continue)
    }
}
