//! `cargo xtask test`: every test the project has, in order, then one closing line
//! `N passed, N failed`. Exits 1 if anything failed.
//!
//! Groups: host unit tests, kernel build, in-kernel tests (`mode=test`), one boot through
//! the GRUB ISO, end-to-end shell tests ([`E2E_CASES`]) through the same code path as
//! `run --exec`, our WASI test programs compared with wasmtime ([`super::wasi_compare`]),
//! and real Linux programs from crates.io compared with the host
//! ([`super::host_compare`]; built once, cached); with `--slow` also real WASI programs from
//! the package registries ([`super::wasm_registry`]), the fuzz and stress group
//! ([`super::fuzz`]) and the crates of the ports manifest, each measured again and compared
//! with its row in `ports/STATUS.json` ([`super::ports::group`]).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use crate::boot::{self, BootSpec};
use crate::cmdline::Mode;
use crate::error::{Context, Error, Result};
use crate::exec::{self, ExecOutcome, ExecRequest};
use crate::kernel_build;
use crate::ktest::{self, QEMU_EXIT_FAILED, QEMU_EXIT_PASSED};
use crate::qemu::{self, Console, Ending, Flow};
use crate::ramdisk::AddSpec;
use crate::setup;
use crate::workspace::Workspace;

const KERNEL_TEST_TIMEOUT: Duration = Duration::from_secs(300);
const BOOT_TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Content of the file the `cat` case adds to the ramdisk: odd spacing, a tab, no final newline.
const CAT_FILE: &str = "first line\n  two  spaces\tand a tab\nno newline at the end";

