//! The statistics of `cargo xtask bench`: medians, spreads and ratios of repeated
//! measurements, and the guest's result lines they are made from (`osbench`'s, and CoreMark's
//! report between the `wasm-bench:` lines of a wasm engine's run). No I/O.

use std::collections::BTreeMap;

/// The middle value (the mean of the two middle ones for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// How far apart the runs are: (max - min) / median, as a fraction (0.1 = 10%). `None` when
/// empty or when the median is not positive.
pub fn spread(values: &[f64]) -> Option<f64> {
    let mid = median(values)?;
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let max = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let min = finite.fold(f64::INFINITY, f64::min);
    (mid > 0.0).then(|| (max - min) / mid)
}

/// Our time over Linux's (below 1: we are faster); `None` without a positive Linux time.
pub fn ratio(ours: f64, linux: f64) -> Option<f64> {
    (linux > 0.0 && ours.is_finite() && linux.is_finite()).then(|| ours / linux)
}

/// What `osbench` printed: `osbench: NAME NS_PER_OP` lines, complete only with
/// `osbench: done`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestReport {
    pub values: BTreeMap<String, f64>,
    pub done: bool,
    pub failed: bool,
}

/// Reads the `osbench: ...` lines out of a console transcript (other lines are ignored; a
/// carriage return before the newline is allowed).
pub fn parse_guest_output(text: &str) -> GuestReport {
    let mut report = GuestReport::default();
    for line in text.lines() {
        let Some(rest) = line.trim_end_matches('\r').strip_prefix("osbench: ") else {
            continue;
        };
        match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["done"] => report.done = true,
            ["failed"] => report.failed = true,
            [name, value] => {
                if let Ok(value) = value.parse::<f64>() {
                    report.values.insert((*name).to_string(), value);
                }
            }
            _ => {}
        }
    }
    report
}

/// The CoreMark score (iterations per second, as CoreMark reports it) of each engine's run in
/// a console transcript: a run is the lines between `wasm-bench: ENGINE start` and
/// `wasm-bench: ENGINE exit STATUS` (or `wasm-bench: ENGINE error MESSAGE`). A run counts only
/// if it exited with 0 and CoreMark validated it (`Correct operation validated.`: the CRCs of
/// the known seeds match and it ran at least 10 s); otherwise the entry says why not.
pub fn parse_coremark_runs(text: &str) -> BTreeMap<String, Result<f64, String>> {
    parse_coremark_all(text).into_iter().collect()
}

