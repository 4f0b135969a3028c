//! In-kernel tests of the virtio network device (`cargo xtask` starts QEMU with
//! `-device virtio-net-pci` on a user network, so the device must be there).

use crate::*;
use ktest::kernel_test;

kernel_test! {
    fn network_device_is_found_with_a_mac_and_an_irq() {
        pci::init();
        assert!(init(), "no virtio-net device (QEMU runs with -device virtio-net-pci)");
        let mac = mac_address().unwrap();
        assert_ne!(mac, [0; 6]);
        assert_eq!(mac[0] & 1, 0, "a unicast MAC: {mac:02x?}");
        assert!(irq().is_some());
        assert_eq!(send(&[0u8; MAX_FRAME + 1]), Err(Error::TooLong));
    }
}

/// Spins until `done` holds or about a few seconds of TCG time pass; returns whether it held.
fn spin_until(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..50_000_000u64 {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

kernel_test! {
    fn a_burst_of_frames_goes_out_without_waiting_for_each_and_every_buffer_comes_back() {
        pci::init();
        assert!(init());
        let mac = mac_address().unwrap();
        // A broadcast frame of an experimental EtherType (IEEE 802 local use): QEMU's user
        // network drops it.
        let mut frame = [0u8; 60];
        frame[..6].fill(0xff);
        frame[6..12].copy_from_slice(&mac);
        frame[12..14].copy_from_slice(&[0x88, 0xb5]);
        let before = stats();
        let mut sent = 0;
        while sent < 1000 {
            // More frames than buffers: the device must hand buffers back as it goes.
            assert!(spin_until(can_send), "no transmit buffer came back");
            match send(&frame) {
                Ok(()) => sent += 1,
                // The network stack's task took the last free buffer meanwhile.
                Err(Error::Busy) => {}
                Err(e) => panic!("frame {sent} not sent: {e:?}"),
            }
        }
        assert!(spin_until(|| stats().tx_in_flight == 0), "frames still in flight: {:?}", stats());
        let after = stats();
        assert!(after.tx_packets - before.tx_packets >= 1000, "{before:?} -> {after:?}");
        assert!(can_send());
    }
}