/// What the command's output must look like.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly these bytes.
    Exactly(&'static str),
    /// Contains this text.
    Contains(&'static str),
    /// Contains each of these texts, in this order.
    ContainsInOrder(&'static [&'static str]),
    /// Has this whitespace-separated word (a trailing `/` ignored), e.g. an `ls` entry.
    Word(&'static str),
    /// Exactly this many lines, each starting with its text.
    Lines(&'static [&'static str]),
    /// At least two `mem` reports, the heap's use in the last at most this many KiB above the
    /// first and the frames' use at most that plus the heap's slot slack (a leak check), and
    /// this text at least this many times.
    MemBack(u64, &'static str, usize),
    /// What the description says, as checked by the function.
    Satisfies(&'static str, fn(&str) -> bool),
}

/// `wasmtime-ten-guests`: the same module on wasmi, then on wasmtime ten times at once (ten
/// concurrent compile-cache misses of one module: one compiles, the others wait for its entry).
const TEN_WASMTIME_GUESTS: &str = "mkdir -p /tmp/g; wasm --engine wasmi /bin/spin.wasm 100000 > /tmp/g/0; \
    wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/1 & wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/2 & \
    wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/3 & wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/4 & \
    wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/5 & wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/6 & \
    wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/7 & wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/8 & \
    wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/9 & wasm --engine wasmtime /bin/spin.wasm 100000 > /tmp/g/10 & \
    wait; cat /tmp/g/0 /tmp/g/1 /tmp/g/2 /tmp/g/3 /tmp/g/4 /tmp/g/5 /tmp/g/6 /tmp/g/7 /tmp/g/8 /tmp/g/9 /tmp/g/10; \
    ls /var/cache/wasmtime | wc -l";

/// What `wildptr` prints: every pointer-taking preview1 call answers EFAULT (21), the
/// socket calls on a non-socket ENOTSOCK (57); then the size limits: EINVAL (28) past
/// IOV_MAX iovecs, EOVERFLOW (61) for lengths past 4 GiB, ENAMETOOLONG (37) past PATH_MAX.
const WILDPTR_OUT: &str = concat!(
    "ok args_get argv: 21\n",
    "ok args_get argv_buf: 21\n",
    "ok args_sizes_get: 21\n",
    "ok environ_get: 21\n",
    "ok environ_sizes_get: 21\n",
    "ok clock_res_get: 21\n",
    "ok clock_time_get: 21\n",
    "ok fd_fdstat_get: 21\n",
    "ok fd_filestat_get: 21\n",
    "ok fd_prestat_get: 21\n",
    "ok fd_prestat_dir_name: 21\n",
    "ok fd_write iovs: 21\n",
    "ok fd_write iovs count overflowing: 21\n",
    "ok fd_write buffer length overflowing: 21\n",
    "ok fd_write wild buffer: 21\n",
    "ok fd_write nwritten: 21\n",
    "ok fd_read wild buffer: 21\n",
    "ok fd_read iovs: 21\n",
    "ok fd_pread wild buffer: 21\n",
    "ok fd_pwrite wild buffer: 21\n",
    "ok fd_pwrite length overflowing: 21\n",
    "ok fd_readdir buffer: 21\n",
    "ok fd_readdir length overflowing: 21\n",
    "ok fd_seek: 21\n",
    "ok fd_tell: 21\n",
    "ok path_create_directory: 21\n",
    "ok path_create_directory length overflowing: 21\n",
    "ok path_remove_directory: 21\n",
    "ok path_unlink_file: 21\n",
    "ok path_filestat_get path: 21\n",
    "ok path_filestat_get out: 21\n",
    "ok path_filestat_set_times: 21\n",
    "ok path_open path: 21\n",
    "ok path_open fd out: 21\n",
    "ok path_link: 21\n",
    "ok path_link new: 21\n",
    "ok path_readlink path: 21\n",
    "ok path_rename: 21\n",
    "ok path_rename new: 21\n",
    "ok path_symlink: 21\n",
    "ok path_symlink new: 21\n",
    "ok poll_oneoff subscriptions: 21\n",
    "ok poll_oneoff count overflowing: 21\n",
    "ok random_get: 21\n",
    "ok random_get length overflowing: 21\n",
    "ok sock_accept (not a socket): 57\n",
    "ok sock_recv (not a socket): 57\n",
    "ok sock_send (not a socket): 57\n",
    "ok fd_write more than IOV_MAX iovecs: 28\n",
    "ok fd_read more than IOV_MAX iovecs: 28\n",
    "ok fd_pwrite more than IOV_MAX iovecs: 28\n",
    "ok fd_write lengths adding up past 4 GiB: 61\n",
    "ok fd_pread lengths adding up past 4 GiB: 61\n",
    "ok path_open path longer than PATH_MAX: 37\n",
    "ok path_symlink target longer than PATH_MAX: 37\n",
    "wildptr: ok\n",
);

/// What `cfiles` (ports/linux/c/cfiles.c) prints, as on a Linux host.
const CFILES_OUT: &str = concat!(
    "ok mkdir\n",
    "ok stat directory\n",
    "ok open O_CREAT\n",
    "ok new descriptor above stdio\n",
    "ok write 12 bytes\n",
    "ok fstat size 12\n",
    "ok fchmod 0640\n",
    "ok futimens before 1970\n",
    "ok futimens with 10^9 ns: EINVAL\n",
    "ok close\n",
    "ok close again: EBADF\n",
    "ok open O_RDWR\n",
    "ok read back\n",
    "ok read at end: 0\n",
    "ok lseek SEEK_SET\n",
    "ok read after lseek\n",
    "ok lseek SEEK_CUR\n",
    "ok lseek SEEK_END\n",
    "ok lseek before start: EINVAL\n",
    "ok pread at 0\n",
    "ok pread leaves the offset\n",
    "ok pwrite\n",
    "ok ftruncate to 8\n",
    "ok dup\n",
    "ok dup shares the offset\n",
    "ok content after pwrite and ftruncate\n",
    "ok O_APPEND write\n",
    "ok appended at the end\n",
    "ok fopen and fgets\n",
    "ok O_EXCL on an existing file: EEXIST\n",
    "ok open a missing file: ENOENT\n",
    "ok O_DIRECTORY on a file: ENOTDIR\n",
    "ok mkdir sub\n",
    "ok mkdir again: EEXIST\n",
    "ok opendir\n",
    "ok readdir lists f.txt (DT_REG) and sub (DT_DIR)\n",
    "ok readdir lists . and ..\n",
    "ok getdents64 into 8 bytes: EINVAL\n",
    "ok getdents64 into 40 bytes: one entry per call, 4 calls\n",
    "ok rmdir a non-empty directory: ENOTEMPTY\n",
    "ok rename\n",
    "ok old name gone: ENOENT\n",
    "ok new name has the content\n",
    "ok chdir\n",
    "ok getcwd\n",
    "ok create a file by a relative path\n",
    "ok found by its absolute path\n",
    "ok chdir /\n",
    "ok link: two names\n",
    "ok the new name has the content\n",
    "ok link a directory: EPERM\n",
    "ok link onto an existing name: EEXIST\n",
    "ok linkat AT_SYMLINK_FOLLOW links the target\n",
    "ok unlink the extra names\n",
    "ok unlink\n",
    "ok unlink again: ENOENT\n",
    "ok unlink a directory: EISDIR\n",
    "ok rmdir sub\n",
    "ok rmdir\n",
    "ok directory gone: ENOENT\n",
    "ok getpwuid(0): root\n",
    "ok getgrgid(0): root\n",
    "cfiles: 62 ok, 0 failed\n",
);

/// What `unix-crates-check` (ports/unix-crates-check) prints in the OS, in order: every crate
/// ok. stdout is the console there, a terminal of 24x80 (on a Linux host, piped, it is not).
const UNIX_CRATES_OUT: &[&str] = &[
    "dirs ok (home_dir /, config_dir /.config)\n",
    "home ok (home_dir /)\n",
    "rustix ok (open/write/fstat/rename/stat/unlink, getpid ",
    "nix ok (getpid ",
    "libc ok (getpid ",
    "fs2 ok (exclusive/shared locks against another process, unlocks; per open file description (a second open conflicts, a dup shares, the last close releases))\n",
    "fd-lock ok (write/read guards against another process, released on drop)\n",
    "fs4 ok (shared/exclusive locks against another process, allocate 4096)\n",
    "filetime ok (set_file_mtime 1000000000.123456000s, set_file_handle_times atime 1100000000.000000000s mtime 1200000000.500000000s)\n",
    "tar ok (3 entries, 3584 bytes in memory, read back and unpacked with mtimes)\n",
    "console ok (stdout is a terminal, 24x80)\n",
    "indicatif ok (hidden bar to 1000/1000, finished)\n",
    "dialoguer ok (",
    "crossterm ok (stdout is a terminal; terminal::size() = 80x24)\n",
    "ctrlc ok (handler ran once per raise(SIGINT), twice, on ctrlc's thread)\n",
    "socket2 ok (bind/listen/connect/accept on 127.0.0.1:",
    "tokio-net ok (echo over 127.0.0.1:",
    "reqwest ok (blocking GET http://127.0.0.1:",
    "unix-crates-check: 18 passed, 0 failed, 0 skipped\n",
];

/// The content of a file a case adds to the ramdisk.
#[derive(Debug, Clone, Copy)]
enum Data {
    Text(&'static str),
    /// Made at test time (bad modules, never committed as binaries).
    Made(fn(&Workspace) -> Result<Vec<u8>>),
}

/// One end-to-end case: name, command line, files to add (guest path, content), exit
/// status, output.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, Data)],
    u8,
    Expect,
);

/// A case that types on the serial console: name, command line, delay in ms (counted from
/// the shell being ready), the bytes typed, exit status, output.
type InputCase = (&'static str, &'static str, u64, &'static [u8], u8, Expect);

/// A case that types in steps (job control: Ctrl-Z, then input for the resumed job): name,
/// command line, (delay in ms after the previous step (the first: after the shell is ready),
/// bytes typed) for each step, exit status, output.
type StepsCase = (
    &'static str,
    &'static str,
    &'static [(u64, &'static [u8])],
    u8,
    Expect,
);

use Data::{Made, Text};
use Expect::{Contains, ContainsInOrder, Exactly, Lines, MemBack, Satisfies, Word};

fn truncated_hello(ws: &Workspace) -> Result<Vec<u8>> {
    crate::wasm_bad::truncated_hello(ws)
}

fn garbage_module(_: &Workspace) -> Result<Vec<u8>> {
    Ok(crate::wasm_bad::garbage_module())
}

/// 65536 pages: 4 GiB, the most a 32-bit memory may declare.
fn huge_memory_module(_: &Workspace) -> Result<Vec<u8>> {
    Ok(crate::wasm_bad::huge_memory_module(65536))
}

/// 10M elements: the most wasm validators commonly accept, over our table limit.
fn huge_table_module(_: &Workspace) -> Result<Vec<u8>> {
    Ok(crate::wasm_bad::huge_table_module(10_000_000))
}

fn linux_truncated(ws: &Workspace) -> Result<Vec<u8>> {
    crate::linux_programs::truncated_hello(ws)
}

fn linux_aarch64(ws: &Workspace) -> Result<Vec<u8>> {
    crate::linux_programs::aarch64_hello(ws)
}

#[rustfmt::skip]
const E2E_CASES: &[Case] = &[
    ("echo",        "echo hello",                     &[],                            0,   Exactly("hello\n")),
    ("not-found",   "nosuch",                         &[],                            127, Contains("nosuch: command not found")),
    ("ls-root",     "ls /",                           &[],                            0,   Word("etc")),
    ("cat-added",   "cat /tmp/x.txt",                 &[("/tmp/x.txt", Text(CAT_FILE))], 0,   Exactly(CAT_FILE)),
    ("sequence",    "echo a; echo b; false; echo $?", &[],                            0,   Exactly("a\nb\n1\n")),
    ("exit-status", "exit 3",                         &[],                            3,   Exactly("")),
    ("quoting",     r#"echo 'a  b' "c\"d" $?"#,       &[],                            0,   Exactly("a  b c\"d 0\n")),
    ("crash-pagefault", "crash pagefault; echo alive", &[],                          0,   ContainsInOrder(&["page fault", "backtrace:", "shell::tasks::crash_page_fault", "alive\n"])),
    ("crash-panic", "crash panic; echo $?",           &[],                            0,   ContainsInOrder(&["deliberate panic", "crash_panic", "134\n"])),
    ("crash-badfree", "crash badfree; echo $?; echo alive", &[],                      0,   ContainsInOrder(&["which the heap never gave out", "shell::tasks::crash_bad_free", "134\nalive\n"])),
    ("wasm-memory-back", "mem; WASM_ENGINE=wasmi trap oom; mem; WASM_ENGINE=wasmi trap oom; mem; WASM_ENGINE=wasmi trap oom; mem", &[], 0, Satisfies("127 MiB guests exit and give their frames back", guest_memory_returns)),
    ("disk-full",   "mem; mkdir /d; yes > /d/y; mem; echo full; echo abcd | wc -c; rm /d/y; mem; echo a b c | wc -w; echo alive", &[], 0, Satisfies("`yes` stopped by ENOSPC, commands working while full, free frames back after `rm`", disk_full_recovers)),
    ("pipeline",    "echo a b c | wc -w; ls / | grep -c etc", &[],                    0,   Exactly("3\n1\n")),
    ("redirect-round-trip", "mkdir -p /tmp; echo hi > /tmp/f; echo there >> /tmp/f; cat < /tmp/f", &[],  0, Exactly("hi\nthere\n")),
    ("yes-head",    "yes | head -n 2",                &[],                            0,   Exactly("y\ny\n")),
    ("background",  "sleep 0.1 & jobs; fg; echo st=$?", &[],                          0,   ContainsInOrder(&["[1] ", "[1] Running  sleep 0.1\n", "sleep 0.1\nst=0\n"])),
    ("std-program", "/bin/stdcheck one two; echo $?", &[],                        0,   ContainsInOrder(&["args [\"one\", \"two\"]", "stdcheck: 7 passed, 0 failed", "0\n"])),
    ("std-by-name", "stdcheck 2>/dev/null | grep -c ok", &[],                         0,   Exactly("7\n")),
    ("bad-program", "mkdir -p /tmp; echo x > /tmp/p; /tmp/p",  &[],                      126, Contains("not a valid ELF")),
    ("regex-check", "regex-check",                    &[],                            0,   Contains("regex-check: ok")),
    ("serde-json-check", "serde-json-check",          &[],                            0,   Contains("serde-json-check: ok")),
    ("rand-check",  "rand-check",                     &[],                            0,   Contains("rand-check: ok")),
    ("rayon-check", "rayon-check",                    &[],                            0,   Contains("rayon-check: ok")),
    ("parking-lot-check", "parking-lot-check",        &[],                            0,   Contains("parking-lot-check: ok")),
    ("crossbeam-channel-check", "crossbeam-channel-check", &[],                       0,   Contains("crossbeam-channel-check: ok")),
    ("clap-check",  "clap-check -vv --name theseus --level 7 --color never build --release a.rs b.rs", &[],  0, ContainsInOrder(&["parsed: verbose=2 name=\"theseus\" level=7 color=Never\n", "command: build release=true files=[\"a.rs\", \"b.rs\"]\n", "clap-check: ok"])),
    ("tempfile-check", "mkdir -p /tmp; tempfile-check", &[],                          0,   Contains("tempfile-check: ok")),
    ("walkdir-check", "mkdir -p /tmp; walkdir-check", &[],                            0,   Contains("walkdir-check: ok")),
    ("anyhow-check", "anyhow-check",                  &[],                            0,   Contains("anyhow-check: ok")),
    ("tokio-check", "tokio-check",                    &[],                            0,   Contains("tokio-check: ok")),
    ("unix-crates", "mkdir -p /tmp; unix-crates-check", &[],                          0,   ContainsInOrder(UNIX_CRATES_OUT)),
    ("std-panic",   "stdcheck --panic; echo $?; echo alive", &[],                     0,   ContainsInOrder(&["deliberate panic", "101\n", "alive\n"])),
    ("std-segv",    "stdcheck --segv; echo $?; echo alive", &[],                      0,   ContainsInOrder(&["page fault", "stdcheck::main", "139\n", "alive\n"])),
    ("std-exit",    "stdcheck --exit 42",             &[],                            42,  Exactly("")),
    ("wasm-hello",  "GREETING=hi WASM_ENGINE=wasmi hello a 'b c'; echo $?; WASM_ENGINE=wasmi hello x | wc -w", &[],      0,   Exactly("hello from wasm: argc=3 [a] [b c] GREETING=hi\n0\n6\n")),
    ("wasm-command", "wasm --engine wasmi --env GREETING=x /bin/hello.wasm 1", &[],                  0,   Exactly("hello from wasm: argc=2 [1] GREETING=x\n")),
    ("wasm-files",  "mkdir -p /tmp/d; wasm --engine wasmi --dir /tmp/d::/data /bin/files.wasm /data", &[],  0, ContainsInOrder(&["ok read back appended content\n", "ok O_TRUNC empties\n", "ok rmdir\n", "ok rename there and back\n", "ok unlink\n", "ok escape with .. refused\nescape errno: Operation not permitted\n", "files: 0 failures\n"])),
    ("wasm-fdcalls", "mkdir -p /tmp/fc; wasm --engine wasmi --dir /tmp/fc::/data /bin/fdcalls.wasm /data", &[],  0, ContainsInOrder(&["ok pread at 5\n", "ok offset unchanged by pread/pwrite\n", "ok pread on stdin: ESPIPE\n", "ok pread into a bad buffer: EFAULT\n", "ok fadvise bad advice: EINVAL\n", "ok fallocate extends to 100\n", "ok fsync bad fd: EBADF\n", "ok append went to the end, then 0\n", "ok set SYNC: ENOTSUP\n", "ok futimens sets atime and mtime\n", "ok MTIM with MTIM_NOW: EINVAL\n", "ok fd_write without FD_WRITE: ENOTCAPABLE\n", "ok adding a right back: ENOTCAPABLE\n", "ok O_TRUNC without PATH_FILESTAT_SET_SIZE: ENOTCAPABLE, file kept\n", "ok without O_TRUNC it opens\n", "ok g now reads f.txt\n", "ok renumber to a closed fd: EBADF\n", "ok poll_oneoff: no subscriptions: EINVAL\n", "ok usleep slept at least 50ms\n", "ok nanosleep 20ms\n", "ok poll_oneoff: the nearer of two relative clocks fires\n", "ok poll_oneoff: absolute realtime deadline\n", "ok poll_oneoff: absolute monotonic deadline\n", "readable nbytes 4\n", "ok poll_oneoff: stdout writable\n", "ok poll_oneoff: bad fd EBADF, bad clock EINVAL (as events)\n", "ok proc_raise(SIGTERM): ENOTSUP\n", "ok socket calls on a file: ENOTSOCK\n", "ok socket call on a bad fd: EBADF\n", "fdcalls: 0 failures\n"])),
    ("wasm-links",  "mkdir -p /tmp/ln/d; echo secret > /tmp/ln/outside.txt; wasm --engine wasmi --dir /tmp/ln/d::/data /bin/links.wasm /data; echo st=$?; cat /tmp/ln/outside.txt; ls /tmp/ln /tmp/ln/d", &[],  0, ContainsInOrder(&["ok readlink gives the target as stored\n", "ok readlink of a file: EINVAL\n", "ok open follows a link inside the preopen\n", "ok utimensat NOFOLLOW changes the link only\n", "ok rename replaces a file\n", "ok link: two names\n", "ok unlink the second name\n", "ok rename to ../: EPERM\n", "ok rename from ../: EPERM\n", "ok link to ../: EPERM\n", "ok link from ../: EPERM\n", "ok symlink placed in ../: EPERM\n", "ok symlink abs -> /etc/motd: EPERM\n", "ok readlink root_up is as stored\n", "ok open via ../ link: EPERM\n", "ok truncate via ../ link: EPERM\n", "ok stat through a climbing link: EPERM\n", "ok renamed link still refused\n", "links: 0 failures\nst=0\nsecret\n", "/tmp/ln:\nd/\noutside.txt\n\n/tmp/ln/d:\nb.txt\nsub2/\n"])),
    ("wasm-sleep",  "mkdir -p /tmp/sl; wasm --engine wasmi --dir /tmp/sl::/data /bin/fdcalls.wasm /data | grep sleep", &[],  0, Exactly("ok usleep 50ms\nok usleep slept at least 50ms\nok nanosleep 20ms\n")),
    ("wasm-readdir", "mkdir -p /tmp/r; cd /tmp/r; WASM_ENGINE=wasmi readdir . 200", &[],                 0,   Exactly("entry-with-a-fairly-long-name-0000 type=file\nentry-with-a-fairly-long-name-0001 type=file\nentries: 200\n")),
    ("wasm-clock",  "WASM_ENGINE=wasmi clock",                     &[],                            0,   Exactly("clock ok (monotonic advanced, cputime unsupported)\n")),
    ("wasm-random", "WASM_ENGINE=wasmi random",                     &[],                            0,   Exactly("random ok\n")),
    ("wasm-exit",   "WASM_ENGINE=wasmi exitcode 42",                    &[],                            42,  Exactly("exiting with 42\n")),
    ("wasm-trap",   "WASM_ENGINE=wasmi trap; echo $?; WASM_ENGINE=wasmi trap div; echo $?; echo alive", &[],              0,   ContainsInOrder(&["trapping: unreachable\ntrap: trap: wasm `unreachable` instruction executed in _start\nwasm backtrace:\n  0: main (func ", ")\n  1: __main_void (func ", ": _start (func ", "\n132\ntrapping: div\ntrap: trap: integer divide by zero in _start\nwasm backtrace:\n  0: divide (func ", ")\n  1: compute (func ", ")\n  2: main (func ", ")\n  3: __main_void (func ", "\n136\nalive\n"])),
    ("wasm-limits", "WASM_ENGINE=wasmi trap recurse; echo $?; WASM_ENGINE=wasmi trap oom; echo $?; echo alive", &[],       0,   ContainsInOrder(&["trapping: recurse\ntrap: trap: call stack exhausted in _start\nwasm backtrace:\n  0: recurse (func ", ")\n  1: recurse (func ", ")\n  39: recurse (func ", ")\n  ... 960 more\n139\ntrapping: oom\nallocated 127 MiB\n0\nalive\n"])),
    ("wasm-malformed", "mkdir -p /tmp; echo garbage > /tmp/bad.wasm; /tmp/bad.wasm; echo $?; echo alive", &[],  0, Exactly("/tmp/bad.wasm: malformed module: not a WebAssembly module (no `\\0asm` magic number)\n125\nalive\n")),
    ("wasm-cannot-link", "WASM_ENGINE=wasmi nolink; echo $?; WASM_ENGINE=wasmi simd; echo $?", &[],                      0,   ContainsInOrder(&["nolink: missing imports: env.missing_fn\n125\n", "simd: unsupported feature: SIMD support is not enabled", "125\n"])),
    ("wasm-long-loop", "WASM_ENGINE=wasmi spin 10000000",              &[],                            0,   Exactly("spin 10000000 done: 1482550652335107729\n")),
    ("wasm-kill",   "WASM_ENGINE=wasmi spin & sleep 0.3; kill %1; sleep 0.4; jobs; echo alive", &[], 0, ContainsInOrder(&["[1] Killed  WASM_ENGINE=wasmi spin\n", "alive\n"])),
    ("tty-resize-no-answer", "resize; echo status=$?", &[], 0, ContainsInOrder(&["resize: the terminal did not report its size\nstatus=1\n"])),
    ("job-bg-reader-wasm", "WASM_ENGINE=wasmi calc & sleep 0.5; jobs; kill %1; sleep 0.3; jobs; echo alive", &[], 0, ContainsInOrder(&["[1] Stopped (tty input)  WASM_ENGINE=wasmi calc\n", "[1] Killed  WASM_ENGINE=wasmi calc\n", "alive\n"])),
    // On wasmtime, the default (a first run fills the compile cache).
    ("job-bg-reader-wasmtime", "calc < /dev/null > /dev/null; calc & sleep 0.5; jobs; kill %1; sleep 0.3; jobs; echo alive", &[], 0, ContainsInOrder(&["[1] Stopped (tty input)  calc\n", "[1] Killed  calc\n", "alive\n"])),
    ("wasm-fuel",   "wasm --fuel 1000000 /bin/spin.wasm; echo $?; wasm --fuel=100000000 /bin/spin.wasm 1000; echo $?; wasm -W fuel=1000000 /bin/spin.wasm 1000000; echo $?; echo alive", &[], 0, Exactly("wasm: /bin/spin.wasm: trap: all fuel consumed by WebAssembly in _start\n152\nspin 1000 done: 8968425615673229001\n0\nwasm: /bin/spin.wasm: trap: all fuel consumed by WebAssembly in _start\n152\nalive\n")),
    ("wasm-max-memory", "wasm --engine wasmi --max-memory 16M /bin/trap.wasm oom; echo $?; wasm --engine wasmi --max-memory=100000 /bin/hello.wasm; echo $?; wasm --engine wasmi -W max-memory-size=131072 /bin/hello.wasm; echo $?", &[], 0, Exactly("trapping: oom\nallocated 15 MiB\n0\nwasm: /bin/hello.wasm: cannot instantiate: memory `memory` declares a minimum of 131072 bytes, over the limit of 100000 bytes\n125\nhello from wasm: argc=1 GREETING=(unset)\n0\n")),
    ("wasm-truncated", "WASM_ENGINE=wasmi /tmp/half.wasm; echo $?; echo alive", &[("/tmp/half.wasm", Made(truncated_hello))], 0, Lines(&["/tmp/half.wasm: malformed module: unexpected end-of-file (at offset 0x", "125", "alive"])),
    ("wasm-garbage", "WASM_ENGINE=wasmi /tmp/garbage.wasm; echo $?; echo alive", &[("/tmp/garbage.wasm", Made(garbage_module))], 0, Exactly("/tmp/garbage.wasm: malformed module: malformed section id (at offset 0x8)\n125\nalive\n")),
    ("wasm-huge-memory", "WASM_ENGINE=wasmi /tmp/bigmem.wasm; echo $?; echo alive", &[("/tmp/bigmem.wasm", Made(huge_memory_module))], 0, Exactly("/tmp/bigmem.wasm: cannot instantiate: memory `memory` declares a minimum of 4294967296 bytes, over the limit of 134217728 bytes\n125\nalive\n")),
    ("wasm-huge-table", "WASM_ENGINE=wasmi /tmp/bigtable.wasm; echo $?; echo alive", &[("/tmp/bigtable.wasm", Made(huge_table_module))], 0, Exactly("/tmp/bigtable.wasm: cannot instantiate: table `table` declares a minimum of 10000000 elements, over the limit of 1048576\n125\nalive\n")),
    ("wasm-wildptr", "mkdir -p /tmp; WASM_ENGINE=wasmi wildptr", &[], 0, Exactly(WILDPTR_OUT)),
    ("wasm-fd-order", "WASM_ENGINE=wasmi fdorder",                 &[],                           0,   Exactly("opened 0 1 2\nafter closing 0 and 2: 2 0\nrenumber 1 onto 2: 0, then 1 3\n")),
    // The same programs on wasmtime (native code compiled in the OS by /bin/wasmtime-compile):
    // the expected output is the wasmi cases' own. One difference: `trap recurse` keeps 64
    // bytes per frame on the C stack in linear memory, which wasmtime's deeper native stack
    // lets it overflow (an out-of-bounds access) before wasmtime's stack limit; wasmi's
    // 1000-frame limit comes first. `trap deep` (no linear-memory frames) reaches the limit.
    ("wasmtime-hello", "wasm --engine wasmtime --env GREETING=x /bin/hello.wasm 1; echo $?; wasm --engine=wasmtime /bin/exitcode.wasm 42; echo $?; wasm --engine wasmtime /bin/clock.wasm; wasm --engine wasmtime /bin/random.wasm; wasm --engine wasmtime --dir /::/ /bin/fdorder.wasm", &[], 0, Exactly("hello from wasm: argc=2 [1] GREETING=x\n0\nexiting with 42\n42\nclock ok (monotonic advanced, cputime unsupported)\nrandom ok\nopened 0 1 2\nafter closing 0 and 2: 2 0\nrenumber 1 onto 2: 0, then 1 3\n")),
    ("wasmtime-files", "mkdir -p /tmp/d; wasm --engine wasmtime --dir /tmp/d::/data /bin/files.wasm /data", &[],  0, ContainsInOrder(&["ok read back appended content\n", "ok O_TRUNC empties\n", "ok rmdir\n", "ok rename there and back\n", "ok unlink\n", "ok escape with .. refused\nescape errno: Operation not permitted\n", "files: 0 failures\n"])),
    ("wasmtime-fdcalls", "mkdir -p /tmp/fc; wasm --engine wasmtime --dir /tmp/fc::/data /bin/fdcalls.wasm /data", &[],  0, ContainsInOrder(&["ok pread at 5\n", "ok offset unchanged by pread/pwrite\n", "ok pread on stdin: ESPIPE\n", "ok pread into a bad buffer: EFAULT\n", "ok fallocate extends to 100\n", "ok append went to the end, then 0\n", "ok futimens sets atime and mtime\n", "ok O_TRUNC without PATH_FILESTAT_SET_SIZE: ENOTCAPABLE, file kept\n", "ok usleep slept at least 50ms\n", "ok poll_oneoff: absolute monotonic deadline\n", "ok proc_raise(SIGTERM): ENOTSUP\n", "fdcalls: 0 failures\n"])),
    ("wasmtime-links", "mkdir -p /tmp/ln/d; echo secret > /tmp/ln/outside.txt; wasm --engine wasmtime --dir /tmp/ln/d::/data /bin/links.wasm /data; echo st=$?; cat /tmp/ln/outside.txt", &[],  0, ContainsInOrder(&["ok readlink gives the target as stored\n", "ok open follows a link inside the preopen\n", "ok rename to ../: EPERM\n", "ok symlink abs -> /etc/motd: EPERM\n", "ok open via ../ link: EPERM\n", "ok renamed link still refused\n", "links: 0 failures\nst=0\nsecret\n"])),
    ("wasmtime-wildptr", "mkdir -p /tmp; wasm --engine wasmtime --dir /::/ --env PWD=/ /bin/wildptr.wasm", &[], 0, Exactly(WILDPTR_OUT)),
    ("wasmtime-long-loop", "wasm --engine wasmtime /bin/spin.wasm 10000000", &[],     0,   Exactly("spin 10000000 done: 1482550652335107729\n")),
    ("wasmtime-traps", "W=/bin/trap.wasm; wasm --engine wasmtime $W; echo $?; wasm --engine wasmtime $W div; echo $?; wasm --engine wasmtime $W overflow; echo $?; wasm --engine wasmtime $W oob; echo $?; wasm --engine wasmtime $W deep; echo $?; wasm --engine wasmtime $W recurse; echo $?; echo alive", &[], 0, ContainsInOrder(&["trapping: unreachable\nwasm: /bin/trap.wasm: trap: wasm `unreachable` instruction executed in _start\nwasm backtrace:\n  0: main (func ", ")\n  1: __main_void (func ", ": _start (func ", "\n132\ntrapping: div\nwasm: /bin/trap.wasm: trap: integer divide by zero in _start\nwasm backtrace:\n  0: divide (func ", ")\n  1: compute (func ", ")\n  2: main (func ", ")\n  3: __main_void (func ", "\n136\ntrapping: overflow\nwasm: /bin/trap.wasm: trap: integer overflow in _start\n", "\n136\ntrapping: oob\nwasm: /bin/trap.wasm: trap: out of bounds memory access in _start\nwasm backtrace:\n  0: main (func ", "\n139\ntrapping: deep\nwasm: /bin/trap.wasm: trap: call stack exhausted in _start\nwasm backtrace:\n  0: deep (func ", ")\n  39: deep (func ", " more\n139\ntrapping: recurse\nwasm: /bin/trap.wasm: trap: out of bounds memory access in _start\nwasm backtrace:\n  0: recurse (func ", " more\n139\nalive\n"])),
    ("wasmtime-limits", "wasm --engine wasmtime --max-memory 16M /bin/trap.wasm oom; echo $?; wasm --engine wasmtime /bin/trap.wasm oom; echo $?; wasm --engine wasmtime --max-memory=100000 /bin/hello.wasm; echo $?; wasm --engine wasmtime -W max-memory-size=131072 /bin/hello.wasm; echo $?; wasm --engine wasmtime --fuel 10 /bin/hello.wasm; echo $?", &[], 0, Exactly("trapping: oom\nallocated 15 MiB\n0\ntrapping: oom\nallocated 127 MiB\n0\nwasm: /bin/hello.wasm: cannot instantiate: memory `memory` declares a minimum of 131072 bytes, over the limit of 100000 bytes\n125\nhello from wasm: argc=1 GREETING=(unset)\n0\nwasm: --fuel needs --engine wasmi (wasmtime runs without fuel metering)\n2\n")),
    ("wasmtime-cannot-run", "echo garbage > /tmp/bad.wasm; wasm --engine wasmtime /tmp/bad.wasm; echo $?; wasm --engine wasmtime /tmp/half.wasm; echo $?; wasm --engine wasmtime /bin/nolink.wasm; echo $?; wasm --engine wasmtime /bin/simd.wasm; echo $?; wasm --engine wasmtime /tmp/bigmem.wasm; echo $?; wasm --engine wasmtime /tmp/bigtable.wasm; echo $?; echo alive", &[("/tmp/half.wasm", Made(truncated_hello)), ("/tmp/bigmem.wasm", Made(huge_memory_module)), ("/tmp/bigtable.wasm", Made(huge_table_module))], 0, ContainsInOrder(&["wasm: /tmp/bad.wasm: malformed module: not a WebAssembly module (no `\\0asm` magic number)\n125\n", "wasm: /tmp/half.wasm: malformed module: ", "\n125\nwasm: /bin/nolink.wasm: missing imports: env.missing_fn\n125\n", "wasm: /bin/simd.wasm: unsupported feature: ", "\n125\nwasm: /tmp/bigmem.wasm: cannot instantiate: memory `memory` declares a minimum of 4294967296 bytes, over the limit of 134217728 bytes\n125\nwasm: /tmp/bigtable.wasm: cannot instantiate: table `table` declares a minimum of 10000000 elements, over the limit of 1048576\n125\nalive\n"])),
    // Compile cache: a miss compiles and stores an entry; with the compiler gone, the cached
    // module still runs (a hit) and an uncached one cannot compile.
    ("wasmtime-cache", "ls /var/cache/wasmtime; wasm --engine wasmtime /bin/exitcode.wasm 3; echo $?; ls /var/cache/wasmtime | wc -l; mv /bin/wasmtime-compile /tmp/wc; wasm --engine wasmtime /bin/exitcode.wasm 4; echo $?; wasm --engine wasmtime /bin/hello.wasm; echo $?; hello; echo $?; WASM_ENGINE=wasmi hello; echo $?; mv /tmp/wc /bin/wasmtime-compile; wasm --engine wasmtime /bin/hello.wasm; echo $?; ls /var/cache/wasmtime | wc -l", &[], 0, ContainsInOrder(&["exiting with 3\n3\n1\nexiting with 4\n4\nwasm: /bin/hello.wasm: cannot compile: /bin/wasmtime-compile: ", " (the wasmi interpreter needs no compiler: `wasm --engine wasmi`, or `WASM_ENGINE=wasmi` before a name)\n125\nhello: cannot compile: /bin/wasmtime-compile: ", " (the wasmi interpreter needs no compiler: `wasm --engine wasmi`, or `WASM_ENGINE=wasmi` before a name)\n125\nhello from wasm: argc=1 GREETING=(unset)\n0\nhello from wasm: argc=1 GREETING=(unset)\n0\n2\n"])),
    ("wasmtime-ten-guests", TEN_WASMTIME_GUESTS, &[], 0, ContainsInOrder(&["[10] ", "spin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\nspin 100000 done: 17275813362716333938\n1\n"])),
    // Killed during the compile (a miss: wasmtime-compile takes over a second): the compiler
    // is stopped with it, no file is left in the cache, and the next miss compiles as usual.
    ("wasmtime-kill-compile", "wasm --engine wasmtime /bin/links.wasm & sleep 0.5; kill %1; sleep 1; jobs; ls /var/cache/wasmtime | wc -l; ps | grep -c wasmtime-compile; wasm --engine wasmtime /bin/exitcode.wasm 7; echo $?; ls /var/cache/wasmtime | wc -l", &[], 0, ContainsInOrder(&["Killed  wasm --engine wasmtime /bin/links.wasm\n0\n0\nexiting with 7\n7\n1\n"])),
    // By name, `WASM_ENGINE` picks the engine: `trap recurse` ends differently on each (see
    // above); a name that is no engine is an error, an empty one the default.
    ("wasm-engine-var", "WASM_ENGINE=wasmtime trap recurse; echo $?; WASM_ENGINE=wasmi trap recurse; echo $?; WASM_ENGINE=nope hello; echo $?; WASM_ENGINE= exitcode 3; echo $?", &[], 0, ContainsInOrder(&["trapping: recurse\ntrap: trap: out of bounds memory access in _start\n", "\n139\ntrapping: recurse\ntrap: trap: call stack exhausted in _start\n", "  ... 960 more\n139\nhello: WASM_ENGINE=nope: expected wasmi or wasmtime\n2\nexiting with 3\n3\n"])),
    // wasmtime is the default: by name and for `wasm` without `--engine` (`trap recurse` ends
    // as on wasmtime), except that a fuel budget picks wasmi (the only engine that meters it).
    ("wasm-default-engine", "trap recurse; echo $?; wasm /bin/trap.wasm recurse; echo $?; wasm --fuel 100000000 /bin/trap.wasm recurse; echo $?; GREETING=hi hello a 'b c'; hello x | wc -w; mkdir -p /tmp/r; cd /tmp/r; readdir . 200", &[], 0, ContainsInOrder(&["trapping: recurse\ntrap: trap: out of bounds memory access in _start\n", "\n139\ntrapping: recurse\nwasm: /bin/trap.wasm: trap: out of bounds memory access in _start\n", "\n139\ntrapping: recurse\nwasm: /bin/trap.wasm: trap: call stack exhausted in _start\n", "  ... 960 more\n139\nhello from wasm: argc=3 [a] [b c] GREETING=hi\n6\nentry-with-a-fairly-long-name-0000 type=file\nentry-with-a-fairly-long-name-0001 type=file\nentries: 200\n"])),
    ("wasmtime-memory-back", "trap div > /dev/null 2> /dev/null; mem; trap oom; mem; trap oom; mem; trap oom; mem", &[], 0, Satisfies("127 MiB guests exit and give their frames back", guest_memory_returns)),
    ("wasmtime-kill", "wasm --engine wasmtime /bin/spin.wasm 1 > /dev/null; wasm --engine wasmtime /bin/spin.wasm & sleep 0.5; kill %1; sleep 0.4; jobs; echo alive", &[], 0, ContainsInOrder(&["Killed  wasm --engine wasmtime /bin/spin.wasm\n", "alive\n"])),
    // Stock static x86_64-unknown-linux-musl binaries (ports/linux), through the Linux system-call ABI.
    ("linux-hello", "hello-c one two; echo $?; /bin/hello-c 'a b'", &[],             1,   Exactly("hello-c: to stderr\nargv[0]=hello-c\nargv[1]=one\nargv[2]=two\n2\nhello-c: to stderr\nargv[0]=/bin/hello-c\nargv[1]=a b\n")),
    ("linux-env",   "HELLO_ENV=x hello-c; echo $?; HELLO_ENV=y; hello-c", &[],       0,   Exactly("hello-c: to stderr\nargv[0]=hello-c\nHELLO_ENV=x\n0\nhello-c: to stderr\nargv[0]=hello-c\n")),
    ("linux-cfiles", "mkdir -p /tmp; cfiles",         &[],                            0,   Exactly(CFILES_OUT)),
    ("linux-inotify", "mkdir -p /tmp; inotify; echo $?", &[],                       0,   ContainsInOrder(&["ok create\n", "ok rename\n", "ok unlink the last name\n", "ok rmdir\n", "inotify: 37 passed, 0 failed\n0\n"])),
    ("linux-iocalls", "mkdir -p /tmp; iocalls; echo $?", &[],                       0,   ContainsInOrder(&["ok truncate to 4\n", "ok preadv across two buffers\n", "ok sendfile to a pipe\n", "ok copy_file_range between offsets\n", "ok select: an empty pipe is writable only\n", "ok F_GETFL: O_WRONLY, O_APPEND\n", "ok poll: POLLHUP once the writer closed\n", "ok blocking opens meet; the data arrives, then end of file\n", "ok readdir: DT_FIFO\n", "ok poll: POLLRDHUP after the peer shut down writing\n", "iocalls: 59 passed, 0 failed\n0\n"])),
    ("linux-procinfo", "mkdir -p /tmp; procinfo; echo $?", &[],                     0,   ContainsInOrder(&["ok /proc/self links to getpid()\n", "ok /proc/self/stat: pid and ppid as getpid/getppid\n", "ok /proc/self/fd/N names the open file\n", "ok kcmp: a dup shares the open file description\n", "ok /proc/meminfo: MemTotal, MemFree\n", "ok /proc/self/io: wchar and syscw count a write\n", "ok getrusage(RUSAGE_SELF) keeps an ended thread's time\n", "ok /proc/self/stat utime + stime keep an ended thread's time\n", "ok /proc/self/comm shows it\n", "ok a thread's own name in its task/N/comm\n", "ok PR_SET_NO_NEW_PRIVS sticks\n", "ok AT_PAGESZ, AT_ENTRY, AT_PHDR, AT_RANDOM are what getauxval says\n", "ok /proc/self/auxv holds the same pairs, up to AT_NULL\n", "procinfo: 77 passed, 0 failed\n0\n"])),
    ("linux-timers",   "timers; echo $?", &[],                                       0,   ContainsInOrder(&["ok a blocking read returns 1 expiration\n", "ok poll wakes at the next expiry\n", "ok epoll reports the real-time timer's expiry\n", "ok pause returns EINTR after SIGALRM's handler\n", "ok SIGALRM interrupts a loop that makes no system call\n", "ok sigsuspend takes the blocked SIGUSR1 through its mask\n", "ok sigtimedwait takes the pending SIGUSR1\n", "ok a blocking read returns the timer's SIGUSR2\n", "ok the new mask's SIGUSR1 is read\n", "ok the process CPU clock counts the 100 ms spin\n", "ok pthread_getcpuclockid: the thread's CPU clock\n", "ok its handler runs while it waits\n", "ok setgid with another thread blocked in a futex wait returns\n", "timers: 70 passed, 0 failed\n0\n"])),
    ("linux-eintr",    "eintr; echo $?", &[],                                        0,   ContainsInOrder(&["ok SA_RESTART: the restarted read returns the byte\n", "ok no SA_RESTART: read fails with EINTR\n", "ok an ignored signal leaves read blocked\n", "ok a write to a full pipe fails with EINTR (nothing written)\n", "ok SA_RESTART: the restarted accept returns the connection\n", "ok no SA_RESTART: accept fails with EINTR\n", "ok nanosleep reports the time left\n", "ok epoll_wait fails with EINTR\n", "ok a waiting flock fails with EINTR\n", "ok ppoll's empty mask lets the pending SIGUSR1 in\n", "ok after pselect SIGUSR1 is blocked again\n", "ok SIGALRM from setitimer interrupts a blocked read\n", "ok with SA_RESTART the read goes on after SIGALRM's handler\n", "ok alarm's SIGALRM interrupts poll\n", "ok setgid with threads blocked in read, nanosleep and poll returns\n", "eintr: 46 passed, 0 failed\n0\n"])),
    ("linux-pidfds",   "pidfds; echo $?", &[],                                       0,   ContainsInOrder(&["ok pidfd_open(-1): EINVAL\n", "ok a running child's descriptor is not readable\n", "ok the killed child's descriptor becomes readable (poll)\n", "ok waitid(P_PIDFD): the child, killed by SIGKILL\n", "ok epoll reports the child's end\n", "ok its descriptor is readable at once\n", "pidfds: 29 passed, 0 failed\n0\n"])),
    ("linux-ifaddrs",  "ifaddrs; echo $?", &[],                                      0,   ContainsInOrder(&["ok getifaddrs: lo has 127.0.0.1/8, up, loopback\n", "ok getifaddrs: lo has ::1\n", "ok if_nameindex lists lo\n", "ok the dump ends with NLMSG_DONE, every message with the request's sequence\n", "ifaddrs: 16 passed, 0 failed\n0\n"])),
    ("linux-ownaddr",  "ownaddr; echo $?", &[],                                      0,   ContainsInOrder(&["ok getifaddrs names an IPv4 address of an interface other than lo\n", "ok the accepted connection: own address at both ends\n", "ok the own address once its listener closed: ECONNREFUSED (127.0.0.1's does not take it)\n", "ok a 0.0.0.0 socket gets a datagram sent to the own address, from it\n", "ownaddr: 21 passed, 0 failed\n0\n"])),
    // Names from the ramdisk's /etc/hosts through musl's getaddrinfo/getnameinfo; a name not
    // there fails with EAI_AGAIN after musl's 5 s wait for 127.0.0.1:53 (no resolv.conf: nothing
    // answers, nothing leaves the machine), as on Linux with musl and no resolver.
    ("linux-names",    "names localhost=127.0.0.1,::1 localhost/4=127.0.0.1 localhost/6=::1 theseus=127.0.1.1 hostservice=10.0.2.100 @127.0.0.1=localhost @::1=localhost hostname '!not-in-hosts.invalid'; echo $?", &[], 0, Exactly("ok getaddrinfo(localhost, AF_UNSPEC): 127.0.0.1,::1\nok getaddrinfo(localhost, AF_INET): 127.0.0.1\nok getaddrinfo(localhost, AF_INET6): ::1\nok getaddrinfo(theseus, AF_UNSPEC): 127.0.1.1\nok getaddrinfo(hostservice, AF_UNSPEC): 10.0.2.100\nok getnameinfo(127.0.0.1) is localhost\nok getnameinfo(::1) is localhost\nok the host name theseus resolves\nok getaddrinfo(not-in-hosts.invalid) fails within 6 s: EAI_AGAIN\nnames: 9 passed, 0 failed\n0\n")),
    ("linux-std",   "mkdir -p /tmp; linuxcheck one two; echo $?", &[],                0,   ContainsInOrder(&["linuxcheck: println works\n", "stdio    ok (", "fs       ok (", "thread   ok (", "unwind   ok (", "sync     ok (", "time     ok (", "env      ok (args [\"one\", \"two\"])\n", "hashmap  ok (", "process  ok (", "net      ok (", "linuxcheck: 10 passed, 0 failed\n0\n"])),
    ("linux-std-theseus", "mkdir -p /tmp; linuxcheck-theseus one two; echo $?", &[], 0, ContainsInOrder(&["linuxcheck: println works\n", "stdio    ok (", "fs       ok (", "thread   ok (", "unwind   ok (", "sync     ok (", "time     ok (", "env      ok (args [\"one\", \"two\"])\n", "hashmap  ok (", "process  ok (", "net      ok (", "linuxcheck: 10 passed, 0 failed\n0\n"])),
    ("linux-panic", "linuxcheck --panic; echo $?; echo alive", &[],                  0,   ContainsInOrder(&["linuxcheck: deliberate panic", "101\nalive\n"])),
    ("linux-backtrace", "RUST_BACKTRACE=1 linuxcheck --panic; echo $?", &[],        0,   ContainsInOrder(&["linuxcheck: deliberate panic\n", "stack backtrace:\n", "rust_begin_unwind", "linuxcheck::main\n", "101\n"])),
    ("linux-dynamic", "hello-dyn; echo $?; echo alive", &[],                         0,   ContainsInOrder(&["hello-dyn: ", "needs a dynamic loader", "\n126\nalive\n"])),
    ("linux-badcalls", "badcalls; echo $?", &[],                                     0,   Exactly("badcalls: 278 passed, 0 failed\n0\n")),
    ("linux-fault",  "badcalls poke 0xffff800000001000; echo $?; badcalls jump 0x100000; echo $?; echo alive", &[], 0, ContainsInOrder(&["poking 0xffff800000001000\n", "killed: CPU exception page fault", "accessing 0xffff800000001000 (write, protection violation) [SIGSEGV]\nbacktrace:\n", " main+0x", "139\njumping to 0x100000\n", "instruction fetch, protection violation) [SIGSEGV]", "139\nalive\n"])),
    ("linux-caps",    "caps; echo $?", &[],                                         0,   ContainsInOrder(&["ok capget v3\n", "ok root holds CAP_KILL, CAP_SETPCAP, CAP_NET_RAW\n", "ok bad version rewritten to v3\n", "ok a new thread starts with its creator's sets and may drop one\n", "ok raising a dropped permitted capability: EPERM\n", "caps: 25 passed, 0 failed\n0\n"])),
    ("linux-udpmsgs", "udpmsgs; echo $?", &[],                                      0,   ContainsInOrder(&["ok sendmmsg sends 3 datagrams, each length in msg_len\n", "ok recvmmsg(MSG_DONTWAIT) returns the 1 waiting of 4 asked\n", "ok IP_ORIGDSTADDR: the address and port the datagram was sent to\n", "ok the receiver sees TTL 3 and TOS 8\n", "ok IPV6_ORIGDSTADDR: [::1] and the port\n", "ok arrives as datagrams of 4, 4 and 2\n", "ok UDP_GRO set and read back\n", "ok SCM_TIMESTAMPNS: the arrival time, first\n", "ok SCM_TIMESTAMPING: the software time, no hardware time\n", "ok the receiver sees the mark\n", "ok IP_MTU connected over loopback: 65535\n", "ok an unknown congestion algorithm: ENOENT\n", "udpmsgs: 60 passed, 0 failed\n0\n"])),
    ("linux-dualstack", "dualstack; echo $?", &[],                                  0,   ContainsInOrder(&["ok recvfrom: the bytes from [::1] and the sender's port\n", "ok the [::] socket gets it from ::ffff:127.0.0.1 and the sender's port\n", "ok the AF_INET socket gets it from 127.0.0.1 and the [::] socket's port\n", "ok getsockname: ::ffff:127.0.0.1 and its port\n", "ok IPV6_V6ONLY once bound: EINVAL\n", "ok IPv4 to its port does not reach it\n", "ok accept names the IPv4 peer ::ffff:127.0.0.1\n", "ok the IPv4 listener sees 127.0.0.1\n", "ok UDP: 0.0.0.0:P after a dual-stack [::]:P: EADDRINUSE\n", "ok UDP: 127.0.0.1:P reaches the IPv4 socket, [::1]:P the IPv6 one\n", "ok TCP: a dual-stack [::]:P after 0.0.0.0:P: EADDRINUSE\n", "ok TCP: 127.0.0.1:P reaches the IPv4 listener, [::1]:P the IPv6 one\n", "dualstack: 45 passed, 0 failed\n0\n"])),
    ("linux-openat2", "mkdir -p /tmp; openat2; echo $?", &[],                       0,   ContainsInOrder(&["ok RESOLVE_BENEATH: .. above the directory: EXDEV\n", "ok RESOLVE_IN_ROOT: /file is the directory's file\n", "ok RESOLVE_NO_MAGICLINKS: a plain link is followed\n", "ok a non-zero byte after the fields: E2BIG\n", "openat2: 30 passed, 0 failed\n0\n"])),
    ("linux-splices", "mkdir -p /tmp; splices; echo $?", &[],                       0,   ContainsInOrder(&["ok file to pipe at offset 5: f1, offset 7\n", "ok pipe to pipe\n", "ok vmsplice out of a pipe\n", "ok the copy arrives, the source keeps all 3\n", "splices: 26 passed, 0 failed\n0\n"])),
    ("linux-mqueue",  "posixmq; echo $?", &[],                                      0,   ContainsInOrder(&["ok send to a full queue with a timeout: ETIMEDOUT\n", "ok the highest priority first\n", "ok a blocked send goes on when a receiver makes room\n", "ok a message in the empty queue sends SIGUSR1\n", "ok the open queue lives on after mq_unlink\n", "mqueue: 38 passed, 0 failed\n0\n"])),
    ("linux-sysregs", "sysregs; echo $?", &[],                                      0,   ContainsInOrder(&["ok registers preserved across getpid, a failing read, sched_yield, nanosleep\n", "ok registers preserved across a signal handler\n", "ok registers preserved with two threads calling at once\n", "ok x87 and SSE state kept across page faults, yields and preemption\n", "sysregs: 209 passed, 0 failed\n0\n"])),
    ("linux-signals", "signals; echo $?; signals pipe; echo $?; signals abort; echo $?; echo alive", &[], 0, ContainsInOrder(&["ok xmm8 preserved across the handler\n", "ok handler ran on the alternate stack\n", "ok unblocking delivers it\n", "signals: 19 passed, 0 failed\n0\nwriting to a pipe without readers\n", "by signal 13 [SIGPIPE]", "141\naborting\n", "by signal 6 [SIGABRT]", "134\nalive\n"])),
    ("linux-sockets", "mkdir -p /tmp; sockets; echo $?", &[],                          0,   ContainsInOrder(&["ok 1 MiB echoed back byte for byte between threads, then end of file\n", "ok connect to a closed port: ECONNREFUSED\n", "ok bind to a listening port: EADDRINUSE\n", "ok connect to 192.0.2.1: ENETUNREACH\n", "ok send to a closed peer ends in EPIPE with MSG_NOSIGNAL\n", "ok and SIGPIPE\n", "ok then, as the peer closed with unread data: ECONNRESET\n", "ok poll: the connecting socket becomes writable, the listener readable\n", "ok epoll: data makes the accepted socket readable\n", "ok recv times out with EAGAIN\n", "ok recvfrom gets the datagram and the sender's address\n", "ok accept gives an IPv6 peer\n", "ok echo over a Unix stream\n", "ok socketpair(SOCK_STREAM)\n", "ok sendto a wild address: EFAULT\n", "sockets: 179 passed, 0 failed\n0\n"])),
    ("linux-sockets-kill", "sockets block & sleep 1; kill %1; sleep 0.3; jobs; sockets rebind; echo $?", &[], 0, ContainsInOrder(&["blocked in accept and read\n", "Killed  sockets block\n", "port 7777 is free\n0\n"])),
    ("linux-hyper", "hyper-check; echo $?; hyper-check-theseus; echo $?", &[],      0,   ContainsInOrder(&["hyper-check: ok (20 concurrent clients, 65 requests, 5344210 body bytes checked)\n0\n", "hyper-check: ok (20 concurrent clients, 65 requests, 5344210 body bytes checked)\n0\n"])),
    ("time",        "time sleep 0.2; time signals spin 100000000", &[],             0,   ContainsInOrder(&["\nreal\t0m0.2", "\nuser\t0m0.000s\nsys\t0m0.0", "spinning\n\nreal\t0m", "\nsys\t0m0.0"])),
    ("head-dash-n-clear", "yes | head -3; echo a > /tmp/t; echo b >> /tmp/t; echo c >> /tmp/t; tail -2 /tmp/t; clear | wc -c", &[], 0, Exactly("y\ny\ny\nb\nc\n11\n")),
    ("kill-file-writer", "mkdir /d; yes > /d/y & sleep 1; kill %1; sleep 0.3; ls /d; echo alive", &[], 0, ContainsInOrder(&["[1] ", "\ny\nalive\n"])),
    ("linux-kill-frees", KILL_20_PROGRAMS,            &[],                            0,   MemBack(1024, "hold: holding 4 MiB in 2 threads\n", 19)),
    ("wasm-kill-frees", KILL_100_GUESTS,              &[],                            0,   MemBack(1024, "nap: holding 4 MiB\n", 101)),
    ("wasmtime-kill-frees", KILL_100_WASMTIME_GUESTS, &[],                            0,   MemBack(1024, "nap: holding 4 MiB\n", 101)),
    ("linux-kill-stopped-frees", KILL_10_STOPPED_PROGRAMS, &[],                       0,   MemBack(1024, "] Stopped  hold\n", 9)),
    ("wasm-kill-stopped-frees", KILL_10_STOPPED_GUESTS, &[],                          0,   MemBack(1024, "] Stopped  WASM_ENGINE=wasmi nap\n", 9)),
    ("wasmtime-kill-stopped-frees", KILL_10_STOPPED_WASMTIME_GUESTS, &[],             0,   MemBack(1024, "] Stopped  nap\n", 9)),
    ("wasm-kill-spinning-frees", KILL_20_SPINNING_GUESTS, &[],                        0,   MemBack(1024, "burn: holding 4 MiB\n", 19)),
    ("wasmtime-kill-spinning-frees", KILL_20_SPINNING_WASMTIME_GUESTS, &[],           0,   MemBack(1024, "burn: holding 4 MiB\n", 19)),
    ("linux-bad-elf", "/tmp/half; echo $?; /tmp/arm; echo $?; echo alive", &[("/tmp/half", Made(linux_truncated)), ("/tmp/arm", Made(linux_aarch64))], 0, ContainsInOrder(&["/tmp/half: cannot run: ", "\n126\n/tmp/arm: cannot run: built for another machine (e_machine 183), not x86_64\n126\nalive\n"])),
];

/// Ten times the same command text.
macro_rules! ten {
    ($s:expr) => {
        concat!($s, $s, $s, $s, $s, $s, $s, $s, $s, $s)
    };
}

/// 100 guests that each hold 4 MiB, killed while they wait in a host call: each says so (into
/// `/tmp/nap`, which the shell empties when it starts the guest) before it waits, and `waitfor`
/// (ports/linux/c/waitfor.c) prints that line before the kill, however long the guest takes to
/// start (more with four vCPUs on two host cores); the heap must give back everything they
/// held (one guest first, so one-time allocations are in the baseline).
const KILL_100_GUESTS: &str = concat!(
    "mkdir -p /tmp; WASM_ENGINE=wasmi nap > /tmp/nap & waitfor /tmp/nap 'nap: holding'; kill %%; sleep 0.3; mem; ",
    ten!(ten!(
        "WASM_ENGINE=wasmi nap > /tmp/nap & waitfor /tmp/nap 'nap: holding'; kill %%; "
    )),
    "sleep 1; mem; echo alive"
);

/// The same on wasmtime, the default engine (a first run fills the compile cache, so the
/// guests start from cached code).
const KILL_100_WASMTIME_GUESTS: &str = concat!(
    "mkdir -p /tmp; nap 4 0 > /dev/null; nap > /tmp/nap & waitfor /tmp/nap 'nap: holding'; kill %%; sleep 0.3; mem; ",
    ten!(ten!(
        "nap > /tmp/nap & waitfor /tmp/nap 'nap: holding'; kill %%; "
    )),
    "sleep 1; mem; echo alive"
);

/// 20 guests that each hold 4 MiB, killed while they compute without calling the host (wasmi:
/// fuel in slices, the runner checks for a kill at the end of each); the heap and the frames
/// must come back, and every kill must end the guest (`jobs` at the end lists none running).
const KILL_20_SPINNING_GUESTS: &str = concat!(
    "WASM_ENGINE=wasmi burn & sleep 0.4; kill %%; sleep 0.3; mem; ",
    ten!(
        "WASM_ENGINE=wasmi burn & sleep 0.3; kill %%; WASM_ENGINE=wasmi burn & sleep 0.3; kill %%; "
    ),
    "sleep 1; mem; jobs; echo alive"
);

/// The same on wasmtime (epoch interruption: the guest's code checks the engine's epoch, which
/// a kernel task advances, and the deadline callback ends a killed guest's run). A first run
/// fills the compile cache, so the kills land in the guest's computation.
const KILL_20_SPINNING_WASMTIME_GUESTS: &str = concat!(
    "wasm --engine wasmtime /bin/burn.wasm 4 0 > /dev/null; ",
    "wasm --engine wasmtime /bin/burn.wasm & sleep 0.4; kill %%; sleep 0.3; mem; ",
    ten!(
        "wasm --engine wasmtime /bin/burn.wasm & sleep 0.3; kill %%; wasm --engine wasmtime /bin/burn.wasm & sleep 0.3; kill %%; "
    ),
    "sleep 1; mem; jobs; echo alive"
);

/// 10 programs that each map 4 MiB, stopped (`kill -STOP`, `jobs` says so) while their
/// threads wait, then killed while stopped: everything they held comes back.
const KILL_10_STOPPED_PROGRAMS: &str = concat!(
    "hold & sleep 0.4; kill -STOP %%; jobs; kill %%; sleep 0.3; mem; ",
    ten!("hold & sleep 0.25; kill -STOP %%; jobs; kill %%; "),
    "sleep 1; mem; echo alive"
);

/// The same with 10 guests that hold 4 MiB each, stopped while they wait in a host call.
const KILL_10_STOPPED_GUESTS: &str = concat!(
    "WASM_ENGINE=wasmi nap & sleep 0.3; kill -STOP %%; jobs; kill %%; sleep 0.3; mem; ",
    ten!("WASM_ENGINE=wasmi nap & sleep 0.15; kill -STOP %%; jobs; kill %%; "),
    "sleep 1; mem; echo alive"
);

/// The same on wasmtime, the default engine (the cache filled first).
const KILL_10_STOPPED_WASMTIME_GUESTS: &str = concat!(
    "nap 4 0 > /dev/null; nap & sleep 0.3; kill -STOP %%; jobs; kill %%; sleep 0.3; mem; ",
    ten!("nap & sleep 0.15; kill -STOP %%; jobs; kill %%; "),
    "sleep 1; mem; echo alive"
);

/// 20 programs that each map 4 MiB, killed while one thread waits on a futex and the other
/// reads a pipe: everything they held comes back.
const KILL_20_PROGRAMS: &str = concat!(
    "hold & sleep 0.4; kill %%; sleep 0.3; mem; ",
    ten!("hold & sleep 0.25; kill %%; hold & sleep 0.25; kill %%; "),
    "sleep 1; mem; echo alive"
);

/// A case booted with its own vCPU count (whatever `test --smp` says): name, vCPUs, command
/// line, exit status, output.
type SmpCase = (&'static str, usize, &'static str, u8, Expect);

/// Every CPU QEMU is given comes online, runs tasks (one kept to it by affinity), idles halted
/// with its timer ticking, and programs count them (the shell's `nproc`, musl's `sysconf`,
/// std's `available_parallelism`); a program's threads kept to two CPUs run at the same time.
/// What `stress` prints when threads on every CPU hammered futexes, pipes, mappings and file
/// calls (descriptor duplication among them) and nothing went wrong.
const STRESS_LINES: &[&str] = &[
    "ok a pair of pipes for each pair of threads",
    "ok twice as many threads as CPUs (at least 4) started and joined",
    "ok the mutex-protected counter lost no increment",
    "ok every futex hand-over between partners happened once",
    "ok every pipe message arrived whole, in order, from the partner",
    "ok every new mapping was zero-filled, kept its data and unmapped",
    "ok every file was written, read back and unlinked",
    "ok every F_DUPFD_CLOEXEC duplicate was a descriptor of its own",
    "ok no file left behind",
    "stress: 9 passed, 0 failed",
];

#[rustfmt::skip]
const SMP_CASES: &[SmpCase] = &[
    ("smp-one-cpu", 1, "nproc; cpus; cpus-c; linuxcheck --cpus", 0, Exactly("1\n1 of 1 CPUs online\ncpu 0: APIC id 0, boot CPU, runs tasks\nonline 1, configured 1, affinity 1\navailable_parallelism: 1\n")),
    ("smp-two-cpus", 2, "nproc; cpus; cpus-c; linuxcheck --cpus; spawnwait", 0, Lines(&["2", "2 of 2 CPUs online", "cpu 0: APIC id 0, boot CPU, runs tasks, ", "cpu 1: APIC id 1, runs tasks, timer ticking, halted between interrupts, ", "TLB shootdowns: ", "run queue lock: taken ", "online 2, configured 2, affinity 2", "available_parallelism: 2", "spawnwait: 20 children waited for promptly"])),
    ("smp-four-cpus", 4, "nproc; cpus; cpus-c", 0, Lines(&["4", "4 of 4 CPUs online", "cpu 0: APIC id 0, boot CPU, runs tasks, ", "cpu 1: APIC id 1, runs tasks, timer ticking, halted between interrupts, ", "cpu 2: APIC id 2, runs tasks, timer ticking, halted between interrupts, ", "cpu 3: APIC id 3, runs tasks, timer ticking, halted between interrupts, ", "TLB shootdowns: ", "run queue lock: taken ", "online 4, configured 4, affinity 4"])),
    ("smp-parallel-one-cpu", 1, "parallel", 0, Lines(&["ok a thread kept to cpu 0 runs there", "ok a mask with no CPU online is refused", "compute: ", "parallel: 2 passed, 0 failed"])),
    ("smp-parallel-two-cpus", 2, "parallel", 0, Lines(&["ok a thread kept to cpu 0 runs there", "ok a thread kept to cpu 1 runs there", "ok a mask with no CPU online is refused", "ok two threads spinning on cpus 0 and 1 handed a counter over 10000 times each", "compute: ", "parallel: 4 passed, 0 failed"])),
    ("smp-parallel-four-cpus", 4, "parallel", 0, Lines(&["ok a thread kept to cpu 0 runs there", "ok a thread kept to cpu 1 runs there", "ok a mask with no CPU online is refused", "ok two threads spinning on cpus 0 and 1 handed a counter over 10000 times each", "compute: ", "parallel: 4 passed, 0 failed"])),
    ("smp-stress-one-cpu", 1, "stress", 0, Lines(STRESS_LINES)),
    ("smp-stress-two-cpus", 2, "stress", 0, Lines(STRESS_LINES)),
    ("smp-stress-four-cpus", 4, "stress", 0, Lines(STRESS_LINES)),
];

#[rustfmt::skip]
const INPUT_CASES: &[InputCase] = &[
    ("wasm-ctrl-c", "WASM_ENGINE=wasmi spin; echo status=$?; echo alive", 1500, b"\x03", 0, ContainsInOrder(&["status=130\n", "alive\n"])),
    // wasmtime (the default): a first run fills the compile cache, the Ctrl-C lands in the loop.
    ("wasmtime-ctrl-c", "spin 1 > /dev/null; spin; echo status=$?; echo alive", 5000, b"\x03", 0, ContainsInOrder(&["status=130\n", "alive\n"])),
    // Ctrl-C while the module compiles: the compile of links.wasm took about 0.7 s with two
    // vCPUs once and less since (a fresh-clone run on 2026-12-06 finished it before a Ctrl-C
    // at 700 ms); a Ctrl-C that comes while the module still loads gives the same output.
    ("wasmtime-ctrl-c-compile", "wasm --engine wasmtime /bin/links.wasm; echo status=$?; ls /var/cache/wasmtime | wc -l; ps | grep -c wasmtime-compile; echo alive", 300, b"\x03", 0, ContainsInOrder(&["status=130\n0\n0\nalive\n"])),
    ("linux-ctrl-c", "signals spin; echo status=$?; echo alive", 1500, b"\x03", 0, ContainsInOrder(&["spinning\n", "status=130\n", "alive\n"])),
    ("linux-ctrl-c-socket", "sockets block; echo status=$?; sockets rebind", 1500, b"\x03", 0, ContainsInOrder(&["blocked in accept and read\n", "status=130\n", "port 7777 is free\n"])),
    ("tty-cat",     "cat; echo status=$?",            1500, b"hello\rabX\x7fc\rjunk\x15kept\r\x04", 0, ContainsInOrder(&["abX\x08 \x08c\n", "abc\n", "status=0\n"])),
    ("tty-wasm-repl", "WASM_ENGINE=wasmi calc; echo status=$?", 1500, b"add 2 3\rmul 4 5\rdiv\x7f\x7f\x7fadd 1 1\r\x04", 0, ContainsInOrder(&["> ", "= 5\n", "= 20\n", "= 2\n", "bye\nstatus=0\n"])),
    ("tty-wasmtime-repl", "calc < /dev/null > /dev/null; calc; echo status=$?", 5000, b"add 2 3\rmul 4 5\rdiv\x7f\x7f\x7fadd 1 1\r\x04", 0, ContainsInOrder(&["> ", "= 5\n", "= 20\n", "= 2\n", "bye\nstatus=0\n"])),
    ("tty-std-lines", "linuxcheck --lines; echo status=$?", 1500, b"one\rtw\x17two words\r\x04", 0, ContainsInOrder(&["line 1: \"one\"\n", "line 2: \"two words\"\n", "linuxcheck: 2 lines\nstatus=0\n"])),
    ("tty-raw-keys", "rawkeys; echo status=$?",       1500, b"ab\x03q", 0, ContainsInOrder(&["window: 24x80\nterminal: our group, tcsetpgrp ok\nraw mode: icanon=0 echo=0 isig=0 opost=0\r\n", "key 97\r\nkey 98\r\nkey 3\r\nkey 113\r\nrestored: icanon=1 echo=1\nstatus=0\n"])),
    ("tty-ctrl-backslash", "signals spin; echo status=$?", 1500, b"\x1c", 0, ContainsInOrder(&["spinning\n", "^\\\n", "status=131\n"])),
    ("linux-sigint", "signals sigint; echo status=$?; echo alive", 1500, b"\x03", 0, ContainsInOrder(&["waiting for SIGINT\n", "caught SIGINT\n", "status=0\n", "alive\n"])),
];

/// Job control typed on the terminal: Ctrl-Z stops the foreground job, `fg` gives it the
/// terminal back (the input typed then reaches it), `bg` continues it in the background, a
/// background reader is stopped (`SIGTTIN`) until `fg`.
#[rustfmt::skip]
const STEPS_CASES: &[StepsCase] = &[
    // Ctrl-C while each reader is blocked on the terminal mid-line (after it took a whole
    // line): the partial line is dropped, the reader ends with SIGINT's status, the shell goes
    // on. (Typed at once, the complete line would be flushed with it, as on Linux.)
    ("tty-cat-ctrl-c", "cat; echo status=$?; echo alive", &[(1500, b"one\r"), (500, b"half a li\x03")], 0,
        ContainsInOrder(&["one\none\n", "half a li^C\n", "status=130\nalive\n"])),
    ("tty-wasm-repl-ctrl-c", "WASM_ENGINE=wasmi calc; echo status=$?; echo alive", &[(1500, b"add 2 3\r"), (500, b"add 1\x03")], 0,
        ContainsInOrder(&["= 5\n", "add 1^C\n", "status=130\nalive\n"])),
    ("tty-wasmtime-repl-ctrl-c", "calc < /dev/null > /dev/null; calc; echo status=$?; echo alive", &[(5000, b"add 2 3\r"), (500, b"add 1\x03")], 0,
        ContainsInOrder(&["= 5\n", "add 1^C\n", "status=130\nalive\n"])),
    ("tty-std-lines-ctrl-c", "linuxcheck --lines; echo status=$?; echo alive", &[(1500, b"one\r"), (500, b"two\x03")], 0,
        ContainsInOrder(&["line 1: \"one\"\n", "two^C\n", "status=130\nalive\n"])),
    ("job-cat-ctrl-z-fg", "cat; jobs; fg; echo status=$?", &[(1500, b"one\r"), (500, b"\x1a"), (1000, b"two\r\x04")], 0,
        ContainsInOrder(&["one\none\n", "^Z\n[1]+ Stopped  cat\n", "[1] Stopped  cat\ncat\n", "two\ntwo\n", "status=0\n"])),
    ("job-linux-ctrl-z-fg", "linuxcheck --lines; echo st=$?; jobs; fg; echo status=$?", &[(1500, b"one\r"), (500, b"\x1a"), (1000, b"two\r\x04")], 0,
        ContainsInOrder(&["line 1: \"one\"\n", "^Z\n[1]+ Stopped  linuxcheck --lines\nst=148\n", "[1] Stopped  linuxcheck --lines\nlinuxcheck --lines\n", "line 2: \"two\"\n", "linuxcheck: 2 lines\nstatus=0\n"])),
    ("job-linux-bg-stop-kill", "signals spin; jobs; bg; jobs; kill -STOP %1; jobs; kill %1; sleep 0.3; jobs; echo alive", &[(1500, b"\x1a")], 0,
        ContainsInOrder(&["spinning\n", "[1]+ Stopped  signals spin\n[1] Stopped  signals spin\n[1]+ signals spin &\n[1] Running  signals spin\n[1] Stopped  signals spin\n[1] Killed  signals spin\nalive\n"])),
    ("job-linux-tstp-handler", "signals tstp; echo st=$?; fg; echo status=$?", &[(1500, b"\x1a")], 0,
        ContainsInOrder(&["waiting for SIGTSTP\n", "caught SIGTSTP, stopping\n", "[1]+ Stopped  signals tstp\nst=148\nsignals tstp\ncontinued (SIGCONT handler ran 1 time)\nstatus=0\n"])),
    ("job-wasm-ctrl-z-fg", "WASM_ENGINE=wasmi calc; jobs; fg; echo status=$?", &[(1500, b"add 2 3\r"), (500, b"\x1a"), (1000, b"add 1 1\r\x04")], 0,
        ContainsInOrder(&["= 5\n", "[1]+ Stopped  WASM_ENGINE=wasmi calc\n[1] Stopped  WASM_ENGINE=wasmi calc\nWASM_ENGINE=wasmi calc\n", "= 2\n", "bye\nstatus=0\n"])),
    ("job-wasm-spin-stop-kill", "WASM_ENGINE=wasmi spin; jobs; kill %1; sleep 0.3; jobs; echo alive", &[(1500, b"\x1a")], 0,
        ContainsInOrder(&["[1]+ Stopped  WASM_ENGINE=wasmi spin\n[1] Stopped  WASM_ENGINE=wasmi spin\n[1] Killed  WASM_ENGINE=wasmi spin\nalive\n"])),
    // The same on wasmtime, the default (a first run fills the compile cache).
    ("job-wasmtime-ctrl-z-fg", "calc < /dev/null > /dev/null; calc; jobs; fg; echo status=$?", &[(5000, b"add 2 3\r"), (500, b"\x1a"), (1000, b"add 1 1\r\x04")], 0,
        ContainsInOrder(&["= 5\n", "[1]+ Stopped  calc\n[1] Stopped  calc\ncalc\n", "= 2\n", "bye\nstatus=0\n"])),
    ("job-wasmtime-spin-stop-kill", "spin 1 > /dev/null; spin; jobs; kill %1; sleep 0.3; jobs; echo alive", &[(5000, b"\x1a")], 0,
        ContainsInOrder(&["[1]+ Stopped  spin\n[1] Stopped  spin\n[1] Killed  spin\nalive\n"])),
    ("job-pipeline-ctrl-z-fg", "cat | wc -l; jobs; fg; echo status=$?", &[(1500, b"a\r"), (500, b"\x1a"), (1000, b"b\r\x04")], 0,
        ContainsInOrder(&["[1]+ Stopped  cat | wc -l\n[1] Stopped  cat | wc -l\ncat | wc -l\n", "2\nstatus=0\n"])),
    ("tty-resize", "resize; echo status=$?; rawkeys; echo status=$?", &[(1500, b"q")], 0,
        ContainsInOrder(&["\x1b7\x1b[999;999H\x1b[6n\x1b8COLUMNS=100;\nLINES=30;\nexport COLUMNS LINES;\nstatus=0\n", "window: 30x100\n", "status=0\n"])),
    ("tty-resize-sigwinch", "signals winch; echo st=$?; resize; fg; echo status=$?", &[(1500, b"\x1a")], 0,
        ContainsInOrder(&["waiting for SIGWINCH\n", "[1]+ Stopped  signals winch\nst=148\n", "COLUMNS=100;\nLINES=30;\n", "signals winch\nSIGWINCH: 30x100\nSIGWINCH after TIOCSWINSZ: 40x120\nstatus=0\n"])),
    ("job-bg-reader-sigttin", "linuxcheck --lines & sleep 0.5; jobs; fg; echo status=$?", &[(1500, b"late\r\x04")], 0,
        ContainsInOrder(&["[1] Stopped (tty input)  linuxcheck --lines\nlinuxcheck --lines\n", "line 1: \"late\"\n", "status=0\n"])),
];

#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub passed: usize,
    pub failed: usize,
}

impl Tally {
    /// Counts one case and prints `LABEL ... ok`, or `LABEL ... FAILED` and the details.
    pub(crate) fn verdict(&mut self, label: &str, problem: Option<String>) {
        match problem {
            None => {
                println!("{label} ... ok");
                self.passed += 1;
            }
            Some(details) => {
                println!("{label} ... FAILED\n{details}");
                self.failed += 1;
            }
        }
    }

    /// Counts one compared case: `Ok(None)` passed; a difference (`Ok(Some(details))`) or an
    /// error fails, printed as `GROUP NAME ... FAILED`.
    pub(crate) fn record(&mut self, group: &str, name: &str, result: Result<Option<String>>) {
        match result {
            Ok(None) => self.passed += 1,
            Ok(Some(problem)) => {
                println!("{group} {name} ... FAILED\n{problem}");
                self.failed += 1;
            }
            Err(err) => {
                println!("{group} {name} ... FAILED: {err}");
                self.failed += 1;
            }
        }
    }
}

/// A `cargo xtask GROUP` command that runs one test group alone: the tools, the kernel, the
/// group, then the closing `N passed, N failed` line; non-zero on any failure.
pub(crate) fn run_group(
    ws: &Workspace,
    verbose: bool,
    group: fn(&Workspace, bool, &mut Tally) -> Result<()>,
) -> Result<i32> {
    crate::setup::ensure_tools(ws, true)?;
    crate::kernel_build::build(ws, verbose)?;
    let mut tally = Tally::default();
    group(ws, verbose, &mut tally)?;
    let _ = std::io::Write::flush(&mut std::io::stdout());
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed > 0 { 1 } else { 0 })
}

