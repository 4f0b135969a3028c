//! Host tests of resolution beneath a directory node and of hard links.

use super::*;

/// /p/box/{d/{inner.txt "in"}, sub/deep/}, /p/secret/secret.txt "secret", /p/top.txt
fn boxed() -> (MemFs, NodeId) {
    let mut fs = MemFs::new();
    fs.mkdir_all("/p/box/d", 0o755, 1).unwrap();
    fs.mkdir_all("/p/box/sub/deep", 0o755, 1).unwrap();
    fs.mkdir_all("/p/secret", 0o755, 1).unwrap();
    let inner = fs.create_file("/p/box/d/inner.txt", 0o644, 1).unwrap();
    fs.write_at(inner, 0, b"in", 1).unwrap();
    let secret = fs.create_file("/p/secret/secret.txt", 0o644, 1).unwrap();
    fs.write_at(secret, 0, b"secret", 1).unwrap();
    fs.create_file("/p/top.txt", 0o644, 1).unwrap();
    let base = fs.lookup("/p/box").unwrap();
    (fs, base)
}

#[test]
fn dotdot_at_every_depth() {
    let (fs, base) = boxed();
    let sub = fs.lookup("/p/box/sub").unwrap();
    let deep = fs.lookup("/p/box/sub/deep").unwrap();
    assert_eq!(fs.lookup_beneath(base, ".", true), Ok(base));
    assert_eq!(fs.lookup_beneath(base, "sub/..", true), Ok(base));
    assert_eq!(fs.lookup_beneath(base, "sub/deep/..", true), Ok(sub));
    assert_eq!(fs.lookup_beneath(base, "sub/deep/../..", true), Ok(base));
    assert_eq!(
        fs.lookup_beneath(base, "sub/./deep/../deep", true),
        Ok(deep)
    );
    for escape in [
        "..",
        "../",
        "../box",
        "./..",
        "sub/../..",
        "sub/deep/../../..",
        "sub/deep/../../../box/d",
        "d/../../top.txt",
    ] {
        assert_eq!(
            fs.lookup_beneath(base, escape, true),
            Err(Errno::EXDEV),
            "{escape}"
        );
        assert_eq!(
            fs.lookup_beneath(base, escape, false),
            Err(Errno::EXDEV),
            "{escape}"
        );
    }
    assert_eq!(fs.lookup_beneath(base, "/p/box", true), Err(Errno::EXDEV));
    assert_eq!(fs.lookup_beneath(base, "", true), Err(Errno::ENOENT));
    // From a deeper base, `..` may climb as far as that base and no further.
    assert_eq!(fs.lookup_beneath(deep, "..", true), Err(Errno::EXDEV));
    assert_eq!(fs.lookup_beneath(sub, "deep/..", true), Ok(sub));
}

#[test]
fn symlinks_stay_beneath() {
    let (mut fs, base) = boxed();
    fs.symlink("/p/box/abs", "/p/secret", 2).unwrap();
    fs.symlink("/p/box/up", "../secret", 2).unwrap();
    fs.symlink("/p/box/sub/deep/ok", "../../d", 2).unwrap();
    fs.symlink("/p/box/sub/deep/climb", "../../..", 2).unwrap();
    fs.symlink("/p/box/c1", "c2", 2).unwrap();
    fs.symlink("/p/box/c2", "sub/deep/c3", 2).unwrap();
    fs.symlink("/p/box/sub/deep/c3", "ok/inner.txt", 2).unwrap();
    fs.symlink("/p/box/e1", "e2", 2).unwrap();
    fs.symlink("/p/box/e2", "sub/deep/climb", 2).unwrap();
    fs.symlink("/p/box/loop", "loop", 2).unwrap();
    let inner = fs.lookup("/p/box/d/inner.txt").unwrap();
    let d = fs.lookup("/p/box/d").unwrap();
    assert_eq!(fs.lookup_beneath(base, "sub/deep/ok", true), Ok(d));
    assert_eq!(fs.lookup_beneath(base, "c1", true), Ok(inner));
    for escape in [
        "abs",
        "abs/secret.txt",
        "up",
        "up/secret.txt",
        "sub/deep/climb",
        "e1",
        "e1/secret/secret.txt",
    ] {
        assert_eq!(
            fs.lookup_beneath(base, escape, true),
            Err(Errno::EXDEV),
            "{escape}"
        );
    }
    // Not following the last link names the link itself.
    let up = fs.lookup_nofollow("/p/box/up").unwrap();
    assert_eq!(fs.lookup_beneath(base, "up", false), Ok(up));
    assert_eq!(fs.lookup_beneath(base, "loop", true), Err(Errno::ELOOP));
    // The same links resolve normally from a base that contains their targets.
    let p = fs.lookup("/p").unwrap();
    assert!(fs.lookup_beneath(p, "box/up/secret.txt", true).is_ok());
    assert_eq!(fs.lookup_beneath(p, "box/abs", true), Err(Errno::EXDEV));
}

