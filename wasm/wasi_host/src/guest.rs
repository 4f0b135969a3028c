//! The guest task's side of a run, the same for every engine: where the task may be stopped
//! or killed, and host functions that a kill unwinds only as far as the engine's boundary.
//!
//! An engine calls [`entering_wasm`] when control passes into guest code and
//! [`leaving_wasm`] when it comes back to the host (its call hook), and keeps a
//! [`StoppableRun`] for the run. Between the two the task runs only the engine's code, which
//! takes no lock but the heap's (the scheduler checks that one): it is async-stoppable, so
//! Ctrl-Z stops it at a timer tick. Leaving guest code is a kill point: a pending kill fails
//! the call there ([`Killed`]), and the runner unwinds above the engine (`thread::kill_point`),
//! dropping the store. A guest that computes without calling the host is checked by its
//! engine's own means (wasmi: the end of a fuel slice; wasmtime: an epoch deadline).

use crate::{Errno, errno_result};
use alloc::string::String;
use core::fmt;
use libtheseus::thread;

/// The error a host call or a kill check ends the guest's run with when its task is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("killed")
    }
}

impl core::error::Error for Killed {}

/// Control passes into guest code: the task becomes async-stoppable.
pub fn entering_wasm() {
    thread::set_async_stoppable(true);
}

/// Control comes back to the host: not async-stoppable any more, and [`Killed`] if a kill is
/// pending (the engine ends the guest's call with it).
pub fn leaving_wasm() -> Result<(), Killed> {
    thread::set_async_stoppable(false);
    check_kill()
}

/// [`Killed`] if the task has been killed (for an engine's checks while the guest computes).
pub fn check_kill() -> Result<(), Killed> {
    if thread::kill_pending() {
        Err(Killed)
    } else {
        Ok(())
    }
}

/// Held for a run: clears the async-stoppable mark when the run ends, by any path.
pub struct StoppableRun;

impl Drop for StoppableRun {
    fn drop(&mut self) {
        thread::set_async_stoppable(false);
    }
}

/// Runs one host function and gives its errno number. The engine's frames cannot be unwound
/// (wasmi's handlers are `extern "sysv64"`; wasmtime unwinds its own), so a kill point
/// reached inside the host function (a wait, a file call) unwinds only to here, dropping
/// what the host function held, and comes back as the reason: the engine turns it into an
/// error that ends the guest's call, and the runner finishes the kill above the engine. A
/// panic in the host is such an error too.
pub fn host_call(f: impl FnOnce() -> Result<(), Errno>) -> Result<i32, String> {
    thread::catch_unwind(f).map(errno_result)
}
