//! Runs every registered kernel test (`mode=test`) and exits QEMU with the result.

use crate::panic::{QemuExit, exit_qemu};

pub fn run_all() -> ! {
    let tests = ktest::all();
    serial::println!("ktest: running {} tests", tests.len());
    for test in tests {
        serial::print!("test {} ... ", test.name);
        ktest::run(test);
        serial::println!("ok");
    }
    serial::println!("ktest: {} passed, 0 failed", tests.len());
    exit_qemu(QemuExit::Success)
}
