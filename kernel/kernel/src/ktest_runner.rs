//! Runs every registered kernel test (`mode=test`) and exits QEMU with the result. The kernel
//! log is limited to warnings meanwhile, so expected events (tasks killed on purpose) stay quiet.

use crate::panic::{QemuExit, exit_qemu};

pub fn run_all() -> ! {
    let tests = ktest::all();
    log::set_max_level(log::LevelFilter::Warn);
    serial::println!("ktest: running {} tests", tests.len());
    // Each result line is printed whole after the test, so log lines a test causes cannot
    // split it; a failing test's line comes from the panic handler.
    for test in tests {
        ktest::run(test);
        serial::println!("test {} ... ok", test.name);
    }
    serial::println!("ktest: {} passed, 0 failed", tests.len());
    exit_qemu(QemuExit::Success)
}
