//! Printing for the command-line tools (`rootlog` and `rootlog-witness`):
//! standard output or error that can no longer be written ends the printing
//! quietly instead of panicking.
//!
//! `println!` panics when standard output cannot be written, and a Rust
//! program ignores SIGPIPE, so `rootlog submit ... | head -3` ended with
//! "failed printing to stdout: Broken pipe" and exit code 101 once `head`
//! had read its lines. The tools print through [`outln!`], [`out!`] and
//! [`errln!`] instead:
//!
//! - standard output closed by its reader (EPIPE) stops the printing
//!   quietly, and the command goes on to end with its own exit code: `rootlog
//!   submit ... | head -3` still says by its exit code whether the statement
//!   was logged, and `rootlog verify ... | head -1` still gives the verdict;
//! - any other error writing standard output (a full disk behind `>`) also
//!   stops the printing, and [`stdout_error`] tells the binary, which then
//!   ends with exit code 1 and says so: output that was asked for and lost is
//!   a failure, not a success;
//! - standard error that cannot be written is given up silently: there is
//!   nowhere left to say anything.
//!
//! SIGPIPE stays ignored rather than restored to its default (which ends a
//! process silently, as C filters do), because the same processes write to
//! sockets, and not always through `send(MSG_NOSIGNAL)` (hyper writes
//! requests with `writev`): a connection the peer closed must be an error
//! that `rootlog submit` retries and the server logs, not a signal that
//! kills them.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set once standard output failed: nothing more is written to it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// The first error writing standard output other than a closed pipe.
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);
/// Set once standard error failed.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to standard output and flushes (so an error shows at the write
/// that met it, not at exit, where it would be ignored); see the module
/// documentation for what happens when it cannot.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Writes to standard error; gives up silently if it cannot.
pub fn write_stderr(args: fmt::Arguments<'_>) {
    if STDERR_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut err = std::io::stderr().lock();
    if err.write_fmt(args).and_then(|()| err.flush()).is_err() {
        STDERR_GONE.store(true, Ordering::Relaxed);
    }
}

/// The first error writing standard output, unless it was only closed by its
/// reader: output that was lost, which the binary turns into exit code 1.
pub fn stdout_error() -> Option<String> {
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// `println!` that does not panic (see [`crate::stdio`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::stdio::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdio::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that does not panic (see [`crate::stdio`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdio::write_stdout(format_args!($($arg)*))
    };
}

/// `eprintln!` that does not panic (see [`crate::stdio`]).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stdio::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
