//! The training loop (`fit`), `evaluate` and `predict`, all in Rust. R is
//! re-entered only through [`Observer`]: to print progress, to check for a
//! user interrupt between steps, and at the end of each epoch.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::callbacks::{Action, Callback};
use crate::error::{Error, Result};
use crate::model::{size_of, Model};
use crate::pool;
use crate::progress;

/// Seconds between progress-bar redraws.
const REDRAW_INTERVAL: f64 = 0.1;

/// Models whose step touches fewer values than this (see [`step_cost`])
/// train on the calling thread.
const INLINE_MAX_COST: usize = 1 << 18;

/// Rough work of one step: weights times batch plus activation values.
fn step_cost(model: &Model, batch: usize) -> usize {
    let (trainable, frozen) = model.count_params();
    let activations: usize = model
        .layers()
        .iter()
        .map(|l| size_of(l.output_shape()))
        .sum();
    batch * (trainable + frozen + activations)
}

/// The side of training that needs R: printing and interrupts.
pub trait Observer {
    /// Prints text as is (it may start with `\r` to redraw a line).
    fn print(&mut self, text: &str);
    /// Returns true when the user asked to stop (Ctrl-C). Called after
    /// every step; implementations throttle costly checks themselves.
    fn interrupted(&mut self) -> bool;

    /// Computes the per-sample values of external metric `index` for one
    /// batch: `y_true` has `target_width` values and `y_pred` has `width`
    /// values per sample. Called on the calling thread, after the step.
    fn external_metric(
        &mut self,
        index: usize,
        _y_true: &[f32],
        _y_pred: &[f32],
        _batch: usize,
        _width: usize,
        _target_width: usize,
    ) -> Result<Vec<f64>> {
        Err(Error::State(format!(
            "external metric {index} needs an observer that computes it"
        )))
    }
}

/// An observer that prints nothing and is never interrupted.
pub struct Silent;

impl Observer for Silent {
    fn print(&mut self, _text: &str) {}
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// Samples with `x` (row-major, `n x x_width`) and targets `y` (`n x y_width`).
#[derive(Clone, Copy)]
pub struct Data<'a> {
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub n: usize,
    /// Optional weight of each sample (keras's `sample_weight`).
    pub weights: Option<&'a [f32]>,
}

impl<'a> Data<'a> {
    /// Unweighted samples.
    pub fn new(x: &'a [f32], y: &'a [f32], n: usize) -> Self {
        Data {
            x,
            y,
            n,
            weights: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FitConfig {
    pub batch_size: usize,
    pub epochs: usize,
    pub initial_epoch: usize,
    pub shuffle: bool,
    /// Fraction of the last rows held out for validation, in [0, 1).
    pub validation_split: f64,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    pub unicode: bool,
}

/// Per-epoch logs, in the order keras lists them (alphabetical, validation last).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub epochs: Vec<usize>,
    pub names: Vec<String>,
    /// `values[i][e]`: metric `names[i]` after epoch `epochs[e]`.
    pub values: Vec<Vec<f64>>,
    /// True when training stopped early because of a user interrupt.
    pub interrupted: bool,
    /// Steps completed in the interrupted epoch.
    pub interrupted_at_step: usize,
    /// Wall time of each epoch in seconds, validation included.
    pub seconds: Vec<f64>,
    /// (epoch, batch, loss), both 1-based, when training stopped because the
    /// loss became NaN or infinite; the weights are those before that batch.
    pub non_finite: Option<(usize, usize, f64)>,
}

impl History {
    fn push(&mut self, epoch: usize, logs: &[(String, f64)]) {
        if self.names.is_empty() {
            self.names = logs.iter().map(|(n, _)| n.clone()).collect();
            self.values = vec![Vec::new(); logs.len()];
        }
        self.epochs.push(epoch);
        for (i, (_, v)) in logs.iter().enumerate() {
            self.values[i].push(*v);
        }
    }
}

/// Checks data against the model before anything changes.
fn check_data(model: &Model, data: &Data, what: &str) -> Result<()> {
    if model.compiled.is_none() {
        return Err(Error::State(
            "the model must be compiled with `compile()` before `fit()` or `evaluate()`".into(),
        ));
    }
    if data.n == 0 {
        return Err(Error::InvalidArgument(format!("`{what}` has no samples")));
    }
    if let Some(w) = data.weights {
        if w.len() != data.n {
            return Err(Error::Shape(format!(
                "sample weights of `{what}` have {} values but there are {} samples",
                w.len(),
                data.n
            )));
        }
        if let Some(i) = w.iter().position(|&v| v < 0.0 || !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "sample weights of `{what}` must be finite and non-negative, got {} at position {}",
                w[i],
                i + 1
            )));
        }
    }
    let mut offset = 0;
    let total = target_width(model);
    for h in 0..model.output_count() {
        let width = model.target_width(h);
        if model.head_loss(h).is_some_and(|l| l.is_sparse()) {
            let out_width = size_of(model.src_shape(model.output_src(h)));
            for s in 0..data.n {
                let label = data.y[s * total + offset];
                if label < 0.0 || label.fract() != 0.0 || label as usize >= out_width {
                    let output = if model.output_count() > 1 {
                        format!(" of output \"{}\"", model.output_names()[h])
                    } else {
                        String::new()
                    };
                    return Err(Error::InvalidArgument(format!(
                        "labels{output} must be integers from 0 to {} (the output layer has {out_width} units), got {label} at position {}",
                        out_width - 1,
                        s + 1
                    )));
                }
            }
        }
        offset += width;
    }
    Ok(())
}