pub fn run(ws: &Workspace, verbose: bool, slow: bool) -> Result<i32> {
    setup::ensure_tools(ws, true)?;
    let mut tally = Tally::default();

    header("host unit tests");
    host_unit_tests(ws, verbose, &mut tally)?;

    header("kernel build");
    let built = match kernel_build::build(ws, verbose) {
        Ok(elf) => {
            println!("kernel build ... ok ({})", elf.display());
            true
        }
        Err(err) => {
            println!("kernel build ... FAILED: {err}");
            tally.failed += 1;
            false
        }
    };

    if built {
        header("in-kernel tests");
        kernel_tests(ws, verbose, &mut tally)?;

        header("GRUB ISO boot");
        let iso_case: Case = ("iso-boot", "echo iso-ok", &[], 0, Exactly("iso-ok\n"));
        boot_case(ws, &iso_case, None, None, true, verbose, &mut tally)?;

        header("corrupted ramdisk");
        corrupted_ramdisk_case(ws, verbose, &mut tally)?;

        header("end-to-end shell tests");
        e2e_cases(ws, None, verbose, &mut tally)?;

        header("network: the OS and the host's loopback");
        super::network::group(ws, verbose, &mut tally)?;

        header("WASI test programs compared with wasmtime");
        super::wasi_compare::group(ws, verbose, &mut tally)?;

        header("Linux programs from crates.io, compared with the host");
        super::host_compare::group(ws, verbose, &mut tally)?;

        if slow {
            header("WASI programs from the package registries");
            super::wasm_registry::group(ws, verbose, &mut tally)?;

            header("fuzz and stress");
            super::fuzz::group(ws, verbose, &mut tally)?;

            header("crates' own test suites (ports/manifest.toml) against ports/STATUS.json");
            super::ports::group(ws, verbose, &mut tally)?;
        }
    }

    let _ = std::io::stdout().flush();
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed > 0 { 1 } else { 0 })
}

