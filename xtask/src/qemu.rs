//! Starting QEMU: its command line, KVM detection, and a supervised run that streams the
//! serial console to a callback under a timeout.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::netspec::Network;

/// How long QEMU may keep running after the guest reported it is finished.
pub const GRACE_AFTER_FINISH: Duration = Duration::from_secs(5);

/// What QEMU boots.
#[derive(Debug, Clone)]
pub enum Boot {
    /// QEMU's own multiboot loader: fast, no GRUB.
    Direct {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
    },
    /// A GRUB ISO (the command line is inside its grub.cfg).
    Iso(PathBuf),
}

/// Where the serial console goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// Serial to a pipe read by xtask; no monitor.
    Piped,
    /// Serial multiplexed with the monitor on the terminal (Ctrl-A X quits).
    Interactive,
}

/// The most vCPUs `--smp` accepts (the kernel's limit, `smp::MAX_CPUS`).
pub const MAX_CPUS: usize = 64;

/// The vCPUs a guest gets unless told otherwise (`run`, `test` and the groups they share).
pub const DEFAULT_SMP: usize = 2;

/// The vCPU count of every QEMU this xtask starts unless a caller names one: [`DEFAULT_SMP`],
/// or what `run --smp N` / `test --smp N` set (one value per xtask invocation).
static DEFAULT_CPUS: AtomicUsize = AtomicUsize::new(DEFAULT_SMP);

/// Sets the vCPU count ([`DEFAULT_CPUS`]) of the QEMUs started from now on.
pub fn set_default_cpus(cpus: usize) {
    DEFAULT_CPUS.store(cpus.clamp(1, MAX_CPUS), Ordering::Relaxed);
}

/// The vCPU count QEMU gets when the caller names none.
pub fn default_cpus() -> usize {
    DEFAULT_CPUS.load(Ordering::Relaxed)
}

/// The full QEMU command for `boot`.
pub fn command(boot: &Boot, console: Console, kvm: bool) -> Command {
    command_with_cpu(boot, console, kvm, CPU)
}

/// [`command`] with another CPU model than [`CPU`].
pub fn command_with_cpu(boot: &Boot, console: Console, kvm: bool, cpu: &str) -> Command {
    command_with_network(boot, console, kvm, cpu, &Network::default(), default_cpus())
}

/// [`command_with_cpu`] with forwards on the guest's network and `cpus` vCPUs (`-smp`).
pub fn command_with_network(
    boot: &Boot,
    console: Console,
    kvm: bool,
    cpu: &str,
    network: &Network,
    cpus: usize,
) -> Command {
    let mut qemu = Command::new("qemu-system-x86_64");
    let mut args = args(boot, console, kvm, network, cpus);
    if let Some(at) = args.iter().position(|arg| arg == "-cpu") {
        args[at + 1] = cpu.to_string();
    }
    qemu.args(args);
    qemu
}

/// The CPU model of every boot: the baseline x86_64 (SSE2), as in the benchmarks.
pub const CPU: &str = "qemu64";
/// Everything TCG emulates (SSSE3, SSE4.2, POPCNT, ...; AVX only if the kernel enables it),
/// for running crates' test suites, which expect what real machines have.
pub const FULL_CPU: &str = "max";

fn args(boot: &Boot, console: Console, kvm: bool, network: &Network, cpus: usize) -> Vec<String> {
    let mut args: Vec<String> = [
        "-machine",
        "pc",
        "-cpu",
        CPU,
        "-m",
        "1G",
        "-smp",
        &cpus.clamp(1, MAX_CPUS).to_string(),
        "-no-reboot",
        "-display",
        "none",
    ]
    .map(String::from)
    .to_vec();
    let console_args: &[&str] = match console {
        Console::Piped => &["-monitor", "none", "-serial", "stdio"],
        Console::Interactive => &["-serial", "mon:stdio"],
    };
    args.extend(console_args.iter().map(|s| s.to_string()));
    args.extend(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"].map(String::from));
    // An entropy source for `getrandom` (QEMU feeds it from the host's random source).
    args.extend(["-device", "virtio-rng-pci"].map(String::from));
    // A network that reaches nothing but what is forwarded (`restrict=on`).
    args.extend(network.qemu_args());
    match boot {
        Boot::Direct {
            kernel,
            initrd,
            cmdline,
        } => {
            args.extend([
                "-kernel".to_string(),
                kernel.display().to_string(),
                "-initrd".to_string(),
                initrd.display().to_string(),
                "-append".to_string(),
                cmdline.clone(),
            ]);
        }
        Boot::Iso(iso) => {
            args.extend([
                "-cdrom".to_string(),
                iso.display().to_string(),
                "-boot".to_string(),
                "d".to_string(),
            ]);
        }
    }
    if kvm {
        args.extend(["-accel", "kvm"].map(String::from));
    } else {
        args.extend(["-accel", "tcg"].map(String::from));
    }
    args
}

/// KVM counts as usable only if `/dev/kvm` opens read-write and the CPU advertises
/// hardware virtualisation (some machines have a software `/dev/kvm` without it).
pub fn kvm_usable() -> bool {
    let device_opens = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    device_opens
        && fs::read_to_string("/proc/cpuinfo").is_ok_and(|cpuinfo| cpu_has_virtualisation(&cpuinfo))
}

fn cpu_has_virtualisation(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .flat_map(|line| line.split_whitespace())
        .any(|flag| flag == "vmx" || flag == "svm")
}

/// What the output callback tells the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The guest is done: allow QEMU the grace period to exit, then kill it.
    Finished,
    /// The guest is ready for input: the [`Input`]'s delay starts now (the first time only;
    /// like `Continue` when there is no input).
    Ready,
}

