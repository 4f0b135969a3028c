//! `cargo xtask boottime`: boots `true` several times and reports boot-to-shell times.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest, millis};
use crate::kernel_build;
use crate::setup;
use crate::workspace::Workspace;

const TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(ws: &Workspace, runs: usize, verbose: bool) -> Result<i32> {
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, verbose)?;
    let mut guest = Vec::with_capacity(runs);
    let mut host = Vec::with_capacity(runs);
    for run in 1..=runs {
        let request = ExecRequest {
            verbose,
            ..ExecRequest::new("true", &[], TIMEOUT)
        };
        let outcome = exec::exec(ws, &request, &mut Vec::new())?;
        let ExecOutcome::Completed { timing, .. } = outcome else {
            let problem = outcome.problem().unwrap_or_default();
            return Err(Error::failed(format!("boot {run} failed:\n{problem}")));
        };
        println!(
            "run {run}: guest {:8.1} ms, host {:8.1} ms",
            millis(timing.guest),
            millis(timing.host)
        );
        guest.push(timing.guest);
        host.push(timing.host);
    }
    println!(
        "median: guest {:8.1} ms, host {:8.1} ms",
        millis(median(&mut guest)),
        millis(median(&mut host))
    );
    Ok(0)
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    let mid = values.len() / 2;
    match values.len() {
        0 => Duration::ZERO,
        len if len % 2 == 1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut []), Duration::ZERO);
        assert_eq!(median(&mut [ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(&mut [ms(4), ms(1), ms(3), ms(2)]),
            Duration::from_micros(2500)
        );
    }
}
