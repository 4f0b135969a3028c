//! Call stacks: capture the running thread's stack, or a faulting one from a
//! [`Context`], and name each frame from the kernel's symbol table.
//!
//! Frames are found by following frame pointers (everything is built with them), so a
//! capture is cheap and never faults. Symbols are demangled function names with the offset
//! into the function (`crate::module::function+0x1a`); they are known once the kernel has
//! loaded its symbol table at boot.

pub use backtrace::SymbolName;

use crate::signal::Context;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;

/// Most frames a capture records.
pub const MAX_FRAMES: usize = backtrace::MAX_FRAMES;

/// One frame of a [`Backtrace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The return address (or, for the first frame of a fault backtrace, the faulting
    /// instruction's address).
    pub addr: usize,
    /// The function containing the frame's code (shown demangled) and the offset of `addr`
    /// into it.
    pub symbol: Option<(SymbolName<'static>, usize)>,
}

/// A captured call stack, innermost frame first. `Display` prints one
/// `  N: 0x… function+0x…` line per frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backtrace {
    frames: Vec<Frame>,
}

impl Backtrace {
    /// The frames, innermost first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Whether some frame lies in a function whose name contains `name`.
    pub fn mentions(&self, name: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.symbol.is_some_and(|(s, _)| s.to_string().contains(name)))
    }

    /// Builds a backtrace from addresses: return addresses are looked up one byte earlier
    /// (inside their call instruction); with `exact_first` the first is an exact instruction
    /// address.
    fn from_addrs(addrs: &[u64], exact_first: bool) -> Backtrace {
        let frames = addrs
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let adjust = u64::from(!(exact_first && i == 0) && a != 0);
                Frame {
                    addr: a as usize,
                    symbol: backtrace::symbolize(a - adjust)
                        .map(|(name, off)| (name, (off + adjust) as usize)),
                }
            })
            .collect();
        Backtrace { frames }
    }
}

impl fmt::Display for Backtrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            match frame.symbol {
                Some((name, off)) => writeln!(f, "  {i}: {:#018x} {name}+{off:#x}", frame.addr)?,
                None => writeln!(f, "  {i}: {:#018x} <unknown>", frame.addr)?,
            }
        }
        Ok(())
    }
}

/// The running thread's call stack; the first frame is in the caller of `capture`.
#[inline(never)]
pub fn capture() -> Backtrace {
    // `backtrace::capture` starts in its caller: this function. Skip that frame.
    let addrs = backtrace::capture();
    Backtrace::from_addrs(addrs.get(1..).unwrap_or(&[]), false)
}

/// The call stack of a faulting context: its instruction pointer first, then its callers.
/// Allocates: from a fault handler, prefer [`capture_context_into`].
pub fn from_context(ctx: &Context<'_>) -> Backtrace {
    let addrs = backtrace::capture_from(ctx.fp() as u64, ctx.ip() as u64);
    Backtrace::from_addrs(&addrs, true)
}

/// Addresses of the call stack of a faulting context into `buf` (instruction pointer first,
/// then return addresses), without allocating or locking; returns how many were written.
pub fn capture_context_into(ctx: &Context<'_>, buf: &mut [usize]) -> usize {
    let mut raw = [0u64; MAX_FRAMES];
    let n = backtrace::capture_from_into(ctx.fp() as u64, ctx.ip() as u64, &mut raw);
    let n = n.min(buf.len());
    for (dst, src) in buf.iter_mut().zip(&raw[..n]) {
        *dst = *src as usize;
    }
    n
}

/// The function containing the instruction at `addr` (its name shown demangled), and the
/// offset into it. Does not allocate or lock.
pub fn symbolize(addr: usize) -> Option<(SymbolName<'static>, usize)> {
    backtrace::symbolize(addr as u64).map(|(name, off)| (name, off as usize))
}
