//! The kernel command line xtask passes to the guest (one string, space separated).
//!
//! - `mode=shell`: interactive shell on the serial console, with `winsize=ROWSxCOLS` when the
//!   host terminal's size is known (the console's `TIOCGWINSZ` answer; 24x80 otherwise);
//! - `mode=test`: run the in-kernel tests and exit QEMU;
//! - `mode=fuzz`: run the in-kernel fuzz and stress group and exit QEMU;
//! - `mode=exec exec=<HEX>`: run one shell command line, given as the lowercase hex
//!   encoding of its UTF-8 bytes (so it needs no quoting in QEMU or GRUB);
//! - `mode=exec exec-file=<PATH>`: the same for a command longer than [`EXEC_INLINE_MAX`]
//!   bytes, which travels in the ramdisk at [`EXEC_FILE`] (QEMU's PVH loader overwrites its
//!   boot information with a command line of a few KiB);
//! - `initrd-xxh64=X...`: the XXH64 (seed 0) of the ramdisk (16 lowercase hex digits), which
//!   the kernel checks before loading it (a corrupted ramdisk is reported and not loaded);
//! - a trailing ` verbose` asks the kernel to log more.

/// What the guest does after boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The interactive shell; `window` is the host terminal's (rows, columns) if known.
    Shell {
        window: Option<(u16, u16)>,
    },
    Test,
    Fuzz,
    Exec(String),
}

/// The longest `--exec` command passed on the kernel command line itself.
pub const EXEC_INLINE_MAX: usize = 512;

/// Where a longer `--exec` command is put in the ramdisk.
pub const EXEC_FILE: &str = "/boot/exec";

/// Renders the command line for `mode` and a ramdisk whose XXH64 is `initrd_xxh64`.
pub fn kernel_cmdline(mode: &Mode, initrd_xxh64: Option<u64>, verbose: bool) -> String {
    let mut line = match mode {
        Mode::Shell { window: None } => "mode=shell".to_string(),
        Mode::Shell {
            window: Some((rows, cols)),
        } => format!("mode=shell winsize={rows}x{cols}"),
        Mode::Test => "mode=test".to_string(),
        Mode::Fuzz => "mode=fuzz".to_string(),
        Mode::Exec(command) if command.len() > EXEC_INLINE_MAX => {
            format!("mode=exec exec-file={EXEC_FILE}")
        }
        Mode::Exec(command) => format!("mode=exec exec={}", hex_encode(command.as_bytes())),
    };
    if let Some(hash) = initrd_xxh64 {
        line.push_str(&format!(" initrd-xxh64={hash:016x}"));
    }
    if verbose {
        line.push_str(" verbose");
    }
    line
}

/// Lowercase hex, two digits per byte.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_utf8() {
        assert_eq!(hex_encode(b""), "");
        assert_eq!(hex_encode(b"echo hi"), "6563686f206869");
        assert_eq!(hex_encode("é;\n".as_bytes()), "c3a93b0a");
        assert_eq!(hex_encode(&[0x00, 0xff, 0xab]), "00ffab");
    }

    #[test]
    fn modes() {
        assert_eq!(
            kernel_cmdline(&Mode::Shell { window: None }, None, false),
            "mode=shell"
        );
        assert_eq!(
            kernel_cmdline(
                &Mode::Shell {
                    window: Some((50, 132))
                },
                None,
                false
            ),
            "mode=shell winsize=50x132"
        );
        assert_eq!(
            kernel_cmdline(&Mode::Test, Some(0x0012_abcd), true),
            "mode=test initrd-xxh64=000000000012abcd verbose"
        );
        assert_eq!(kernel_cmdline(&Mode::Fuzz, None, false), "mode=fuzz");
        assert_eq!(
            kernel_cmdline(&Mode::Exec("ls /".into()), None, false),
            "mode=exec exec=6c73202f"
        );
        assert_eq!(
            kernel_cmdline(&Mode::Exec("true".into()), None, true),
            "mode=exec exec=74727565 verbose"
        );
        let long = "echo x; ".repeat(100);
        assert_eq!(
            kernel_cmdline(&Mode::Exec(long), None, false),
            "mode=exec exec-file=/boot/exec"
        );
    }
}