/// `test --case NAME...`: the kernel build, then only the named end-to-end cases (of any
/// kind: plain, SMP, typed input, steps), then the closing line. An unknown name is a usage
/// error.
pub fn run_cases(ws: &Workspace, names: &[String], verbose: bool) -> Result<i32> {
    let known = case_names();
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(Error::usage(format!(
            "--case {unknown}: no end-to-end case of that name"
        )));
    }
    setup::ensure_tools(ws, true)?;
    kernel_build::build(ws, verbose)?;
    let mut tally = Tally::default();
    header("end-to-end shell tests");
    e2e_cases(ws, Some(names), verbose, &mut tally)?;
    let _ = std::io::stdout().flush();
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(if tally.failed > 0 { 1 } else { 0 })
}

/// The name of every end-to-end case.
fn case_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = E2E_CASES.iter().map(|c| c.0).collect();
    names.extend(SMP_CASES.iter().map(|c| c.0));
    names.extend(INPUT_CASES.iter().map(|c| c.0));
    names.extend(STEPS_CASES.iter().map(|c| c.0));
    names
}

/// The end-to-end cases, in order: all, or those named in `only`.
fn e2e_cases(
    ws: &Workspace,
    only: Option<&[String]>,
    verbose: bool,
    tally: &mut Tally,
) -> Result<()> {
    let wanted = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    for case in E2E_CASES.iter().filter(|c| wanted(c.0)) {
        boot_case(ws, case, None, None, false, verbose, tally)?;
    }
    for &(name, cpus, command, status, expect) in SMP_CASES.iter().filter(|c| wanted(c.0)) {
        let case: Case = (name, command, &[], status, expect);
        boot_case(ws, &case, None, Some(cpus), false, verbose, tally)?;
    }
    for &(name, command, delay_ms, bytes, status, expect) in
        INPUT_CASES.iter().filter(|c| wanted(c.0))
    {
        let input = qemu::Input {
            delay: Duration::from_millis(delay_ms),
            bytes: bytes.to_vec(),
            then: Vec::new(),
            terminal_size: Some(TERMINAL_SIZE),
        };
        let case: Case = (name, command, &[], status, expect);
        boot_case(ws, &case, Some(input), None, false, verbose, tally)?;
    }
    for &(name, command, steps, status, expect) in STEPS_CASES.iter().filter(|c| wanted(c.0)) {
        let case: Case = (name, command, &[], status, expect);
        boot_case(
            ws,
            &case,
            Some(steps_input(steps)),
            None,
            false,
            verbose,
            tally,
        )?;
    }
    Ok(())
}

