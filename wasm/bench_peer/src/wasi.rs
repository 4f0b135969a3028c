//! The WASI preview1 calls a benchmark module needs, over a guest memory given as a byte
//! slice, for both engines: `args_get`, `args_sizes_get`, `environ_get`, `environ_sizes_get`
//! (an empty environment), `clock_time_get` (realtime and monotonic), `random_get` (a
//! deterministic SplitMix64 stream: hash seeds, not keys), `fd_fdstat_get`, `fd_filestat_get`
//! and `fd_close` on the three standard descriptors, `fd_read` (stdin: the bytes of a file
//! given at start, or nothing) and `fd_write` (stdout and stderr; stdout optionally
//! dropped). There are no preopened directories: `fd_prestat_get` answers `BADF` at once,
//! so a program finds none, and the calls that need a directory descriptor (`path_open`,
//! `path_filestat_get`, `fd_readdir`) answer `BADF` too. `proc_exit` is the engines' own (an
//! exit error).
//!
//! Written here rather than taken from `wasmtime-wasi` or `wasmi_wasi`: those serve files,
//! sockets and async I/O through tokio and cap-std (a second large musl build), and the two
//! engines would then run behind two different hosts; these calls are the same code for both
//! and cost nothing measurable next to a benchmark that calls the host only to read its input,
//! print and read the clock. A module importing anything else fails to instantiate (a clear
//! error).

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
/// `fd_read`'s right bit, on stdin.
const RIGHTS_STDIN: u64 = 1 << 1;

/// One guest's state: its arguments, standard input and output, the monotonic clock's origin
/// and the random stream.
pub struct Wasi {
    args: Vec<String>,
    origin: Instant,
    stdin: Vec<u8>,
    stdin_at: usize,
    discard_stdout: bool,
    random: u64,
}

type Result<T> = std::result::Result<T, i32>;

impl Wasi {
    /// `args`: `argv`, the program name first.
    pub fn new(args: Vec<String>) -> Self {
        Wasi {
            args,
            origin: Instant::now(),
            stdin: Vec::new(),
            stdin_at: 0,
            discard_stdout: false,
            random: 0x5eed,
        }
    }

