//! Runs the registered kernel tests of one group (`mode=test`: the default group,
//! `mode=fuzz`: the fuzz and stress group) and exits QEMU with the result. Each test
//! runs in a task of its own: a failing assertion panics, the panic unwinds that task only
//! (as for any task), and its kill reason (the panic message and backtrace) is the test's
//! failure report; the run goes on with the next test and ends with the real counts. The
//! kernel log is limited to warnings meanwhile, so expected events (tasks killed on purpose)
//! stay quiet.

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
        let outcome = outcome.map(task::JoinHandle::join);
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
