//! In-kernel tests of the kill reports of tasks that jump to a null address (`faults`): a
//! call through a null function pointer names its caller, and a return to zero shows the
//! stack it found.

use ktest::kernel_test;

/// Calls address 0 the way a null function pointer would be called.
#[inline(never)]
fn call_null_pointer() -> isize {
    // SAFETY: the call faults at once (nothing is mapped at 0); the task is killed there and
    // never comes back to this frame.
    unsafe { core::arch::asm!("call {}", in(reg) 0u64, clobber_abi("C")) };
    0
}

/// Returns to address 0, as a `ret` over a zeroed stack slot would.
#[inline(never)]
fn return_to_zero() -> isize {
    // SAFETY: as above: the `ret` jumps to 0, which faults; the task never continues here.
    unsafe { core::arch::asm!("push 0", "ret") };
    0
}

fn killed_reason(name: &str, f: fn() -> isize) -> alloc::string::String {
    match task::spawn(name, f).expect("spawn").join() {
        task::ExitValue::Killed(reason) => reason,
        other => panic!("{name} was not killed: {other:?}"),
    }
}

kernel_test! {
    fn a_call_through_a_null_pointer_names_its_caller() {
        let reason = killed_reason("null-call", call_null_pointer);
        assert!(reason.starts_with("CPU exception page fault (#PF)"), "{reason}");
        assert!(reason.contains("at rip 0x0 accessing 0x0"), "{reason}");
        let frames: alloc::vec::Vec<&str> = reason.lines().skip(2).collect();
        assert!(frames[0].starts_with("  0: 0x0000000000000000"), "{reason}");
        assert!(frames[1].contains("call_null_pointer"), "{reason}");
        assert!(!reason.contains("no return address"), "{reason}");
    }
}

kernel_test! {
    fn a_return_to_zero_shows_the_stack_it_found() {
        let reason = killed_reason("null-return", return_to_zero);
        assert!(reason.contains("at rip 0x0 accessing 0x0"), "{reason}");
        let context = reason
            .lines()
            .find(|l| l.starts_with("no return address at rsp 0x"))
            .unwrap_or_else(|| panic!("no stack context: {reason}"));
        assert!(context.contains(", the task's stack 0x"), "{context}");
        // Sixteen words from rsp - 64, the zero `ret` took among them (at rsp - 8).
        let words: alloc::vec::Vec<&str> = context
            .split("words from rsp - 64:")
            .nth(1)
            .expect("words")
            .split_whitespace()
            .collect();
        assert_eq!(words.len(), 16, "{context}");
        assert_eq!(words[7], "0x0", "{context}");
    }
}
