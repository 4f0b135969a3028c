//! The statistics of `cargo xtask bench`: medians, spreads and ratios of repeated
//! measurements, and the guest's result lines they are made from. No I/O.

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
}
