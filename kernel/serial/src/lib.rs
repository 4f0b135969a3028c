//! The serial console: COM1 (a 16550 UART, through the `uart_16550` crate), the kernel's `log`
//! backend, `print!`/`println!`, and the console input queue filled by the COM1 interrupt.
//!
//! Owns: the COM1 device, the console output mode (terminal with CRLF translation, or raw bytes
//! for `run --exec`) and the input ring buffer of received bytes (the console's line
//! discipline, `tty` through `vfs`, takes them from there). Depends only on
//! `uart_16550`, `spin`, `log` and `x86_64` (interrupt masking around the device lock).

#![no_std]

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};

const COM1: u16 = 0x3f8;

static PORT: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);
/// Raw mode writes bytes as they are; terminal mode turns `\n` into `\r\n`.
static RAW: AtomicBool = AtomicBool::new(false);
/// Whether the last byte written was a newline (so markers can start on a fresh line).
static AT_LINE_START: AtomicBool = AtomicBool::new(true);
static CLOCK: Mutex<Option<fn() -> u64>> = Mutex::new(None);

/// Initializes COM1 at 115200 8N1 with its FIFOs and, if `rx_interrupt`, the data-ready
/// interrupt (IRQ 4). Returns false if no UART answers.
pub fn init(rx_interrupt: bool) -> bool {
    // SAFETY: 0x3f8..0x400 are the standard COM1 registers of a PC; this crate is their only user.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else {
        return false;
    };
    let mut config = Config::default();
    if rx_interrupt {
        config.interrupts = uart_16550::spec::registers::IER::DATA_READY;
    }
    let ok = uart.init(config).is_ok();
    x86_64::instructions::interrupts::without_interrupts(|| *PORT.lock() = Some(uart));
    ok
}

/// Chooses raw (byte-exact, for `run --exec`) or terminal (`\n` -> `\r\n`) output.
pub fn set_raw(raw: bool) {
    RAW.store(raw, Ordering::Relaxed);
}

/// Writes bytes to the console.
pub fn write_bytes(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let raw = RAW.load(Ordering::Relaxed);
    x86_64::instructions::interrupts::without_interrupts(|| {
        let mut guard = PORT.lock();
        let Some(uart) = guard.as_mut() else { return };
        if raw {
            uart.send_bytes_exact(bytes);
        } else {
            for chunk in bytes.split_inclusive(|&b| b == b'\n') {
                if let Some((&b'\n', head)) = chunk.split_last() {
                    uart.send_bytes_exact(head);
                    uart.send_bytes_exact(b"\r\n");
                } else {
                    uart.send_bytes_exact(chunk);
                }
            }
        }
    });
    AT_LINE_START.store(bytes.last() == Some(&b'\n'), Ordering::Relaxed);
}

/// Writes bytes to the console as they are, whatever [`set_raw`] chose (a program that
/// turned the terminal's output processing off).
pub fn write_bytes_exact(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    x86_64::instructions::interrupts::without_interrupts(|| {
        if let Some(uart) = PORT.lock().as_mut() {
            uart.send_bytes_exact(bytes);
        }
    });
    AT_LINE_START.store(bytes.last() == Some(&b'\n'), Ordering::Relaxed);
}

/// True when the last byte written to the console was a newline.
pub fn at_line_start() -> bool {
    AT_LINE_START.load(Ordering::Relaxed)
}

/// Writes to the console from a panic: breaks the device lock if the panicking code held it.
pub fn panic_write(args: fmt::Arguments) {
    if PORT.is_locked() {
        // SAFETY: called only on the panic path, after which the interrupted holder never runs
        // again (the kernel halts), so stealing its lock cannot corrupt a write in progress
        // more than a garbled line.
        unsafe { PORT.force_unlock() };
    }
    let _ = Console.write_fmt(args);
}

/// A `fmt::Write` handle on the console.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = Console.write_fmt(args);
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::_print(format_args!($($arg)*)));
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::_print(format_args!("{}\n", format_args!($($arg)*))));
}

// ---- input -------------------------------------------------------------------------------

const INPUT_CAPACITY: usize = 1024;
/// Single-producer (the COM1 interrupt or a poll with interrupts off) single-consumer (the
/// shell) ring buffer of received bytes.
static INPUT: [AtomicU8; INPUT_CAPACITY] = [const { AtomicU8::new(0) }; INPUT_CAPACITY];
static INPUT_HEAD: AtomicUsize = AtomicUsize::new(0);
static INPUT_TAIL: AtomicUsize = AtomicUsize::new(0);

/// Moves every byte the UART holds into the input queue. Called from the COM1 interrupt
/// handler; also safe to call with interrupts disabled from elsewhere.
pub fn receive_pending() {
    let mut guard = PORT.lock();
    let Some(uart) = guard.as_mut() else { return };
    while let Ok(byte) = uart.try_receive_byte() {
        let head = INPUT_HEAD.load(Ordering::Relaxed);
        let next = (head + 1) % INPUT_CAPACITY;
        if next == INPUT_TAIL.load(Ordering::Acquire) {
            continue; // full: drop the byte, like a real UART overrun
        }
        INPUT[head].store(byte, Ordering::Relaxed);
        INPUT_HEAD.store(next, Ordering::Release);
    }
}

/// True if received bytes are waiting in the input queue (does not take any).
pub fn has_input() -> bool {
    INPUT_TAIL.load(Ordering::Acquire) != INPUT_HEAD.load(Ordering::Acquire)
}

/// Takes the next received byte, if any.
pub fn read_byte() -> Option<u8> {
    let tail = INPUT_TAIL.load(Ordering::Relaxed);
    if tail == INPUT_HEAD.load(Ordering::Acquire) {
        return None;
    }
    let byte = INPUT[tail].load(Ordering::Relaxed);
    INPUT_TAIL.store((tail + 1) % INPUT_CAPACITY, Ordering::Release);
    Some(byte)
}

// ---- log backend ---------------------------------------------------------------------------

struct Logger;

static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let clock = *CLOCK.lock();
        let nanos = clock.map_or(0, |f| f());
        _print(format_args!(
            "[{:5}.{:06}] {:5} {}: {}\n",
            nanos / 1_000_000_000,
            (nanos / 1000) % 1_000_000,
            record.level(),
            record.target(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

/// Installs the serial console as the `log` backend at `level`.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Gives the logger a clock (nanoseconds since boot) for its timestamps.
pub fn set_log_clock(clock: fn() -> u64) {
    *CLOCK.lock() = Some(clock);
}
