//! A transport that hides the device's `VIRTIO_F_EVENT_IDX` feature from virtio-drivers.
//!
//! virtio-drivers 0.13 decides whether to notify the device with `avail_idx >= avail_event + 1`
//! when event indices are negotiated (`VirtQueue::should_notify`). The virtio rule (2.7.10,
//! `vring_need_event`) compares the distances of the new index, the old index and the event
//! index modulo 2^16: the library's test notifies after every buffer while the indices have
//! not wrapped, and never once the ring index wrapped below the device's event index, which
//! stalls a queue whose driver does not wait for each buffer. Without the feature the device
//! asks for notifications with the used ring's `NO_NOTIFY` flag, which the library reads
//! correctly (QEMU sets it while it works through the queue, so a burst costs one notify).
//!
//! Everything else is passed through unchanged.

use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{PhysAddr, Result};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// `VIRTIO_F_EVENT_IDX` (virtio 1.0, 6: reserved feature bits).
pub const EVENT_IDX: u64 = 1 << 29;

/// `T` with [`EVENT_IDX`] removed from the features the device offers.
pub struct NoEventIndex<T: Transport>(pub T);

impl<T: Transport> Transport for NoEventIndex<T> {
    fn device_type(&self) -> DeviceType {
        self.0.device_type()
    }

    fn read_device_features(&mut self) -> u64 {
        self.0.read_device_features() & !EVENT_IDX
    }

    fn write_driver_features(&mut self, driver_features: u64) {
        self.0.write_driver_features(driver_features & !EVENT_IDX);
    }

    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.max_queue_size(queue)
    }

    fn notify(&mut self, queue: u16) {
        self.0.notify(queue);
    }

    fn get_status(&self) -> DeviceStatus {
        self.0.get_status()
    }

    fn set_status(&mut self, status: DeviceStatus) {
        self.0.set_status(status);
    }

    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.set_guest_page_size(guest_page_size);
    }

    fn requires_legacy_layout(&self) -> bool {
        self.0.requires_legacy_layout()
    }

    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0
            .queue_set(queue, size, descriptors, driver_area, device_area);
    }

    fn queue_unset(&mut self, queue: u16) {
        self.0.queue_unset(queue);
    }

    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.queue_used(queue)
    }

    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.ack_interrupt()
    }

    fn read_config_generation(&self) -> u32 {
        self.0.read_config_generation()
    }

    fn read_config_space<V: FromBytes + IntoBytes>(&self, offset: usize) -> Result<V> {
        self.0.read_config_space(offset)
    }

    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: V,
    ) -> Result<()> {
        self.0.write_config_space(offset, value)
    }
}
