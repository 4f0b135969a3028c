//! In-kernel tests of the CPUs: their start-up, their own registers, the TLB shootdown.

use ktest::kernel_test;

kernel_test! {
    fn every_cpu_the_firmware_lists_is_online_ticking_and_halted() {
        let found = crate::cpus_found();
        assert_eq!(crate::cpus_online(), found, "CPUs online vs. CPUs in the MADT");
        assert_eq!(crate::cpu(0).map(|c| c.online), Some(true));
        assert!(crate::cpu(found).is_none());
        let before: alloc::vec::Vec<_> = (1..found).map(|i| crate::cpu(i).unwrap()).collect();
        let start = time::monotonic_ns();
        while time::monotonic_ns() - start < 200_000_000 {
            core::hint::spin_loop();
        }
        let mut ids = alloc::vec![crate::cpu(0).unwrap().apic_id];
        for b in before {
            let a = crate::cpu(b.index).unwrap();
            assert!(a.online);
            assert!(!ids.contains(&a.apic_id), "two CPUs with APIC id {}", a.apic_id);
            ids.push(a.apic_id);
            // 100 Hz for 200 ms: about 20 ticks (TCG may run a vCPU late, never early).
            let ticks = a.ticks - b.ticks;
            assert!((5..=40).contains(&ticks), "cpu {}: {ticks} timer ticks in 200 ms", a.index);
            // Halted between interrupts (when it idles): each return from `hlt` follows an
            // interrupt (a tick, a reschedule IPI, a shootdown's NMI).
            let wakeups = a.wakeups - b.wakeups;
            let interrupts = ticks + (a.reschedules - b.reschedules) + (a.shootdowns - b.shootdowns);
            assert!(
                wakeups <= interrupts + 2,
                "cpu {}: {wakeups} wake-ups for {interrupts} interrupts",
                a.index
            );
        }
    }
}

/// The registers each CPU must have of its own for user code, by number (see `cpu_register`).
const REGISTERS: [&str; 7] = ["EFER", "STAR", "LSTAR", "FMASK", "CR0", "CR4", "MXCSR"];

/// Register `which` of [`REGISTERS`] on the CPU that runs this.
fn cpu_register(which: u64) -> u64 {
    use x86_64::registers::model_specific::Msr;
    let msr = |n: u32| {
        // SAFETY: reading an architectural MSR every x86_64 CPU has; no side effect.
        unsafe { Msr::new(n).read() }
    };
    match which {
        0 => msr(0xC000_0080),
        1 => msr(0xC000_0081),
        2 => msr(0xC000_0082),
        3 => msr(0xC000_0084),
        4 => x86_64::registers::control::Cr0::read_raw(),
        5 => x86_64::registers::control::Cr4::read_raw(),
        _ => {
            let mut mxcsr = 0u32;
            // SAFETY: stores MXCSR into a local.
            unsafe {
                core::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack, preserves_flags))
            };
            u64::from(mxcsr)
        }
    }
}

