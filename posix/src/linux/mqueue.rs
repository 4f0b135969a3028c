//! POSIX message queues over `libtheseus::mqueue`: `mq_open`, `mq_unlink`, `mq_timedsend`,
//! `mq_timedreceive`, `mq_notify`, `mq_getsetattr`.
//!
//! Names, attributes and `struct sigevent` are checked by [`crate::mq_abi`]. Timeouts are
//! absolute `CLOCK_REALTIME` times, checked before anything else happens (`EINVAL`), and
//! become a deadline on the monotonic clock. `mq_notify`: `SIGEV_NONE` registers without a
//! signal, `SIGEV_SIGNAL` sends the signal to the registering process when a message arrives
//! in the empty queue with no receiver waiting (then the registration ends, as on Linux);
//! `SIGEV_THREAD` (a netlink socket told by the kernel, which libc turns into a thread) is
//! not implemented (`ENOSYS`).

use super::fs::{fd, set_cloexec};
use super::state;
use crate::mq_abi::{self, MqAttr, Notify};
use alloc::vec;
use libtheseus::mqueue::{self, Limits, Notification, OpenRequest};
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, job_control, time};
use linux_raw_sys::general as g;

/// The most a name may take in memory, with its NUL.
const NAME_BYTES: usize = 256;

fn name_at(addr: u64) -> Result<alloc::string::String> {
    let raw = usermode::read_c_string(addr, NAME_BYTES + 1)?;
    mq_abi::check_name(&raw).map(alloc::string::String::from)
}

/// An absolute `CLOCK_REALTIME` timeout at `addr` (0: none) as a monotonic deadline.
fn deadline(addr: u64) -> Result<Option<u64>> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = usermode::read_value(addr)?;
    if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
        return Err(Errno::EINVAL);
    }
    let at = (ts[0] as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts[1] as u64);
    let left = at.saturating_sub(time::realtime_ns());
    Ok(Some(time::monotonic_ns().saturating_add(left)))
}

/// `mq_open(name, oflag, mode, attr)`.
pub fn mq_open(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let name = name_at(a[0])?;
    let flags = a[1] as u32;
    let (read, write) = match flags & g::O_ACCMODE {
        g::O_RDONLY => (true, false),
        g::O_WRONLY => (false, true),
        g::O_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let create = flags & g::O_CREAT != 0;
    let attr = if create && a[3] != 0 {
        let mut raw = [0u8; mq_abi::MQ_ATTR_SIZE];
        usermode::read(a[3], &mut raw)?;
        Some(MqAttr::decode(&raw))
    } else {
        None
    };
    let (max_messages, message_size) = if create {
        mq_abi::new_queue_sizes(attr)?
    } else {
        (0, 0)
    };
    let umask = *state::current().umask.lock();
    let req = OpenRequest {
        read,
        write,
        create,
        exclusive: flags & g::O_EXCL != 0,
        nonblocking: flags & g::O_NONBLOCK != 0,
        mode: (a[2] as u32) & 0o7777 & !umask,
        limits: Limits {
            max_messages,
            message_size,
        },
    };
    let new = mqueue::open(&name, &req)?;
    set_cloexec(new, flags & g::O_CLOEXEC != 0);
    Ok(u64::from(new))
}

/// `mq_unlink(name)`.
pub fn mq_unlink(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    mqueue::unlink(&name_at(a[0])?).map(|_| 0)
}

/// `mq_timedsend(mqdes, msg, len, prio, abs_timeout)`.
pub fn mq_timedsend(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let prio = a[3] as u32;
    if a[3] >= u64::from(mq_abi::PRIO_MAX) {
        return Err(Errno::EINVAL);
    }
    let when = deadline(a[4])?;
    let q = fd(a[0])?;
    let len = usize::try_from(a[2]).map_err(|_| Errno::EMSGSIZE)?;
    let attrs = mqueue::attributes(q, None)?;
    if len > attrs.limits.message_size {
        return Err(Errno::EMSGSIZE);
    }
    let mut message = vec![0u8; len];
    usermode::read(a[1], &mut message)?;
    if let Some(n) = mqueue::send(q, &message, prio, when)? {
        notify_owner(n);
    }
    Ok(0)
}

/// Sends a fired `SIGEV_SIGNAL` registration's signal to the process that made it.
fn notify_owner(n: Notification) {
    if n.signal == 0 {
        return;
    }
    let process = state::current();
    if n.owner == process.pid {
        let to = super::signal::receiver(&process, n.signal);
        super::signal::mark_pending(&process, to, n.signal);
    } else {
        let _ = job_control::signal(n.owner, n.signal as i32, "message queue notification");
    }
}

/// `mq_timedreceive(mqdes, msg, len, prio_ptr, abs_timeout)`: the message's length.
pub fn mq_timedreceive(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let when = deadline(a[4])?;
    let q = fd(a[0])?;
    let len = usize::try_from(a[2]).unwrap_or(usize::MAX);
    let attrs = mqueue::attributes(q, None)?;
    if len < attrs.limits.message_size {
        return Err(Errno::EMSGSIZE);
    }
    usermode::check(a[1], attrs.limits.message_size, true)?;
    if a[3] != 0 {
        usermode::check(a[3], 4, true)?;
    }
    let (message, prio) = mqueue::receive(q, len, when)?;
    usermode::write(a[1], &message)?;
    if a[3] != 0 {
        usermode::write_value(a[3], &prio)?;
    }
    Ok(message.len() as u64)
}

/// `mq_notify(mqdes, sevp)`: NULL removes the caller's registration.
pub fn mq_notify(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let q = fd(a[0])?;
    let owner = state::current().pid;
    if a[1] == 0 {
        return mqueue::notify(q, owner, None).map(|_| 0);
    }
    let raw: [u8; 16] = usermode::read_value(a[1])?;
    let (signal, value) = match mq_abi::decode_sigevent(&raw)? {
        Notify::None => (0, 0),
        Notify::Signal(sig, value) => (sig, value),
        Notify::Thread => return Err(Errno::ENOSYS),
    };
    let n = Notification {
        owner,
        signal,
        value,
    };
    mqueue::notify(q, owner, Some(n)).map(|_| 0)
}

/// `mq_getsetattr(mqdes, newattr, oldattr)`: only `O_NONBLOCK` of `mq_flags` may be set
/// (any other flag is `EINVAL`); the old attributes are written if asked.
pub fn mq_getsetattr(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let new = if a[1] != 0 {
        let mut raw = [0u8; mq_abi::MQ_ATTR_SIZE];
        usermode::read(a[1], &mut raw)?;
        let attr = MqAttr::decode(&raw);
        if attr.flags & !i64::from(g::O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        Some(attr.flags & i64::from(g::O_NONBLOCK) != 0)
    } else {
        None
    };
    let q = fd(a[0])?;
    if a[2] != 0 {
        usermode::check(a[2], mq_abi::MQ_ATTR_SIZE, true)?;
    }
    let old = mqueue::attributes(q, new)?;
    if a[2] != 0 {
        let attr = MqAttr {
            flags: if old.nonblocking {
                i64::from(g::O_NONBLOCK)
            } else {
                0
            },
            max_messages: old.limits.max_messages as i64,
            message_size: old.limits.message_size as i64,
            messages: old.messages as i64,
        };
        usermode::write(a[2], &attr.encode())?;
    }
    Ok(0)
}