/// Bytes to write to QEMU's stdin (the serial console): `delay` after the output callback
/// first returned [`Flow::Ready`], then each of `then` its own delay after the one before
/// (typing in steps, e.g. Ctrl-Z, then input for the resumed program). With `terminal_size`
/// `(rows, columns)`, every cursor-position query the guest prints (`ESC [ 6n`, as `resize`
/// sends) is answered at once with `ESC [ rows ; columns R`, as a terminal of that size
/// answers it (a reply typed at a fixed time could come before the query, and `resize`
/// drops input that came before it).
#[derive(Debug, Clone)]
pub struct Input {
    pub delay: Duration,
    pub bytes: Vec<u8>,
    pub then: Vec<(Duration, Vec<u8>)>,
    pub terminal_size: Option<(u16, u16)>,
}

/// The cursor-position query a terminal answers (ECMA-48 DSR 6).
const POSITION_QUERY: &[u8] = b"\x1b[6n";

/// How many cursor-position queries `tail + chunk` holds; `tail` then keeps the output's
/// last bytes, one fewer than a query (so none is counted twice), for a query split across
/// chunks.
fn count_position_queries(tail: &mut Vec<u8>, chunk: &[u8]) -> usize {
    tail.extend_from_slice(chunk);
    let found = tail
        .windows(POSITION_QUERY.len())
        .filter(|&w| w == POSITION_QUERY)
        .count();
    let cut = tail.len().saturating_sub(POSITION_QUERY.len() - 1);
    tail.drain(..cut);
    found
}

/// How a supervised run ended.
#[derive(Debug)]
pub enum Ending {
    /// QEMU exited by itself.
    Exited(ExitStatus),
    /// Killed because it outlived the grace period after [`Flow::Finished`].
    KilledAfterFinish,
    /// Killed because the timeout expired.
    TimedOut,
    /// Killed because the guest printed nothing for the idle limit.
    Silent,
}

/// Runs `qemu` with stdin closed and stdout piped, passing each chunk of serial output to
/// `on_output` as it arrives. After [`Flow::Finished`], later chunks are dropped and QEMU is
/// killed if it is still running `grace` later. Also kills it when `timeout` expires.
pub fn supervise(
    qemu: Command,
    timeout: Option<Duration>,
    grace: Duration,
    on_output: impl FnMut(&[u8]) -> Flow,
) -> Result<Ending> {
    supervise_with_input(qemu, timeout, None, grace, None, on_output)
}