#[test]
fn rename_and_symlink_swap_cannot_widen_a_bound_directory() {
    let (mut fs, base) = boxed();
    // A descriptor bound to /p/box/d.
    let d = fs.lookup_beneath(base, "d", true).unwrap();
    // The path is renamed and replaced by a link out of the box.
    fs.rename("/p/box/d", "/p/box/d.old", 3).unwrap();
    fs.symlink("/p/box/d", "../secret", 3).unwrap();
    // Resolution from the bound node still reaches the old directory only.
    let inner = fs.lookup_beneath(d, "inner.txt", true).unwrap();
    assert_eq!(fs.file_data(inner).as_deref(), Ok(&b"in"[..]));
    assert_eq!(fs.lookup_beneath(d, "secret.txt", true), Err(Errno::ENOENT));
    assert_eq!(fs.lookup_beneath(d, "..", true), Err(Errno::EXDEV));
    // Through the box, the new link leaves it.
    assert_eq!(
        fs.lookup_beneath(base, "d/secret.txt", true),
        Err(Errno::EXDEV)
    );
    // The bound directory moved out of the box: still bound to it, nothing more.
    fs.rename("/p/box/d.old", "/p/moved", 4).unwrap();
    assert_eq!(fs.lookup_beneath(d, "inner.txt", true), Ok(inner));
    assert_eq!(
        fs.lookup_beneath(d, "../secret/secret.txt", true),
        Err(Errno::EXDEV)
    );
    // Removed: a stale id, not another node.
    fs.unlink("/p/moved/inner.txt", 5).unwrap();
    fs.rmdir("/p/moved", 5).unwrap();
    fs.mkdir("/p/new", 0o755, 6).unwrap();
    assert_eq!(fs.lookup_beneath(d, ".", true), Err(Errno::ENOENT));
}

