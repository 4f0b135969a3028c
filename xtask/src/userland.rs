//! The standard Unix utilities in the guest's `/bin`: `ls`, `echo`, `cat`, `sleep`, `true`,
//! `uname`, `env`, ... Programs and crates' test suites start them by name
//! (`Command::new("sleep")`, found through `PATH=/bin`), as they would on Linux.
//!
//! They are uutils coreutils (crates.io, MIT), unmodified, built by
//! [`crate::registry_programs`] for the stock musl target with exactly the utilities of
//! [`UTILITIES`] (each is a cargo feature of the `coreutils` crate): one multi-call binary,
//! `/bin/coreutils`, and a symbolic link `/bin/NAME -> coreutils` per utility (the binary
//! picks the utility from the file name in `argv[0]`). About 2.5 minutes to build on the
//! project's 2-core machine, once; 7.7 MB in the ramdisk.
//!
//! At the shell's prompt its own builtins of the same names (`ls`, `echo`, `cat`, ...) still
//! come first; `/bin/ls` is what programs run.

use std::path::PathBuf;

use crate::error::Result;
use crate::registry_programs::{RegistryProgram, ensure_built};
use crate::workspace::Workspace;

/// The utilities built and linked into `/bin` (`test` also answers as `[`).
pub const UTILITIES: &[&str] = &[
    "basename", "cat", "chmod", "cp", "cut", "date", "dirname", "echo", "env", "expr", "false",
    "head", "id", "kill", "ln", "ls", "mkdir", "mktemp", "mv", "nproc", "printenv", "printf",
    "pwd", "readlink", "realpath", "rm", "rmdir", "seq", "sleep", "sort", "stat", "sync", "tail",
    "tee", "test", "timeout", "touch", "tr", "true", "uname", "uniq", "wc", "whoami", "yes",
];

/// uutils coreutils, the utilities of [`UTILITIES`] only.
pub const COREUTILS: RegistryProgram = RegistryProgram {
    krate: "coreutils",
    version: "0.12.0",
    bin: "coreutils",
    c_code: false,
    features: Some(UTILITIES),
};

/// Builds the multi-call binary unless it is already built.
pub fn build(ws: &Workspace, verbose: bool) -> Result<()> {
    ensure_built(ws, &COREUTILS, verbose).map(|_| ())
}

/// `("coreutils", host path)` if built.
pub fn built_program(ws: &Workspace) -> Option<(String, PathBuf)> {
    let path = COREUTILS.path(ws);
    path.is_file().then(|| (COREUTILS.bin.to_string(), path))
}

/// The links in `/bin`, `(name, target)`: one per utility (and `[`), relative to `/bin`;
/// none if the binary is not built.
pub fn links(ws: &Workspace) -> Vec<(String, String)> {
    if built_program(ws).is_none() {
        return Vec::new();
    }
    link_names()
        .map(|name| (name.to_string(), COREUTILS.bin.to_string()))
        .collect()
}

fn link_names() -> impl Iterator<Item = &'static str> {
    UTILITIES
        .iter()
        .copied()
        .chain(UTILITIES.contains(&"test").then_some("["))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_utility_gets_a_link_and_test_answers_as_bracket() {
        let names: Vec<&str> = link_names().collect();
        assert_eq!(names.len(), UTILITIES.len() + 1);
        assert!(names.contains(&"["));
        for needed in ["sh", "coreutils"] {
            assert!(
                !names.contains(&needed),
                "{needed} is not a coreutils utility"
            );
        }
        // What crates' test suites start by name (tokio, sysinfo, nix).
        for needed in ["ls", "echo", "sleep", "true", "uname", "cat"] {
            assert!(names.contains(&needed), "{needed}");
        }
        let mut sorted = UTILITIES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, UTILITIES, "sorted, no duplicates");
    }
}