/// Reads the `u64` at `addr` (a kernel address the caller keeps mapped).
fn read_u64(addr: u64) -> u64 {
    // SAFETY: the test keeps `addr` mapped while it asks for this.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Pages the shootdown tests own (nothing else maps this part of the kernel half).
const TEST_VA: u64 = 0xffff_b000_4000_0000;

/// Alternately makes the page at `addr` read-only and writable, 200 times (each
/// change a shootdown of every other CPU), ending writable; returns the failures.
fn protect_many(addr: u64) -> u64 {
    let mut failures = 0;
    for i in 0..PROTECTS {
        let flags = if i % 2 == 0 {
            memory::PageFlags::RO
        } else {
            memory::PageFlags::RW
        };
        failures += u64::from(memory::protect_page(addr, flags).is_err());
    }
    failures
}
const PROTECTS: u64 = 200;

kernel_test! {
    fn every_cpu_can_run_user_code_and_the_same_fp_state() {
        // The `syscall` set-up (EFER.SCE, STAR, LSTAR, FMASK), paging and SSE control and the
        // SIMD control word are each CPU's own: every CPU must have the boot CPU's.
        let boot: alloc::vec::Vec<u64> =
            (0..REGISTERS.len() as u64).map(|r| crate::run_on(0, cpu_register, r).unwrap()).collect();
        assert_ne!(boot[0] & 1, 0, "EFER.SCE on the boot CPU");
        assert_ne!(boot[2], 0, "LSTAR on the boot CPU");
        for cpu in 1..crate::cpus_online() {
            for (r, name) in REGISTERS.iter().enumerate() {
                let value = crate::run_on(cpu, cpu_register, r as u64).expect("CPU online");
                assert_eq!(value, boot[r], "{name} of CPU {cpu} vs. the boot CPU's");
            }
        }
        assert_eq!(crate::run_on(crate::cpus_online(), cpu_register, 0), None);
    }
}

kernel_test! {
    fn another_cpu_sees_an_unmapped_and_remapped_page_change() {
        // Interrupts off: the test's task stays on its CPU (tasks run on every CPU), which
        // plays the part of the one that changes the mapping.
        x86_64::instructions::interrupts::without_interrupts(another_cpu_sees_a_page_change);
    }
}

/// Unmaps the test page at `va`, maps it again onto another frame and writes `value` there;
/// returns the frames taken to keep the old one out of the new mapping (so a stale TLB entry
/// would show), for the caller to free.
fn remap_to_another_frame(va: u64, value: u64) -> alloc::vec::Vec<u64> {
    let old = memory::translate(va).unwrap();
    memory::unmap_page(va).unwrap();
    let mut held = alloc::vec::Vec::new();
    while held.len() < 64 && !held.contains(&old) {
        held.push(memory::allocate_frame().unwrap());
    }
    memory::map_page(va, memory::PageFlags::RW).unwrap();
    assert_ne!(memory::translate(va), Some(old));
    // SAFETY: just mapped, writable, owned by the test.
    unsafe { core::ptr::write_volatile(va as *mut u64, value) };
    held
}

fn another_cpu_sees_a_page_change() {
    let va = TEST_VA;
    let me = interrupts::cpu_index();
    for cpu in (0..crate::cpus_online()).filter(|&c| c != me) {
        memory::map_page(va, memory::PageFlags::RW).unwrap();
        // SAFETY: just mapped, writable, owned by this test.
        unsafe { core::ptr::write_volatile(va as *mut u64, 0x1111) };
        // The other CPU reads it: its TLB now holds the translation.
        assert_eq!(crate::run_on(cpu, read_u64, va), Some(0x1111));
        let answered_so_far = |c: crate::CpuInfo| c.shootdowns + c.deferred;
        let before = answered_so_far(crate::cpu(cpu).unwrap());
        let held = remap_to_another_frame(va, 0x2222);
        assert_eq!(
            crate::run_on(cpu, read_u64, va),
            Some(0x2222),
            "CPU {cpu} read a stale page"
        );
        memory::protect_page(va, memory::PageFlags::RO).unwrap();
        memory::unmap_page(va).unwrap();
        for f in held {
            memory::free_frame(f).unwrap();
        }
        // unmap, protect, unmap: three requests, each answered (or flushed as it woke: it
        // idles between the calls).
        let answered = answered_so_far(crate::cpu(cpu).unwrap()) - before;
        assert!(
            answered >= 3,
            "CPU {cpu} answered {answered} shootdowns of 3"
        );
    }
}

kernel_test! {
    fn a_cpu_halted_during_a_page_change_drops_it_as_it_wakes() {
        x86_64::instructions::interrupts::without_interrupts(halted_cpu_sees_a_page_change);
    }
}

/// Whether CPU `cpu` is halted in its idle loop now.
fn halted(cpu: usize) -> bool {
    crate::CPUS[cpu]
        .tlb
        .load(core::sync::atomic::Ordering::SeqCst)
        != crate::shootdown::TLB_LIVE
}

fn halted_cpu_sees_a_page_change() {
    let va = TEST_VA;
    let me = interrupts::cpu_index();
    for cpu in (0..crate::cpus_online()).filter(|&c| c != me) {
        // A request left to the halted CPU, then its next interrupt (the call's IPI) must
        // find the new page, not the one its TLB held. Tried until the CPU was halted at the
        // request (it may be running a task, or wake for a tick in between).
        let mut deferred = false;
        for _ in 0..200 {
            memory::map_page(va, memory::PageFlags::RW).unwrap();
            // SAFETY: just mapped, writable, owned by this test.
            unsafe { core::ptr::write_volatile(va as *mut u64, 0x3333) };
            assert_eq!(crate::run_on(cpu, read_u64, va), Some(0x3333));
            let start = time::monotonic_ns();
            while !halted(cpu) && time::monotonic_ns() - start < 50_000_000 {
                core::hint::spin_loop();
            }
            let before = crate::cpu(cpu).unwrap();
            let held = remap_to_another_frame(va, 0x4444);
            let after = crate::cpu(cpu).unwrap();
            deferred = after.deferred > before.deferred && after.shootdowns == before.shootdowns;
            assert_eq!(
                crate::run_on(cpu, read_u64, va),
                Some(0x4444),
                "CPU {cpu} read a stale page (request {})",
                if deferred {
                    "left to its wake"
                } else {
                    "answered"
                }
            );
            memory::unmap_page(va).unwrap();
            for f in held {
                memory::free_frame(f).unwrap();
            }
            if deferred {
                break;
            }
        }
        assert!(deferred, "CPU {cpu} was never halted at a request");
    }
}

kernel_test! {
    fn cpus_shooting_at_each_other_do_not_deadlock() {
        let cpus = crate::cpus_online();
        for cpu in 0..cpus {
            memory::map_page(TEST_VA + cpu as u64 * 4096, memory::PageFlags::RW).unwrap();
        }
        let sent = crate::shootdown_stats().sent;
        // Answered by NMI, or left to the CPU's wake (once its own part is done it idles).
        let answered_so_far = |c: usize| {
            let c = crate::cpu(c).unwrap();
            c.shootdowns + c.deferred
        };
        let answered: alloc::vec::Vec<u64> = (0..cpus).map(answered_so_far).collect();
        // Every other CPU protects its own page over and over, with interrupts disabled (in
        // the call's handler), while this one does the same: requests cross all the time.
        // Interrupts off here too, so this task stays on its CPU meanwhile.
        x86_64::instructions::interrupts::without_interrupts(|| {
            let me = interrupts::cpu_index();
            let asked: alloc::vec::Vec<_> = (0..cpus)
                .filter(|&c| c != me)
                .map(|c| crate::call::ask(c, protect_many, TEST_VA + c as u64 * 4096))
                .collect();
            assert_eq!(protect_many(TEST_VA + me as u64 * 4096), 0);
            for a in asked {
                assert_eq!(a.wait(), 0);
            }
        });
        if cpus > 1 {
            let sent = crate::shootdown_stats().sent - sent;
            assert!(sent >= PROTECTS * cpus as u64, "{sent} shootdowns sent");
            for (c, before) in answered.iter().enumerate() {
                let n = answered_so_far(c) - before;
                assert!(n >= PROTECTS * (cpus as u64 - 1), "CPU {c} answered {n} shootdowns");
            }
        }
        for cpu in 0..cpus {
            let va = TEST_VA + cpu as u64 * 4096;
            // Writable at the end, and every CPU sees it so.
            // SAFETY: mapped writable above (the last protect made it RW again).
            unsafe { core::ptr::write_volatile(va as *mut u64, cpu as u64) };
            memory::unmap_page(va).unwrap();
        }
    }
}
