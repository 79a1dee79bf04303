//! Progress text in the format of Keras 3's progress bar:
//!
//! ```text
//! Epoch 1/10
//! 422/422 ━━━━━━━━━━━━━━━━━━━━ 2s 4ms/step - accuracy: 0.8206 - loss: 0.5048
//! ```

const BAR_WIDTH: usize = 20;

/// Formats a metric value as keras does: 4 decimals, or scientific notation
/// for magnitudes of at most 1e-3.
pub fn format_value(v: f64) -> String {
    if v.abs() > 1e-3 || v == 0.0 {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

/// Formats seconds per step: `4ms/step`, `120us/step`, `2s/step`.
pub fn format_per_step(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.0}s/step")
    } else if seconds >= 1e-3 {
        format!("{:.0}ms/step", seconds * 1e3)
    } else {
        format!("{:.0}us/step", seconds * 1e6)
    }
}

/// Formats a duration as keras's ETA: `5s`, `2:05`, `1:02:05`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else if s >= 60 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn format_logs(logs: &[(String, f64)]) -> String {
    logs.iter()
        .map(|(name, v)| format!(" - {name}: {}", format_value(*v)))
        .collect()
}

/// Formats one progress-bar line (without line ending) after `step` of `steps`.
pub fn bar_line(
    step: usize,
    steps: usize,
    elapsed: f64,
    logs: &[(String, f64)],
    unicode: bool,
) -> String {
    let done = (step * BAR_WIDTH).checked_div(steps).unwrap_or(BAR_WIDTH);
    let (full, empty) = if unicode {
        ("\u{2501}", "\u{2500}")
    } else {
        ("=", ".")
    };
    let bar = format!("{}{}", full.repeat(done), empty.repeat(BAR_WIDTH - done));
    let per_step = if step > 0 { elapsed / step as f64 } else { 0.0 };
    let time = if step < steps {
        format_duration(per_step * (steps - step) as f64)
    } else {
        format_duration(elapsed)
    };
    let width = steps.to_string().len();
    format!(
        "{step:>width$}/{steps} {bar} {time} {}{}",
        format_per_step(per_step),
        format_logs(logs)
    )
}

/// Formats the one line per epoch printed with `verbose = 2`.
pub fn epoch_line(steps: usize, elapsed: f64, logs: &[(String, f64)]) -> String {
    let per_step = if steps > 0 {
        elapsed / steps as f64
    } else {
        0.0
    };
    format!(
        "{steps}/{steps} - {} - {}{}",
        format_duration(elapsed),
        format_per_step(per_step),
        format_logs(logs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_keras_format() {
        let logs = vec![
            ("accuracy".to_string(), 0.82061),
            ("loss".to_string(), 0.0005),
        ];
        assert_eq!(
            epoch_line(422, 2.2, &logs),
            "422/422 - 2s - 5ms/step - accuracy: 0.8206 - loss: 5.0000e-4"
        );
        let line = bar_line(211, 422, 1.0, &logs, false);
        assert_eq!(
            line,
            "211/422 ==========.......... 1s 5ms/step - accuracy: 0.8206 - loss: 5.0000e-4"
        );
        assert_eq!(format_duration(125.0), "2:05");
    }
}
