//! `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`: file-system
//! events through libtheseus's inotify instances (`FIONREAD` on one is in `fs`'s `ioctl`).

use super::fs::{fd, path_at, set_cloexec};
use libtheseus::usermode::Registers;
use libtheseus::{Errno, Result, inotify};
use linux_raw_sys::general::{IN_CLOEXEC, IN_NONBLOCK};

pub fn inotify_init(r: &mut Registers, _: [u64; 6]) -> Result<u64> {
    inotify_init1(r, [0; 6])
}

pub fn inotify_init1(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let flags = a[0] as u32;
    if flags & !(IN_CLOEXEC | IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let new = inotify::init(flags & IN_NONBLOCK != 0)?;
    set_cloexec(new, flags & IN_CLOEXEC != 0);
    Ok(u64::from(new))
}

pub fn inotify_add_watch(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    let instance = fd(a[0])?;
    let path = path_at(a[1])?;
    let wd = inotify::add_watch(instance, &path, a[2] as u32)?;
    Ok(wd as u64)
}

pub fn inotify_rm_watch(_: &mut Registers, a: [u64; 6]) -> Result<u64> {
    inotify::rm_watch(fd(a[0])?, a[1] as i32).map(|()| 0)
}
