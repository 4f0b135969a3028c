//! Runs the registered kernel tests of one group (`mode=test`: the default group,
//! `mode=fuzz`: the fuzz and stress group) and exits QEMU with the result. Each test
//! runs in a task of its own: a failing assertion panics, the panic unwinds that task only
//! (as for any task), and its kill reason (the panic message and backtrace) is the test's
//! failure report; the run goes on with the next test and ends with the real counts. The
//! kernel log is limited to warnings meanwhile, so expected events (tasks killed on purpose)
//! stay quiet. A test of the default group still running after [`STUCK_AFTER_NS`] is
//! reported with every task and where it waits (its call chain from its last switch), then
//! killed, so that a hang shows where it is instead of only a timeout of the whole run.

use crate::panic::{QemuExit, exit_qemu};

pub fn run_all(group: ktest::Group) -> ! {
    let tests: alloc::vec::Vec<&'static ktest::KernelTest> =
        ktest::all().iter().filter(|t| t.group == group).collect();
    log::set_max_level(log::LevelFilter::Warn);
    serial::println!("ktest: running {} tests", tests.len());
    let mut failed = 0;
    // Each result line is printed whole after the test, so log lines a test causes cannot
    // split it.
    for &test in &tests {
        // One CPU for a test that counts the heap or the frames exactly; the test task runs
        // on it too.
        let hold = test.alone.then(task::hold_other_cpus);
        let outcome = task::Builder::new(test.name).spawn(move || {
            ktest::run(test);
            0
        });
        let limit = (group == ktest::Group::Default).then_some(STUCK_AFTER_NS);
        let outcome = outcome.map(|h| wait_for(h, test.name, limit));
        drop(hold);
        match outcome {
            Ok(task::ExitValue::Exited(_)) => serial::println!("test {} ... ok", test.name),
            Ok(task::ExitValue::Killed(reason)) => {
                failed += 1;
                serial::println!("test {} ... FAILED\n{}", test.name, reason);
            }
            Err(e) => {
                failed += 1;
                serial::println!(
                    "test {} ... FAILED\ncannot start its task: {e:?}",
                    test.name
                );
            }
        }
    }
    serial::println!("ktest: {} passed, {failed} failed", tests.len() - failed);
    exit_qemu(if failed == 0 {
        QemuExit::Success
    } else {
        QemuExit::Failure
    })
}

/// How long a test of the default group may run (the slowest take a few seconds; xtask gives
/// the whole run 300 s).
const STUCK_AFTER_NS: u64 = 90_000_000_000;

/// Joins a test's task; past `limit` ns, reports the tasks and kills it first.
fn wait_for(handle: task::JoinHandle, name: &str, limit: Option<u64>) -> task::ExitValue {
    if let Some(limit) = limit {
        let start = time::monotonic_ns();
        while handle.task().exit_value().is_none() {
            if time::monotonic_ns() - start > limit {
                report_stuck(name, limit);
                let _ = task::kill(handle.id(), "stuck: see the task list above");
                break;
            }
            task::sleep_ns(50_000_000);
        }
    }
    handle.join()
}

/// Prints every task, its state and, for one on no CPU, its call chain from its last switch.
fn report_stuck(name: &str, limit: u64) {
    use core::fmt::Write;
    let mut out = alloc::format!(
        "test {name} still runs after {} s; the tasks:\n",
        limit / 1_000_000_000
    );
    for t in task::list() {
        let _ = writeln!(out, "task {} ({}) {:?}:", t.id, t.name, t.state);
        if let Some((rbp, ret)) = task::lookup(t.id).and_then(|t| t.switched_out_frame()) {
            let mut frames = [0u64; 12];
            let n = backtrace::capture_from_into(rbp, ret, &mut frames);
            let _ = backtrace::write_backtrace(&frames[..n], &mut out);
        }
    }
    serial::println!("{out}");
}