fn header(title: &str) {
    println!("\n== {title} ==");
}

/// `cargo test` on the workspace's default members (the crates whose logic runs on the host),
/// counting its `test result:` lines. Hardware crates have their tests in the kernel instead.
fn host_unit_tests(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let mut cargo = ws.cargo();
    cargo.args(["test", "--no-fail-fast"]);
    if !verbose {
        cargo.arg("--quiet");
    }
    let (status, stdout, stderr) = run_capturing(cargo, verbose)?;
    let (passed, failed) = count_host_results(status.success(), &stdout, &stderr);
    if !status.success() && !verbose {
        print!("{}", interesting_lines(&stdout));
        eprint!("{stderr}");
    }
    println!("host unit tests: {passed} passed, {failed} failed");
    tally.passed += passed;
    tally.failed += failed;
    Ok(())
}

/// Runs `command`, collecting stdout and stderr (and echoing them live if `echo`).
fn run_capturing(mut command: Command, echo: bool) -> Result<(ExitStatus, String, String)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context(|| "could not start cargo".to_string())?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::failed("cargo output was not captured"));
    };
    let stderr_reader = thread::spawn(move || {
        let mut collected = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            if echo {
                let _ = std::io::stderr().write_all(&buf[..n]);
            }
            collected.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&collected).into_owned()
    });
    let mut collected = String::new();
    for line in BufReader::new(stdout).split(b'\n') {
        let line = String::from_utf8_lossy(&line.context(|| "reading cargo output".to_string())?)
            .into_owned();
        if echo {
            println!("{line}");
        }
        collected.push_str(&line);
        collected.push('\n');
    }
    let status = child.wait().context(|| "waiting for cargo".to_string())?;
    let stderr = stderr_reader.join().unwrap_or_default();
    Ok((status, collected, stderr))
}

