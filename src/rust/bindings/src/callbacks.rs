//! Callbacks of `fit()` on the R side: built-in callbacks are built from
//! their R specs, and R callbacks run through one R dispatcher function that
//! `fit()` creates. The dispatcher never raises: it returns
//! `list(stop, learning_rate, error)`.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::callbacks::{Action, Callback, CsvLogger, EarlyStopping, Logs, ReduceLrOnPlateau};
use engine::model::Model;

use crate::errors::{engine_err, r_error};

fn field(spec: &List, name: &str) -> Option<Robj> {
    spec.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn number(spec: &List, name: &str, default: f64) -> f64 {
    field(spec, name)
        .and_then(|v| v.as_real().or_else(|| v.as_integer().map(|i| i as f64)))
        .filter(|v| !v.is_nan())
        .unwrap_or(default)
}

fn text(spec: &List, name: &str, default: &str) -> String {
    field(spec, name)
        .and_then(|v| v.as_str().map(|s| s.to_string()))
        .unwrap_or_else(|| default.to_string())
}

fn flag(spec: &List, name: &str) -> bool {
    field(spec, name).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Builds the built-in callbacks from their R specs (lists with a `type`).
pub fn builtins(specs: &List) -> Result<Vec<Box<dyn Callback>>> {
    let mut out: Vec<Box<dyn Callback>> = Vec::new();
    for (_, spec) in specs.iter() {
        let spec: List = spec.try_into()?;
        let kind = text(&spec, "type", "");
        let callback: Box<dyn Callback> = match kind.as_str() {
            "early_stopping" => Box::new(
                EarlyStopping::new(
                    &text(&spec, "monitor", "val_loss"),
                    number(&spec, "min_delta", 0.0),
                    number(&spec, "patience", 0.0) as usize,
                    number(&spec, "verbose", 0.0) > 0.0,
                    &text(&spec, "mode", "auto"),
                    field(&spec, "baseline")
                        .and_then(|v| v.as_real())
                        .filter(|v| !v.is_nan()),
                    flag(&spec, "restore_best_weights"),
                    number(&spec, "start_from_epoch", 0.0) as usize,
                )
                .map_err(engine_err)?,
            ),
            "reduce_lr_on_plateau" => Box::new(
                ReduceLrOnPlateau::new(
                    &text(&spec, "monitor", "val_loss"),
                    number(&spec, "factor", 0.1),
                    number(&spec, "patience", 10.0) as usize,
                    number(&spec, "verbose", 0.0) > 0.0,
                    &text(&spec, "mode", "auto"),
                    number(&spec, "min_delta", 1e-4),
                    number(&spec, "cooldown", 0.0) as usize,
                    number(&spec, "min_lr", 0.0),
                )
                .map_err(engine_err)?,
            ),
            "csv_logger" => Box::new(CsvLogger::new(
                &text(&spec, "filename", "training.log"),
                &text(&spec, "separator", ","),
                flag(&spec, "append"),
            )),
            other => return Err(r_error(&format!("unknown built-in callback \"{other}\""))),
        };
        out.push(callback);
    }
    Ok(out)
}

/// Callback events in the order of the R side's event flags.
pub const EVENTS: [&str; 6] = [
    "train_begin",
    "epoch_begin",
    "batch_begin",
    "batch_end",
    "epoch_end",
    "train_end",
];

/// Runs the R callbacks through the dispatcher created by `fit()`.
pub struct RCallbacks {
    dispatch: Function,
    events: [bool; 6],
    changes_lr: bool,
}

impl RCallbacks {
    pub fn new(dispatch: Function, events: &[bool], changes_lr: bool) -> Self {
        let mut flags = [false; 6];
        for (f, e) in flags.iter_mut().zip(events) {
            *f = *e;
        }
        RCallbacks {
            dispatch,
            events: flags,
            changes_lr,
        }
    }

    /// Calls the dispatcher for `event` and applies what it returns.
    fn call(
        &mut self,
        event: usize,
        index: usize,
        logs: Option<&[(String, f64)]>,
        model: &mut Model,
    ) -> engine::Result<Action> {
        if !self.events[event] {
            return Ok(Action::Continue);
        }
        let lr = model
            .compiled
            .as_ref()
            .map(|c| c.optimizer.current_learning_rate() as f64)
            .unwrap_or(f64::NAN);
        let logs_robj: Robj = match logs {
            Some(logs) => {
                let mut values: Robj = logs.iter().map(|(_, v)| *v).collect::<Vec<f64>>().into();
                let _ = values.set_names(logs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
                values
            }
            None => Robj::from(()),
        };
        let result = self
            .dispatch
            .call(pairlist!(EVENTS[event], (index + 1) as f64, logs_robj, lr))
            .map_err(|_| {
                engine::Error::State("an R callback failed; see the error printed above".into())
            })?;
        let result: List = result.try_into().map_err(|_| {
            engine::Error::State("the callback dispatcher returned an invalid value".into())
        })?;
        if let Some(message) =
            field(&result, "error").and_then(|v| v.as_str().map(|s| s.to_string()))
        {
            return Err(engine::Error::State(message));
        }
        if let Some(new_lr) = field(&result, "learning_rate")
            .and_then(|v| v.as_real())
            .filter(|v| !v.is_nan())
        {
            if let Some(c) = model.compiled.as_mut() {
                if c.optimizer.schedule.is_some() {
                    return Err(engine::Error::State(
                        "a callback set the learning rate, but the optimizer uses a learning-rate schedule".into(),
                    ));
                }
                c.optimizer.learning_rate = new_lr as f32;
            }
        }
        let stop = field(&result, "stop")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Ok(if stop { Action::Stop } else { Action::Continue })
    }
}

impl Callback for RCallbacks {
    fn on_train_begin(&mut self, model: &mut Model) -> engine::Result<Action> {
        self.call(0, 0, None, model)
    }
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Model) -> engine::Result<Action> {
        self.call(1, epoch, None, model)
    }
    fn on_batch_begin(
        &mut self,
        _epoch: usize,
        batch: usize,
        model: &mut Model,
    ) -> engine::Result<Action> {
        self.call(2, batch, None, model)
    }
    fn on_batch_end(
        &mut self,
        _epoch: usize,
        batch: usize,
        logs: &[(String, f64)],
        model: &mut Model,
    ) -> engine::Result<Action> {
        self.call(3, batch, Some(logs), model)
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        model: &mut Model,
    ) -> engine::Result<Action> {
        self.call(4, epoch, Some(logs), model)
    }
    fn on_train_end(&mut self, model: &mut Model) -> engine::Result<Vec<String>> {
        self.call(5, 0, None, model)?;
        Ok(Vec::new())
    }
    fn changes_learning_rate(&self) -> bool {
        self.changes_lr
    }
    fn uses_batch_end(&self) -> bool {
        self.events[3]
    }
}
