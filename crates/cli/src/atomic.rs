//! Atomic output files: write to a temporary file in the target's directory,
//! fsync it, then rename it over the target. A reader (or a DAG node) sees
//! either the old file or the complete new one, never a half-written file.
//!
//! What the target is decides how it is written:
//! - a regular file, or nothing yet: replaced atomically as above;
//! - a symbolic link: followed (the whole chain), and the file it ends at is
//!   replaced atomically in its own directory, so the link stays a link;
//! - a device, FIFO or socket (`/dev/null`, a named pipe), and anything named
//!   through `/dev/stdout`, `/dev/stderr`, `/dev/fd/` or `/proc/`: written in
//!   place, appending, as a shell redirection would (renaming a file over
//!   `/dev/null` would destroy the device; such targets cannot be atomic). The
//!   process's own descriptors (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`)
//!   are written through a duplicate of the descriptor, in order with the
//!   process's other output there.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written atomically. Call [`AtomicFile::commit`] to publish it;
/// dropping it without committing removes the temporary file.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    /// Written in place (a device, pipe or descriptor path): no temporary file.
    direct: bool,
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

/// Where and how an output named `target` is written.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// Replace this regular file (or create it) atomically.
    Replace(PathBuf),
    /// Write in place, appending (devices, pipes, descriptor paths).
    Direct(PathBuf),
}

/// Paths that name a process's descriptors or the kernel's files: written in place.
fn is_descriptor_path(path: &Path) -> bool {
    path.starts_with("/proc")
        || path.starts_with("/dev/fd")
        || path == Path::new("/dev/stdout")
        || path == Path::new("/dev/stderr")
}

/// The descriptor number a path names in this process (`/dev/stdout` is 1,
/// `/dev/stderr` 2, `/dev/fd/N` and `/proc/self/fd/N` are N).
fn own_descriptor(path: &Path) -> Option<i32> {
    match path.to_str()? {
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        p => p
            .strip_prefix("/dev/fd/")
            .or_else(|| p.strip_prefix("/proc/self/fd/"))?
            .parse()
            .ok(),
    }
}

/// A duplicate of this process's descriptor `fd`: writes share its open file
/// and position, so they come in order with whatever else the process writes
/// there (opening the path anew would start a second position at the start of
/// a redirected file and overwrite).
fn duplicate(fd: i32) -> io::Result<File> {
    use std::os::fd::BorrowedFd;
    // SAFETY: the descriptor is only borrowed for the duplication; if it is not
    // open, the duplication fails with EBADF and nothing else happens.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(File::from(borrowed.try_clone_to_owned()?))
}