#[test]
fn trailing_slash_names_a_directory() {
    let (mut fs, base) = boxed();
    fs.symlink("/p/box/ld", "d", 2).unwrap();
    fs.symlink("/p/box/lf", "d/inner.txt", 2).unwrap();
    let d = fs.lookup("/p/box/d").unwrap();
    assert_eq!(fs.lookup_beneath(base, "d/", false), Ok(d));
    assert_eq!(fs.lookup_beneath(base, "d//", true), Ok(d));
    assert_eq!(fs.lookup_beneath(base, "ld/", false), Ok(d));
    assert_eq!(
        fs.lookup_beneath(base, "d/inner.txt/", true),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(fs.lookup_beneath(base, "lf/", false), Err(Errno::ENOTDIR));
    assert_eq!(
        fs.lookup_beneath(base, "d/inner.txt/.", true),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        fs.lookup_beneath(base, "d/inner.txt/x", true),
        Err(Errno::ENOTDIR)
    );
    let b = fs.parent_beneath(base, "d/new/").unwrap();
    assert_eq!((b.parent, b.name, b.dir_only), (d, Some("new"), true));
    let b = fs.parent_beneath(base, "d/x").unwrap();
    assert_eq!((b.parent, b.name, b.dir_only), (d, Some("x"), false));
}

#[test]
fn parent_beneath_checks_every_component() {
    let (mut fs, base) = boxed();
    fs.symlink("/p/box/up", "..", 2).unwrap();
    assert_eq!(
        fs.parent_beneath(base, "../x").map(|b| b.name),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        fs.parent_beneath(base, "up/x").map(|b| b.name),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        fs.parent_beneath(base, "..").map(|b| b.name),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        fs.parent_beneath(base, "sub/../..").map(|b| b.name),
        Err(Errno::EXDEV)
    );
    assert_eq!(fs.parent_beneath(base, "sub/..").map(|b| b.name), Ok(None));
    assert_eq!(fs.parent_beneath(base, ".").map(|b| b.parent), Ok(base));
    assert_eq!(
        fs.parent_beneath(base, "/x").map(|b| b.name),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        fs.parent_beneath(base, "nope/x").map(|b| b.name),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fs.parent_beneath(base, "d/inner.txt/x").map(|b| b.name),
        Err(Errno::ENOTDIR)
    );
    // The `_at` calls then work on the directory found.
    let b = fs.parent_beneath(base, "sub/deep/f").unwrap();
    let f = fs
        .create_file_at(b.parent, b.name.unwrap(), 0o644, 3)
        .unwrap();
    assert_eq!(fs.lookup("/p/box/sub/deep/f"), Ok(f));
    fs.mkdir_at(b.parent, "g", 0o755, 3).unwrap();
    fs.symlink_at(b.parent, "h", "g", 3).unwrap();
    assert_eq!(
        fs.lookup_beneath(base, "sub/deep/h", true),
        fs.lookup("/p/box/sub/deep/g")
    );
    fs.rmdir_at(b.parent, "g", 4).unwrap();
    fs.unlink_at(b.parent, "h", 4).unwrap();
    assert_eq!(fs.readdir(b.parent).unwrap().len(), 1);
}

#[test]
fn hard_links_share_a_node_and_count_names() {
    let (mut fs, _) = boxed();
    let count = fs.node_count();
    let top = fs.lookup("/p/top.txt").unwrap();
    fs.write_at(top, 0, b"top", 2).unwrap();
    fs.link("/p/top.txt", "/p/box/hard", true, 3).unwrap();
    assert_eq!(fs.lookup("/p/box/hard"), Ok(top));
    assert_eq!(fs.metadata(top).unwrap().nlink, 2);
    assert_eq!(fs.node_count(), count);
    // Removing one name keeps the node and its data.
    fs.unlink("/p/top.txt", 4).unwrap();
    assert_eq!(fs.metadata(top).unwrap().nlink, 1);
    assert_eq!(fs.file_data(top).as_deref(), Ok(&b"top"[..]));
    // Rename onto another name of the same node does nothing.
    fs.link("/p/box/hard", "/p/box/hard2", false, 5).unwrap();
    fs.rename("/p/box/hard", "/p/box/hard2", 5).unwrap();
    assert_eq!(fs.metadata(top).unwrap().nlink, 2);
    assert!(fs.lookup("/p/box/hard").is_ok());
    // Rename over a name of a linked node drops one of its names only.
    let other = fs.create_file("/p/other", 0o644, 6).unwrap();
    fs.rename("/p/other", "/p/box/hard", 6).unwrap();
    assert_eq!(fs.metadata(top).unwrap().nlink, 1);
    assert_eq!(fs.lookup("/p/box/hard"), Ok(other));
    assert_eq!(fs.file_data(top).as_deref(), Ok(&b"top"[..]));
    // The last name frees it.
    fs.unlink("/p/box/hard2", 7).unwrap();
    assert_eq!(fs.file_data(top).as_deref(), Err(&Errno::ENOENT));
    assert_eq!(fs.node_count(), count);
}

#[test]
fn hard_link_errors_and_symlinks() {
    let (mut fs, base) = boxed();
    assert_eq!(fs.link("/p/box/d", "/p/dl", true, 2), Err(Errno::EISDIR));
    assert_eq!(
        fs.link("/p/top.txt", "/p/box/d", true, 2),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.link("/p/nope", "/p/x", true, 2), Err(Errno::ENOENT));
    assert_eq!(
        fs.link("/p/top.txt", "/p/nope/x", true, 2),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fs.link("/p/top.txt", "/p/box/..", true, 2),
        Err(Errno::EEXIST)
    );
    // A link to a symlink: `follow` picks the link or its target.
    fs.symlink("/p/box/s", "d/inner.txt", 2).unwrap();
    let s = fs.lookup_nofollow("/p/box/s").unwrap();
    let inner = fs.lookup("/p/box/d/inner.txt").unwrap();
    fs.link("/p/box/s", "/p/box/s2", false, 3).unwrap();
    fs.link("/p/box/s", "/p/box/i2", true, 3).unwrap();
    assert_eq!(fs.lookup_nofollow("/p/box/s2"), Ok(s));
    assert_eq!(fs.lookup_nofollow("/p/box/i2"), Ok(inner));
    assert_eq!(fs.metadata(s).unwrap().nlink, 2);
    assert_eq!(fs.metadata(inner).unwrap().nlink, 2);
    // Linked beneath a directory, then removed through the `_at` calls.
    let d = fs.lookup("/p/box/d").unwrap();
    fs.link_at(inner, base, "i3", 4).unwrap();
    assert_eq!(fs.metadata(inner).unwrap().nlink, 3);
    fs.unlink_at(base, "i3", 5).unwrap();
    fs.unlink_at(base, "i2", 5).unwrap();
    fs.unlink_at(d, "inner.txt", 5).unwrap();
    assert_eq!(fs.metadata(inner), Err(Errno::ENOENT));
    // rmdir of a directory holding a name of a linked file frees only the name.
    let top = fs.lookup("/p/top.txt").unwrap();
    fs.link_at(top, d, "t", 6).unwrap();
    assert_eq!(fs.rmdir("/p/box/d", 6), Err(Errno::ENOTEMPTY));
    fs.unlink("/p/box/d/t", 6).unwrap();
    fs.rmdir("/p/box/d", 6).unwrap();
    assert_eq!(fs.metadata(top).unwrap().nlink, 1);
}

#[test]
fn creating_through_a_dangling_link_creates_its_target_beneath() {
    let (mut fs, base) = boxed();
    let d = fs.lookup("/p/box/d").unwrap();
    fs.symlink("/p/box/d/l", "../sub/new.txt", 2).unwrap();
    fs.symlink("/p/box/l2", "d/l", 2).unwrap();
    fs.symlink("/p/box/up", "../top2.txt", 2).unwrap();
    fs.symlink("/p/box/abs", "/p/x", 2).unwrap();
    fs.symlink("/p/box/loop", "loop", 2).unwrap();
    let sub = fs.lookup("/p/box/sub").unwrap();
    assert_eq!(
        fs.create_point_beneath(base, "d/l"),
        Ok((sub, String::from("new.txt")))
    );
    assert_eq!(
        fs.create_point_beneath(base, "l2"),
        Ok((sub, String::from("new.txt")))
    );
    assert_eq!(
        fs.create_point_beneath(base, "d/plain"),
        Ok((d, String::from("plain")))
    );
    assert_eq!(fs.create_point_beneath(base, "up"), Err(Errno::EXDEV));
    assert_eq!(fs.create_point_beneath(base, "abs"), Err(Errno::EXDEV));
    assert_eq!(fs.create_point_beneath(base, "loop"), Err(Errno::ELOOP));
    assert_eq!(
        fs.create_point_beneath(base, "d/inner.txt"),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.create_point_beneath(base, "d/new/"), Err(Errno::EISDIR));
    // From /p the climbing link stays inside and names /p/box/top2.txt's sibling.
    let p = fs.lookup("/p").unwrap();
    assert_eq!(
        fs.create_point_beneath(p, "box/up"),
        Ok((p, String::from("top2.txt")))
    );
}
