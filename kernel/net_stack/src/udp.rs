//! UDP ports over smoltcp, as the socket layer uses them: a [`Udp`] owns a smoltcp UDP
//! socket bound to one port of the interface; what arrives on it is handed to the socket
//! layer's `deliver` function after each run of the stack (lock released), so received
//! datagrams land in the same queue as loopback ones and `recv`, `poll` and epoll need no
//! second path.
//!
//! Without IP fragmentation (smoltcp's is not enabled), a datagram larger than one frame
//! ([`MAX_PAYLOAD`]) cannot be sent: `EMSGSIZE`.

use crate::{Errno, Stack, with_stack};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Datagrams and payload bytes each direction of a port holds between two runs.
const PACKETS: usize = 64;
const PAYLOAD: usize = 128 * 1024;
/// The largest datagram that fits one Ethernet frame (1500 - 20 - 8).
pub const MAX_PAYLOAD: usize = 1472;

/// Called with each datagram a port received: the sender's address and port, the bytes.
pub type Deliver = Arc<dyn Fn([u8; 4], u16, &[u8]) + Send + Sync>;

pub(crate) struct UdpState {
    pub(crate) deliver: Deliver,
}

/// A UDP port on the interface, open until dropped.
pub struct Udp {
    handle: SocketHandle,
}

/// Opens `port` (already reserved by the socket layer) on every address of the interface.
pub fn udp_bind(port: u16, deliver: Deliver) -> Result<Udp, Errno> {
    with_stack(|st| {
        if port == 0 {
            return Err(Errno::EINVAL);
        }
        let mut s = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; PACKETS], vec![0; PAYLOAD]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; PACKETS], vec![0; PAYLOAD]),
        );
        s.bind(port).map_err(|_| Errno::EADDRINUSE)?;
        let handle = st.sockets.add(s);
        st.udp.insert(handle, UdpState { deliver });
        Ok(Udp { handle })
    })
    .unwrap_or(Err(Errno::ENETUNREACH))
}

impl Udp {
    /// Queues one datagram to `ip:port` and runs the stack, so it leaves at once.
    pub fn send(&self, ip: [u8; 4], port: u16, data: &[u8]) -> Result<(), Errno> {
        if data.len() > MAX_PAYLOAD {
            return Err(Errno::EMSGSIZE);
        }
        with_stack(|st| {
            if !st.on_link(core::net::Ipv4Addr::from(ip).into()) {
                return Err(Errno::ENETUNREACH);
            }
            let to = IpEndpoint::new(IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), port);
            st.sockets
                .get_mut::<udp::Socket>(self.handle)
                .send_slice(data, to)
                .map_err(|e| match e {
                    udp::SendError::Unaddressable => Errno::EINVAL,
                    // Linux too reports a full device queue this way; UDP may drop.
                    udp::SendError::BufferFull => Errno::ENOBUFS,
                })
        })
        .unwrap_or(Err(Errno::ENETUNREACH))
    }
}

impl Drop for Udp {
    fn drop(&mut self) {
        let handle = self.handle;
        with_stack(|st| {
            st.udp.remove(&handle);
            st.sockets.get_mut::<udp::Socket>(handle).close();
            st.sockets.remove(handle);
        });
    }
}

/// A datagram taken out of smoltcp, to deliver with the lock released.
pub(crate) struct Arrived {
    deliver: Deliver,
    from: ([u8; 4], u16),
    data: Vec<u8>,
}

impl Arrived {
    pub(crate) fn deliver(self) {
        (self.deliver)(self.from.0, self.from.1, &self.data);
    }
}

impl Stack {
    /// Takes every datagram the UDP ports received in this run.
    pub(crate) fn take_datagrams(&mut self, out: &mut Vec<Arrived>) {
        for (handle, state) in &self.udp {
            let s = self.sockets.get_mut::<udp::Socket>(*handle);
            while let Ok((data, meta)) = s.recv() {
                // UDP over IPv6 is not offered to the socket layer: such a datagram is
                // dropped, as if no socket had its port.
                let IpAddress::Ipv4(a) = meta.endpoint.addr else {
                    continue;
                };
                out.push(Arrived {
                    deliver: state.deliver.clone(),
                    from: (a.octets(), meta.endpoint.port),
                    data: data.to_vec(),
                });
            }
        }
    }
}
