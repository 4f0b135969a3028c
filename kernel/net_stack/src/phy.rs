//! smoltcp's view of the virtio network device: one received frame per receive token, one
//! frame per transmit token. Each received frame is looked at for an ICMP port unreachable
//! before smoltcp takes it (`icmp`: smoltcp hands those to no UDP socket). Kernel tests may
//! hand the stack a frame as if the device had received it ([`inject`]): QEMU's restricted
//! network cannot send some (UDP over IPv6, ICMP errors).

use crate::icmp::{self, Unreachable};
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use spin::Mutex;
use x86_64::instructions::interrupts::without_interrupts;

/// Frames to receive before the device's.
static INJECTED: Mutex<VecDeque<Vec<u8>>> = Mutex::new(VecDeque::new());

/// Receives `frame` on the next run of the stack, as if from the wire (for tests).
pub(crate) fn inject(frame: Vec<u8>) {
    without_interrupts(|| INJECTED.lock().push_back(frame));
    crate::kick();
}
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The virtio network device as a `smoltcp::phy::Device`.
#[derive(Default)]
pub(crate) struct Phy {
    /// The port unreachables among the frames received since the stack last took them.
    pub(crate) unreachable: Vec<Unreachable>,
}

pub(crate) struct Rx(Vec<u8>);
pub(crate) struct Tx;

impl phy::Device for Phy {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx)> {
        let injected = without_interrupts(|| INJECTED.lock().pop_front());
        let frame = injected.or_else(virtio_net::receive)?;
        if let Some(u) = icmp::port_unreachable(&frame) {
            self.unreachable.push(u);
        }
        Some((Rx(frame), Tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx> {
        virtio_net::can_send().then_some(Tx)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = virtio_net::MAX_FRAME;
        caps
    }
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        // A frame the device refuses is lost, as on a wire; TCP sends it again.
        if let Err(e) = virtio_net::send(&frame) {
            log::debug!("net: frame of {len} bytes not sent: {e:?}");
        }
        r
    }
}
