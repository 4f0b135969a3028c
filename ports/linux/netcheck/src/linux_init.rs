//! `netcheck linux-init`: the network bench's Linux peer runs netcheck as `/init` of a bare
//! initramfs. Debian builds the virtio network driver as modules, so this loads them
//! (`/modules/order`, one file name a line, in dependency order; `finit_module`), then gives
//! `eth0` the address QEMU's user network hands out by DHCP (10.0.2.15/24, set here: there
//! is no DHCP client) and brings `lo` and `eth0` up. Linux only: the OS configures its own
//! interface.

use std::ffi::CString;
use std::os::fd::AsRawFd;

/// `struct ifreq`: the interface name, then a union (an address or the flags).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> IfReq {
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        r.name[..name.len()].copy_from_slice(name.as_bytes());
        r
    }

    /// Puts a `sockaddr_in` with `ip` in the union.
    fn with_addr(name: &str, ip: [u8; 4]) -> IfReq {
        let mut r = IfReq::new(name);
        r.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        r.data[4..8].copy_from_slice(&ip);
        r
    }
}

fn ioctl(fd: i32, request: libc::c_ulong, req: &mut IfReq, what: &str) -> Result<(), String> {
    // SAFETY: `req` is a valid, writable `struct ifreq` for the duration of the call.
    if unsafe { libc::ioctl(fd, request as _, req as *mut IfReq) } < 0 {
        return Err(format!("{what}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn load_modules() -> Result<(), String> {
    let order =
        std::fs::read_to_string("/modules/order").map_err(|e| format!("/modules/order: {e}"))?;
    for name in order.lines().filter(|l| !l.is_empty()) {
        let path = format!("/modules/{name}");
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        let params = CString::default();
        // SAFETY: a valid descriptor and a NUL-terminated (empty) parameter string.
        let r =
            unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
        let err = std::io::Error::last_os_error();
        if r < 0 && err.raw_os_error() != Some(libc::EEXIST) {
            return Err(format!("loading {name}: {err}"));
        }
    }
    Ok(())
}

fn up(fd: i32, name: &str) -> Result<(), String> {
    let mut req = IfReq::new(name);
    ioctl(fd, libc::SIOCGIFFLAGS, &mut req, "SIOCGIFFLAGS")?;
    let flags = i16::from_ne_bytes([req.data[0], req.data[1]]) | (libc::IFF_UP as i16);
    req.data[..2].copy_from_slice(&flags.to_ne_bytes());
    ioctl(fd, libc::SIOCSIFFLAGS, &mut req, &format!("{name} up"))
}

/// Loads the driver and configures `lo` and `eth0`.
pub fn setup() -> Result<(), String> {
    load_modules()?;
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("socket: {e}"))?;
    let fd = sock.as_raw_fd();
    up(fd, "lo")?;
    let mut addr = IfReq::with_addr("eth0", [10, 0, 2, 15]);
    ioctl(fd, libc::SIOCSIFADDR, &mut addr, "eth0 address")?;
    let mut mask = IfReq::with_addr("eth0", [255, 255, 255, 0]);
    ioctl(fd, libc::SIOCSIFNETMASK, &mut mask, "eth0 netmask")?;
    up(fd, "eth0")
}

/// Powers the machine off (the end of `/init`).
pub fn power_off() {
    // SAFETY: no memory is passed; ends the machine.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
}