/// Passed and failed counts of a `cargo test --no-fail-fast` run: the `test result:` lines,
/// plus one failure per test binary that failed without a FAILED result (it crashed), plus
/// one if cargo failed and nothing else explains it (compile error).
fn count_host_results(success: bool, stdout: &str, stderr: &str) -> (usize, usize) {
    let (passed, mut failed) = count_cargo_test_results(stdout);
    let failed_targets = stderr
        .lines()
        .filter(|line| line.starts_with("error: test failed, to rerun pass"))
        .count();
    let failed_results = stdout
        .lines()
        .filter(|line| line.contains("test result: FAILED."))
        .count();
    failed += failed_targets.saturating_sub(failed_results);
    if !success && failed == 0 {
        failed = 1;
    }
    (passed, failed)
}

/// Cargo's test output without the blank lines and empty test binaries.
fn interesting_lines(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|line| {
            !(line.trim().is_empty()
                || *line == "running 0 tests"
                || line.starts_with("test result: ok. 0 passed; 0 failed;"))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Sums `test result: ok. X passed; Y failed; ...` lines (FAILED results too).
fn count_cargo_test_results(output: &str) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    for line in output.lines() {
        let Some(result) = line.split_once("test result: ").map(|(_, rest)| rest) else {
            continue;
        };
        let words: Vec<&str> = result.split_whitespace().collect();
        for pair in words.windows(2) {
            let Ok(count) = pair[0].parse::<usize>() else {
                continue;
            };
            match pair[1].trim_end_matches([';', ',', '.']) {
                "passed" => passed += count,
                "failed" => failed += count,
                _ => {}
            }
        }
    }
    (passed, failed)
}

/// Boots `mode=test` and counts the kernel's test lines.
fn kernel_tests(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    kernel_test_boot(
        ws,
        Mode::Test,
        &[],
        KERNEL_TEST_TIMEOUT,
        "in-kernel tests",
        verbose,
        tally,
    )
}

/// Boots `mode` (`Test` or `Fuzz`) with `adds` in the ramdisk and counts the kernel's test
/// lines, printed under `label`.
pub(crate) fn kernel_test_boot(
    ws: &Workspace,
    mode: Mode,
    adds: &[AddSpec],
    timeout: Duration,
    label: &str,
    verbose: bool,
    tally: &mut Tally,
) -> Result<()> {
    let boot = boot::prepare(
        ws,
        &BootSpec {
            mode: mode.clone(),
            adds,
            iso: false,
            kernel_verbose: verbose,
            verbose,
            corrupt_initrd: false,
        },
    )?;
    let qemu = qemu::command(&boot, Console::Piped, qemu::kvm_usable());
    let mut log = Vec::new();
    let ending = qemu::supervise(qemu, Some(timeout), qemu::GRACE_AFTER_FINISH, |chunk| {
        log.extend_from_slice(chunk);
        Flow::Continue
    })?;
    let log = String::from_utf8_lossy(&log).replace('\r', "");
    let report = ktest::parse_log(&log);

    let mut problems = Vec::new();
    let mut failed = report.failed() + report.unreported();
    for name in &report.failed_names {
        problems.push(format!("kernel test {name} FAILED"));
    }
    if report.unreported() > 0 {
        problems.push(format!(
            "{} announced kernel test(s) never reported a result (panic or hang?)",
            report.unreported()
        ));
    }
    if report.announced.is_none() {
        problems.push("the kernel never printed `ktest: running N tests`".to_string());
    }
    let exit = match ending {
        Ending::Exited(status) => status.code(),
        _ => None,
    };
    match (&ending, exit) {
        (_, Some(QEMU_EXIT_PASSED)) => {}
        (_, Some(QEMU_EXIT_FAILED)) => {
            if failed == 0 {
                problems.push("kernel reported failure (isa-debug-exit 0x11)".to_string());
            }
        }
        (Ending::TimedOut, _) => problems.push(format!(
            "timeout after {} s",
            timeout.as_secs()
        )),
        (_, code) => problems.push(format!(
            "QEMU exited with {code:?} instead of {QEMU_EXIT_PASSED} (all passed) or {QEMU_EXIT_FAILED} (failures)"
        )),
    }
    if failed == 0 && !problems.is_empty() {
        failed = 1;
    }
    if verbose || failed > 0 {
        println!("--- kernel serial log ---\n{log}\n--- end of kernel serial log ---");
    } else if mode == Mode::Fuzz {
        // Each fuzz test's line of counts.
        for line in log.lines().filter(|l| l.starts_with("fuzz ")) {
            println!("{line}");
        }
    }
    for problem in &problems {
        println!("{label}: {problem}");
    }
    println!("{label}: {} passed, {failed} failed", report.passed);
    tally.passed += report.passed;
    tally.failed += failed;
    Ok(())
}

/// The input of a [`StepsCase`].
fn steps_input(steps: &[(u64, &[u8])]) -> qemu::Input {
    let mut steps = steps
        .iter()
        .map(|&(ms, bytes)| (Duration::from_millis(ms), bytes.to_vec()));
    let (delay, bytes) = steps.next().unwrap_or_default();
    qemu::Input {
        delay,
        bytes,
        then: steps.collect(),
        terminal_size: Some(TERMINAL_SIZE),
    }
}

/// The size of the terminal the input cases type on: it answers `resize`'s query.
const TERMINAL_SIZE: (u16, u16) = (30, 100);

/// Boots with a ramdisk that has one byte flipped after xtask took its XXH64: the kernel
/// must say so (both values) before the shell starts, load none of it (the added file is
/// absent, `/` holds only the standard directories) and still run the command line.
fn corrupted_ramdisk_case(ws: &Workspace, verbose: bool, tally: &mut Tally) -> Result<()> {
    let dir = ws.ensure_out_dir()?.join("e2e");
    fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    let host = dir.join("corrupted-ramdisk.data");
    fs::write(&host, "must not be loaded\n").context(|| format!("writing {}", host.display()))?;
    let adds = [AddSpec::parse(&format!("{}:/data/file", host.display()))?];
    let command = "ls /; cat /data/file; echo still-running";
    let request = ExecRequest {
        verbose,
        corrupt_initrd: true,
        ..ExecRequest::new(command, &adds, BOOT_TEST_TIMEOUT)
    };
    let mut output = Vec::new();
    let outcome = exec::exec(ws, &request, &mut output)?;
    let output = String::from_utf8_lossy(&output).into_owned();
    let problem = match &outcome {
        ExecOutcome::Completed {
            status,
            boot_errors,
            ..
        } => {
            let reported = boot_errors.iter().any(|line| {
                let message = line.split_once("ERROR kernel: ").map_or("", |(_, m)| m);
                let values: Vec<&str> = message
                    .match_indices("0x")
                    .map(|(i, _)| message.get(i..i + 18).unwrap_or(""))
                    .collect();
                message.starts_with("initial ramdisk is corrupted: its XXH64 is 0x")
                    && message.contains("not loaded")
                    && values.len() == 2
                    && values[0] != values[1]
            });
            let names: Vec<&str> = output
                .split_whitespace()
                .map(|w| w.trim_end_matches('/'))
                .collect();
            let empty_root = ["bin", "dev", "tmp"].iter().all(|d| names.contains(d))
                && !names.contains(&"data")
                && !names.contains(&"boot");
            let ran = !output.contains("must not be loaded") && output.ends_with("still-running\n");
            match (reported, empty_root && ran && *status == 0) {
                (true, true) => None,
                (false, _) => Some(format!(
                    "no boot error naming both XXH64 values; boot errors: {boot_errors:?}"
                )),
                (true, false) => Some(format!(
                    "expected an empty / and the command line to run (status 0); status {status}, output {output:?}"
                )),
            }
        }
        other => Some(other.problem().unwrap_or_default()),
    };
    let problem = problem.map(|details| format!("  command:  {command}\n  {details}"));
    tally.verdict("e2e corrupted-ramdisk", problem);
    Ok(())
}

/// Runs one [`Case`] through [`exec::exec`], typing `input` if given, with `cpus` vCPUs
/// (`None`: `test --smp`'s count), and prints `e2e NAME ... ok|FAILED`.
fn boot_case(
    ws: &Workspace,
    case: &Case,
    input: Option<qemu::Input>,
    cpus: Option<usize>,
    iso: bool,
    verbose: bool,
    tally: &mut Tally,
) -> Result<()> {
    let &(name, command, files, want_status, expect) = case;
    let mut adds = Vec::new();
    for (i, &(guest, data)) in files.iter().enumerate() {
        let dir = ws.ensure_out_dir()?.join("e2e");
        fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
        let host = dir.join(format!("{name}.{i}.data"));
        let content = match data {
            Text(text) => text.as_bytes().to_vec(),
            Made(make) => make(ws)?,
        };
        fs::write(&host, content).context(|| format!("writing {}", host.display()))?;
        adds.push(AddSpec::parse(&format!("{}:{guest}", host.display()))?);
    }
    let request = ExecRequest {
        iso,
        verbose,
        input,
        cpus,
        ..ExecRequest::new(command, &adds, BOOT_TEST_TIMEOUT)
    };
    let mut output = Vec::new();
    let outcome = exec::exec(ws, &request, &mut output)?;
    let output = String::from_utf8_lossy(&output).into_owned();
    let verdict = match &outcome {
        ExecOutcome::Completed { status, .. } => {
            if *status == want_status && matches(expect, &output) {
                None
            } else {
                Some(format!(
                    "  command:  {command}\n  expected: status {want_status}, output {}\n  actual:   status {status}, output {output:?}",
                    describe(expect)
                ))
            }
        }
        other => Some(format!(
            "  command:  {command}\n  {}",
            other.problem().unwrap_or_default().trim_end()
        )),
    };
    tally.verdict(&format!("e2e {name}"), verdict);
    Ok(())
}

fn matches(expect: Expect, output: &str) -> bool {
    match expect {
        Exactly(text) => output == text,
        Contains(text) => output.contains(text),
        ContainsInOrder(texts) => {
            let mut rest = output;
            texts.iter().all(|t| match rest.find(t) {
                Some(i) => {
                    rest = &rest[i + t.len()..];
                    true
                }
                None => false,
            })
        }
        Word(word) => output
            .split_whitespace()
            .any(|w| w.trim_end_matches('/') == word),
        Lines(starts) => {
            let lines: Vec<&str> = output.lines().collect();
            output.ends_with('\n')
                && lines.len() == starts.len()
                && lines.iter().zip(starts).all(|(l, s)| l.starts_with(s))
        }
        MemBack(slack_kib, text, count) => {
            let back = |used: Vec<u64>, slack: u64| {
                used.len() >= 2 && used[used.len() - 1] <= used[0] + slack
            };
            // Frames: plus the 2 MiB the heap's growing slot may keep mapped.
            back(used_kib(output, "heap:"), slack_kib)
                && back(used_kib(output, "frames:"), slack_kib + HEAP_SLOT_SLACK_KIB)
                && output.matches(text).count() >= count
        }
        Satisfies(_, check) => check(output),
    }
}

/// What the kernel heap may keep mapped beyond its use (its growing slot's slack), in KiB.
const HEAP_SLOT_SLACK_KIB: u64 = 2048;

/// The use (KiB) on the `mem` report lines starting with `label` in `output`, in order.
fn used_kib(output: &str, label: &str) -> Vec<u64> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix(label))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The free-frame counts of the `mem` reports in `output`, in order.
fn free_frames_in(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter(|l| l.starts_with("frames: ") && l.ends_with(" frames free)"))
        .filter_map(|l| l.rsplit_once('(')?.1.split(' ').next()?.parse().ok())
        .collect()
}

