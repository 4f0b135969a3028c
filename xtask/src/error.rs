//! The one error type of xtask: a message for the user plus the process exit code.

use std::fmt;

/// Exit code for a mistake on the command line (bad flag, bad `--add`).
pub const EXIT_USAGE: i32 = 2;
/// Exit code for any other failure of xtask itself (build failed, tool missing).
pub const EXIT_FAILURE: i32 = 1;

/// An error reported as `xtask: error: <message>` before exiting with `exit_code`.
#[derive(Debug)]
pub struct Error {
    pub message: String,
    pub exit_code: i32,
}

impl Error {
    /// A command-line mistake (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: EXIT_USAGE,
        }
    }

    /// Any other failure (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attaches what was being done to an I/O (or other) error: `.context(|| format!("reading {path}"))`.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|err| Error::failed(format!("{}: {err}", what())))
    }
}
