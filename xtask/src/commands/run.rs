//! `cargo xtask run`: boot the kernel, either running one command line (`--exec`) or with
//! the serial console attached to the terminal.

use std::io;
use std::process::Stdio;
use std::time::Instant;

use crate::boot::{self, BootSpec};
use crate::cli::RunArgs;
use crate::cmdline::Mode;
use crate::error::{Context, Result};
use crate::exec::{self, EXIT_TIMEOUT, ExecRequest};
use crate::kernel_build;
use crate::ktest::QEMU_EXIT_PASSED;
use crate::qemu::{self, Console};
use crate::setup;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, args: &RunArgs) -> Result<i32> {
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, args.verbose)?;
    match &args.exec {
        Some(command) => run_exec(ws, args, command),
        None => run_interactive(ws, args),
    }
}

fn run_exec(ws: &Workspace, args: &RunArgs, command: &str) -> Result<i32> {
    let timeout = args.timeout.unwrap_or(exec::DEFAULT_TIMEOUT);
    let request = ExecRequest {
        iso: args.iso,
        verbose: args.verbose,
        kernel_verbose: args.verbose,
        network: args.network.clone(),
        ..ExecRequest::new(command, &args.adds, timeout)
    };
    let stdout = io::stdout();
    let outcome = exec::exec(ws, &request, &mut stdout.lock())?;
    if let Some(problem) = outcome.problem() {
        eprint!("{problem}");
        if !problem.ends_with('\n') {
            eprintln!();
        }
    }
    Ok(outcome.exit_code())
}

/// The host terminal's (rows, columns), from `stty size` on the terminal xtask runs in; `None`
/// when there is none (output piped, no `stty`).
fn terminal_size() -> Option<(u16, u16)> {
    let out = std::process::Command::new("stty")
        .arg("size")
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    parse_stty_size(&String::from_utf8_lossy(&out.stdout))
}

/// `stty size` prints `ROWS COLUMNS`.
fn parse_stty_size(text: &str) -> Option<(u16, u16)> {
    let mut words = text.split_whitespace();
    let rows = words.next()?.parse().ok()?;
    let cols = words.next()?.parse().ok()?;
    (rows > 0 && cols > 0).then_some((rows, cols))
}

/// QEMU on the terminal (`-serial mon:stdio`). Exits 0 when the guest powered off cleanly
/// (isa-debug-exit 0x10, QEMU status 33) or QEMU was quit, else with QEMU's status.
fn run_interactive(ws: &Workspace, args: &RunArgs) -> Result<i32> {
    let boot = boot::prepare(
        ws,
        &BootSpec {
            mode: Mode::Shell {
                window: terminal_size(),
            },
            adds: &args.adds,
            iso: args.iso,
            kernel_verbose: args.verbose,
            verbose: args.verbose,
            corrupt_initrd: false,
        },
    )?;
    eprintln!("xtask: starting QEMU; press Ctrl-A X to quit");
    let mut child = qemu::command_with_network(
        &boot,
        Console::Interactive,
        qemu::kvm_usable(),
        qemu::CPU,
        &args.network,
        qemu::default_cpus(),
    )
    .stdin(Stdio::inherit())
    .stdout(Stdio::inherit())
    .stderr(Stdio::inherit())
    .spawn()
    .context(|| "could not start qemu-system-x86_64".to_string())?;
    let deadline = args.timeout.map(|timeout| Instant::now() + timeout);
    match qemu::wait_until(&mut child, deadline)? {
        Some(status) => Ok(match status.code() {
            Some(QEMU_EXIT_PASSED) => 0,
            Some(code) => code,
            None => 1,
        }),
        None => {
            qemu::terminate(&mut child);
            let secs = args.timeout.map_or(0, |t| t.as_secs());
            eprintln!("xtask: timeout after {secs} s");
            Ok(EXIT_TIMEOUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stty_size() {
        assert_eq!(parse_stty_size("50 132\n"), Some((50, 132)));
        assert_eq!(parse_stty_size("0 0\n"), None);
        assert_eq!(parse_stty_size(""), None);
    }
}
