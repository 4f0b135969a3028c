//! Running a function on another CPU: the call IPI (`interrupts::CALL_VECTOR`), one call at
//! a time per CPU. The function runs in that CPU's interrupt handler, with interrupts disabled: it
//! must not block, and it runs on whatever stack that CPU was on (the stack of the task it
//! interrupted).

use crate::{CPUS, lapic};
use core::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

/// One call's slot, per CPU.
pub(crate) struct CallSlot {
    func: AtomicUsize,
    arg: AtomicU64,
    result: AtomicU64,
    state: AtomicU8,
}

const IDLE: u8 = 0;
/// A caller owns the slot and is filling it in.
const CLAIMED: u8 = 1;
const ASKED: u8 = 2;
const DONE: u8 = 3;
/// A CPU that has not run the call in this time is stuck: a panic says which.
const CALL_TIMEOUT_NS: u64 = 2_000_000_000;

impl CallSlot {
    pub(crate) const fn new() -> CallSlot {
        CallSlot {
            func: AtomicUsize::new(0),
            arg: AtomicU64::new(0),
            result: AtomicU64::new(0),
            state: AtomicU8::new(IDLE),
        }
    }
}

/// A call asked of another CPU ([`ask`]); [`Asked::wait`] gets its result.
pub(crate) struct Asked {
    cpu: usize,
}

/// Asks CPU `cpu` (online, not this one) to run `f(arg)`, waiting first for its slot if
/// another call to it is in flight; returns without waiting for the call itself.
pub(crate) fn ask(cpu: usize, f: fn(u64) -> u64, arg: u64) -> Asked {
    let slot = &CPUS[cpu].call;
    while slot
        .state
        .compare_exchange_weak(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    slot.func.store(f as usize, Ordering::Relaxed);
    slot.arg.store(arg, Ordering::Relaxed);
    slot.state.store(ASKED, Ordering::Release);
    lapic::send_fixed(
        CPUS[cpu].apic_id.load(Ordering::Relaxed),
        interrupts::CALL_VECTOR,
    );
    Asked { cpu }
}

impl Asked {
    /// Waits (spinning) until the call ran and returns its result.
    pub(crate) fn wait(self) -> u64 {
        let slot = &CPUS[self.cpu].call;
        let began = time::monotonic_ns();
        while slot.state.load(Ordering::Acquire) != DONE {
            if time::monotonic_ns() - began > CALL_TIMEOUT_NS {
                panic!("CPU {} did not run a call within two seconds", self.cpu);
            }
            core::hint::spin_loop();
        }
        let result = slot.result.load(Ordering::Relaxed);
        slot.state.store(IDLE, Ordering::Release);
        result
    }
}

/// Runs `f(arg)` on CPU `cpu` with interrupts disabled there and returns its result, or `None`
/// if that CPU is not online. On the calling CPU itself it runs directly (interrupts disabled
/// too). Call with interrupts enabled, from a task (it waits by spinning).
pub fn run_on(cpu: usize, f: fn(u64) -> u64, arg: u64) -> Option<u64> {
    if !crate::cpu(cpu)?.online {
        return None;
    }
    if cpu == interrupts::cpu_index() {
        return Some(x86_64::instructions::interrupts::without_interrupts(|| {
            f(arg)
        }));
    }
    Some(ask(cpu, f, arg).wait())
}

/// The call IPI's handler: runs this CPU's asked call, if any.
pub(crate) fn on_call() {
    if let Some(cpu) = CPUS.get(interrupts::cpu_index()) {
        let slot = &cpu.call;
        if slot.state.load(Ordering::Acquire) == ASKED {
            let f = slot.func.load(Ordering::Relaxed);
            // SAFETY: only `run_on` stores here, always a valid fn of this type.
            let f: fn(u64) -> u64 = unsafe { core::mem::transmute(f) };
            slot.result
                .store(f(slot.arg.load(Ordering::Relaxed)), Ordering::Relaxed);
            slot.state.store(DONE, Ordering::Release);
        }
    }
    lapic::end_of_interrupt();
}
