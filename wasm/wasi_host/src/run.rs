//! What running a WASI command yields, shared by every engine (`wasm_runner` for wasmi,
//! `wasmtime_runner`): the per-run [`Limits`], the [`RunError`] a run ends with (its message
//! and shell status), and the classification of compile errors. One definition, so both
//! engines print the same lines and give the same statuses.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The most bytes one linear memory may grow to. Growing copies the memory on the kernel
/// heap (old and new both live for a moment), and the heap keeps the frames it grew by.
pub const MEMORY_LIMIT: usize = 128 << 20;

/// The most elements one table may have (8 bytes each on the kernel heap).
pub const TABLE_LIMIT: usize = 1 << 20;

/// The signal a guest that ran out of fuel is reported with (SIGXCPU: status 152).
pub const SIGXCPU: i32 = 24;

/// Per-run resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Units of fuel the guest may consume (wasmi: about one per instruction); `None`
    /// leaves fuel metering off.
    pub fuel: Option<u64>,
    /// The most bytes each linear memory may have: a larger declared minimum fails to
    /// instantiate, `memory.grow` beyond it returns -1.
    pub max_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: None,
            max_memory: MEMORY_LIMIT,
        }
    }
}

/// Status for a module that cannot run (malformed, missing imports, unsupported feature).
pub const STATUS_CANNOT_RUN: i32 = 125;

/// Why a module did not run to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// Not a valid WebAssembly module (the validator's message).
    Malformed(String),
    /// Uses a proposal this engine does not enable (SIMD, threads, ...).
    Unsupported(String),
    /// Imports nothing provides: `module.name` of each.
    MissingImports(Vec<String>),
    /// An import with the wrong type, or another instantiation failure.
    Instantiate(String),
    /// No `_start` function export (not a WASI command).
    NoStart,
    /// The engine's compiler could not be run, or failed on a module it did not reject (the
    /// reason); wasmtime compiles ahead of time with a program.
    Compiler(String),
    /// The guest trapped: the trap's message, the signal number a native program would
    /// have died of, and the guest frames, innermost first (empty when the module could
    /// not be instrumented, or for running out of fuel).
    Trap {
        message: String,
        signal: i32,
        backtrace: Vec<String>,
    },
}

impl RunError {
    /// The shell status: [`STATUS_CANNOT_RUN`] for modules that cannot run, 128 + the
    /// signal for traps.
    pub fn status(&self) -> i32 {
        match self {
            RunError::Trap { signal, .. } => 128 + signal,
            _ => STATUS_CANNOT_RUN,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Malformed(m) => write!(f, "malformed module: {m}"),
            RunError::Unsupported(m) => write!(f, "unsupported feature: {m}"),
            RunError::MissingImports(names) => write!(f, "missing imports: {}", names.join(", ")),
            RunError::Instantiate(m) => write!(f, "cannot instantiate: {m}"),
            RunError::NoStart => f.write_str("not a WASI command: no `_start` export"),
            RunError::Compiler(m) => write!(f, "cannot compile: {m}"),
            RunError::Trap {
                message, backtrace, ..
            } => {
                write!(f, "trap: {message} in _start")?;
                if !backtrace.is_empty() {
                    f.write_str("\nwasm backtrace:")?;
                }
                for frame in backtrace {
                    write!(f, "\n  {frame}")?;
                }
                Ok(())
            }
        }
    }
}

/// A compile error is `Unsupported` when the validator says a feature is not enabled. The
/// message is made one line.
pub fn compile_error(message: &str) -> RunError {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = message.as_str();
    let lower = message.to_ascii_lowercase();
    if lower.contains("not enabled") || lower.contains("proposal") || lower.contains("unsupported")
    {
        RunError::Unsupported(message.into())
    } else {
        RunError::Malformed(message.into())
    }
}
