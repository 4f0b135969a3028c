//! Guest paths. A path argument is checked here, then resolved by the VFS beneath the
//! directory its descriptor is bound to (libtheseus's `fs::*_beneath`, memfs's walk from that
//! directory's node), so it cannot leave it: not with `..`, not as an absolute path, not
//! through a symbolic link, and not after a rename or symlink swap of the directory's path.
//! Such an escape is `EXDEV` from the VFS and `PERM` for the guest (wasmtime's answer).

use crate::Errno;

/// Checks a guest path before it is resolved: `INVAL` for a NUL byte (the VFS's empty-path
/// answer is `NOENT`).
pub fn check(path: &str) -> Result<(), Errno> {
    if path.contains('\0') {
        return Err(Errno::INVAL);
    }
    Ok(())
}

/// A symbolic link created by a guest may not have an absolute target (`PERM`, as in
/// wasmtime); an empty one is `NOENT`. A relative target is stored as given: following it
/// later is held beneath the directory like any path.
pub fn check_symlink_target(target: &str) -> Result<(), Errno> {
    check(target)?;
    if target.is_empty() {
        return Err(Errno::NOENT);
    }
    if target.starts_with('/') {
        return Err(Errno::PERM);
    }
    Ok(())
}
