//! Per-process command-line arguments, environment variables and auxiliary vector.
//!
//! Stored in the process's VFS context: the threads of a process share them; a child
//! process (a context made with `new_child` or `fork`) starts with a copy of the
//! environment. Names may not be empty or contain `=` or NUL; values may not contain NUL.

use crate::{Errno, Result};
use alloc::string::String;
use alloc::vec::Vec;

/// The process's arguments (`argv`; the program name first when the spawner set one).
pub fn args() -> Vec<String> {
    vfs::current_context().args()
}

/// The auxiliary vector the process's program started with, as `(key, value)` words ending
/// with `AT_NULL, 0` (empty when the process runs no program).
pub fn auxv() -> Vec<u64> {
    vfs::current_context().auxv()
}

/// Replaces the process's arguments (for whoever starts a program).
pub fn set_args<I, S>(args: I)
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    vfs::current_context().set_args(args.into_iter().map(Into::into).collect());
}

/// The value of variable `name`.
pub fn var(name: &str) -> Option<String> {
    vfs::current_context().env_var(name)
}

/// Sets variable `name` to `value` (`setenv` with overwrite). `EINVAL` for a bad name or
/// value.
pub fn set_var(name: &str, value: &str) -> Result<()> {
    check_name(name)?;
    if value.contains('\0') {
        return Err(Errno::EINVAL);
    }
    vfs::current_context().set_env_var(name, value);
    Ok(())
}

/// Removes variable `name`; returns its value if it was set. `EINVAL` for a bad name.
pub fn remove_var(name: &str) -> Result<Option<String>> {
    check_name(name)?;
    Ok(vfs::current_context().remove_env_var(name))
}

/// Every variable as `(name, value)`, in the order they were first set.
pub fn vars() -> Vec<(String, String)> {
    vfs::current_context().env_vars()
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
