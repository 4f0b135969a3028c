//! Hardware IRQs through the two 8259 PICs, each CPU's local APIC timer, and the call and
//! reschedule IPIs.
//!
//! Each IRQ vector enters through a naked stub that saves the caller-saved general registers,
//! MXCSR and XMM0-15 (see `simd_asm`), calls [`irq_dispatch`], and restores them: the
//! interrupted code's SSE registers survive whatever the Rust handler does (the x87 state,
//! which the kernel never touches, stays in the CPU; a switch to another task carries it).

use core::sync::atomic::{AtomicUsize, Ordering};
use pic8259::ChainedPics;
use spin::Mutex;

pub const IRQ_BASE: u8 = 32;
/// The vector of each CPU's local APIC timer (programmed by the `smp` crate).
pub const LOCAL_TIMER_VECTOR: u8 = 0xf0;
/// The vector of the inter-processor interrupt that asks a CPU to run a function
/// (`smp::run_on`).
pub const CALL_VECTOR: u8 = 0xf1;
/// The vector of the inter-processor interrupt that asks a CPU to look at the run queue
/// again (a task became runnable while it idles) or to notice a kill, stop or signal for
/// the task it runs (`smp::send_reschedule`).
pub const RESCHEDULE_VECTOR: u8 = 0xf2;
/// The local APIC's spurious-interrupt vector: its entry only returns (no end of interrupt).
pub const SPURIOUS_VECTOR: u8 = 0xff;
/// The slot of the local APIC timer's handler after the 16 PIC lines.
pub(crate) const LOCAL_TIMER_IRQ: u32 = 16;
/// The slot of the call IPI's handler.
pub(crate) const CALL_IRQ: u32 = 17;
/// The slot of the reschedule IPI's handler.
pub(crate) const RESCHEDULE_IRQ: u32 = 18;

static PICS: Mutex<ChainedPics> = Mutex::new(
    // SAFETY: 32..48 are free vectors (above the CPU exceptions).
    unsafe { ChainedPics::new(IRQ_BASE, IRQ_BASE + 8) },
);
static HANDLERS: [AtomicUsize; 19] = [const { AtomicUsize::new(0) }; 19];
/// What every IRQ runs before its handler (see [`set_irq_entry_hook`]); 0 for nothing.
static ENTRY_HOOK: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn init_pics() {
    let mut pics = PICS.lock();
    // SAFETY: standard PIC initialization; the vectors were chosen above.
    unsafe {
        pics.initialize();
        pics.write_masks(0xff, 0xff);
    }
}

/// Installs `handler` for `irq` (0..16) and unmasks it. The handler runs with interrupts
/// disabled, after the end of interrupt was sent.
pub fn register_irq(irq: u8, handler: fn()) {
    assert!(irq < 16);
    HANDLERS[irq as usize].store(handler as usize, Ordering::SeqCst);
    // Interrupts off while the PIC lock is held: every IRQ takes it for its end of interrupt
    // (drivers register their IRQ after boot, with interrupts on).
    x86_64::instructions::interrupts::without_interrupts(|| {
        let mut pics = PICS.lock();
        // SAFETY: reading and writing the PIC mask registers.
        unsafe {
            let [mut m1, mut m2] = pics.read_masks();
            if irq < 8 {
                m1 &= !(1 << irq);
            } else {
                m2 &= !(1 << (irq - 8));
                m1 &= !(1 << 2); // the cascade line
            }
            pics.write_masks(m1, m2);
        }
    });
}

/// Installs `handler` for the local APIC timer interrupt ([`LOCAL_TIMER_VECTOR`]) of every
/// CPU. It runs with interrupts disabled and must send the local APIC its end of interrupt.
pub fn set_local_timer_handler(handler: fn()) {
    HANDLERS[LOCAL_TIMER_IRQ as usize].store(handler as usize, Ordering::SeqCst);
}

/// Installs `handler` for the call IPI ([`CALL_VECTOR`]) of every CPU. It runs with
/// interrupts disabled and must send the local APIC its end of interrupt.
pub fn set_call_handler(handler: fn()) {
    HANDLERS[CALL_IRQ as usize].store(handler as usize, Ordering::SeqCst);
}

/// Installs `handler` for the reschedule IPI ([`RESCHEDULE_VECTOR`]) of every CPU. It runs
/// with interrupts disabled and must send the local APIC its end of interrupt before it may
/// switch tasks.
pub fn set_reschedule_handler(handler: fn()) {
    HANDLERS[RESCHEDULE_IRQ as usize].store(handler as usize, Ordering::SeqCst);
}

/// Installs `hook`, which every IRQ (the PICs' lines, the local APIC timer, the call and
/// reschedule IPIs) runs first, with interrupts disabled, before its handler touches anything:
/// an idle CPU that TLB shootdowns were left to (`smp`) drops its stale entries there.
pub fn set_irq_entry_hook(hook: fn()) {
    ENTRY_HOOK.store(hook as usize, Ordering::SeqCst);
}

