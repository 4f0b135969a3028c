//! In-kernel tests of PCI enumeration (QEMU's `pc` machine: an i440FX host bridge at 00:00.0).

use crate::*;
use ktest::kernel_test;

kernel_test! {
    fn finds_the_host_bridge() {
        init();
        let bridge = devices()
            .iter()
            .find(|d| d.function == DeviceFunction { bus: 0, device: 0, function: 0 })
            .expect("no function at 00:00.0");
        // Intel 440FX host bridge, class 06.00 (bridge, host).
        assert_eq!((bridge.info.vendor_id, bridge.info.device_id), (0x8086, 0x1237));
        assert_eq!((bridge.info.class, bridge.info.subclass), (0x06, 0x00));
        // Every function listed once, each with a real vendor.
        for (i, d) in devices().iter().enumerate() {
            assert_ne!(d.info.vendor_id, 0xffff);
            assert!(!devices()[..i].iter().any(|e| e.function == d.function));
        }
    }
}

kernel_test! {
    fn config_reads_match_the_enumeration() {
        init();
        let cam = PortCam::new();
        for d in devices() {
            let id = cam.read_word(d.function, 0);
            assert_eq!(id as u16, d.info.vendor_id);
            assert_eq!((id >> 16) as u16, d.info.device_id);
        }
        // A device number with nothing behind it reads all ones.
        let empty = DeviceFunction { bus: 0, device: 31, function: 7 };
        assert!(!devices().iter().any(|d| d.function == empty));
        assert_eq!(cam.read_word(empty, 0), 0xffff_ffff);
    }
}
