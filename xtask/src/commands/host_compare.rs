//! `cargo xtask host-compare` (also a group of `cargo xtask test`): real, unmodified programs
//! from crates.io, built for the stock `x86_64-unknown-linux-musl` target (static-pie), run on
//! the host and in the OS over the same generated file tree: ripgrep's `rg` and fd-find's
//! `fd`. A case's expected result is what the very same binary does on the host, computed at
//! test time (so a new version changes both sides): exit status, stdout and stderr must match
//! byte for byte; stdout as a sorted list of lines for the cases whose order depends on
//! threads or on directory order (fd has no sorting option).
//!
//! Building: [`crate::registry_programs`] (`cargo install` of the exact version). ripgrep
//! links jemalloc on musl (tikv-jemalloc-sys, C code; no feature turns it off; its
//! `configure` also runs `make`); its profile has `debug = 1` (36 MB before the DWARF is
//! stripped, 7 MB after). The stripped file is the one both sides run. Measured on the
//! project's 2-core machine: ripgrep about 2 minutes, fd about 1 minute.
//!
//! The programs are not in the default ramdisk (11 MB more for every boot); each case adds its
//! program as `/bin/rg` or `/bin/fd`.
//!
//! The tree ([`make_tree`]) is made at test time in a temporary directory outside any git
//! repository, so no ancestor `.gitignore` of the host applies: a repository root `data/` (an
//! empty `.git`) with a `.gitignore`, ignored files, hidden files, a binary file, an
//! executable, empty files and directories, CRLF and non-ASCII lines, and a file larger than
//! ripgrep's read buffer. The guest gets it as `/work`; the host runs in `TMP/work/CWD`, the
//! guest after `cd /work/CWD`, so relative paths print the same. The host runs the program
//! with an empty environment (`HOME` an empty directory: no user configuration, no global git
//! excludes), `argv[0]` the bare name as the guest's shell passes it and stdin `/dev/null` (or
//! a file of the tree, redirected with `<` in the guest); both sides write stdout and stderr
//! to a pipe or a file, never a terminal.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::test::Tally;
use super::wasm_registry::{Run, first_difference, run_in_os};
use crate::error::{Context, Result};
use crate::ramdisk::AddSpec;
use crate::registry::shell_quote;
use crate::registry_programs::{RIPGREP, RegistryProgram, ensure_built};
use crate::workspace::Workspace;

/// Per case, in the OS (QEMU, boot included); the cases take a second or two.
const OS_TIMEOUT: Duration = Duration::from_secs(120);
/// Where the tree goes in the guest.
const GUEST_ROOT: &str = "/work";

/// Default features: no jemalloc (that is the `use-jemalloc` feature), no C code.
const FD: RegistryProgram = RegistryProgram {
    krate: "fd-find",
    version: "10.5.0",
    bin: "fd",
    c_code: false,
    features: None,
};

const PROGRAMS: &[RegistryProgram] = &[RIPGREP, FD];

/// One comparison: `program ARGS` run in the tree's directory `cwd` on both sides.
struct Case {
    name: &'static str,
    program: RegistryProgram,
    /// Relative to the tree's root (`""`: the root, which holds `data/`).
    cwd: &'static str,
    args: &'static [&'static str],
    /// A file of the tree (relative to `cwd`) as stdin; else `/dev/null` on the host and the
    /// console in the OS (neither is a file or pipe that rg would search).
    stdin: Option<&'static str>,
    /// Compare stdout as sorted lines (output order set by threads or directory order).
    sorted: bool,
    /// The host's exit status, checked so a broken reference cannot pass unnoticed.
    status: i32,
}

