//! `capget` and `capset`: each thread's capability sets (effective, permitted, inheritable).
//!
//! Everything runs as root, and root holds every capability (`CapSets::ROOT`); a thread may
//! drop capabilities and raise them again within its permitted set (the rules are
//! `caps_abi::CapSets::change`, Linux's). A thread's sets are kept per thread in the
//! process's settings; a new thread starts with its creator's, `execve` gives root's back
//! (the inheritable set stays). The OS checks no capability elsewhere: what is dropped is
//! reported, not enforced.
//!
//! Headers as Linux reads them: an unknown version is rewritten to v3 and fails with
//! `EINVAL` (`capget` with a NULL data pointer answers 0 then: that is how a program asks
//! for the preferred version); v1 carries one 32-bit word per set, v2 and v3 two. `pid` 0 or
//! the caller's thread id names the caller; `capget` also reads another thread of the
//! process (other processes' sets are not kept here: `ESRCH`); `capset` changes only the
//! caller (`EPERM` otherwise). Negative ids are `EINVAL`; unreadable memory is `EFAULT`.

use super::state;
use crate::caps_abi::{self, CapSets};
use core::mem::offset_of;
use libtheseus::usermode::{self, Registers};
use libtheseus::{Errno, Result, thread};
use linux_raw_sys::general::__user_cap_header_struct as Header;

/// The header's version and the number of data words it asks for; an unknown version is
/// rewritten to the kernel's and is `EINVAL`.
fn validate(header: u64) -> Result<usize> {
    let version: u32 = usermode::read_value(header + offset_of!(Header, version) as u64)?;
    match caps_abi::words(version) {
        Some(words) => Ok(words),
        None => {
            usermode::write_value(
                header + offset_of!(Header, version) as u64,
                &caps_abi::KERNEL_VERSION,
            )?;
            Err(Errno::EINVAL)
        }
    }
}

/// The sets of thread `tid` of the calling process.
fn sets_of(process: &state::Process, tid: u64) -> CapSets {
    process
        .settings
        .lock()
        .caps
        .get(&tid)
        .copied()
        .unwrap_or(CapSets::ROOT)
}

/// `capget(header, data)`.
pub fn capget(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (header, data) = (a[0], a[1]);
    let words = match validate(header) {
        Ok(words) => words,
        Err(Errno::EINVAL) if data == 0 => return Ok(0),
        Err(e) => return Err(e),
    };
    if data == 0 {
        return Ok(0);
    }
    let pid: i32 = usermode::read_value(header + offset_of!(Header, pid) as u64)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let process = state::current();
    let me = thread::current_id().as_u64();
    let pid = pid as u64;
    let target = if pid == 0 || pid == me {
        me
    } else if pid == process.pid || process.threads.lock().contains_key(&pid) {
        pid
    } else {
        return Err(Errno::ESRCH);
    };
    let sets = sets_of(&process, target);
    drop(process);
    usermode::write(data, &sets.encode(words))?;
    Ok(0)
}

/// `capset(header, data)`: changes the calling thread's sets.
pub fn capset(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let (header, data) = (a[0], a[1]);
    let words = validate(header)?;
    let pid: i32 = usermode::read_value(header + offset_of!(Header, pid) as u64)?;
    let process = state::current();
    let me = thread::current_id().as_u64();
    if pid != 0 && pid as u64 != me {
        return Err(Errno::EPERM);
    }
    let mut raw = alloc::vec![0u8; 12 * words];
    usermode::read(data, &mut raw)?;
    let mut settings = process.settings.lock();
    let old = settings.caps.get(&me).copied().unwrap_or(CapSets::ROOT);
    let new = old.change(CapSets::decode(&raw))?;
    settings.caps.insert(me, new);
    Ok(0)
}
