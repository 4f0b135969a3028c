//! The buffers the device reads frames from and writes frames into, and the bookkeeping of
//! which of them the device holds: the crate's only `unsafe`.
//!
//! Every buffer is a `Box` of [`BUF_LEN`] bytes aligned to its size, so it lies within one
//! page and the device uses it in place (`virtio::KernelHal::share` gives its physical
//! address, no bounce copy). While the device holds a buffer, its `Box` sits in the slot of
//! the device's token for it and nothing reads or writes it; it leaves the slot only when the
//! device has returned that token, and is then handed back to virtio-drivers with the very
//! slice it was posted with.

use crate::{BUF_LEN, Error, QUEUE, Raw};
use alloc::boxed::Box;
use alloc::vec::Vec;

#[repr(C, align(2048))]
struct Buf([u8; BUF_LEN]);

const _: () = assert!(core::mem::align_of::<Buf>() == BUF_LEN && 4096 % BUF_LEN == 0);

fn new_buf() -> Box<Buf> {
    Box::new(Buf([0; BUF_LEN]))
}

/// Puts `item` (a buffer just posted) in the slot of `token`, the device's name for it. A
/// token outside the table or of a taken slot means the device is confused: the buffer, which
/// it may still write into, is leaked rather than ever used again.
fn place<T>(slots: &mut [Option<T>], token: u16, item: T) -> Result<(), Error> {
    match slots.get_mut(usize::from(token)) {
        Some(slot @ None) => {
            *slot = Some(item);
            Ok(())
        }
        _ => {
            core::mem::forget(item);
            Err(Error::Device)
        }
    }
}

// Boxed in every list: a buffer moves between the free list and the device's slots, and its
// bytes must stay where the device was told they are.
#[allow(clippy::vec_box)]
pub(crate) struct Buffers {
    /// Receive buffers the device holds, by token.
    rx: Vec<Option<Box<Buf>>>,
    /// Receive buffers the device refused to take back (posted again at the next receive).
    rx_spare: Vec<Box<Buf>>,
    /// Frames in flight, by token: the buffer and the length posted.
    tx: Vec<Option<(Box<Buf>, usize)>>,
    tx_free: Vec<Box<Buf>>,
}

impl Buffers {
    /// Posts every receive buffer to the device; the transmit buffers start free.
    pub(crate) fn post(raw: &mut Raw) -> Result<Buffers, Error> {
        let mut b = Buffers {
            rx: (0..QUEUE).map(|_| None).collect(),
            rx_spare: Vec::new(),
            tx: (0..QUEUE).map(|_| None).collect(),
            tx_free: (0..QUEUE).map(|_| new_buf()).collect(),
        };
        for _ in 0..QUEUE {
            if let Err(e) = b.post_rx(raw, new_buf()) {
                // The device may hold the buffers posted so far until it is reset: they
                // must outlive any use it makes of them.
                core::mem::forget(b);
                return Err(e);
            }
        }
        Ok(b)
    }

    fn post_rx(&mut self, raw: &mut Raw, mut buf: Box<Buf>) -> Result<(), Error> {
        // SAFETY: the buffer goes into the slot of the returned token and is not touched
        // until the device returns that token (`receive`); the `Box` keeps its memory in
        // place and alive meanwhile (a `Buffers` is dropped only after the device, see
        // `Net`).
        let token = unsafe { raw.receive_begin(&mut buf.0) };
        match token {
            Ok(t) => place(&mut self.rx, t, buf),
            Err(_) => {
                self.rx_spare.push(buf);
                Err(Error::Device)
            }
        }
    }

    /// The next received frame (a copy; its buffer goes back to the device), `None` if
    /// none is waiting, `Some(Err)` if the device returned something unusable.
    pub(crate) fn receive(&mut self, raw: &mut Raw) -> Option<Result<Vec<u8>, Error>> {
        while let Some(buf) = self.rx_spare.pop() {
            if self.post_rx(raw, buf).is_err() {
                break;
            }
        }
        let token = raw.poll_receive()?;
        let Some(mut buf) = self.rx.get_mut(usize::from(token)).and_then(Option::take) else {
            // Not a token this driver posted: nothing to give back, and the ring would
            // return it forever. The device is misbehaving; receiving stops.
            return Some(Err(Error::Device));
        };
        // SAFETY: `buf` is the buffer posted with `token` (taken from its slot), passed as
        // the same slice `post_rx` posted.
        let done = unsafe { raw.receive_complete(token, &mut buf.0) };
        let frame = done.ok().and_then(|(header, len)| {
            buf.0
                .get(header..header.checked_add(len)?)
                .map(<[u8]>::to_vec)
        });
        let _ = self.post_rx(raw, buf);
        Some(frame.ok_or(Error::Device))
    }

    /// Takes back the transmit buffers the device is done with.
    pub(crate) fn reclaim(&mut self, raw: &mut Raw) {
        while let Some(token) = raw.poll_transmit() {
            let Some((buf, len)) = self.tx.get_mut(usize::from(token)).and_then(Option::take)
            else {
                // Not a frame in flight: leave the ring alone rather than loop on it.
                return;
            };
            // SAFETY: `buf` and `len` are the buffer and length `send` posted with `token`.
            let _ = unsafe { raw.transmit_complete(token, &buf.0[..len]) };
            self.tx_free.push(buf);
        }
    }

    /// Whether a frame can be posted now.
    pub(crate) fn can_send(&self, raw: &Raw) -> bool {
        !self.tx_free.is_empty() && raw.can_send()
    }

    /// Copies `frame` (at most `MAX_FRAME` bytes) behind the virtio header in a free buffer
    /// and posts it.
    pub(crate) fn send(&mut self, raw: &mut Raw, frame: &[u8]) -> Result<(), Error> {
        self.reclaim(raw);
        if !raw.can_send() {
            return Err(Error::Busy);
        }
        let mut buf = self.tx_free.pop().ok_or(Error::Busy)?;
        let Ok(header) = raw.fill_buffer_header(&mut buf.0) else {
            self.tx_free.push(buf);
            return Err(Error::Device);
        };
        let len = header + frame.len();
        if len > BUF_LEN {
            self.tx_free.push(buf);
            return Err(Error::TooLong);
        }
        buf.0[header..len].copy_from_slice(frame);
        // SAFETY: the buffer goes into the slot of the returned token and is not touched
        // until the device returns that token (`reclaim`); the `Box` keeps its memory in
        // place and alive meanwhile.
        let token = unsafe { raw.transmit_begin(&buf.0[..len]) };
        match token {
            Ok(t) => place(&mut self.tx, t, (buf, len)),
            Err(_) => {
                self.tx_free.push(buf);
                Err(Error::Device)
            }
        }
    }

    /// Frames posted and not yet returned by the device.
    pub(crate) fn in_flight(&self) -> usize {
        self.tx.iter().filter(|s| s.is_some()).count()
    }
}
