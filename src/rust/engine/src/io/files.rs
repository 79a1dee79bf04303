//! Reading and atomically replacing files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Reads the whole file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(Error::File(format!(
            "cannot read \"{}\": it is a directory",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| Error::File(format!("cannot read \"{}\": {e}", path.display())))
}

/// Writes `bytes` to `path` so that `path` contains either its old content or
/// all of the new one, whatever happens during the write. The data goes to
/// a temporary file in the same directory, is flushed to disk, and is then
/// renamed over `path`. The temporary file is removed when writing fails.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail =
        |problem: String| Error::File(format!("cannot write \"{}\": {problem}", path.display()));
    if path.is_dir() {
        return Err(fail("it is a directory".into()));
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| fail("the path does not name a file".into()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(fail(format!(
            "the directory \"{}\" does not exist",
            dir.display()
        )));
    }

    // The process id and a counter keep temporary names unique across
    // processes and threads writing to the same directory.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_new(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(fail(e.to_string()));
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file: File = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kerust-io-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn write_replaces_and_leaves_no_temporary_file() {
        let dir = temp_dir("replace");
        let path = dir.join("model.keras");
        write_file_atomic(&path, b"old").unwrap();
        write_file_atomic(&path, b"new content").unwrap();
        assert_eq!(read_file(&path).unwrap(), b"new content");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_write_names_the_path() {
        let dir = temp_dir("missing");
        let path = dir.join("no-such-dir").join("model.keras");
        let err = write_file_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.starts_with("cannot write \""), "{err}");
        assert!(err.contains("does not exist"), "{err}");
        let err = read_file(&dir.join("absent.keras"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("absent.keras"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
