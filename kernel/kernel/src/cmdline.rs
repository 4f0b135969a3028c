//! The kernel command line: `mode=shell|exec|test|fuzz`, `exec=<hex of the command line>` or
//! `exec-file=<path of a file in the ramdisk holding it>` (for long ones),
//! `winsize=ROWSxCOLS` (the host terminal's size), `initrd-xxh64=X...` (the XXH64 of the
//! ramdisk module, 16 hex digits, checked before it is loaded), `verbose`.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Shell,
    Exec,
    Test,
    /// The fuzz and stress tests (`ktest::Group::Fuzz`).
    Fuzz,
}

pub struct Args {
    pub mode: Mode,
    pub exec: Option<String>,
    pub exec_file: Option<String>,
    /// The terminal's (rows, columns), when xtask knew them (`winsize=ROWSxCOLS`).
    pub window: Option<(u16, u16)>,
    /// The ramdisk's XXH64 as xtask computed it (`initrd-xxh64=`); `None`: not checked.
    pub initrd_xxh64: Option<u64>,
    pub verbose: bool,
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

pub fn parse(cmdline: &str) -> Args {
    let mut args = Args {
        mode: Mode::Shell,
        exec: None,
        exec_file: None,
        window: None,
        initrd_xxh64: None,
        verbose: false,
    };
    for word in cmdline.split_ascii_whitespace() {
        match word.split_once('=') {
            Some(("mode", "test")) => args.mode = Mode::Test,
            Some(("mode", "exec")) => args.mode = Mode::Exec,
            Some(("mode", "fuzz")) => args.mode = Mode::Fuzz,
            Some(("mode", _)) => args.mode = Mode::Shell,
            Some(("exec", hex)) => match unhex(hex) {
                Some(cmd) => args.exec = Some(cmd),
                None => log::error!("exec= is not valid hex-encoded UTF-8; ignored"),
            },
            Some(("exec-file", path)) => args.exec_file = Some(path.into()),
            Some(("winsize", size)) => {
                args.window = size
                    .split_once('x')
                    .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)))
                    .filter(|&(r, c)| r > 0 && c > 0);
            }
            Some(("initrd-xxh64", hex)) => {
                args.initrd_xxh64 = u64::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 16);
                if args.initrd_xxh64.is_none() {
                    log::error!(
                        "initrd-xxh64={hex} is not 16 hex digits; the ramdisk is not checked"
                    );
                }
            }
            None if word == "verbose" => args.verbose = true,
            _ => {}
        }
    }
    args
}