/// Every CoreMark run of a transcript in order, (engine, score or why it does not count), as
/// [`parse_coremark_runs`] reads them (where a later run of an engine replaces an earlier).
pub fn parse_coremark_all(text: &str) -> Vec<(String, Result<f64, String>)> {
    let mut runs = Vec::new();
    // The engine whose run is open, its score, whether CoreMark validated it and the lines
    // where CoreMark says why not.
    let mut open: Option<(String, Option<f64>, bool, Vec<String>)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("wasm-bench: ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [engine, "start"] => {
                    open = Some(((*engine).to_string(), None, false, Vec::new()));
                }
                [engine, "exit", status] => {
                    let (score, valid, why) = match open.take() {
                        Some((name, score, valid, why)) if name == *engine => (score, valid, why),
                        _ => (None, false, Vec::new()),
                    };
                    let result = if *status != "0" {
                        Err(format!("exit status {status}"))
                    } else if let (Some(score), true) = (score, valid) {
                        Ok(score)
                    } else if score.is_some() && why.is_empty() {
                        Err("CoreMark did not validate the run (no line says why)".to_string())
                    } else if score.is_some() {
                        Err(format!(
                            "CoreMark did not validate the run: {}",
                            why.join("; ")
                        ))
                    } else {
                        Err("no CoreMark score".to_string())
                    };
                    runs.push(((*engine).to_string(), result));
                }
                [engine, "error", message @ ..] => {
                    open = None;
                    runs.push(((*engine).to_string(), Err(message.join(" "))));
                }
                _ => {}
            }
            continue;
        }
        let Some((_, score, valid, why)) = open.as_mut() else {
            continue;
        };
        if let Some(value) = line.strip_prefix("Iterations/Sec") {
            *score = value
                .trim_start()
                .strip_prefix(':')
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0);
        } else if line.starts_with("Correct operation validated.") {
            *valid = true;
        } else if line.starts_with("ERROR")
            || line.contains("Errors detected")
            || line.contains("Cannot validate")
        {
            why.push(line.trim().to_string());
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 2.0]), Some(2.0));
    }

    #[test]
    fn spreads() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[7.0]), Some(0.0));
        // (12 - 8) / 10
        let s = spread(&[10.0, 8.0, 12.0]).unwrap();
        assert!((s - 0.4).abs() < 1e-12, "{s}");
        assert_eq!(spread(&[0.0, 0.0]), None);
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(50.0, 200.0), Some(0.25));
        assert_eq!(ratio(3.0, 1.5), Some(2.0));
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }

    #[test]
    fn guest_lines() {
        let text = "boot noise\r\nosbench: init\r\nosbench: null 812.5\r\nosbench: mmap 1e6\n\
                    osbench: odd line here\nosbench: done\r\n";
        let report = parse_guest_output(text);
        assert!(report.done && !report.failed);
        assert_eq!(report.values.len(), 2);
        assert_eq!(report.values["null"], 812.5);
        assert_eq!(report.values["mmap"], 1e6);
        let failed = parse_guest_output("osbench: null 1\nosbench: failed\n");
        assert!(failed.failed && !failed.done);
    }

    /// Two engines' runs as the OS prints them (CRLF, a shell prompt line around them).
    const COREMARK: &str = "$ run\r\nwasm-bench: wasmi start\r\n\
        2K performance run parameters for coremark.\r\nCoreMark Size    : 666\r\n\
        Total time (secs): 13.339000\r\nIterations/Sec   : 299.872554\r\n\
        Iterations       : 4000\r\n[0]crcfinal      : 0x65c5\r\n\
        Correct operation validated. See README.md for run and reporting rules.\r\n\
        CoreMark 1.0 : 299.872554 / rustc\r\nwasm-bench: wasmi exit 0\r\n\
        wasm-bench: wasmtime start\r\nIterations/Sec   : 4310.5\r\n\
        Correct operation validated.\r\nwasm-bench: wasmtime exit 0\r\n";

    #[test]
    fn coremark_scores_per_engine() {
        let runs = parse_coremark_runs(COREMARK);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs["wasmi"], Ok(299.872554));
        assert_eq!(runs["wasmtime"], Ok(4310.5));
    }

    #[test]
    fn coremark_runs_of_one_engine_in_order() {
        let twice = format!("{COREMARK}{}", COREMARK.replace("4310.5", "4000"));
        let all = parse_coremark_all(&twice);
        let wasmtime: Vec<_> = all.iter().filter(|(e, _)| e == "wasmtime").collect();
        assert_eq!(wasmtime.len(), 2);
        assert_eq!((&wasmtime[0].1, &wasmtime[1].1), (&Ok(4310.5), &Ok(4000.0)));
        assert_eq!(all.len(), 4);
        // The map keeps the last run.
        assert_eq!(parse_coremark_runs(&twice)["wasmtime"], Ok(4000.0));
    }

    #[test]
    fn coremark_runs_that_do_not_count() {
        // Not validated (too short, or a wrong CRC).
        let short = "wasm-bench: wasmi start\nIterations/Sec   : 16736.4\n\
                     ERROR! Must execute for at least 10 secs for a valid result!\n\
                     Errors detected\nwasm-bench: wasmi exit 0\n";
        assert_eq!(
            parse_coremark_runs(short)["wasmi"],
            Err(
                "CoreMark did not validate the run: ERROR! Must execute for at least 10 secs \
                 for a valid result!; Errors detected"
                    .into()
            )
        );
        // A failing exit status, an engine error, no score at all, a run never ended.
        let bad = "wasm-bench: wasmi start\nCorrect operation validated.\nIterations/Sec   : 5\n\
                   wasm-bench: wasmi exit 1\nwasm-bench: wasmtime start\n\
                   wasm-bench: wasmtime error compile: bad magic\n\
                   wasm-bench: other start\nCorrect operation validated.\nwasm-bench: other exit 0\n\
                   wasm-bench: late start\nIterations/Sec   : 7\n";
        let runs = parse_coremark_runs(bad);
        assert_eq!(runs["wasmi"], Err("exit status 1".into()));
        assert_eq!(runs["wasmtime"], Err("compile: bad magic".into()));
        assert_eq!(runs["other"], Err("no CoreMark score".into()));
        assert!(!runs.contains_key("late"));
        // Lines outside a run are not scores.
        assert!(
            parse_coremark_runs("Iterations/Sec   : 9\nCorrect operation validated.\n").is_empty()
        );
    }
}