    /// The guest reads `bytes` from its standard input (then end of file).
    pub fn with_stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = bytes;
        self
    }

    /// What the guest writes to its standard output is dropped, not printed.
    pub fn discarding_stdout(mut self, discard: bool) -> Self {
        self.discard_stdout = discard;
        self
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
        let rights = match fd {
            0 => RIGHTS_STDIN,
            1 | 2 => RIGHTS_STDIO,
            _ => return BADF,
        };
        // filetype u8 at 0, flags u16 at 2, rights_base u64 at 8, rights_inheriting at 16.
        let mut stat = [0u8; 24];
        stat[0] = FILETYPE_CHARACTER_DEVICE;
        stat[8..16].copy_from_slice(&rights.to_le_bytes());
        errno(slice(mem, out, 24).map(|d| d.copy_from_slice(&stat)))
    }

    /// A standard descriptor is a character device of size 0; nothing else is open.
    pub fn fd_filestat_get(&self, mem: &mut [u8], fd: i32, out: i32) -> i32 {
        if !(0..=2).contains(&fd) {
            return BADF;
        }
        // dev u64, ino u64, filetype u8 at 16, nlink u64 at 24, size, atim, mtim, ctim.
        let mut stat = [0u8; 64];
        stat[16] = FILETYPE_CHARACTER_DEVICE;
        stat[24..32].copy_from_slice(&1u64.to_le_bytes());
        errno(slice(mem, out, 64).map(|d| d.copy_from_slice(&stat)))
    }

    pub fn fd_close(&self, fd: i32) -> i32 {
        if (0..=2).contains(&fd) { SUCCESS } else { BADF }
    }

    /// No descriptor is a preopened directory (and none is a directory at all).
    pub fn no_directory(&self) -> i32 {
        BADF
    }

    pub fn fd_read(&mut self, mem: &mut [u8], fd: i32, iovs: i32, len: i32, nread: i32) -> i32 {
        if fd != 0 {
            return BADF;
        }
        let mut total = 0u32;
        for i in 0..len.max(0) {
            let (base, n) = match iovec(mem, iovs, i) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let left = &self.stdin[self.stdin_at..];
            let take = left.len().min(n as usize);
            match slice(mem, base as i32, take) {
                Ok(d) => d.copy_from_slice(&left[..take]),
                Err(e) => return e,
            }
            self.stdin_at += take;
            total += take as u32;
            if take < n as usize {
                break;
            }
        }
        errno(put_u32(mem, nread, total))
    }

    pub fn fd_write(&self, mem: &mut [u8], fd: i32, iovs: i32, len: i32, nwritten: i32) -> i32 {
        let mut out: Box<dyn Write> = match fd {
            1 if self.discard_stdout => Box::new(std::io::sink()),
            1 => Box::new(std::io::stdout().lock()),
            2 => Box::new(std::io::stderr().lock()),
            _ => return BADF,
        };
        let mut total = 0u32;
        for i in 0..len.max(0) {
            let (base, n) = match iovec(mem, iovs, i) {
                Ok(v) => v,
                Err(e) => return e,
            };
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

    /// SplitMix64: the same bytes on every run and both sides.
    pub fn random_get(&mut self, mem: &mut [u8], buf: i32, len: i32) -> i32 {
        let dest = match slice(mem, buf, len.max(0) as usize) {
            Ok(d) => d,
            Err(e) => return e,
        };
        for chunk in dest.chunks_mut(8) {
            self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.random;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        SUCCESS
    }
}

/// Entry `i` of an iovec array at `iovs`: (buffer, length).
fn iovec(mem: &mut [u8], iovs: i32, i: i32) -> Result<(u32, u32)> {
    let entry = slice(mem, iovs.wrapping_add(8 * i), 8)?;
    let word =
        |at: usize| u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]]);
    Ok((word(0), word(4)))
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
        assert_eq!(wasi.fd_fdstat_get(&mut mem, 3, 0), BADF);
        assert_eq!(wasi.fd_write(&mut mem, 5, 0, 0, 0), BADF);
    }

    #[test]
    fn stdin_is_read_in_pieces_and_stdout_can_be_discarded() {
        let mut wasi = Wasi::new(Vec::new())
            .with_stdin(b"hello".to_vec())
            .discarding_stdout(true);
        let mut mem = vec![0u8; 64];
        // One iovec at 0: buffer 16, length 3; the count at 8.
        mem[0..4].copy_from_slice(&16u32.to_le_bytes());
        mem[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(wasi.fd_read(&mut mem, 0, 0, 1, 8), SUCCESS);
        assert_eq!(&mem[16..19], b"hel");
        assert_eq!(mem[8], 3);
        assert_eq!(wasi.fd_read(&mut mem, 0, 0, 1, 8), SUCCESS);
        assert_eq!(&mem[16..18], b"lo");
        assert_eq!(mem[8], 2);
        assert_eq!(wasi.fd_read(&mut mem, 0, 0, 1, 8), SUCCESS);
        assert_eq!(mem[8], 0);
        assert_eq!(wasi.fd_read(&mut mem, 3, 0, 1, 8), BADF);
        assert_eq!(wasi.fd_write(&mut mem, 1, 0, 1, 8), SUCCESS);
        assert_eq!(mem[8], 3);
        assert_eq!(wasi.no_directory(), BADF);
        assert_eq!(wasi.fd_close(1), SUCCESS);
        assert_eq!(wasi.fd_close(3), BADF);
    }

    #[test]
    fn random_bytes_are_the_same_on_every_run() {
        let mut mem = vec![0u8; 32];
        let mut a = Wasi::new(Vec::new());
        assert_eq!(a.random_get(&mut mem, 0, 13), SUCCESS);
        let first = mem[..13].to_vec();
        assert!(first.iter().any(|&b| b != 0));
        let mut b = Wasi::new(Vec::new());
        assert_eq!(b.random_get(&mut mem, 16, 13), SUCCESS);
        assert_eq!(&mem[16..29], &first[..]);
        assert_eq!(a.random_get(&mut mem, 30, 4), FAULT);
    }
}
