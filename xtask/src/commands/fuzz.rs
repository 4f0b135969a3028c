//! `cargo xtask fuzz` (also run by `cargo xtask test --slow`): the bounded fuzz and stress
//! group. xtask makes the generated inputs ([`crate::fuzz_inputs`]), boots the kernel with
//! `mode=fuzz` (the `kernel_fuzz!` tests in kernel/kernel/src/fuzz_tests.rs), shows each
//! test's line of counts and counts the results like the in-kernel tests.

use std::time::{Duration, Instant};

use super::test::{Tally, kernel_test_boot};
use crate::cmdline::Mode;
use crate::error::Result;
use crate::fuzz_inputs;
use crate::workspace::Workspace;

/// The whole group must end within this (it takes a few minutes under TCG).
const FUZZ_TIMEOUT: Duration = Duration::from_secs(1500);

pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    super::test::run_group(ws, verbose, group)
}

/// The group, on an already built kernel.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let t0 = Instant::now();
    let dir = ws.ensure_out_dir()?.join("fuzz");
    let adds = fuzz_inputs::write_inputs(&dir)?;
    println!(
        "fuzz inputs: {} wasm modules, the WASI call module ({} calls per function), in {:.1} s",
        fuzz_inputs::MODULES,
        fuzz_inputs::CALLS_PER_FUNCTION,
        t0.elapsed().as_secs_f64()
    );
    kernel_test_boot(ws, Mode::Fuzz, &adds, FUZZ_TIMEOUT, "fuzz", verbose, tally)
}
