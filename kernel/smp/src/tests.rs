//! In-kernel tests of the CPUs' start-up.

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
            // Halted between interrupts: each return from `hlt` follows an interrupt.
            let wakeups = a.wakeups - b.wakeups;
            assert!(wakeups <= ticks + 2, "cpu {}: {wakeups} wake-ups for {ticks} ticks", a.index);
        }
    }
}