fn destination(target: &Path) -> io::Result<Destination> {
    let mut path = target.to_path_buf();
    // Linux gives up after 40 links; so does this.
    for _ in 0..=40 {
        if is_descriptor_path(&path) {
            return Ok(Destination::Direct(target.to_path_buf()));
        }
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::Replace(path)),
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = fs::read_link(&path)?;
            path = match path.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            };
        } else if kind.is_file() {
            return Ok(Destination::Replace(path));
        } else if kind.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        } else {
            return Ok(Destination::Direct(target.to_path_buf()));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

impl AtomicFile {
    /// Starts writing `target`; the temporary file lives beside the file that
    /// is replaced, so the final rename stays on one file system. A device,
    /// pipe or descriptor path is opened for appending instead (see the module
    /// documentation).
    pub fn create(target: impl AsRef<Path>) -> io::Result<Self> {
        let (target, direct) = match destination(target.as_ref())? {
            Destination::Replace(path) => (path, false),
            Destination::Direct(path) => (path, true),
        };
        let (temp, file) = if direct {
            let file = match own_descriptor(&target) {
                Some(fd) => duplicate(fd)?,
                None => fs::OpenOptions::new().append(true).open(&target)?,
            };
            (target.clone(), file)
        } else {
            let temp = temp_name(&target)?;
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            (temp, file)
        };
        Ok(AtomicFile {
            target,
            temp,
            direct,
            file: Some(io::BufWriter::new(file)),
        })
    }

    /// Path of the temporary file (for tools such as cfitsio that need a path);
    /// the target itself when it is written in place.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes, fsyncs and renames the temporary file over the target, then
    /// fsyncs the directory so the rename itself survives a crash. A target
    /// written in place is only flushed.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(w) = self.file.take() {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            if self.direct {
                return Ok(());
            }
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
        if self.direct {
            return; // nothing of ours to remove: the target is a device or pipe
        }
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
    fn a_symlinked_target_stays_a_link_and_its_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("out.json");
        fs::write(&real, b"old").unwrap();
        // A chain: link2 -> link1 -> real/out.json (relative links).
        let link1 = dir.path().join("link1.json");
        let link2 = dir.path().join("link2.json");
        std::os::unix::fs::symlink("real/out.json", &link1).unwrap();
        std::os::unix::fs::symlink("link1.json", &link2).unwrap();
        write_atomic(&link2, b"new").unwrap();
        assert!(fs::symlink_metadata(&link2)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(&link1)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        // No temporary file left in either directory.
        assert_eq!(fs::read_dir(&real_dir).unwrap().count(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
        // A dangling link: its target is created.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("real/new.json", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(fs::read(real_dir.join("new.json")).unwrap(), b"made");
        // A loop is an error, not a hang.
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", &b).unwrap();
        assert!(write_atomic(&a, b"x").is_err());
    }

    #[test]
    fn devices_and_fifos_are_written_in_place_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        // The classification is checked before any write, so a regression fails
        // here instead of renaming a file over the machine's devices.
        for device in [
            "/dev/null",
            "/dev/full",
            "/dev/stdout",
            "/dev/fd/1",
            "/proc/self/fd/1",
        ] {
            let path = Path::new(device);
            if path.exists() {
                assert_eq!(
                    destination(path).unwrap(),
                    Destination::Direct(path.to_path_buf()),
                    "{device}"
                );
            }
        }
        write_atomic("/dev/null", b"discarded").unwrap();
        let null = fs::metadata("/dev/null").unwrap();
        assert!(
            null.file_type().is_char_device(),
            "/dev/null is still a device"
        );
        // /dev/full refuses the bytes: an error, and the device is untouched.
        if Path::new("/dev/full").exists() {
            assert!(write_atomic("/dev/full", b"x").is_err());
            assert!(fs::metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device());
        }
        // A FIFO with a reader: the bytes go through it and it stays a FIFO.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.json");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || fs::read(reader_path).unwrap());
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn own_descriptor_paths_share_the_descriptor() {
        assert_eq!(own_descriptor(Path::new("/dev/stdout")), Some(1));
        assert_eq!(own_descriptor(Path::new("/dev/stderr")), Some(2));
        assert_eq!(own_descriptor(Path::new("/dev/fd/7")), Some(7));
        assert_eq!(own_descriptor(Path::new("/proc/self/fd/3")), Some(3));
        assert_eq!(own_descriptor(Path::new("/proc/1/fd/3")), None);
        assert_eq!(own_descriptor(Path::new("/dev/null")), None);
        // Through a duplicate, writes continue where the descriptor's file stands.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redirected.txt");
        let mut original = File::create(&path).unwrap();
        original.write_all(b"first line\n").unwrap();
        use std::os::fd::AsRawFd;
        let fd = original.as_raw_fd();
        write_atomic(format!("/dev/fd/{fd}"), b"{\"json\": 1}\n").unwrap();
        original.write_all(b"last line\n").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "first line\n{\"json\": 1}\nlast line\n"
        );
        assert!(write_atomic("/dev/fd/987654", b"x").is_err(), "not open");
    }

    #[test]
    fn a_directory_target_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("no/such/dir/out.json");
        assert!(write_atomic(&target, b"x").is_err());
    }
}
