//! Atomic output files: write to a temporary file in the target's directory,
//! fsync it, then rename it over the target. A reader (or a DAG node) sees
//! either the old file or the complete new one, never a half-written file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written atomically. Call [`AtomicFile::commit`] to publish it;
/// dropping it without committing removes the temporary file.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<io::BufWriter<File>>,
}

fn temp_name(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name")
    })?;
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty());
    let pid = std::process::id();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = format!(".{}.tmp-{pid}-{n}", name.to_string_lossy());
    Ok(match dir {
        Some(d) => d.join(tmp),
        None => PathBuf::from(tmp),
    })
}

impl AtomicFile {
    /// Starts writing `target`; the temporary file lives beside it so the
    /// final rename stays on one file system.
    pub fn create(target: impl AsRef<Path>) -> io::Result<Self> {
        let target = target.as_ref().to_path_buf();
        let temp = temp_name(&target)?;
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(AtomicFile {
            target,
            temp,
            file: Some(io::BufWriter::new(file)),
        })
    }

    /// Path of the temporary file (for tools such as cfitsio that need a path).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes, fsyncs and renames the temporary file over the target, then
    /// fsyncs the directory so the rename itself survives a crash.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(w) = self.file.take() {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
        }
        fs::rename(&self.temp, &self.target)?;
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("atomic file already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() || self.temp.exists() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomic(target: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Publishes a file that something else (e.g. cfitsio) wrote at `temp`:
/// fsyncs it and renames it over `target`.
pub fn publish_file(temp: &Path, target: &Path) -> io::Result<()> {
    File::open(temp)?.sync_all()?;
    fs::rename(temp, target)?;
    if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// A fresh temporary path beside `target` (not created), for writers that
/// insist on creating the file themselves. Pair with [`publish_file`].
pub fn temp_path_for(target: &Path) -> io::Result<PathBuf> {
    temp_name(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_target_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        fs::write(&target, b"old").unwrap();
        write_atomic(&target, b"new contents").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new contents");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    #[test]
    fn dropping_without_commit_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        fs::write(&target, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("no/such/dir/out.json");
        assert!(write_atomic(&target, b"x").is_err());
    }
}
