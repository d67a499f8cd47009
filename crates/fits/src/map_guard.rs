//! A clear error instead of a crash when a memory-mapped input file is cut short.
//!
//! [`Image::map_plane`](crate::Image::map_plane) reads pixels straight from the page cache.
//! If another process truncates the file while a plane is in use, touching the lost pages
//! raises SIGBUS, which by default kills the process without a word. A tool that calls
//! [`exit_cleanly_on_truncated_maps`] once at start-up gets instead, on standard error,
//! `tool: FILE: the file was truncated by another process while it was being read`, and the
//! exit code it chose (the input-error code). The process cannot carry on after such a fault
//! (the faulting read cannot be completed), so the run stops there; outputs written through
//! the atomic writer are never half-written, only their temporary files may remain.
//!
//! Each live mapping is registered (address range and the ready-made message) in a fixed
//! table the signal handler can read without allocating or locking. A SIGBUS at an address
//! outside every registered mapping is not ours: the handler restores the default action
//! and returns, so the fault repeats and the process dies as it would have.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings tracked at once; more (never the case for these tools) are simply not named.
const SLOTS: usize = 64;

struct Slot {
    claimed: AtomicBool,
    /// First mapped address; 0 while the slot is not (yet) describing a mapping.
    start: AtomicUsize,
    end: AtomicUsize,
    message: AtomicPtr<u8>,
    message_len: AtomicUsize,
}

impl Slot {
    const fn new() -> Self {
        Self {
            claimed: AtomicBool::new(false),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            message: AtomicPtr::new(std::ptr::null_mut()),
            message_len: AtomicUsize::new(0),
        }
    }
}

static TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
static TOOL: OnceLock<&'static str> = OnceLock::new();
static EXIT_CODE: AtomicI32 = AtomicI32::new(2);

/// Installs the SIGBUS handler for `tool` (the name that starts its error lines), exiting
/// with `exit_code` when a registered mapping faults. Call once, early in `main`; later
/// calls change nothing. Returns false if the handler could not be installed (the tool then
/// behaves as without it).
pub fn exit_cleanly_on_truncated_maps(tool: &'static str, exit_code: i32) -> bool {
    if TOOL.set(tool).is_err() {
        return true;
    }
    EXIT_CODE.store(exit_code, Ordering::Relaxed);
    // SAFETY: a zeroed sigaction is a valid starting value; the handler only reads atomics,
    // calls write(2), _exit(2) and sigaction(2), all async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) == 0
    }
}

/// The registration of one mapping; dropping it (before the map is unmapped) removes it.
/// Other crates that map input files use it through [`crate::MapRegistration`].
#[derive(Debug)]
pub struct Registration {
    slot: Option<usize>,
}

impl Registration {
    /// Registers `len` bytes at `start`, read from `path`. Without an installed handler
    /// nothing is recorded.
    pub fn new(start: *const u8, len: usize, path: &Path) -> Self {
        let Some(tool) = TOOL.get() else {
            return Self { slot: None };
        };
        let Some(slot) = TABLE.iter().position(|s| {
            s.claimed
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        }) else {
            return Self { slot: None };
        };
        let text = format!(
            "{tool}: {}: the file was truncated by another process while it was being read\n",
            path.display()
        );
        let message = Box::leak(text.into_bytes().into_boxed_slice());
        let entry = &TABLE[slot];
        entry.message_len.store(message.len(), Ordering::Relaxed);
        entry.message.store(message.as_mut_ptr(), Ordering::Relaxed);
        entry.end.store(start as usize + len, Ordering::Relaxed);
        entry.start.store(start as usize, Ordering::Release);
        Self { slot: Some(slot) }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(slot) = self.slot else {
            return;
        };
        let entry = &TABLE[slot];
        entry.start.store(0, Ordering::Release);
        let message = entry.message.swap(std::ptr::null_mut(), Ordering::AcqRel);
        let len = entry.message_len.load(Ordering::Relaxed);
        if !message.is_null() {
            // SAFETY: the pointer and length are those of the boxed slice leaked in `new`;
            // the handler only reads the message of a mapping that is still in use, and
            // this one no longer is.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(message, len)) });
        }
        entry.claimed.store(false, Ordering::Release);
    }
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for an SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    for entry in &TABLE {
        let start = entry.start.load(Ordering::Acquire);
        if start == 0 || address < start || address >= entry.end.load(Ordering::Relaxed) {
            continue;
        }
        let message = entry.message.load(Ordering::Acquire);
        let len = entry.message_len.load(Ordering::Relaxed);
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the message belongs to the
        // live mapping that faulted.
        unsafe {
            if !message.is_null() {
                libc::write(2, message.cast(), len);
            }
            libc::_exit(EXIT_CODE.load(Ordering::Relaxed));
        }
    }
    // Not one of our mappings: let the default action (terminate, core) happen on return.
    // SAFETY: restoring SIG_DFL with sigaction is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}
