//! `anyhow` on this OS: errors with context chains, downcasting, `bail!`/`ensure!`, and `?`
//! from std errors. Prints `anyhow-check: ok (...)` and exits 0, or what failed and exits 1.

use anyhow::{Context, Result, anyhow, bail, ensure};

/// A hand-written error type (no extra crates).
#[derive(Debug)]
struct Custom(u32);

impl std::error::Error for Custom {}

impl std::fmt::Display for Custom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "custom error {}", self.0)
    }
}

fn parse_port(s: &str) -> Result<u16> {
    let n: u32 = s
        .trim()
        .parse()
        .with_context(|| format!("not a number: {s:?}"))?;
    ensure!(n > 0, "port must be positive");
    if n > 65535 {
        bail!(Custom(n));
    }
    Ok(n as u16)
}

fn read_config(path: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

fn run() -> Result<String> {
    ensure!(parse_port(" 8080 ")? == 8080, "8080 parsed wrong");

    let e = parse_port("eighty").unwrap_err();
    let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    ensure!(
        chain.len() == 2 && chain[0] == "not a number: \"eighty\"",
        "context chain: {chain:?}"
    );
    ensure!(
        e.root_cause()
            .downcast_ref::<std::num::ParseIntError>()
            .is_some(),
        "root cause type"
    );
    ensure!(
        format!("{e:#}") == "not a number: \"eighty\": invalid digit found in string",
        "alternate display: {e:#}"
    );

    let e = parse_port("0").unwrap_err();
    ensure!(
        e.to_string() == "port must be positive",
        "ensure! message: {e}"
    );

    let e = parse_port("70000").unwrap_err();
    ensure!(
        matches!(e.downcast_ref::<Custom>(), Some(Custom(70000))),
        "downcast to Custom"
    );

    let e = read_config("/no/such/config").unwrap_err();
    let io = e
        .downcast_ref::<std::io::Error>()
        .ok_or_else(|| anyhow!("io error lost"))?;
    ensure!(
        io.kind() == std::io::ErrorKind::NotFound,
        "io error kind {:?}",
        io.kind()
    );
    ensure!(
        e.to_string() == "reading /no/such/config",
        "io context: {e}"
    );

    let debug = format!("{:?}", anyhow!("outer").context("top"));
    ensure!(
        debug.starts_with("top\n\nCaused by:\n    outer"),
        "Debug form: {debug}"
    );
    Ok("context chains, downcasts, bail!/ensure!, io errors".into())
}

fn main() {
    match run() {
        Ok(summary) => println!("anyhow-check: ok ({summary})"),
        Err(why) => {
            println!("anyhow-check: FAILED: {why:#}");
            std::process::exit(1);
        }
    }
}