/// The `wasm-memory-back` case: three guests each take 127 MiB and trap; the free frames come
/// back within 3 MiB of the start (the kernel heap's growing slot keeps up to 2 MiB of slack
/// mapped; which of the first runs grows it depends on where transient blocks land), and the
/// third run costs nothing more than the second.
fn guest_memory_returns(output: &str) -> bool {
    let free = free_frames_in(output);
    let [start, _, after_two, after_three] = free[..] else {
        return false;
    };
    output.matches("allocated 127 MiB\n").count() == 3
        && after_two + 768 >= start
        && after_three + 16 >= after_two
}

/// The `disk-full` case: `yes` filled the file system up to its budget (ENOSPC, hundreds of
/// MiB taken), commands still ran while it was full, and after `rm` the free frames are back
/// at the starting figure within 3 MiB (the kernel heap's growing slot keeps up to 2 MiB of
/// slack mapped, and a few page tables stay).
fn disk_full_recovers(output: &str) -> bool {
    let free = free_frames_in(output);
    let [start, full, after] = free[..] else {
        return false;
    };
    output.contains("yes: No space left on device\n")
        && full + 100_000 < start
        && after + 768 >= start
        && output.contains("full\n5\n")
        && output.ends_with("\n3\nalive\n")
}

fn describe(expect: Expect) -> String {
    match expect {
        Exactly(text) => format!("{text:?}"),
        Contains(text) => format!("containing {text:?}"),
        ContainsInOrder(texts) => format!("containing, in order, {texts:?}"),
        Word(word) => format!("with the word {word:?}"),
        Lines(starts) => format!("of exactly the lines starting with {starts:?}"),
        MemBack(slack, text, count) => format!(
            "with the last `mem` heap and frame use each at most {slack} KiB above the first and at least {count} times {text:?}"
        ),
        Satisfies(what, _) => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_check() {
        let mem = |free: u64| {
            format!(
                "frames: 1 KiB used of 2 KiB ({free} of 253609 frames free)\nheap:   1 KiB used of 2 KiB mapped\n"
            )
        };
        let good = format!(
            "{}yes: No space left on device\n{}full\n5\n{}3\nalive\n",
            mem(245_000),
            mem(60_000),
            mem(244_900)
        );
        assert_eq!(free_frames_in(&good), [245_000, 60_000, 244_900]);
        assert!(disk_full_recovers(&good));
        // Frames kept after `rm` (the heap holding on to them) fail the case.
        let kept = good.replace("(244900 of", "(60000 of");
        assert!(!disk_full_recovers(&kept));
        assert!(!disk_full_recovers(
            &good.replace("yes: No space", "yes: Out of")
        ));
        assert!(!disk_full_recovers(
            &good.replace("alive", "cannot start a task")
        ));
        // `mem` before and after each of three guests.
        let runs = |free: [u64; 4]| {
            let mems: Vec<String> = free.iter().map(|&f| mem(f)).collect();
            mems.join("allocated 127 MiB\n")
        };
        // The heap's slack may grow in the first or the second run (figures seen).
        let guest = runs([244_895, 244_604, 244_315, 244_315]);
        assert!(guest_memory_returns(&guest));
        // A guest's memory kept mapped (the old heap) fails it.
        assert!(!guest_memory_returns(
            &guest.replace("(244315 of", "(212000 of")
        ));
        // So does a third run that costs frames again.
        let leaky = runs([244_895, 244_895, 244_800, 244_700]);
        assert!(!guest_memory_returns(&leaky));
    }

    #[test]
    fn counts_cargo_results() {
        let out = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                   test result: FAILED. 10 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out\n\
                   test foo ... ok\n";
        assert_eq!(count_cargo_test_results(out), (13, 2));
        assert_eq!(count_cargo_test_results("error[E0425]: nope\n"), (0, 0));
    }

    #[test]
    fn counts_crashes_and_compile_errors() {
        let stdout =
            "test result: ok. 3 passed; 0 failed;\ntest result: FAILED. 1 passed; 2 failed;\n";
        let stderr = "error: test failed, to rerun pass `-p a --lib`\n\
                      error: test failed, to rerun pass `-p b --lib`\n\
                      Caused by: (signal: 11, SIGSEGV: invalid memory reference)\n";
        assert_eq!(count_host_results(false, stdout, stderr), (4, 3));
        assert_eq!(
            count_host_results(false, "", "error[E0425]: nope\n"),
            (0, 1)
        );
        assert_eq!(
            count_host_results(true, "test result: ok. 2 passed; 0 failed;\n", ""),
            (2, 0)
        );
        assert_eq!(
            interesting_lines(
                "\nrunning 0 tests\ntest result: ok. 0 passed; 0 failed; 0 ignored\nx\n"
            ),
            "x\n"
        );
    }

    #[test]
    fn expectations() {
        assert!(matches(Exactly("a\n"), "a\n"));
        assert!(!matches(Exactly("a\n"), "a\r\n"));
        assert!(matches(Contains("not found"), "sh: x: not found\n"));
        assert!(matches(Word("etc"), "bin  etc/\ntmp\n"));
        assert!(!matches(Word("etc"), "etcetera\n"));
        assert!(matches(Lines(&["x: bad", "125"]), "x: bad at 3\n125\n"));
        assert!(!matches(
            Lines(&["x: bad", "125"]),
            "x: bad at 3\nmore\n125\n"
        ));
        assert!(!matches(Lines(&["x: bad"]), "x: bad"));
        let mem = |kib: u64| {
            format!(
                "frames: 9 KiB used of 99 KiB (1 of 2 frames free)\nheap:   {kib} KiB used of 4096 KiB mapped\n"
            )
        };
        let run = |a: u64, b: u64| format!("{}[1] 7\n{}alive\n", mem(a), mem(b));
        let frames = "frames: 9 KiB used of 99 KiB (1 of 2 frames free)\nheap:   1 KiB used of 4096 KiB mapped\nframes: 5000 KiB used of 99 KiB (1 of 2 frames free)\nheap:   1 KiB used of 4096 KiB mapped\n";
        assert!(!matches(MemBack(1024, "", 0), frames), "frames count too");
        assert!(matches(MemBack(1024, "[1]", 1), &run(5000, 6000)));
        assert!(!matches(MemBack(1024, "[1]", 1), &run(5000, 6100)));
        assert!(
            !matches(MemBack(1024, "[1]", 2), &run(5000, 6000)),
            "too few"
        );
        assert!(
            !matches(MemBack(1024, "", 0), &mem(5000)),
            "two reports are needed"
        );
    }

    /// The expectation accepts a passing run as the OS prints it (the fs4 line as once
    /// fallocate exists) and refuses one with a failure.
    #[test]
    fn unix_crates_expectation() {
        let lines = [
            "dirs ok (home_dir /, config_dir /.config)\n",
            "home ok (home_dir /)\n",
            "rustix ok (open/write/fstat/rename/stat/unlink, getpid 91)\n",
            "nix ok (getpid 91, pipe/write/read/EOF, stat/fstat, ENOENT)\n",
            "libc ok (getpid 91, clock_gettime (slept 14 ms), pipe/write/read, EBADF)\n",
            "fs2 ok (exclusive/shared locks against another process, unlocks; per open file description (a second open conflicts, a dup shares, the last close releases))\n",
            "fd-lock ok (write/read guards against another process, released on drop)\n",
            "fs4 ok (shared/exclusive locks against another process, allocate 4096)\n",
            "filetime ok (set_file_mtime 1000000000.123456000s, set_file_handle_times atime 1100000000.000000000s mtime 1200000000.500000000s)\n",
            "tar ok (3 entries, 3584 bytes in memory, read back and unpacked with mtimes)\n",
            "console ok (stdout is a terminal, 24x80)\n",
            "indicatif ok (hidden bar to 1000/1000, finished)\n",
            "dialoguer ok (Confirm, Input and Select built (not shown: no interaction))\n",
            "crossterm ok (stdout is a terminal; terminal::size() = 80x24)\n",
            "ctrlc ok (handler ran once per raise(SIGINT), twice, on ctrlc's thread)\n",
            "socket2 ok (bind/listen/connect/accept on 127.0.0.1:32768, 4 bytes across)\n",
            "tokio-net ok (echo over 127.0.0.1:32770 on a current-thread runtime)\n",
            "reqwest ok (blocking GET http://127.0.0.1:32772/check?x=1: 200 OK, 23 bytes)\n",
            "unix-crates-check: 18 passed, 0 failed, 0 skipped\n",
        ];
        let passing = lines.concat();
        assert!(matches(ContainsInOrder(UNIX_CRATES_OUT), &passing));
        let failing = passing
            .replace(
                "fs4 ok (shared/exclusive locks against another process, allocate 4096)",
                "fs4 FAILED: allocate: ENOSYS (Function not implemented (os error 38))",
            )
            .replace("18 passed, 0 failed", "17 passed, 1 failed");
        assert!(!matches(ContainsInOrder(UNIX_CRATES_OUT), &failing));
    }

    /// Unique, so `test --case NAME` picks one case.
    #[test]
    fn case_names_are_unique() {
        let mut names = case_names();
        assert!(names.contains(&"wasmtime-kill-frees") && names.contains(&"tty-resize"));
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
