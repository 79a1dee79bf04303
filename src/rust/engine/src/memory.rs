//! Checks large allocations before they are made. Rust aborts the process
//! when an allocation fails, which would end the R session, so weights and
//! buffers whose size depends on user input are checked against the memory
//! the system reports as available first.

use crate::error::{Error, Result};

/// Allocations below this size are not checked.
const CHECK_MIN_BYTES: u64 = 64 << 20;

/// Returns the memory available to new allocations in bytes (Linux's
/// `MemAvailable` plus free swap), or `None` where it cannot be read.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some(field("MemAvailable:")? + field("SwapFree:").unwrap_or(0))
}

fn format_bytes(bytes: f64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// Checks that `count` f32 values fit in memory; `what` names them in the error.
pub fn check_f32s(count: f64, what: &str) -> Result<()> {
    let bytes = count * 4.0;
    if !bytes.is_finite() || bytes > (isize::MAX as f64) {
        return Err(Error::InvalidArgument(format!(
            "{what} would need {} of memory, more than any machine can address",
            format_bytes(bytes)
        )));
    }
    if (bytes as u64) < CHECK_MIN_BYTES {
        return Ok(());
    }
    if let Some(available) = available_bytes() {
        if bytes as u64 > available {
            return Err(Error::InvalidArgument(format!(
                "{what} would need {} of memory but only {} is available; use fewer units or a smaller batch_size",
                format_bytes(bytes),
                format_bytes(available as f64)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_sizes_are_rejected() {
        assert!(check_f32s(1e6, "small").is_ok());
        let err = check_f32s(784.0 * 1e12, "the kernel of layer dense").unwrap_err();
        assert!(
            err.to_string()
                .contains("the kernel of layer dense would need"),
            "{err}"
        );
    }
}
