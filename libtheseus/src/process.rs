//! Processes: the running program as a whole (all the threads sharing its context).

/// Ends the calling program with `status`: its other threads are killed, then the calling
/// one ends with the status as the program's exit status.
pub fn exit_current_process(status: i32) -> ! {
    process::exit_current_process(status)
}