/// Target values per sample over all outputs (a row of `Data::y`).
fn target_width(model: &Model) -> usize {
    (0..model.output_count())
        .map(|h| model.target_width(h))
        .sum()
}

/// Input values per sample over all inputs (a row of `Data::x`).
pub fn input_width(model: &Model) -> usize {
    model.input_shapes().iter().map(|s| size_of(s)).sum()
}

/// Copies the pieces of rows `rows` of `values` (`width` values per row)
/// into `buffers`, the i-th taking `widths[i]` values per row.
fn scatter_rows(
    values: &[f32],
    rows: &[usize],
    width: usize,
    widths: &[usize],
    buffers: &mut [&mut Vec<f32>],
) {
    let mut offset = 0;
    for (buffer, &w) in buffers.iter_mut().zip(widths) {
        for (b, &r) in rows.iter().enumerate() {
            let at = r * width + offset;
            buffer[b * w..(b + 1) * w].copy_from_slice(&values[at..at + w]);
        }
        offset += w;
    }
}

/// Copies the samples `rows` of `data` into the plan's input and target buffers.
fn gather(model: &mut Model, data: &Data, rows: &[usize]) {
    let x_widths: Vec<usize> = model.input_shapes().iter().map(|s| size_of(s)).collect();
    let y_widths: Vec<usize> = (0..model.output_count())
        .map(|h| model.target_width(h))
        .collect();
    let (x_width, y_width) = (x_widths.iter().sum(), y_widths.iter().sum());
    let plan = model.plan_mut();
    if x_widths.len() == 1 && y_widths.len() == 1 {
        for (b, &r) in rows.iter().enumerate() {
            plan.input[b * x_width..(b + 1) * x_width]
                .copy_from_slice(&data.x[r * x_width..(r + 1) * x_width]);
            plan.target[b * y_width..(b + 1) * y_width]
                .copy_from_slice(&data.y[r * y_width..(r + 1) * y_width]);
        }
    } else {
        let mut inputs: Vec<&mut Vec<f32>> = std::iter::once(&mut plan.input)
            .chain(plan.extra_inputs.iter_mut())
            .collect();
        scatter_rows(data.x, rows, x_width, &x_widths, &mut inputs);
        let mut targets: Vec<&mut Vec<f32>> = std::iter::once(&mut plan.target)
            .chain(plan.extra_targets.iter_mut())
            .collect();
        scatter_rows(data.y, rows, y_width, &y_widths, &mut targets);
    }
    match data.weights {
        Some(w) => {
            plan.sample_weight
                .resize(plan.capacity.max(rows.len()), 0.0);
            for (b, &r) in rows.iter().enumerate() {
                plan.sample_weight[b] = w[r];
            }
        }
        None => plan.sample_weight.clear(),
    }
}

