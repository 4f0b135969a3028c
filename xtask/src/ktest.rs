//! Reads the in-kernel test run's serial log (`mode=test`).
//!
//! The kernel prints `ktest: running N tests`, one `test NAME ... ok` or
//! `test NAME ... FAILED` line per test, `ktest: P passed, F failed`, and then leaves QEMU
//! through isa-debug-exit: code 0x10 (QEMU status 33) if all passed, 0x11 (35) otherwise.

/// QEMU's exit status when the kernel wrote 0x10 to isa-debug-exit: all tests passed.
pub const QEMU_EXIT_PASSED: i32 = 33;
/// QEMU's exit status when the kernel wrote 0x11: some test failed.
pub const QEMU_EXIT_FAILED: i32 = 35;

/// What the log says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KtestReport {
    /// N from `ktest: running N tests`, if that line appeared.
    pub announced: Option<usize>,
    pub passed: usize,
    pub failed_names: Vec<String>,
}

impl KtestReport {
    pub fn failed(&self) -> usize {
        self.failed_names.len()
    }

    /// Tests announced but never reported: the kernel panicked or hung on one of them.
    pub fn unreported(&self) -> usize {
        self.announced
            .unwrap_or(0)
            .saturating_sub(self.passed + self.failed())
    }
}

/// Parses the serial log; unrelated lines are ignored.
pub fn parse_log(log: &str) -> KtestReport {
    let mut report = KtestReport::default();
    for line in log.lines() {
        let line = line.trim_end();
        if let Some(count) = line
            .strip_prefix("ktest: running ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|count| count.parse().ok())
        {
            report.announced = Some(count);
        } else if let Some(rest) = line.strip_prefix("test ") {
            if rest.ends_with(" ... ok") {
                report.passed += 1;
            } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
                report.failed_names.push(name.to_string());
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_results_and_missing_tests() {
        let log = "booting\r\nktest: running 4 tests\r\ntest mem::alloc ... ok\r\n\
                   test fs::read ... FAILED\r\nassertion failed\r\ntest sched::yield ... ok\r\n\
                   panicked at kernel/src/x.rs:1:1\r\n";
        let report = parse_log(log);
        assert_eq!(report.announced, Some(4));
        assert_eq!(report.passed, 2);
        assert_eq!(report.failed_names, vec!["fs::read".to_string()]);
        assert_eq!(report.unreported(), 1);
    }

    #[test]
    fn nothing_announced() {
        let report = parse_log("triple fault\n");
        assert_eq!(report.announced, None);
        assert_eq!(report.unreported(), 0);
        assert_eq!(
            parse_log("ktest: running 1 test\ntest a ... ok\nktest: 1 passed, 0 failed\n"),
            KtestReport {
                announced: Some(1),
                passed: 1,
                failed_names: Vec::new()
            }
        );
    }
}