const fn rg(name: &'static str, args: &'static [&'static str], status: i32) -> Case {
    Case {
        name,
        program: RIPGREP,
        cwd: "",
        args,
        stdin: None,
        sorted: false,
        status,
    }
}

const fn fd(name: &'static str, args: &'static [&'static str], status: i32) -> Case {
    Case {
        name,
        program: FD,
        cwd: "",
        args,
        stdin: None,
        sorted: true,
        status,
    }
}

/// `rg --sort path` searches with one thread in path order; `rg-threads` searches with four
/// (the OS has one CPU, so rg's default would be one) and compares sorted lines. Two cases (`rg-search`, `fd-all`) leave `--color` at its default, `auto`: no colour
/// on a pipe or a file, which the OS must report as not a terminal.
const CASES: &[Case] = &[
    rg("rg-search", &["--sort", "path", "-n", "fox", "data"], 0),
    rg(
        "rg-hidden-ignored",
        &[
            "--color",
            "never",
            "--sort",
            "path",
            "-n",
            "--hidden",
            "--no-ignore",
            "fox",
            "data",
        ],
        0,
    ),
    Case {
        sorted: true,
        ..rg(
            "rg-threads",
            &["--color", "never", "-j4", "-n", "fox", "data"],
            0,
        )
    },
    rg(
        "rg-files",
        &["--color", "never", "--files", "--sort", "path", "data"],
        0,
    ),
    rg(
        "rg-count-words",
        &[
            "--color",
            "never",
            "--sort",
            "path",
            "--count-matches",
            "-i",
            "-w",
            "the",
            "data",
        ],
        0,
    ),
    rg(
        "rg-context-column",
        &[
            "--color",
            "never",
            "--sort",
            "path",
            "-n",
            "--column",
            "-C",
            "1",
            "lazy",
            "data/notes.txt",
            "data/README.md",
        ],
        0,
    ),
    rg(
        "rg-unicode-crlf",
        &[
            "--color",
            "never",
            "--sort",
            "path",
            "-n",
            "-i",
            "strasse|σίσυφος|windows",
            "data",
        ],
        0,
    ),
    rg(
        "rg-type-rust",
        &[
            "--color", "never", "--sort", "path", "-l", "-t", "rust", "fn", "data",
        ],
        0,
    ),
    rg(
        "rg-replace",
        &[
            "--color",
            "never",
            "--sort",
            "path",
            "-o",
            "-r",
            "$1 at $2",
            r"(\w+)@([\w.]+\w)",
            "data",
        ],
        0,
    ),
    rg(
        "rg-globs",
        &[
            "--color", "never", "--sort", "path", "-n", "-g", "*.md", "-g", "!docs", "the", "data",
        ],
        0,
    ),
    rg(
        "rg-binary-file",
        &["--color", "never", "-n", "IHDR", "data/assets/logo.bin"],
        0,
    ),
    rg(
        "rg-big-file",
        &[
            "--color",
            "never",
            "-n",
            "-m",
            "3",
            "fox|line 0299",
            "data/big/words.txt",
        ],
        0,
    ),
    rg(
        "rg-multiline",
        &["--color", "never", "-U", "-n", r"fox.*\nContact", "data"],
        0,
    ),
    rg("rg-no-match", &["--color", "never", "zebra", "data"], 1),
    rg(
        "rg-missing-path",
        &["--color", "never", "fox", "data/nope"],
        2,
    ),
    Case {
        cwd: "data",
        ..rg(
            "rg-in-cwd",
            &["--color", "never", "--sort", "path", "-n", "TODO"],
            0,
        )
    },
    Case {
        stdin: Some("data/notes.txt"),
        ..rg("rg-stdin", &["--color", "never", "-n", "fox|dog"], 0)
    },
    fd("fd-all", &[".", "data"], 0),
    fd(
        "fd-hidden-no-ignore",
        &["--color", "never", "-H", "-I", ".", "data"],
        0,
    ),
    fd(
        "fd-extension",
        &["--color", "never", "-e", "rs", ".", "data"],
        0,
    ),
    fd(
        "fd-types",
        &["--color", "never", "-t", "d", "-t", "x", ".", "data"],
        0,
    ),
    fd("fd-empty", &["--color", "never", "-t", "e", ".", "data"], 0),
    fd("fd-glob", &["--color", "never", "-g", "*.txt", "data"], 0),
    fd(
        "fd-regex-case",
        &["--color", "never", "-s", r"^[A-Z].*\.(md|rs)$", "data"],
        0,
    ),
    fd(
        "fd-depth-hidden",
        &["--color", "never", "-d", "1", "-H", ".", "data"],
        0,
    ),
    fd(
        "fd-base-directory",
        &["--color", "never", "--base-directory", "data", "-t", "f"],
        0,
    ),
    fd(
        "fd-size-exclude",
        &["--color", "never", "-S", "-50b", "-E", "deep", ".", "data"],
        0,
    ),
    fd(
        "fd-full-path",
        &["--color", "never", "-p", r"util/.*\.rs$", "data"],
        0,
    ),
    fd("fd-quiet-no-match", &["-q", "zebra", "data"], 1),
    fd(
        "fd-missing-path",
        &["--color", "never", ".", "data/nope"],
        1,
    ),
    Case {
        cwd: "data",
        ..fd("fd-in-cwd", &["--color", "never", "-H", "-e", "txt"], 0)
    },
];

/// The tree's files: path below the root, content. `data/` is a repository root (its `.git`
/// is in [`TREE_DIRS`]).
const TREE_FILES: &[(&str, &[u8])] = &[
    (
        "data/README.md",
        b"# Sample project\n\nA quick brown fox jumps over the lazy dog.\nContact: alice@example.com, bob@mail.example.org\n",
    ),
    (
        "data/notes.txt",
        "first note\nThe lazy dog sleeps in the sun.\nwindows line with a fox\r\nStra\u{df}e and STRASSE\n\u{3a3}\u{38a}\u{3a3}\u{3a5}\u{3a6}\u{39f}\u{3a3} pushes the stone; \u{3c3}\u{3af}\u{3c3}\u{3c5}\u{3c6}\u{3bf}\u{3c2} again\nlast line, no newline: the fox".as_bytes(),
    ),
    (
        "data/src/main.rs",
        b"mod util;\n\nfn main() {\n    let animal = \"fox\";\n    println!(\"the {animal} says hi\");\n}\n",
    ),
    ("data/src/util/mod.rs", b"pub mod strings;\n"),
    (
        "data/src/util/strings.rs",
        b"pub fn shout(s: &str) -> String {\n    s.to_uppercase()\n}\n\n// TODO: a quieter fox\npub fn whisper(s: &str) -> String {\n    s.to_lowercase()\n}\n",
    ),
    (
        "data/docs/Guide.md",
        b"## Guide\n\nSearch for the fox with `rg fox`.\nMail carol@example.net for help.\n",
    ),
    ("data/docs/empty.txt", b""),
    (
        "data/scripts/build.sh",
        b"#!/bin/sh\n# TODO: build the fox\necho building\n",
    ),
    ("data/.gitignore", b"*.log\nbuild/\n"),
    ("data/.hidden.txt", b"a hidden fox\n"),
    ("data/.config/settings.toml", b"animal = \"fox\"\n"),
    ("data/debug.log", b"fox in an ignored log\n"),
    ("data/build/output.txt", b"generated fox, ignored\n"),
    (
        "data/assets/logo.bin",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10 fox \xff\xfe\0\x01 the end\n",
    ),
    ("data/deep/a/b/c/leaf.txt", b"a deep fox\n"),
];

/// Executable files of [`TREE_FILES`].
const TREE_EXECUTABLES: &[&str] = &["data/scripts/build.sh"];

/// Directories without files: `.git` makes `data/` a repository (its `.gitignore` applies).
const TREE_DIRS: &[&str] = &["data/.git", "data/empty-dir"];

/// The big file: more than ripgrep's 64 KiB read buffer, `fox` on a few lines.
const BIG_FILE: &str = "data/big/words.txt";

fn big_file() -> Vec<u8> {
    let mut text = String::new();
    for i in 0..3000 {
        let word = if i % 701 == 700 { "fox" } else { "dog" };
        text.push_str(&format!(
            "line {i:04}: lorem ipsum dolor sit amet, the {word} consectetur elit\n"
        ));
    }
    text.into_bytes()
}

/// Writes the test tree under `root` (which must not exist or be empty).
fn make_tree(root: &Path) -> Result<()> {
    let big = big_file();
    let files = TREE_FILES
        .iter()
        .map(|&(path, content)| (path, content))
        .chain([(BIG_FILE, big.as_slice())]);
    for (path, content) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, content).context(|| format!("writing {}", path.display()))?;
    }
    for path in TREE_EXECUTABLES {
        let path = root.join(path);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .context(|| format!("chmod {}", path.display()))?;
    }
    for dir in TREE_DIRS {
        let dir = root.join(dir);
        fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// A temporary directory (the tree in `work/`, an empty `home/`), removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("xtask-host-compare-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).context(|| format!("removing {}", dir.display()))?;
        }
        let scratch = Self { dir };
        for sub in [scratch.root(), scratch.home()] {
            fs::create_dir_all(&sub).context(|| format!("creating {}", sub.display()))?;
        }
        Ok(scratch)
    }

    /// The tree's root, `/work` in the guest.
    fn root(&self) -> PathBuf {
        self.dir.join("work")
    }

    fn home(&self) -> PathBuf {
        self.dir.join("home")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `cargo xtask host-compare`: builds the kernel and runs only this group.
pub fn run(ws: &Workspace, verbose: bool) -> Result<i32> {
    super::test::run_group(ws, verbose, group)
}

/// The group, on an already built kernel: builds the programs if needed (one `host-compare
/// build` line each when it does; a failed build counts as one failure and skips its cases),
/// then one `host-compare NAME ... ok|FAILED` line per case.
pub fn group(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let mut built: Vec<(RegistryProgram, PathBuf)> = Vec::new();
    for program in PROGRAMS {
        let what = format!("{}@{}", program.krate, program.version);
        match ensure_built(ws, program, verbose) {
            Ok((path, took)) => {
                if let Some(took) = took {
                    println!(
                        "host-compare build {what} ... ok ({:.0} s, {})",
                        took.as_secs_f64(),
                        path.display()
                    );
                }
                built.push((*program, path));
            }
            Err(err) => {
                println!("host-compare build {what} ... FAILED: {err}");
                tally.failed += 1;
            }
        }
    }
    let scratch = Scratch::new()?;
    make_tree(&scratch.root())?;
    for case in CASES {
        let Some((_, bin)) = built.iter().find(|(program, _)| *program == case.program) else {
            continue;
        };
        let result = run_case(ws, &scratch, bin, case, verbose);
        tally.record("host-compare", case.name, result);
    }
    Ok(())
}

/// Runs `case` on both sides; `Some(details)` if they differ.
fn run_case(
    ws: &Workspace,
    scratch: &Scratch,
    bin: &Path,
    case: &Case,
    verbose: bool,
) -> Result<Option<String>> {
    let work = ws.ensure_out_dir()?.join("host-compare").join(case.name);
    if work.exists() {
        fs::remove_dir_all(&work).context(|| format!("removing {}", work.display()))?;
    }
    fs::create_dir_all(&work).context(|| format!("creating {}", work.display()))?;

    let host = run_host(bin, case, scratch)?;
    save_run(&work, "host", &host)?;
    if host.status != case.status {
        return Ok(Some(format!(
            "  the host reference exited with {} instead of {}\n  command: {}\n  stderr: {}",
            host.status,
            case.status,
            guest_command(case),
            String::from_utf8_lossy(&host.stderr).trim_end()
        )));
    }

    let command = guest_command(case);
    let adds = [
        AddSpec::parse(&format!("{}:/bin/{}", bin.display(), case.program.bin))?,
        AddSpec::parse(&format!("{}:{GUEST_ROOT}", scratch.root().display()))?,
    ];
    let (os, os_time) = match run_in_os(ws, &command, &adds, OS_TIMEOUT, verbose)? {
        Ok(done) => done,
        Err(problem) => return Ok(Some(problem)),
    };
    save_run(&work, "os", &os)?;

    let (host_out, os_out) = if case.sorted {
        (sorted_lines(&host.stdout), sorted_lines(&os.stdout))
    } else {
        (host.stdout.clone(), os.stdout.clone())
    };
    if host.status == os.status && host_out == os_out && host.stderr == os.stderr {
        println!(
            "host-compare {} ... ok ({} {}: status {}, {} lines of stdout{}{} identical; OS {:.1} s)",
            case.name,
            case.program.krate,
            case.program.version,
            os.status,
            os_out.iter().filter(|&&b| b == b'\n').count(),
            if case.sorted { " (sorted)" } else { "" },
            if os.stderr.is_empty() {
                String::new()
            } else {
                format!(", {} bytes of stderr", os.stderr.len())
            },
            os_time.as_secs_f64(),
        );
        return Ok(None);
    }
    let mut details = format!("  command: {command}\n");
    if host.status != os.status {
        details.push_str(&format!(
            "  exit status: {} (host), {} (OS)\n",
            host.status, os.status
        ));
    }
    for (what, h, o) in [
        ("stdout", &host_out, &os_out),
        ("stderr", &host.stderr, &os.stderr),
    ] {
        if h != o {
            details.push_str(&format!("  {what}: {}\n", first_difference(h, o)));
            details.push_str(&format!("    host: {}\n", differing_line(h, o)));
            details.push_str(&format!("    OS:   {}\n", differing_line(o, h)));
        }
    }
    details.push_str(&format!("  both runs saved in {}\n", work.display()));
    Ok(Some(details.trim_end().to_string()))
}

/// The reference: the same binary on the host, in the same directory of the same tree.
fn run_host(bin: &Path, case: &Case, scratch: &Scratch) -> Result<Run> {
    let cwd = scratch.root().join(case.cwd);
    let stdin = match case.stdin {
        Some(path) => {
            let path = cwd.join(path);
            Stdio::from(fs::File::open(&path).context(|| format!("opening {}", path.display()))?)
        }
        None => Stdio::null(),
    };
    let output = Command::new(bin)
        .arg0(case.program.bin)
        .args(case.args)
        .current_dir(&cwd)
        .env_clear()
        .env("HOME", scratch.home())
        .stdin(stdin)
        .output()
        .context(|| format!("running {}", bin.display()))?;
    let status = match (output.status.code(), output.status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => -1,
    };
    Ok(Run {
        status,
        stdout: output.stdout,
        stderr: output.stderr,
        output: Vec::new(),
    })
}

/// `mkdir -p /out; cd /work/CWD; NAME ARGS [<STDIN] >/out/.stdout 2>/out/.stderr; echo status=$?; ...`:
/// the status, stdout and stderr after marker lines, as [`parse_guest_output`] reads them.
fn guest_command(case: &Case) -> String {
    let cwd = if case.cwd.is_empty() {
        GUEST_ROOT.to_string()
    } else {
        format!("{GUEST_ROOT}/{}", case.cwd)
    };
    let mut line = format!(
        "mkdir -p /out; cd {}; {}",
        shell_quote(&cwd),
        case.program.bin
    );
    for arg in case.args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    if let Some(stdin) = case.stdin {
        line.push_str(" <");
        line.push_str(&shell_quote(stdin));
    }
    line.push_str(
        " >/out/.stdout 2>/out/.stderr; echo status=$?; echo @@stdout@@; cat /out/.stdout; \
         echo; echo @@stderr@@; cat /out/.stderr; echo; echo @@output@@",
    );
    line
}

/// The lines of `bytes` (each with its `\n`; a last line without one gets one), sorted.
fn sorted_lines(bytes: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    lines.sort_unstable();
    let mut out = Vec::with_capacity(bytes.len() + 1);
    for line in lines {
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// The first line of `a` that differs from `b` at the same index, quoted (`(none)` past the end).
fn differing_line(a: &[u8], b: &[u8]) -> String {
    let (a_lines, b_lines): (Vec<&[u8]>, Vec<&[u8]>) = (
        a.split_inclusive(|&c| c == b'\n').collect(),
        b.split_inclusive(|&c| c == b'\n').collect(),
    );
    let at = a_lines
        .iter()
        .zip(&b_lines)
        .position(|(x, y)| x != y)
        .unwrap_or(a_lines.len().min(b_lines.len()));
    match a_lines.get(at) {
        Some(line) => format!("line {}: {:?}", at + 1, String::from_utf8_lossy(line)),
        None => format!("line {}: (none)", at + 1),
    }
}

fn save_run(dir: &Path, side: &str, run: &Run) -> Result<()> {
    for (what, bytes) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let path = dir.join(format!("{side}.{what}"));
        fs::write(&path, bytes).context(|| format!("writing {}", path.display()))?;
    }
    let path = dir.join(format!("{side}.status"));
    fs::write(&path, format!("{}\n", run.status)).context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::wasm_registry::parse_guest_output;

    #[test]
    fn guest_command_line_and_its_output() {
        let case = &CASES[0];
        assert_eq!(
            guest_command(case),
            "mkdir -p /out; cd /work; rg --sort path -n fox data >/out/.stdout 2>/out/.stderr; \
             echo status=$?; echo @@stdout@@; cat /out/.stdout; echo; echo @@stderr@@; \
             cat /out/.stderr; echo; echo @@output@@"
        );
        let replace = CASES.iter().find(|c| c.name == "rg-replace").unwrap();
        assert!(
            guest_command(replace).contains(r"-r '$1 at $2' '(\w+)@([\w.]+\w)' data >"),
            "{}",
            guest_command(replace)
        );
        let in_cwd = CASES.iter().find(|c| c.name == "fd-in-cwd").unwrap();
        assert!(guest_command(in_cwd).starts_with("mkdir -p /out; cd /work/data; fd "));
        let stdin = CASES.iter().find(|c| c.name == "rg-stdin").unwrap();
        assert!(guest_command(stdin).contains(" 'fox|dog' <data/notes.txt >/out/.stdout "));
        // What that command line prints, as the OS's shell would.
        let printed = b"status=1\n@@stdout@@\na\nb\n\n@@stderr@@\nrg: x\n\n@@output@@\n";
        let run = parse_guest_output(printed).unwrap();
        assert_eq!(
            (run.status, run.stdout, run.stderr),
            (1, b"a\nb\n".to_vec(), b"rg: x\n".to_vec())
        );
    }

    #[test]
    fn sorts_lines() {
        assert_eq!(sorted_lines(b"b\na\nc"), b"a\nb\nc\n");
        assert_eq!(sorted_lines(b""), b"");
        assert_eq!(sorted_lines(b"x/\nx\n"), b"x\nx/\n");
    }

    #[test]
    fn shows_the_differing_line() {
        assert_eq!(differing_line(b"a\nb\nc\n", b"a\nx\n"), "line 2: \"b\\n\"");
        assert_eq!(differing_line(b"a\n", b"a\nb\n"), "line 2: (none)");
    }

    #[test]
    fn makes_the_tree() {
        let scratch = Scratch::new().unwrap();
        let root = scratch.root();
        make_tree(&root).unwrap();
        assert!(root.join("data/.git").is_dir());
        assert!(root.join("data/empty-dir").is_dir());
        assert_eq!(
            fs::read(root.join("data/.gitignore")).unwrap(),
            b"*.log\nbuild/\n"
        );
        let big = fs::metadata(root.join(BIG_FILE)).unwrap().len();
        more_asserts::assert_gt!(big, 64 * 1024);
        let mode = fs::metadata(root.join("data/scripts/build.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(
            fs::read(root.join("data/assets/logo.bin"))
                .unwrap()
                .contains(&0)
        );
        let dir = scratch.dir.clone();
        drop(scratch);
        assert!(!dir.exists());
    }

    #[test]
    fn cases_are_unique_and_named_by_program() {
        let mut names: Vec<&str> = CASES.iter().map(|case| case.name).collect();
        for case in CASES {
            assert!(PROGRAMS.contains(&case.program), "{}", case.name);
            assert!(
                case.name.starts_with(&format!("{}-", case.program.bin)),
                "{}",
                case.name
            );
        }
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