/// [`supervise`], and with `input` QEMU's stdin is a pipe that gets the input's bytes its
/// delay after `on_output` first returned [`Flow::Ready`] (the pipe stays open until QEMU
/// ends); with `idle`, QEMU is also killed when its serial output stays silent that long.
pub fn supervise_with_input(
    mut qemu: Command,
    timeout: Option<Duration>,
    idle: Option<Duration>,
    grace: Duration,
    mut input: Option<Input>,
    mut on_output: impl FnMut(&[u8]) -> Flow,
) -> Result<Ending> {
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = qemu
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context(|| "could not start qemu-system-x86_64".to_string())?;
    let Some(mut stdout) = child.stdout.take() else {
        return Err(Error::failed("qemu stdout was not captured"));
    };
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut stdin = child.stdin.take();
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut grace_deadline: Option<Instant> = None;
    let mut input_deadline: Option<Instant> = None;
    let terminal_size = input.as_ref().and_then(|i| i.terminal_size);
    let mut output_tail = Vec::new();
    // The steps still to type, each with its delay after the previous one.
    let mut steps: std::collections::VecDeque<(Duration, Vec<u8>)> = input
        .take()
        .map(|i| std::iter::once((i.delay, i.bytes)).chain(i.then).collect())
        .unwrap_or_default();
    let mut started = false;
    let mut idle_deadline = idle.map(|idle| Instant::now() + idle);
    loop {
        if let Some(at) = input_deadline
            && Instant::now() >= at
        {
            if let (Some(pipe), Some((_, bytes))) = (stdin.as_mut(), steps.pop_front()) {
                // A guest that already stopped reading is the test's failure to report.
                let _ = pipe.write_all(&bytes).and_then(|()| pipe.flush());
            }
            input_deadline = steps.front().map(|(delay, _)| Instant::now() + *delay);
        }
        let wake = earliest(
            earliest(deadline, grace_deadline),
            earliest(input_deadline, idle_deadline),
        );
        let received = match wake {
            Some(at) => receiver.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(chunk) => {
                idle_deadline = idle.map(|idle| Instant::now() + idle);
                if let (Some((rows, cols)), Some(pipe)) = (terminal_size, stdin.as_mut()) {
                    for _ in 0..count_position_queries(&mut output_tail, &chunk) {
                        let answer = format!("\x1b[{rows};{cols}R");
                        let _ = pipe
                            .write_all(answer.as_bytes())
                            .and_then(|()| pipe.flush());
                    }
                }
                if grace_deadline.is_none() {
                    match on_output(&chunk) {
                        Flow::Finished => grace_deadline = Some(Instant::now() + grace),
                        Flow::Ready if !started => {
                            started = true;
                            input_deadline =
                                steps.front().map(|(delay, _)| Instant::now() + *delay);
                        }
                        Flow::Ready | Flow::Continue => {}
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                let expired = |at: Option<Instant>| at.is_some_and(|at| now >= at);
                let silent = grace_deadline.is_none() && expired(idle_deadline);
                if !expired(deadline) && !expired(grace_deadline) && !silent {
                    // Woken to write the input: the top of the loop does it.
                    continue;
                }
                // The reader thread ends by itself once the pipe closes or the receiver is gone.
                kill(&mut child);
                return Ok(if grace_deadline.is_some() {
                    Ending::KilledAfterFinish
                } else if silent && !expired(deadline) {
                    Ending::Silent
                } else {
                    Ending::TimedOut
                });
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = reader.join();
    drop(stdin);
    // Serial closed: QEMU is exiting. Still honour the deadlines while waiting for it.
    let ending = match wait_until(&mut child, earliest(deadline, grace_deadline))? {
        Some(status) => Ending::Exited(status),
        None => {
            kill(&mut child);
            if grace_deadline.is_some() {
                Ending::KilledAfterFinish
            } else {
                Ending::TimedOut
            }
        }
    };
    Ok(ending)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Waits for `child` until `deadline` (forever if `None`); `None` if it is still running.
pub fn wait_until(child: &mut Child, deadline: Option<Instant>) -> Result<Option<ExitStatus>> {
    let Some(deadline) = deadline else {
        return child
            .wait()
            .map(Some)
            .context(|| "waiting for qemu".to_string());
    };
    loop {
        if let Some(status) = child
            .try_wait()
            .context(|| "waiting for qemu".to_string())?
        {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Kills `child` and reaps it.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Asks `child` to stop with SIGTERM (so QEMU restores the terminal), then kills it if it
/// has not exited within two seconds.
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if !matches!(
        wait_until(child, Some(Instant::now() + Duration::from_secs(2))),
        Ok(Some(_))
    ) {
        kill(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_boot_arguments() {
        let boot = Boot::Direct {
            kernel: "k".into(),
            initrd: "i.cpio".into(),
            cmdline: "mode=exec exec=74727565".into(),
        };
        assert_eq!(
            args(&boot, Console::Piped, false, &Network::default(), 1).join(" "),
            "-machine pc -cpu qemu64 -m 1G -smp 1 -no-reboot -display none -monitor none \
             -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -device virtio-rng-pci -netdev user,id=net0,restrict=on \
             -device virtio-net-pci,netdev=net0 -kernel k -initrd i.cpio -append mode=exec exec=74727565 -accel tcg"
        );
    }

    #[test]
    fn another_cpu_model() {
        let qemu = command_with_cpu(&Boot::Iso("t.iso".into()), Console::Piped, false, FULL_CPU);
        let args: Vec<String> = qemu
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let at = args.iter().position(|arg| arg == "-cpu").unwrap();
        assert_eq!(args[at + 1], "max");
        assert_eq!(args.iter().filter(|arg| *arg == "-cpu").count(), 1);
    }

    #[test]
    fn iso_interactive_arguments() {
        let args = args(
            &Boot::Iso("t.iso".into()),
            Console::Interactive,
            true,
            &Network::default(),
            4,
        )
        .join(" ");
        assert!(args.contains("-smp 4 "));
        assert!(args.contains("-serial mon:stdio"));
        assert!(!args.contains("-monitor"));
        assert!(args.ends_with("-cdrom t.iso -boot d -accel kvm"));
    }

    #[test]
    fn virtualisation_flags() {
        assert!(cpu_has_virtualisation("flags\t\t: fpu vme vmx sse\n"));
        assert!(cpu_has_virtualisation("processor: 0\nflags : svm lm\n"));
        assert!(!cpu_has_virtualisation("flags : fpu vmxnope hypervisor\n"));
        assert!(!cpu_has_virtualisation("model name : vmx\n"));
    }

    #[test]
    fn supervise_streams_and_reports_exit() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "printf 'a'; printf 'b'; exit 3"]);
        let mut seen = Vec::new();
        let ending = supervise(
            sh,
            Some(Duration::from_secs(10)),
            GRACE_AFTER_FINISH,
            |chunk| {
                seen.extend_from_slice(chunk);
                Flow::Continue
            },
        )
        .unwrap();
        assert_eq!(seen, b"ab");
        assert!(matches!(ending, Ending::Exited(status) if status.code() == Some(3)));
    }

    #[test]
    fn supervise_times_out_and_kills() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "exec sleep 30"]);
        let start = Instant::now();
        let ending = supervise(
            sh,
            Some(Duration::from_millis(200)),
            GRACE_AFTER_FINISH,
            |_| Flow::Continue,
        )
        .unwrap();
        assert!(matches!(ending, Ending::TimedOut));
        more_asserts::assert_lt!(start.elapsed(), Duration::from_secs(10));
    }

    #[test]
    fn supervise_kills_a_silent_guest_but_not_a_chatty_one() {
        let run = |script: &str| {
            let mut sh = Command::new("sh");
            sh.args(["-c", script]);
            supervise_with_input(
                sh,
                Some(Duration::from_secs(20)),
                Some(Duration::from_millis(700)),
                GRACE_AFTER_FINISH,
                None,
                |_| Flow::Continue,
            )
            .unwrap()
        };
        assert!(matches!(run("printf a; sleep 5"), Ending::Silent));
        // 1.5 s in all, never 0.7 s without output.
        let chatty = "for i in 1 2 3 4 5; do printf x; sleep 0.3; done";
        assert!(matches!(run(chatty), Ending::Exited(_)));
    }

    #[test]
    fn position_queries_are_counted_once_even_split_across_chunks() {
        let mut tail = Vec::new();
        assert_eq!(count_position_queries(&mut tail, b"abc"), 0);
        assert_eq!(
            count_position_queries(&mut tail, b"x\x1b7\x1b[999;999H\x1b["),
            0
        );
        assert_eq!(count_position_queries(&mut tail, b"6n\x1b8"), 1);
        // The query is behind: not counted again.
        assert_eq!(count_position_queries(&mut tail, b""), 0);
        assert_eq!(count_position_queries(&mut tail, b"\x1b[6n and \x1b[6n"), 2);
        assert_eq!(count_position_queries(&mut tail, b"n"), 0);
        assert!(tail.len() < POSITION_QUERY.len());
    }

    #[test]
    fn supervise_writes_input_after_ready() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "printf ready; read line; printf \"got %s\" \"$line\""]);
        let mut seen = Vec::new();
        let start = Instant::now();
        let input = Input {
            delay: Duration::from_millis(200),
            bytes: b"h".to_vec(),
            then: vec![(Duration::from_millis(100), b"i\n".to_vec())],
            terminal_size: None,
        };
        let ending = supervise_with_input(
            sh,
            Some(Duration::from_secs(10)),
            None,
            GRACE_AFTER_FINISH,
            Some(input),
            |chunk| {
                seen.extend_from_slice(chunk);
                if seen.starts_with(b"ready") {
                    Flow::Ready
                } else {
                    Flow::Continue
                }
            },
        )
        .unwrap();
        assert_eq!(seen, b"readygot hi");
        assert!(matches!(ending, Ending::Exited(status) if status.success()));
        more_asserts::assert_ge!(start.elapsed(), Duration::from_millis(300));
    }

    #[test]
    fn supervise_kills_after_grace() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "printf done; exec sleep 30"]);
        let start = Instant::now();
        let grace = Duration::from_millis(300);
        let ending = supervise(sh, None, grace, |_| Flow::Finished).unwrap();
        assert!(matches!(ending, Ending::KilledAfterFinish));
        let elapsed = start.elapsed();
        more_asserts::assert_ge!(elapsed, grace);
        more_asserts::assert_lt!(elapsed, Duration::from_secs(10));
    }
}
