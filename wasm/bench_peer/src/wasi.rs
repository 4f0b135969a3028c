//! The WASI preview1 calls a benchmark module needs, over a guest memory given as a byte
//! slice, for both engines: `args_get`, `args_sizes_get`, `environ_get`, `environ_sizes_get`
//! (an empty environment), `clock_time_get` (realtime and monotonic), `fd_fdstat_get` and
//! `fd_write` (stdout and stderr only); `proc_exit` is the engines' own (an exit error).
//!
//! Written here rather than taken from `wasmtime-wasi` or `wasmi_wasi`: those serve files,
//! sockets and async I/O through tokio and cap-std (a second large musl build), and the two
//! engines would then run behind two different hosts; these eight calls are the same code for
//! both and cost nothing measurable next to a benchmark that calls the host only to print and
//! to read the clock. A module importing anything else fails to instantiate (a clear error).

use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// `wasi_snapshot_preview1` errno values.
pub const SUCCESS: i32 = 0;
pub const BADF: i32 = 8;
pub const FAULT: i32 = 21;
pub const INVAL: i32 = 28;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// `fd_write` and `fd_fdstat_get`'s rights bits on stdout and stderr.
const RIGHTS_STDIO: u64 = (1 << 6) | (1 << 3);

/// One guest's state: its arguments and the monotonic clock's origin.
pub struct Wasi {
    args: Vec<String>,
    origin: Instant,
}

type Result<T> = std::result::Result<T, i32>;

impl Wasi {
    /// `args`: `argv`, the program name first.
    pub fn new(args: Vec<String>) -> Self {
        Wasi {
            args,
            origin: Instant::now(),
        }
    }

    pub fn args_sizes_get(&self, mem: &mut [u8], argc: i32, size: i32) -> i32 {
        let bytes: usize = self.args.iter().map(|a| a.len() + 1).sum();
        errno(
            put_u32(mem, argc, self.args.len() as u32)
                .and_then(|()| put_u32(mem, size, bytes as u32)),
        )
    }

    pub fn args_get(&self, mem: &mut [u8], argv: i32, buf: i32) -> i32 {
        let mut at = buf as u32;
        let result = self.args.iter().enumerate().try_for_each(|(i, arg)| {
            put_u32(mem, argv.wrapping_add(4 * i as i32), at)?;
            let dest = slice(mem, at as i32, arg.len() + 1)?;
            dest[..arg.len()].copy_from_slice(arg.as_bytes());
            dest[arg.len()] = 0;
            at += arg.len() as u32 + 1;
            Ok(())
        });
        errno(result)
    }

    pub fn environ_sizes_get(&self, mem: &mut [u8], count: i32, size: i32) -> i32 {
        errno(put_u32(mem, count, 0).and_then(|()| put_u32(mem, size, 0)))
    }

    pub fn environ_get(&self, _mem: &mut [u8], _environ: i32, _buf: i32) -> i32 {
        SUCCESS
    }

    pub fn clock_time_get(&self, mem: &mut [u8], id: i32, _precision: i64, out: i32) -> i32 {
        let ns = match id {
            CLOCK_REALTIME => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            // Offset by a second so the first reading is not 0.
            CLOCK_MONOTONIC => 1_000_000_000 + self.origin.elapsed().as_nanos() as u64,
            _ => return INVAL,
        };
        errno(slice(mem, out, 8).map(|d| d.copy_from_slice(&ns.to_le_bytes())))
    }

    pub fn fd_fdstat_get(&self, mem: &mut [u8], fd: i32, out: i32) -> i32 {
        if !matches!(fd, 1 | 2) {
            return BADF;
        }
        // filetype u8 at 0, flags u16 at 2, rights_base u64 at 8, rights_inheriting at 16.
        let mut stat = [0u8; 24];
        stat[0] = FILETYPE_CHARACTER_DEVICE;
        stat[8..16].copy_from_slice(&RIGHTS_STDIO.to_le_bytes());
        errno(slice(mem, out, 24).map(|d| d.copy_from_slice(&stat)))
    }

    pub fn fd_write(&self, mem: &mut [u8], fd: i32, iovs: i32, len: i32, nwritten: i32) -> i32 {
        let mut out: Box<dyn Write> = match fd {
            1 => Box::new(std::io::stdout().lock()),
            2 => Box::new(std::io::stderr().lock()),
            _ => return BADF,
        };
        let mut total = 0u32;
        for i in 0..len.max(0) {
            let entry = match slice(mem, iovs.wrapping_add(8 * i), 8) {
                Ok(e) => <[u8; 8]>::try_from(&*e).expect("8 bytes"),
                Err(e) => return e,
            };
            let base = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let n = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
            let data = match slice(mem, base as i32, n as usize) {
                Ok(d) => d,
                Err(e) => return e,
            };
            if out.write_all(data).is_err() {
                return BADF;
            }
            total += n;
        }
        let _ = out.flush();
        errno(put_u32(mem, nwritten, total))
    }
}

fn errno(result: Result<()>) -> i32 {
    result.err().unwrap_or(SUCCESS)
}

/// `len` bytes of guest memory at `at` (a guest pointer, unsigned), or `FAULT`.
fn slice(mem: &mut [u8], at: i32, len: usize) -> Result<&mut [u8]> {
    let start = at as u32 as usize;
    let end = start.checked_add(len).ok_or(FAULT)?;
    mem.get_mut(start..end).ok_or(FAULT)
}

fn put_u32(mem: &mut [u8], at: i32, value: u32) -> Result<()> {
    slice(mem, at, 4).map(|d| d.copy_from_slice(&value.to_le_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_laid_out_as_preview1_says() {
        let wasi = Wasi::new(vec!["cm".into(), "7".into()]);
        let mut mem = vec![0u8; 64];
        assert_eq!(wasi.args_sizes_get(&mut mem, 0, 4), SUCCESS);
        assert_eq!(&mem[0..8], &[2, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(wasi.args_get(&mut mem, 16, 32), SUCCESS);
        assert_eq!(&mem[16..24], &[32, 0, 0, 0, 35, 0, 0, 0]);
        assert_eq!(&mem[32..37], b"cm\x007\x00");
        assert_eq!(wasi.args_get(&mut mem, 16, 62), FAULT);
    }

    #[test]
    fn clocks_and_bad_pointers() {
        let wasi = Wasi::new(Vec::new());
        let mut mem = vec![0u8; 16];
        assert_eq!(
            wasi.clock_time_get(&mut mem, CLOCK_MONOTONIC, 0, 0),
            SUCCESS
        );
        let first = u64::from_le_bytes(mem[0..8].try_into().unwrap());
        assert!(first >= 1_000_000_000);
        assert_eq!(wasi.clock_time_get(&mut mem, 9, 0, 0), INVAL);
        assert_eq!(wasi.clock_time_get(&mut mem, CLOCK_MONOTONIC, 0, 12), FAULT);
        assert_eq!(wasi.fd_fdstat_get(&mut mem, 0, 0), BADF);
        assert_eq!(wasi.fd_write(&mut mem, 5, 0, 0, 0), BADF);
    }
}
