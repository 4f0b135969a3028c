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