pub(crate) fn dispatch(irq: u32) {
    irq_dispatch(irq);
}

extern "C" fn irq_dispatch(irq: u32) {
    let hook = ENTRY_HOOK.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: only `set_irq_entry_hook` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
        f();
    }
    let handler = HANDLERS[irq as usize].load(Ordering::SeqCst);
    if irq == LOCAL_TIMER_IRQ || irq == CALL_IRQ || irq == RESCHEDULE_IRQ {
        if handler != 0 {
            // SAFETY: only `set_local_timer_handler`, `set_call_handler` and
            // `set_reschedule_handler` store here, always a valid `fn()`.
            let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(handler) };
            f();
        }
        return;
    }
    if handler == 0 && (irq == 7 || irq == 15) {
        // A spurious interrupt from a PIC: no end of interrupt for the spurious line itself.
        if irq == 15 {
            // SAFETY: the master still saw the cascade IRQ and needs its EOI.
            unsafe { PICS.lock().notify_end_of_interrupt(IRQ_BASE + 2) };
        }
        return;
    }
    // Acknowledge first: the handler may switch to another task (the timer preempts), and the
    // PIC must keep delivering interrupts meanwhile. Interrupts stay disabled in the CPU until
    // the handler returns, so this cannot nest.
    // SAFETY: acknowledges the IRQ being serviced.
    unsafe { PICS.lock().notify_end_of_interrupt(IRQ_BASE + irq as u8) };
    if handler != 0 {
        // SAFETY: only `register_irq` stores here, always a valid `fn()`.
        let f: fn() = unsafe { core::mem::transmute::<usize, fn()>(handler) };
        f();
    }
}

macro_rules! irq_stubs {
    ($($name:ident = $irq:expr, $vector:expr);* $(;)?) => {
        $(
            #[unsafe(naked)]
            pub(crate) extern "C" fn $name() {
                core::arch::naked_asm!(
                    // From user mode (cs & 3): the full `TrapFrame` path of the exceptions,
                    // whose return to user mode can deliver signals.
                    "test byte ptr [rsp + 8], 3",
                    "jz 1f",
                    "push 0",
                    "push {vector}",
                    "jmp exception_common",
                    "1:",
                    "push rax", "push rcx", "push rdx", "push rsi", "push rdi",
                    "push r8", "push r9", "push r10", "push r11",
                    // 5 frame words + 9 registers: rsp is 16-byte aligned here.
                    "sub rsp, 512",
                    $crate::save_simd_asm!(),
                    "cld",
                    "mov edi, {irq}",
                    "call {dispatch}",
                    $crate::restore_simd_asm!(),
                    "add rsp, 512",
                    "pop r11", "pop r10", "pop r9", "pop r8",
                    "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rax",
                    "iretq",
                    irq = const $irq,
                    vector = const $vector,
                    dispatch = sym irq_dispatch,
                );
            }
        )*
    };
}

irq_stubs!(
    irq0 = 0, IRQ_BASE as u32;
    irq1 = 1, IRQ_BASE as u32 + 1;
    irq2 = 2, IRQ_BASE as u32 + 2;
    irq3 = 3, IRQ_BASE as u32 + 3;
    irq4 = 4, IRQ_BASE as u32 + 4;
    irq5 = 5, IRQ_BASE as u32 + 5;
    irq6 = 6, IRQ_BASE as u32 + 6;
    irq7 = 7, IRQ_BASE as u32 + 7;
    irq8 = 8, IRQ_BASE as u32 + 8;
    irq9 = 9, IRQ_BASE as u32 + 9;
    irq10 = 10, IRQ_BASE as u32 + 10;
    irq11 = 11, IRQ_BASE as u32 + 11;
    irq12 = 12, IRQ_BASE as u32 + 12;
    irq13 = 13, IRQ_BASE as u32 + 13;
    irq14 = 14, IRQ_BASE as u32 + 14;
    irq15 = 15, IRQ_BASE as u32 + 15;
    local_timer_stub = LOCAL_TIMER_IRQ, LOCAL_TIMER_VECTOR as u32;
    call_stub = CALL_IRQ, CALL_VECTOR as u32;
    reschedule_stub = RESCHEDULE_IRQ, RESCHEDULE_VECTOR as u32;
);

pub(crate) const STUBS: [extern "C" fn(); 16] = [
    irq0, irq1, irq2, irq3, irq4, irq5, irq6, irq7, irq8, irq9, irq10, irq11, irq12, irq13, irq14,
    irq15,
];

/// The local APIC's spurious interrupt: nothing to acknowledge, nothing to do.
#[unsafe(naked)]
pub(crate) extern "C" fn spurious_stub() {
    core::arch::naked_asm!("iretq");
}
