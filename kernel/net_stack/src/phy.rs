//! smoltcp's view of the virtio network device: one received frame per receive token, one
//! frame per transmit token.

use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// The virtio network device as a `smoltcp::phy::Device`.
pub(crate) struct Phy;

pub(crate) struct Rx(Vec<u8>);
pub(crate) struct Tx;

impl phy::Device for Phy {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx)> {
        virtio_net::receive().map(|frame| (Rx(frame), Tx))
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