/// Adds the values of the external metrics for the last forward pass over
/// `batch` samples, computed by `observer`.
fn update_external_metrics(
    model: &mut Model,
    batch: usize,
    observer: &mut dyn Observer,
) -> Result<()> {
    for h in 0..model.output_count() {
        let externals: Vec<(usize, usize, bool)> = model
            .head_metrics(h)
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m.kind {
                crate::metrics::MetricKind::External { index } => Some((i, index, m.weighted)),
                _ => None,
            })
            .collect();
        if externals.is_empty() {
            continue;
        }
        let width = size_of(model.src_shape(model.output_src(h)));
        let y_width = model.target_width(h);
        let pred = model.output_of(h, batch).to_vec();
        let target = model.head_target(h)[..batch * y_width].to_vec();
        let plan = model.plan_mut();
        let weights =
            (!plan.sample_weight.is_empty()).then(|| plan.sample_weight[..batch].to_vec());
        for (i, index, weighted) in externals {
            let values = observer.external_metric(index, &target, &pred, batch, width, y_width)?;
            if values.len() != batch {
                return Err(Error::InvalidArgument(format!(
                    "custom metric {} returned {} values for a batch of {batch} samples; it must return one value per sample",
                    index + 1,
                    values.len()
                )));
            }
            if let Some(metrics) = model.head_metrics_mut(h) {
                let w = if weighted { weights.as_deref() } else { None };
                metrics[i].add_values(&values, w);
            }
        }
    }
    Ok(())
}

fn loss_and_metrics(model: &mut Model, batch: usize, with_gradient: bool) -> f64 {
    model.loss_and_metrics(batch, with_gradient)
}

/// Logs of the compiled metrics plus a loss, sorted by name as keras lists them.
/// With several outputs, each output's loss (unweighted) and metrics are
/// named after the output as keras names them: `dense_1_loss`,
/// `dense_1_accuracy`.
fn collect_logs(model: &Model, loss: f64, prefix: &str) -> Vec<(String, f64)> {
    let mut logs = vec![(format!("{prefix}loss"), loss)];
    let heads = model.output_count();
    let names = if heads > 1 {
        model.output_names()
    } else {
        Vec::new()
    };
    let head_losses = model.head_losses();
    for h in 0..heads {
        let output = if let Some(name) = names.get(h) {
            format!("{name}_")
        } else {
            String::new()
        };
        if heads > 1 {
            let value = head_losses.get(h).copied().unwrap_or(0.0);
            logs.push((format!("{prefix}{output}loss"), value));
        }
        for m in model.head_metrics(h) {
            logs.push((format!("{prefix}{output}{}", m.name), m.result()));
        }
    }
    logs.sort_by(|a, b| a.0.cmp(&b.0));
    logs
}

fn reset_metrics(model: &mut Model) {
    model.reset_metrics();
}

/// Trains `model` on `data`; see [`FitConfig`]. Validation data, when given,
/// takes precedence over `validation_split`.
pub fn fit(
    model: &mut Model,
    data: Data,
    validation: Option<Data>,
    config: &FitConfig,
    observer: &mut dyn Observer,
) -> Result<History> {
    fit_with_callbacks(model, data, validation, config, &mut [], observer)
}

/// Outcome of one training step.
enum StepResult {
    /// The sum of the weighted per-sample losses, plus the regularization
    /// penalty times the batch size.
    Loss(f64),
    /// The loss was NaN or infinite; the weights were not updated.
    NonFinite(f64),
}

/// Runs one training step on the batch already in the plan.
fn train_step(
    model: &mut Model,
    b: usize,
    fused: bool,
    rng: &mut rand::rngs::StdRng,
) -> Result<StepResult> {
    model.forward(b, true, rng);
    let data_loss = loss_and_metrics(model, b, true);
    let total = data_loss + model.regularization_penalty(b) * b as f64;
    if !total.is_finite() {
        return Ok(StepResult::NonFinite(total / b as f64));
    }
    model.backward(b, fused);
    model.apply_gradients()?;
    Ok(StepResult::Loss(total))
}

