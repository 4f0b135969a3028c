//! The in-kernel test framework: `kernel_test!` (and `kernel_fuzz!`, for the fuzz and stress
//! group) registers a test function in the `.ktests` linker section; the test kernel (booted with `mode=test`) walks that section, runs each
//! test in a task of its own and prints `test NAME ... ok|FAILED`. A failing test panics,
//! which ends its task with the panic as the kill reason; the run goes on. [`current`] names
//! the running test for a panic that cannot be contained (in the boot task).
//!
//! Depends on nothing. The linker script of `kernel/kernel` defines the section bounds.

#![no_std]

use core::sync::atomic::{AtomicPtr, Ordering};

/// Which run a test belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Group {
    /// Every `cargo xtask test` (`mode=test`).
    Default,
    /// The bounded fuzz and stress group (`mode=fuzz`: `cargo xtask fuzz`, `test --slow`).
    Fuzz,
}

/// One registered test.
#[repr(C)]
pub struct KernelTest {
    pub name: &'static str,
    pub func: fn(),
    pub group: Group,
    /// Runs with one CPU taking tasks ([`kernel_test_alone!`]): for tests that count the
    /// heap's bytes or the free frames exactly, which other CPUs' tasks would change meanwhile.
    pub alone: bool,
}

/// Defines a kernel test: `kernel_test! { fn name() { ... } }`.
#[macro_export]
macro_rules! kernel_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $crate::register_test!($crate::Group::Default, false, $(#[$meta])* fn $name() $body);
    };
}

/// Defines a kernel test that runs while one CPU alone takes tasks (the others idle), as on a
/// one-CPU machine: for exact counts of the heap's bytes or the free frames, which tasks on
/// other CPUs (the network stack's, say) would change meanwhile.
#[macro_export]
macro_rules! kernel_test_alone {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $crate::register_test!($crate::Group::Default, true, $(#[$meta])* fn $name() $body);
    };
}

/// Defines a test of the fuzz and stress group, run by `mode=fuzz` only:
/// `kernel_fuzz! { fn name() { ... } }`.
#[macro_export]
macro_rules! kernel_fuzz {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $crate::register_test!($crate::Group::Fuzz, false, $(#[$meta])* fn $name() $body);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! register_test {
    ($group:expr, $alone:expr, $(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[allow(dead_code)]
        fn $name() $body

        const _: () = {
            #[used]
            #[unsafe(link_section = ".ktests")]
            static TEST: $crate::KernelTest = $crate::KernelTest {
                name: concat!(module_path!(), "::", stringify!($name)),
                func: $name,
                group: $group,
                alone: $alone,
            };
        };
    };
}

/// Every registered test, in link order.
#[cfg(target_os = "none")]
pub fn all() -> &'static [KernelTest] {
    unsafe extern "C" {
        static __ktests_start: u8;
        static __ktests_end: u8;
    }
    // SAFETY: the linker script puts exactly the `.ktests` statics (all `KernelTest`s, laid
    // out as an array) between these two symbols.
    unsafe {
        let start = (&raw const __ktests_start).cast::<KernelTest>();
        let end = (&raw const __ktests_end).cast::<KernelTest>();
        let len = (end as usize - start as usize) / core::mem::size_of::<KernelTest>();
        core::slice::from_raw_parts(start, len)
    }
}

static CURRENT: AtomicPtr<KernelTest> = AtomicPtr::new(core::ptr::null_mut());

/// Runs `test`, remembering it as the current one while it runs.
pub fn run(test: &'static KernelTest) {
    CURRENT.store(
        test as *const KernelTest as *mut KernelTest,
        Ordering::SeqCst,
    );
    (test.func)();
    CURRENT.store(core::ptr::null_mut(), Ordering::SeqCst);
}

/// The test running now, if any (for the panic handler).
pub fn current() -> Option<&'static KernelTest> {
    let ptr = CURRENT.load(Ordering::SeqCst);
    // SAFETY: only `run` stores into CURRENT, and only pointers to `'static` tests.
    unsafe { ptr.as_ref() }
}
