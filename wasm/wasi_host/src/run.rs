//! What running a WASI command needs and yields, shared by every engine (`wasm_runner` for
//! wasmi, `wasmtime_runner`): the per-run [`Limits`], the checks made before a module runs
//! (magic number, imports, declared memory and table sizes), the [`RunError`] a run ends with
//! (its message and shell status), the classification of compile errors and the backtrace
//! lines. One definition, so both engines print the same lines and give the same statuses;
//! each runner keeps only what is engine-specific.

use crate::abi;
use alloc::format;
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

/// Bytes in a wasm page (neither engine enables custom page sizes).
pub const WASM_PAGE: u64 = 65536;

/// Guest frames printed in a trap's backtrace before `... N more`.
pub const MAX_FRAMES_PRINTED: usize = 40;

/// `Malformed` unless `bytes` starts with the wasm magic number (checked before an engine
/// sees the bytes, so both say the same).
pub fn check_magic(bytes: &[u8]) -> Result<(), RunError> {
    if bytes.starts_with(b"\0asm") {
        Ok(())
    } else {
        Err(RunError::Malformed(
            "not a WebAssembly module (no `\\0asm` magic number)".into(),
        ))
    }
}

/// One import of a module, as an engine lists it.
#[derive(Clone, Copy, Debug)]
pub struct Import<'a> {
    pub module: &'a str,
    pub name: &'a str,
    /// Whether it imports a function (preview1 has only functions).
    pub is_function: bool,
}

/// [`RunError::MissingImports`] naming every import that is not a preview1 function (the
/// host defines all of them).
pub fn check_imports<'a>(imports: impl IntoIterator<Item = Import<'a>>) -> Result<(), RunError> {
    let missing: Vec<String> = imports
        .into_iter()
        .filter(|i| !(i.module == abi::MODULE && abi::find(i.name).is_some() && i.is_function))
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RunError::MissingImports(missing))
    }
}

/// The declared minimum of an exported memory or table.
#[derive(Clone, Copy, Debug)]
pub enum Declared {
    /// A memory's minimum, in wasm pages.
    MemoryPages(u64),
    /// A table's minimum, in elements.
    TableElements(u64),
}

/// One clear line when an exported memory's or table's declared minimum is over its limit
/// (`max_memory` bytes, [`TABLE_LIMIT`] elements): the engines would otherwise fail the
/// allocation each with its own words.
pub fn check_declared_sizes<'a>(
    exports: impl IntoIterator<Item = (&'a str, Declared)>,
    max_memory: usize,
) -> Result<(), RunError> {
    for (name, declared) in exports {
        match declared {
            Declared::MemoryPages(pages) => {
                let bytes = pages.saturating_mul(WASM_PAGE);
                if bytes > max_memory as u64 {
                    return Err(RunError::Instantiate(format!(
                        "memory `{name}` declares a minimum of {bytes} bytes, over the limit of {max_memory} bytes"
                    )));
                }
            }
            Declared::TableElements(elements) if elements > TABLE_LIMIT as u64 => {
                return Err(RunError::Instantiate(format!(
                    "table `{name}` declares a minimum of {elements} elements, over the limit of {TABLE_LIMIT}"
                )));
            }
            Declared::TableElements(_) => {}
        }
    }
    Ok(())
}

/// A trap's backtrace lines from the guest's frames, innermost first (function index and
/// name from the `name` section): `N: name (func I)` or `N: func I`, at most
/// [`MAX_FRAMES_PRINTED`] lines, then `... M more` when `total` frames were on the stack.
pub fn format_frames<'a>(
    total: usize,
    frames: impl IntoIterator<Item = (u32, Option<&'a str>)>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, (func, name)) in frames.into_iter().take(MAX_FRAMES_PRINTED).enumerate() {
        lines.push(match name {
            Some(n) => format!("{i}: {n} (func {func})"),
            None => format!("{i}: func {func}"),
        });
    }
    if total > MAX_FRAMES_PRINTED && lines.len() == MAX_FRAMES_PRINTED {
        lines.push(format!("... {} more", total - MAX_FRAMES_PRINTED));
    }
    lines
}