/// Like [`fit`], running `callbacks` at keras's points (epochs and batches
/// are 0-based for them). A callback returning [`Action::Stop`] ends training
/// after the current batch or epoch, as `model$stop_training` does in keras.
pub fn fit_with_callbacks(
    model: &mut Model,
    data: Data,
    validation: Option<Data>,
    config: &FitConfig,
    callbacks: &mut [Box<dyn Callback + '_>],
    observer: &mut dyn Observer,
) -> Result<History> {
    if config.batch_size == 0 {
        return Err(Error::InvalidArgument(
            "`batch_size` must be a positive integer, got 0".into(),
        ));
    }
    if !(0.0..1.0).contains(&config.validation_split) {
        return Err(Error::InvalidArgument(format!(
            "`validation_split` must be in [0, 1), got {}",
            config.validation_split
        )));
    }
    check_data(model, &data, "x")?;
    let (train_n, split_validation) = if validation.is_none() && config.validation_split > 0.0 {
        let split_at = (data.n as f64 * (1.0 - config.validation_split)).floor() as usize;
        if split_at == 0 || split_at == data.n {
            return Err(Error::InvalidArgument(format!(
                "`validation_split` = {} leaves no samples for {} with {} samples",
                config.validation_split,
                if split_at == 0 {
                    "training"
                } else {
                    "validation"
                },
                data.n
            )));
        }
        (split_at, true)
    } else {
        (data.n, false)
    };
    if let Some(v) = &validation {
        check_data(model, v, "validation_data")?;
    }
    let x_width = input_width(model);
    let y_width = target_width(model);
    let val_holder;
    let validation = if split_validation {
        val_holder = Data {
            x: &data.x[train_n * x_width..],
            y: &data.y[train_n * y_width..],
            n: data.n - train_n,
            weights: data.weights.map(|w| &w[train_n..]),
        };
        Some(val_holder)
    } else {
        validation
    };

    let batch_size = config.batch_size.min(train_n);
    model.check_plan_memory(batch_size, true)?;
    model.ensure_plan(batch_size, true, model.target_width(0));
    let steps = train_n.div_ceil(batch_size);
    let mut order: Vec<usize> = (0..train_n).collect();
    let mut history = History::default();
    let fused = model.fused_output();
    let pool = pool::pool();
    // Small models step on the calling thread: handing each step to the
    // pool costs more than the step itself. Results are the same bits.
    let inline = step_cost(model, batch_size) < INLINE_MAX_COST;
    let log_learning_rate = callbacks.iter().any(|c| c.changes_learning_rate())
        || model
            .compiled
            .as_ref()
            .is_some_and(|c| c.optimizer.schedule.is_some());

    let mut stop = false;
    for cb in callbacks.iter_mut() {
        stop |= cb.on_train_begin(model)? == Action::Stop;
    }
    let mut epoch = config.initial_epoch;
    while epoch < config.epochs && !stop {
        if config.verbose > 0 {
            observer.print(&format!("Epoch {}/{}\n", epoch + 1, config.epochs));
        }
        for cb in callbacks.iter_mut() {
            stop |= cb.on_epoch_begin(epoch, model)? == Action::Stop;
        }
        let mut rng = model.epoch_rng(model.iterations());
        // Each epoch shuffles the identity order, so an epoch's order depends
        // only on its generator and not on earlier epochs of the same call.
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        if config.shuffle {
            for i in (1..train_n).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
        }
        reset_metrics(model);
        let start = Instant::now();
        let mut last_draw = start;
        let mut loss_sum = 0.0;
        let mut seen = 0usize;
        let mut steps_done = 0;
        for step in 0..steps {
            if stop {
                break;
            }
            for cb in callbacks.iter_mut() {
                stop |= cb.on_batch_begin(epoch, step, model)? == Action::Stop;
            }
            let rows = &order[step * batch_size..((step + 1) * batch_size).min(train_n)];
            let b = rows.len();
            gather(model, &data, rows);
            let step_rng = &mut rng;
            let result = if inline {
                pool::with_flushed_denormals(|| train_step(model, b, fused, step_rng))?
            } else {
                pool.install(|| train_step(model, b, fused, step_rng))?
            };
            match result {
                StepResult::Loss(sum) => {
                    loss_sum += sum;
                    seen += b;
                    steps_done = step + 1;
                    update_external_metrics(model, b, observer)?;
                }
                StepResult::NonFinite(value) => {
                    if config.verbose > 0 {
                        observer.print("\n");
                    }
                    history.non_finite = Some((epoch + 1, step + 1, value));
                    stop = true;
                    break;
                }
            }
            if callbacks.iter().any(|c| c.uses_batch_end()) {
                let logs = collect_logs(model, loss_sum / seen as f64, "");
                for cb in callbacks.iter_mut() {
                    stop |= cb.on_batch_end(epoch, step, &logs, model)? == Action::Stop;
                }
            }
            if observer.interrupted() {
                if config.verbose > 0 {
                    observer.print("\n");
                }
                history.interrupted = true;
                history.interrupted_at_step = step + 1;
                finish(callbacks, model, observer)?;
                return Ok(history);
            }
            let now = Instant::now();
            if config.verbose == 1
                && step + 1 < steps
                && now.duration_since(last_draw).as_secs_f64() >= REDRAW_INTERVAL
            {
                last_draw = now;
                let logs = collect_logs(model, loss_sum / seen as f64, "");
                let line = progress::bar_line(
                    step + 1,
                    steps,
                    start.elapsed().as_secs_f64(),
                    &logs,
                    config.unicode,
                );
                observer.print(&format!("\r{line}"));
            }
        }
        if seen == 0 {
            // Stopped before the first step of the epoch completed.
            break;
        }
        let mut logs = collect_logs(model, loss_sum / seen as f64, "");
        if let Some(v) = &validation {
            let val = evaluate_inner(model, v, config.batch_size, &pool, observer)?;
            logs.extend(val.into_iter().map(|(n, v)| (format!("val_{n}"), v)));
        }
        if log_learning_rate {
            let lr = model
                .compiled
                .as_ref()
                .map(|c| c.optimizer.current_learning_rate())
                .unwrap_or(0.0);
            logs.push(("learning_rate".to_string(), lr as f64));
        }
        for cb in callbacks.iter_mut() {
            stop |= cb.on_epoch_end(epoch, &mut logs, model)? == Action::Stop;
        }
        let elapsed = start.elapsed().as_secs_f64();
        match config.verbose {
            1 => {
                let line = progress::bar_line(steps_done, steps, elapsed, &logs, config.unicode);
                observer.print(&format!("\r{line}\n"));
            }
            2 => observer.print(&format!(
                "{}\n",
                progress::epoch_line(steps_done, elapsed, &logs)
            )),
            _ => {}
        }
        for cb in callbacks.iter_mut() {
            for message in cb.epoch_messages() {
                observer.print(&format!("{message}\n"));
            }
        }
        history.push(epoch + 1, &logs);
        history.seconds.push(elapsed);
        epoch += 1;
    }
    finish(callbacks, model, observer)?;
    Ok(history)
}

/// Runs the callbacks' `on_train_end` and prints their messages.
fn finish(
    callbacks: &mut [Box<dyn Callback + '_>],
    model: &mut Model,
    observer: &mut dyn Observer,
) -> Result<()> {
    for cb in callbacks.iter_mut() {
        for message in cb.on_train_end(model)? {
            observer.print(&format!("{message}\n"));
        }
    }
    Ok(())
}

fn evaluate_inner(
    model: &mut Model,
    data: &Data,
    batch_size: usize,
    pool: &rayon::ThreadPool,
    observer: &mut dyn Observer,
) -> Result<Vec<(String, f64)>> {
    let batch_size = batch_size.max(1).min(data.n);
    model.check_plan_memory(batch_size, false)?;
    model.ensure_plan(batch_size, false, model.target_width(0));
    reset_metrics(model);
    let mut loss_sum = 0.0;
    let mut rng = StdRng::seed_from_u64(0);
    let mut rows: Vec<usize> = Vec::with_capacity(batch_size);
    for start in (0..data.n).step_by(batch_size) {
        let end = (start + batch_size).min(data.n);
        rows.clear();
        rows.extend(start..end);
        let b = rows.len();
        gather(model, data, &rows);
        let rng = &mut rng;
        loss_sum += pool.install(|| {
            model.forward(b, false, rng);
            loss_and_metrics(model, b, false) + model.regularization_penalty(b) * b as f64
        });
        update_external_metrics(model, b, observer)?;
        if observer.interrupted() {
            return Err(Error::Interrupted);
        }
    }
    Ok(collect_logs(model, loss_sum / data.n as f64, ""))
}

/// Returns the loss and metrics over `data`, sorted by name.
pub fn evaluate(model: &mut Model, data: Data, batch_size: usize) -> Result<Vec<(String, f64)>> {
    evaluate_with(model, data, batch_size, &mut Silent)
}

/// Like [`evaluate`], checking `observer` for an interrupt between batches.
pub fn evaluate_with(
    model: &mut Model,
    data: Data,
    batch_size: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<(String, f64)>> {
    if batch_size == 0 {
        return Err(Error::InvalidArgument(
            "`batch_size` must be a positive integer, got 0".into(),
        ));
    }
    check_data(model, &data, "x")?;
    let pool = pool::pool();
    evaluate_inner(model, &data, batch_size, &pool, observer)
}

/// Returns the model output for the `n` samples of `x`, row-major.
pub fn predict(model: &mut Model, x: &[f32], n: usize, batch_size: usize) -> Result<Vec<f32>> {
    predict_with(model, x, n, batch_size, &mut Silent)
}

/// Like [`predict`], checking `observer` for an interrupt between batches.
pub fn predict_with(
    model: &mut Model,
    x: &[f32],
    n: usize,
    batch_size: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<f32>> {
    if batch_size == 0 {
        return Err(Error::InvalidArgument(
            "`batch_size` must be a positive integer, got 0".into(),
        ));
    }
    let x_widths: Vec<usize> = model.input_shapes().iter().map(|s| size_of(s)).collect();
    let x_width: usize = x_widths.iter().sum();
    let out_widths: Vec<usize> = model.output_shapes().iter().map(|s| size_of(s)).collect();
    let out_width: usize = out_widths.iter().sum();
    crate::memory::check_f32s(n as f64 * out_width as f64, "the predictions")?;
    let mut out = vec![0f32; n * out_width];
    if n == 0 {
        return Ok(out);
    }
    let batch_size = batch_size.min(n);
    model.check_plan_memory(batch_size, false)?;
    model.ensure_plan(batch_size, false, model.target_width(0));
    let mut rng = StdRng::seed_from_u64(0);
    // A single small batch is cheaper on the calling thread than through the pool.
    let small = n * (x_width + out_width) < 1 << 16;
    let mut rows: Vec<usize> = Vec::with_capacity(batch_size);
    for start in (0..n).step_by(batch_size) {
        let end = (start + batch_size).min(n);
        let b = end - start;
        if x_widths.len() == 1 {
            model.plan_mut().input[..b * x_width]
                .copy_from_slice(&x[start * x_width..end * x_width]);
        } else {
            rows.clear();
            rows.extend(start..end);
            let plan = model.plan_mut();
            let mut inputs: Vec<&mut Vec<f32>> = std::iter::once(&mut plan.input)
                .chain(plan.extra_inputs.iter_mut())
                .collect();
            scatter_rows(x, &rows, x_width, &x_widths, &mut inputs);
        }
        if small {
            model.forward(b, false, &mut rng);
        } else {
            let rng = &mut rng;
            pool::install(|| model.forward(b, false, rng));
        }
        if out_widths.len() == 1 {
            out[start * out_width..end * out_width].copy_from_slice(model.output(b));
        } else {
            let mut offset = 0;
            for (h, &w) in out_widths.iter().enumerate() {
                let values = model.output_of(h, b);
                for r in 0..b {
                    let at = (start + r) * out_width + offset;
                    out[at..at + w].copy_from_slice(&values[r * w..(r + 1) * w]);
                }
                offset += w;
            }
        }
        if end < n && observer.interrupted() {
            return Err(Error::Interrupted);
        }
    }
    Ok(out)
}
