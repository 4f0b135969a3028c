use super::*;
use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec;
use more_asserts::{assert_gt, assert_le};

/// A tree used by many tests: /bin/ls (file "LS"), /etc (empty directory),
/// /home/user/notes (file "hi"). Symlinks are added by the tests themselves.
fn sample() -> MemFs {
    let mut fs = MemFs::new();
    fs.mkdir("/bin", 0o755, 1).unwrap();
    let ls = fs.create_file("/bin/ls", 0o755, 2).unwrap();
    fs.write_at(ls, 0, b"LS", 2).unwrap();
    fs.mkdir("/etc", 0o755, 3).unwrap();
    fs.mkdir_all("/home/user", 0o700, 4).unwrap();
    let notes = fs.create_file("/home/user/notes", 0o600, 5).unwrap();
    fs.write_at(notes, 0, b"hi", 5).unwrap();
    fs
}

fn kind_at(fs: &MemFs, path: &str) -> Result<NodeKind, Errno> {
    Ok(fs.metadata(fs.lookup_nofollow(path)?)?.kind)
}

fn names(fs: &MemFs, path: &str) -> Vec<String> {
    fs.readdir(fs.lookup(path).unwrap())
        .unwrap()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect()
}

// ----- normalize -----

#[test]
fn normalize_absolute_and_relative() {
    assert_eq!(normalize("/", "/").unwrap(), "/");
    assert_eq!(normalize("/home", "/etc/passwd").unwrap(), "/etc/passwd");
    assert_eq!(
        normalize("/home/user", "notes").unwrap(),
        "/home/user/notes"
    );
    assert_eq!(normalize("/home/user", ".").unwrap(), "/home/user");
    assert_eq!(normalize("/home/user", "..").unwrap(), "/home");
    assert_eq!(normalize("/home/user", "../../..").unwrap(), "/");
    assert_eq!(normalize("/", "..").unwrap(), "/");
    assert_eq!(normalize("/x", "/..").unwrap(), "/");
    assert_eq!(normalize("/x", "/../../a").unwrap(), "/a");
}

#[test]
fn normalized_borrows_normal_paths() {
    assert!(matches!(
        normalized("/x", "/etc/passwd"),
        Ok(Cow::Borrowed("/etc/passwd"))
    ));
    assert!(matches!(normalized("/x", "/"), Ok(Cow::Borrowed("/"))));
    assert_eq!(normalized("/x", "/etc//passwd/").unwrap(), "/etc/passwd");
    assert!(matches!(normalized("/x", "/etc/./p"), Ok(Cow::Owned(_))));
    assert_eq!(normalized("/x", "y").unwrap(), "/x/y");
    assert_eq!(normalized("/x", ""), Err(Errno::ENOENT));
}

#[test]
fn normalize_slashes_and_dots() {
    assert_eq!(normalize("/", "//a///b//").unwrap(), "/a/b");
    assert_eq!(normalize("/", "/a/./b/.").unwrap(), "/a/b");
    assert_eq!(normalize("/", "/a/b/../c/").unwrap(), "/a/c");
    assert_eq!(normalize("//cwd//", "./x").unwrap(), "/cwd/x");
    assert_eq!(normalize("/a/../b", "c").unwrap(), "/b/c");
    assert_eq!(normalize("/", "...").unwrap(), "/...");
    assert_eq!(normalize("/", ".hidden/..x").unwrap(), "/.hidden/..x");
}

#[test]
fn normalize_errors() {
    assert_eq!(normalize("/", ""), Err(Errno::ENOENT));
    assert_eq!(normalize("relative", "x"), Err(Errno::EINVAL));
    assert_eq!(normalize("", "x"), Err(Errno::EINVAL));
    // A relative cwd does not matter for an absolute path.
    assert_eq!(normalize("relative", "/x").unwrap(), "/x");
    let max = "n".repeat(NAME_MAX);
    let over = "n".repeat(NAME_MAX + 1);
    assert_eq!(normalize("/", &max).unwrap(), format!("/{max}"));
    assert_eq!(normalize("/", &over), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        normalize(&format!("/{over}"), "x"),
        Err(Errno::ENAMETOOLONG)
    );
    // A too-long component that `..` removes is still rejected.
    assert_eq!(
        normalize("/", &format!("{over}/..")),
        Err(Errno::ENAMETOOLONG)
    );
}

#[test]
fn normalize_path_max() {
    // 16 components of 255 bytes plus slashes: 4096 bytes exactly.
    let comp = "c".repeat(NAME_MAX);
    let exact: String = (0..16).map(|_| format!("/{comp}")).collect();
    assert_eq!(exact.len(), PATH_MAX);
    assert_eq!(normalize("/", &exact).unwrap(), exact);
    let too_long = format!("{exact}/");
    assert_eq!(normalize("/", &too_long), Err(Errno::ENAMETOOLONG));
    // The joined result may not exceed PATH_MAX either.
    assert_eq!(normalize(&exact, "x"), Err(Errno::ENAMETOOLONG));
}

// ----- lookup -----

#[test]
fn lookup_basics() {
    let fs = sample();
    assert_eq!(fs.lookup("/").unwrap(), fs.root());
    assert_eq!(fs.lookup("//").unwrap(), fs.root());
    let user = fs.lookup("/home/user").unwrap();
    assert_eq!(fs.lookup("/home//user/").unwrap(), user);
    assert_eq!(fs.lookup("/home/user/.").unwrap(), user);
    assert_eq!(fs.lookup("/home/user/../user/.").unwrap(), user);
    assert_eq!(fs.lookup("/..").unwrap(), fs.root());
    assert_eq!(fs.lookup("/home/../etc/../home/user").unwrap(), user);
    assert_eq!(
        &*fs.file_data(fs.lookup("/bin/ls").unwrap()).unwrap(),
        b"LS"
    );
}

#[test]
fn lookup_errors() {
    let fs = sample();
    assert_eq!(fs.lookup("/nope"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup("/home/nope/x"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup("/bin/ls/x"), Err(Errno::ENOTDIR));
    assert_eq!(fs.lookup("/bin/ls/."), Err(Errno::ENOTDIR));
    assert_eq!(fs.lookup("/bin/ls/.."), Err(Errno::ENOTDIR));
    assert_eq!(fs.lookup("bin"), Err(Errno::EINVAL));
    assert_eq!(fs.lookup(""), Err(Errno::EINVAL));
    let over = format!("/{}", "n".repeat(NAME_MAX + 1));
    assert_eq!(fs.lookup(&over), Err(Errno::ENAMETOOLONG));
    let long = "/a".repeat(PATH_MAX / 2 + 1);
    assert_eq!(fs.lookup(&long), Err(Errno::ENAMETOOLONG));
}

#[test]
fn symlinks_are_followed() {
    let mut fs = sample();
    fs.symlink("/abs", "/home/user", 6).unwrap();
    fs.symlink("/home/rel", "user/notes", 6).unwrap();
    fs.symlink("/chain", "/abs", 6).unwrap();
    fs.symlink("/rootlink", "/", 6).unwrap();
    let user = fs.lookup("/home/user").unwrap();
    let notes = fs.lookup("/home/user/notes").unwrap();
    assert_eq!(fs.lookup("/abs").unwrap(), user);
    assert_eq!(fs.lookup("/abs/notes").unwrap(), notes);
    assert_eq!(fs.lookup("/home/rel").unwrap(), notes);
    assert_eq!(fs.lookup("/chain/notes").unwrap(), notes);
    assert_eq!(fs.lookup("/rootlink").unwrap(), fs.root());
    assert_eq!(
        fs.lookup("/rootlink/bin/ls").unwrap(),
        fs.lookup("/bin/ls").unwrap()
    );
    // `..` after a symlink is physical: /abs/.. is /home, not /.
    assert_eq!(fs.lookup("/abs/..").unwrap(), fs.lookup("/home").unwrap());
    // A relative target with `..` is resolved from the link's directory.
    fs.symlink("/home/user/up", "../../bin/ls", 7).unwrap();
    assert_eq!(
        fs.lookup("/home/user/up").unwrap(),
        fs.lookup("/bin/ls").unwrap()
    );
}

#[test]
fn lookup_nofollow_stops_at_last_link_only() {
    let mut fs = sample();
    let link = fs.symlink("/abs", "/home/user", 6).unwrap();
    let dangling = fs.symlink("/dangling", "/nowhere", 6).unwrap();
    assert_eq!(fs.lookup_nofollow("/abs").unwrap(), link);
    assert_eq!(
        fs.lookup_nofollow("/abs/notes").unwrap(),
        fs.lookup("/home/user/notes").unwrap()
    );
    assert_eq!(fs.lookup_nofollow("/dangling").unwrap(), dangling);
    assert_eq!(fs.lookup("/dangling"), Err(Errno::ENOENT));
    // Link to a file used as a directory.
    fs.symlink("/lsl", "/bin/ls", 6).unwrap();
    assert_eq!(fs.lookup("/lsl/x"), Err(Errno::ENOTDIR));
}

#[test]
fn symlink_loops_give_too_many_links() {
    let mut fs = MemFs::new();
    fs.symlink("/self", "/self", 0).unwrap();
    fs.symlink("/a", "b", 0).unwrap();
    fs.symlink("/b", "a", 0).unwrap();
    assert_eq!(fs.lookup("/self"), Err(Errno::ELOOP));
    assert_eq!(fs.lookup("/a"), Err(Errno::ELOOP));
    assert_eq!(fs.lookup("/a/x"), Err(Errno::ELOOP));
    assert!(fs.lookup_nofollow("/a").is_ok());
    assert_eq!(fs.lookup_nofollow("/a/x"), Err(Errno::ELOOP));
    assert_eq!(fs.mkdir("/self/x", 0o755, 0), Err(Errno::ELOOP));
}

#[test]
fn symlink_chain_limit_is_exactly_symloop_max() {
    let mut fs = MemFs::new();
    let target = fs.create_file("/l0", 0o644, 0).unwrap();
    for i in 1..=SYMLOOP_MAX + 1 {
        fs.symlink(&format!("/l{i}"), &format!("l{}", i - 1), 0)
            .unwrap();
    }
    assert_eq!(fs.lookup(&format!("/l{SYMLOOP_MAX}")).unwrap(), target);
    assert_eq!(
        fs.lookup(&format!("/l{}", SYMLOOP_MAX + 1)),
        Err(Errno::ELOOP)
    );
}

// ----- creation -----

#[test]
fn mkdir_creates_and_sets_metadata() {
    let mut fs = MemFs::new();
    let d = fs.mkdir("/d", 0o40_750, 100).unwrap();
    let m = fs.metadata(d).unwrap();
    assert_eq!(m.kind, NodeKind::Directory);
    assert_eq!(m.mode, 0o750);
    assert_eq!((m.created, m.modified, m.accessed), (100, 100, 100));
    assert_eq!(m.size, 0);
    assert_eq!(m.nlink, 2);
    assert_eq!(fs.metadata(fs.root()).unwrap().modified, 100);
    assert_eq!(fs.metadata(fs.root()).unwrap().nlink, 3);
    assert_eq!(fs.parent(d).unwrap(), fs.root());
    assert_eq!(fs.parent(fs.root()).unwrap(), fs.root());
}

#[test]
fn mkdir_errors() {
    let mut fs = sample();
    assert_eq!(fs.mkdir("/bin", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir("/bin/ls", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir("/", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir("/bin/.", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir("/bin/..", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir("/x/y", 0o755, 0), Err(Errno::ENOENT));
    assert_eq!(fs.mkdir("/bin/ls/y", 0o755, 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.mkdir("rel", 0o755, 0), Err(Errno::EINVAL));
    assert_eq!(fs.mkdir("/a\0b", 0o755, 0), Err(Errno::EINVAL));
    let over = format!("/{}", "n".repeat(NAME_MAX + 1));
    assert_eq!(fs.mkdir(&over, 0o755, 0), Err(Errno::ENAMETOOLONG));
    let max = format!("/{}", "n".repeat(NAME_MAX));
    assert!(fs.mkdir(&max, 0o755, 0).is_ok());
}

#[test]
fn mkdir_through_symlinked_parent() {
    let mut fs = sample();
    fs.symlink("/h", "/home/user", 0).unwrap();
    let d = fs.mkdir("/h/docs", 0o755, 0).unwrap();
    assert_eq!(fs.lookup("/home/user/docs").unwrap(), d);
    assert_eq!(fs.parent(d).unwrap(), fs.lookup("/home/user").unwrap());
}

#[test]
fn mkdir_all_behaviour() {
    let mut fs = sample();
    let c = fs.mkdir_all("/a//b/c/", 0o711, 9).unwrap();
    assert_eq!(fs.lookup("/a/b/c").unwrap(), c);
    assert_eq!(fs.metadata(fs.lookup("/a/b").unwrap()).unwrap().mode, 0o711);
    assert_eq!(fs.mkdir_all("/a/b/c", 0o755, 10).unwrap(), c);
    assert_eq!(fs.mkdir_all("/", 0o755, 10).unwrap(), fs.root());
    let user = fs.lookup("/home/user").unwrap();
    assert_eq!(fs.mkdir_all("/home/user", 0o755, 0).unwrap(), user);
    assert_eq!(fs.mkdir_all("/bin/ls", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir_all("/bin/ls/x/y", 0o755, 0), Err(Errno::ENOTDIR));
    fs.symlink("/u", "/home/user", 0).unwrap();
    let deep = fs.mkdir_all("/u/x/y", 0o755, 0).unwrap();
    assert_eq!(fs.lookup("/home/user/x/y").unwrap(), deep);
    assert_eq!(fs.mkdir_all("rel/x", 0o755, 0), Err(Errno::EINVAL));
}

#[test]
fn create_file_behaviour() {
    let mut fs = sample();
    let f = fs.create_file("/etc/motd", 0o100_644, 42).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!(m.kind, NodeKind::File);
    assert_eq!((m.mode, m.size, m.nlink), (0o644, 0, 1));
    assert_eq!((m.created, m.modified, m.accessed), (42, 42, 42));
    assert_eq!(
        fs.metadata(fs.lookup("/etc").unwrap()).unwrap().modified,
        42
    );
    assert_eq!(fs.create_file("/etc/motd", 0o644, 0), Err(Errno::EEXIST));
    assert_eq!(fs.create_file("/etc", 0o644, 0), Err(Errno::EEXIST));
    assert_eq!(fs.create_file("/", 0o644, 0), Err(Errno::EEXIST));
    fs.symlink("/dangling", "/nowhere", 0).unwrap();
    assert_eq!(fs.create_file("/dangling", 0o644, 0), Err(Errno::EEXIST));
    assert_eq!(fs.lookup("/nowhere"), Err(Errno::ENOENT));
    assert_eq!(fs.create_file("/no/f", 0o644, 0), Err(Errno::ENOENT));
    assert_eq!(fs.create_file("/bin/ls/f", 0o644, 0), Err(Errno::ENOTDIR));
}

#[test]
fn symlink_behaviour() {
    let mut fs = sample();
    let l = fs.symlink("/bin/sh", "ls", 8).unwrap();
    assert_eq!(fs.readlink(l).unwrap(), "ls");
    let m = fs.metadata(l).unwrap();
    assert_eq!(
        (m.kind, m.size, m.mode, m.nlink),
        (NodeKind::Symlink, 2, 0o777, 1)
    );
    assert_eq!(fs.symlink("/bin/sh", "x", 0), Err(Errno::EEXIST));
    assert_eq!(fs.symlink("/bin/e", "", 0), Err(Errno::ENOENT));
    let long = "t".repeat(PATH_MAX + 1);
    assert_eq!(fs.symlink("/bin/e", &long, 0), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        fs.readlink(fs.lookup("/bin/ls").unwrap()),
        Err(Errno::EINVAL)
    );
    assert_eq!(fs.readlink(fs.root()), Err(Errno::EINVAL));
    assert_eq!(fs.file_data(l).as_deref(), Err(&Errno::EINVAL));
    assert_eq!(fs.readdir(l), Err(Errno::ENOTDIR));
}

// ----- file contents -----

#[test]
fn read_and_write() {
    let mut fs = MemFs::new();
    let f = fs.create_file("/f", 0o644, 1).unwrap();
    assert_eq!(fs.write_at(f, 0, b"hello world", 2).unwrap(), 11);
    assert_eq!(fs.write_at(f, 6, b"WORLD!", 3).unwrap(), 6);
    assert_eq!(&*fs.file_data(f).unwrap(), b"hello WORLD!");
    let mut buf = [0u8; 5];
    assert_eq!(fs.read_at(f, 0, &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"hello");
    assert_eq!(fs.read_at(f, 9, &mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"LD!");
    assert_eq!(fs.read_at(f, 12, &mut buf).unwrap(), 0);
    assert_eq!(fs.read_at(f, u64::MAX, &mut buf).unwrap(), 0);
    assert_eq!(fs.read_at(f, 0, &mut []).unwrap(), 0);
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.created, m.modified), (12, 1, 3));
}

#[test]
fn write_past_end_zero_fills_gap() {
    let mut fs = MemFs::new();
    let f = fs.create_file("/f", 0o644, 0).unwrap();
    fs.write_at(f, 0, b"ab", 0).unwrap();
    fs.write_at(f, 6, b"cd", 0).unwrap();
    assert_eq!(&*fs.file_data(f).unwrap(), b"ab\0\0\0\0cd");
    // An empty write past the end changes nothing.
    assert_eq!(fs.write_at(f, 100, b"", 5).unwrap(), 0);
    assert_eq!(fs.metadata(f).unwrap().size, 8);
    assert_eq!(fs.metadata(f).unwrap().modified, 0);
}

#[test]
fn write_and_read_errors() {
    let mut fs = sample();
    let dir = fs.lookup("/bin").unwrap();
    let link = fs.symlink("/l", "/bin/ls", 0).unwrap();
    let f = fs.lookup("/bin/ls").unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(fs.write_at(dir, 0, b"x", 0), Err(Errno::EISDIR));
    assert_eq!(fs.read_at(dir, 0, &mut buf), Err(Errno::EISDIR));
    assert_eq!(fs.file_data(dir).as_deref(), Err(&Errno::EISDIR));
    assert_eq!(fs.write_at(link, 0, b"x", 0), Err(Errno::EINVAL));
    assert_eq!(fs.read_at(link, 0, &mut buf), Err(Errno::EINVAL));
    assert_eq!(fs.write_at(f, u64::MAX, b"x", 0), Err(Errno::ENOSPC));
    assert_eq!(
        fs.write_at(f, isize::MAX as u64, b"x", 0),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.truncate(f, u64::MAX, 0), Err(Errno::ENOSPC));
    assert_eq!(&*fs.file_data(f).unwrap(), b"LS");
}

#[test]
fn truncate_behaviour() {
    let mut fs = MemFs::new();
    let f = fs.create_file("/f", 0o644, 0).unwrap();
    fs.write_at(f, 0, &[7u8; 1000], 0).unwrap();
    fs.truncate(f, 3, 5).unwrap();
    assert_eq!(&*fs.file_data(f).unwrap(), [7, 7, 7]);
    assert_eq!(fs.metadata(f).unwrap().modified, 5);
    fs.truncate(f, 6, 6).unwrap();
    assert_eq!(&*fs.file_data(f).unwrap(), [7, 7, 7, 0, 0, 0]);
    fs.truncate(f, 0, 7).unwrap();
    assert_eq!(&*fs.file_data(f).unwrap(), b"");
    assert_eq!(fs.truncate(fs.root(), 0, 0), Err(Errno::EISDIR));
    let l = fs.symlink("/l", "f", 0).unwrap();
    assert_eq!(fs.truncate(l, 0, 0), Err(Errno::EINVAL));
}

// ----- directories and metadata -----

#[test]
fn readdir_is_sorted_without_dots() {
    let mut fs = MemFs::new();
    for name in ["zeta", "alpha", "Mid", "beta"] {
        fs.create_file(&format!("/{name}"), 0o644, 0).unwrap();
    }
    fs.mkdir("/dir", 0o755, 0).unwrap();
    fs.symlink("/link", "alpha", 0).unwrap();
    let entries = fs.readdir(fs.root()).unwrap();
    let got: Vec<(&str, NodeKind)> = entries.iter().map(|e| (&*e.name, e.kind)).collect();
    assert_eq!(
        got,
        [
            ("Mid", NodeKind::File),
            ("alpha", NodeKind::File),
            ("beta", NodeKind::File),
            ("dir", NodeKind::Directory),
            ("link", NodeKind::Symlink),
            ("zeta", NodeKind::File),
        ]
    );
    for e in &entries {
        assert_eq!(fs.lookup_nofollow(&format!("/{}", e.name)).unwrap(), e.node);
    }
    assert_eq!(fs.readdir(fs.lookup("/dir").unwrap()).unwrap(), vec![]);
    assert_eq!(fs.readdir(fs.lookup("/zeta").unwrap()), Err(Errno::ENOTDIR));
    assert_eq!(fs.metadata(fs.root()).unwrap().size, 6);
    assert_eq!(fs.metadata(fs.root()).unwrap().nlink, 3);
}

#[test]
fn set_mode_and_times() {
    let mut fs = sample();
    let f = fs.lookup("/bin/ls").unwrap();
    fs.set_mode(f, 0o170_4711).unwrap();
    assert_eq!(fs.metadata(f).unwrap().mode, 0o4711);
    fs.set_times(f, Some(50), None).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.accessed, m.modified, m.created), (50, 2, 2));
    fs.set_times(f, None, Some(60)).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.accessed, m.modified), (50, 60));
    fs.set_mode(fs.root(), 0o700).unwrap();
    assert_eq!(fs.metadata(fs.root()).unwrap().mode, 0o700);
}

// ----- removal -----

#[test]
fn unlink_files_and_symlinks() {
    let mut fs = sample();
    let before = fs.node_count();
    fs.symlink("/l", "/bin/ls", 0).unwrap();
    fs.unlink("/l", 11).unwrap();
    assert_eq!(kind_at(&fs, "/bin/ls").unwrap(), NodeKind::File);
    let ls = fs.lookup("/bin/ls").unwrap();
    fs.unlink("/bin/ls", 12).unwrap();
    assert_eq!(fs.lookup("/bin/ls"), Err(Errno::ENOENT));
    assert_eq!(fs.metadata(ls), Err(Errno::ENOENT));
    assert_eq!(fs.file_data(ls).as_deref(), Err(&Errno::ENOENT));
    assert_eq!(
        fs.metadata(fs.lookup("/bin").unwrap()).unwrap().modified,
        12
    );
    assert_eq!(fs.node_count(), before - 1);
    // Unlinking a symlink to a directory removes the link only.
    fs.symlink("/hl", "/home", 0).unwrap();
    fs.unlink("/hl", 0).unwrap();
    assert!(fs.lookup("/home/user").is_ok());
}

#[test]
fn unlink_errors() {
    let mut fs = sample();
    assert_eq!(fs.unlink("/bin", 0), Err(Errno::EISDIR));
    assert_eq!(fs.unlink("/", 0), Err(Errno::EISDIR));
    assert_eq!(fs.unlink("/bin/..", 0), Err(Errno::EISDIR));
    assert_eq!(fs.unlink("/bin/nope", 0), Err(Errno::ENOENT));
    assert_eq!(fs.unlink("/nope/x", 0), Err(Errno::ENOENT));
    assert_eq!(fs.unlink("/bin/ls/x", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.unlink("bin/ls", 0), Err(Errno::EINVAL));
    // The directory refused stays as it was: named, counted, unchanged.
    assert_eq!(names(&fs, "/"), ["bin", "etc", "home"]);
    assert_eq!(kind_at(&fs, "/bin/ls").unwrap(), NodeKind::File);
    let root = fs.metadata(fs.root()).unwrap();
    assert_eq!((root.nlink, root.modified), (5, 4));
    fs.unlink("/bin/ls", 9).unwrap();
    fs.rmdir("/bin", 9).unwrap();
    assert_eq!(names(&fs, "/"), ["etc", "home"]);
}

#[test]
fn lookup_or_create_file_behaviour() {
    let mut fs = sample();
    let ls = fs.lookup("/bin/ls").unwrap();
    assert_eq!(
        fs.lookup_or_create_file("/bin/ls", 0o644, 7),
        Ok((ls, false))
    );
    let count = fs.node_count();
    let (new, created) = fs
        .lookup_or_create_file("/etc/motd", 0o100_640, 42)
        .unwrap();
    assert!(created);
    assert_eq!(fs.lookup("/etc/motd"), Ok(new));
    assert_eq!(fs.node_count(), count + 1);
    let m = fs.metadata(new).unwrap();
    assert_eq!(
        (m.kind, m.mode, m.size, m.created),
        (NodeKind::File, 0o640, 0, 42)
    );
    assert_eq!(
        fs.metadata(fs.lookup("/etc").unwrap()).unwrap().modified,
        42
    );
    assert_eq!(
        fs.lookup_or_create_file("/etc/motd", 0o644, 43),
        Ok((new, false))
    );
    // Directories, the root and dot components resolve to what they name.
    let etc = fs.lookup("/etc").unwrap();
    assert_eq!(fs.lookup_or_create_file("/etc", 0o644, 0), Ok((etc, false)));
    assert_eq!(
        fs.lookup_or_create_file("/etc/.", 0o644, 0),
        Ok((etc, false))
    );
    assert_eq!(
        fs.lookup_or_create_file("/", 0o644, 0),
        Ok((fs.root(), false))
    );
    // A symbolic link is followed; a dangling one is a taken name.
    fs.symlink("/l", "/bin/ls", 0).unwrap();
    assert_eq!(fs.lookup_or_create_file("/l", 0o644, 0), Ok((ls, false)));
    fs.symlink("/dangling", "/nowhere", 0).unwrap();
    assert_eq!(
        fs.lookup_or_create_file("/dangling", 0o644, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.lookup("/nowhere"), Err(Errno::ENOENT));
    fs.symlink("/loop", "/loop", 0).unwrap();
    assert_eq!(
        fs.lookup_or_create_file("/loop", 0o644, 0),
        Err(Errno::ELOOP)
    );
    // Through a link to a directory.
    fs.symlink("/h", "/home/user", 0).unwrap();
    let (x, created) = fs.lookup_or_create_file("/h/x", 0o644, 0).unwrap();
    assert!(created);
    assert_eq!(fs.lookup("/home/user/x"), Ok(x));
    for (path, error) in [
        ("/no/f", Errno::ENOENT),
        ("/bin/ls/f", Errno::ENOTDIR),
        ("rel", Errno::EINVAL),
        ("/etc/a\0b", Errno::EINVAL),
    ] {
        assert_eq!(
            fs.lookup_or_create_file(path, 0o644, 0),
            Err(error),
            "{path}"
        );
    }
}

#[test]
fn rmdir_behaviour() {
    let mut fs = sample();
    let etc = fs.lookup("/etc").unwrap();
    let count = fs.node_count();
    fs.rmdir("/etc/", 20).unwrap();
    assert_eq!(fs.lookup("/etc"), Err(Errno::ENOENT));
    assert_eq!(fs.readdir(etc), Err(Errno::ENOENT));
    assert_eq!(fs.node_count(), count - 1);
    assert_eq!(fs.metadata(fs.root()).unwrap().modified, 20);
    assert_eq!(fs.rmdir("/home", 0), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rmdir("/bin/ls", 0), Err(Errno::ENOTDIR));
    fs.symlink("/hl", "/home/user", 0).unwrap();
    assert_eq!(fs.rmdir("/hl", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rmdir("/", 0), Err(Errno::EBUSY));
    assert_eq!(fs.rmdir("//", 0), Err(Errno::EBUSY));
    assert_eq!(fs.rmdir("/home/user/..", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rmdir("/home/.", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rmdir("/etc", 0), Err(Errno::ENOENT));
    // Removing bottom-up works.
    fs.unlink("/home/user/notes", 0).unwrap();
    fs.rmdir("/home/user", 0).unwrap();
    fs.rmdir("/home", 0).unwrap();
    assert_eq!(names(&fs, "/"), ["bin", "hl"]);
}

#[test]
fn freed_slots_are_reused_and_stale_ids_rejected() {
    let mut fs = MemFs::new();
    let a = fs.create_file("/a", 0o644, 0).unwrap();
    fs.unlink("/a", 0).unwrap();
    let b = fs.mkdir("/b", 0o755, 0).unwrap();
    assert_eq!(a.index(), b.index());
    assert_ne!(a, b);
    assert_eq!(fs.metadata(a), Err(Errno::ENOENT));
    assert_eq!(fs.metadata(b).unwrap().kind, NodeKind::Directory);
    assert_eq!(fs.node_count(), 2);
    // Many create/remove cycles do not grow the slab.
    for i in 0..1000 {
        let f = fs.create_file("/tmp", 0o644, i).unwrap();
        fs.write_at(f, 0, b"data", i).unwrap();
        fs.unlink("/tmp", i).unwrap();
    }
    assert_eq!(fs.node_count(), 2);
    assert_le!(fs.slots.len(), 3);
}

// ----- rename -----

#[test]
fn rename_file_and_replace() {
    let mut fs = sample();
    let ls = fs.lookup("/bin/ls").unwrap();
    fs.rename("/bin/ls", "/etc/list", 30).unwrap();
    assert_eq!(fs.lookup("/etc/list").unwrap(), ls);
    assert_eq!(fs.lookup("/bin/ls"), Err(Errno::ENOENT));
    assert_eq!(
        fs.metadata(fs.lookup("/bin").unwrap()).unwrap().modified,
        30
    );
    assert_eq!(
        fs.metadata(fs.lookup("/etc").unwrap()).unwrap().modified,
        30
    );
    // Replacing an existing file frees it.
    let count = fs.node_count();
    let notes = fs.lookup("/home/user/notes").unwrap();
    fs.rename("/etc/list", "/home/user/notes", 31).unwrap();
    assert_eq!(fs.lookup("/home/user/notes").unwrap(), ls);
    assert_eq!(fs.metadata(notes), Err(Errno::ENOENT));
    assert_eq!(fs.node_count(), count - 1);
    assert_eq!(names(&fs, "/etc"), Vec::<String>::new());
    // Onto itself: nothing happens.
    fs.rename("/home/user/notes", "/home/./user/notes", 32)
        .unwrap();
    assert_eq!(fs.lookup("/home/user/notes").unwrap(), ls);
}

#[test]
fn rename_symlink_is_not_followed() {
    let mut fs = sample();
    let link = fs.symlink("/l", "/home/user", 0).unwrap();
    fs.rename("/l", "/m", 0).unwrap();
    assert_eq!(fs.lookup_nofollow("/m").unwrap(), link);
    assert_eq!(kind_at(&fs, "/home/user").unwrap(), NodeKind::Directory);
    // A symlink at the destination is replaced, not its target.
    fs.rename("/bin/ls", "/m", 0).unwrap();
    assert_eq!(kind_at(&fs, "/m").unwrap(), NodeKind::File);
    assert_eq!(kind_at(&fs, "/home/user").unwrap(), NodeKind::Directory);
}

#[test]
fn rename_directory_moves_subtree_and_parent_link() {
    let mut fs = sample();
    let user = fs.lookup("/home/user").unwrap();
    fs.mkdir("/srv", 0o755, 0).unwrap();
    fs.rename("/home/user", "/srv/u", 40).unwrap();
    assert_eq!(fs.lookup("/srv/u").unwrap(), user);
    assert_eq!(
        &*fs.file_data(fs.lookup("/srv/u/notes").unwrap()).unwrap(),
        b"hi"
    );
    assert_eq!(fs.parent(user).unwrap(), fs.lookup("/srv").unwrap());
    assert_eq!(fs.lookup("/srv/u/..").unwrap(), fs.lookup("/srv").unwrap());
    assert_eq!(fs.metadata(fs.lookup("/srv").unwrap()).unwrap().nlink, 3);
    assert_eq!(fs.metadata(fs.lookup("/home").unwrap()).unwrap().nlink, 2);
    // Onto an empty directory: replaces it.
    let etc = fs.lookup("/etc").unwrap();
    fs.rename("/srv/u", "/etc", 41).unwrap();
    assert_eq!(fs.lookup("/etc").unwrap(), user);
    assert_eq!(fs.metadata(etc), Err(Errno::ENOENT));
    assert_eq!(fs.parent(user).unwrap(), fs.root());
}

#[test]
fn rename_errors() {
    let mut fs = sample();
    fs.mkdir("/empty", 0o755, 0).unwrap();
    assert_eq!(fs.rename("/home", "/bin", 0), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rename("/empty", "/bin/ls", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rename("/bin/ls", "/empty", 0), Err(Errno::EISDIR));
    assert_eq!(fs.rename("/home", "/home/user/h", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename("/home", "/home/h", 0), Err(Errno::EINVAL));
    // Through a symlink into its own subtree is caught too.
    fs.symlink("/hu", "/home/user", 0).unwrap();
    assert_eq!(fs.rename("/home", "/hu/x", 0), Err(Errno::EINVAL));
    // Onto its non-empty ancestor.
    assert_eq!(fs.rename("/home/user", "/home", 0), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rename("/", "/x", 0), Err(Errno::EBUSY));
    assert_eq!(fs.rename("/empty", "/", 0), Err(Errno::EBUSY));
    assert_eq!(fs.rename("/home/.", "/x", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename("/empty", "/bin/..", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename("/nope", "/x", 0), Err(Errno::ENOENT));
    assert_eq!(fs.rename("/empty", "/nope/x", 0), Err(Errno::ENOENT));
    assert_eq!(fs.rename("/empty", "/bin/ls/x", 0), Err(Errno::ENOTDIR));
    assert_eq!(fs.rename("/empty", "/a\0", 0), Err(Errno::EINVAL));
    assert_eq!(fs.rename("empty", "/x", 0), Err(Errno::EINVAL));
    // Nothing moved.
    assert_eq!(names(&fs, "/"), ["bin", "empty", "etc", "home", "hu"]);
    assert_eq!(names(&fs, "/home/user"), ["notes"]);
}

// ----- stress -----

/// Deterministic xorshift64 generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the model expects at a path: `None` for a directory, file bytes otherwise.
type Model = BTreeMap<String, Option<Vec<u8>>>;

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn is_below(path: &str, dir: &str) -> bool {
    dir == "/" || path.starts_with(&format!("{dir}/"))
}

fn has_children(model: &Model, dir: &str) -> bool {
    model.keys().any(|p| p != dir && is_below(p, dir))
}

/// Random mkdir/create/write/unlink/rmdir/rename against a simple model,
/// checking every result and then the whole tree.
#[test]
fn random_operations_match_a_model() {
    let mut fs = MemFs::new();
    let mut model: Model = BTreeMap::new();
    model.insert("/".to_string(), None);
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let names = ["a", "b", "c", "dd", "e"];
    for step in 0..6000u64 {
        let now = step as i64;
        let dirs: Vec<String> = model
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let all: Vec<String> = model.keys().cloned().collect();
        let dir = dirs[rng.below(dirs.len())].clone();
        let new_path = join(&dir, names[rng.below(names.len())]);
        let existing = all[rng.below(all.len())].clone();
        match rng.below(6) {
            0 => {
                let expect = if model.contains_key(&new_path) {
                    Err(Errno::EEXIST)
                } else {
                    Ok(())
                };
                assert_eq!(fs.mkdir(&new_path, 0o755, now).map(|_| ()), expect);
                if expect.is_ok() {
                    model.insert(new_path, None);
                }
            }
            1 => {
                let expect = if model.contains_key(&new_path) {
                    Err(Errno::EEXIST)
                } else {
                    Ok(())
                };
                let got = fs.create_file(&new_path, 0o644, now);
                assert_eq!(got.map(|_| ()), expect);
                if let Ok(id) = got {
                    let len = rng.below(40);
                    let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    fs.write_at(id, 0, &data, now).unwrap();
                    model.insert(new_path, Some(data));
                }
            }
            2 => {
                let expect = match model[&existing] {
                    None => Err(Errno::EISDIR),
                    Some(_) => Ok(()),
                };
                assert_eq!(fs.unlink(&existing, now), expect);
                if expect.is_ok() {
                    model.remove(&existing);
                }
            }
            3 => {
                let expect = if existing == "/" {
                    Err(Errno::EBUSY)
                } else if model[&existing].is_some() {
                    Err(Errno::ENOTDIR)
                } else if has_children(&model, &existing) {
                    Err(Errno::ENOTEMPTY)
                } else {
                    Ok(())
                };
                assert_eq!(fs.rmdir(&existing, now), expect, "rmdir {existing}");
                if expect.is_ok() {
                    model.remove(&existing);
                }
            }
            4 => {
                let src = existing;
                let dst = new_path;
                let src_is_dir = model[&src].is_none();
                let expect = if src == "/" {
                    Err(Errno::EBUSY)
                } else if src_is_dir && is_below(&dst, &src) {
                    Err(Errno::EINVAL)
                } else if src == dst {
                    Ok(())
                } else {
                    match model.get(&dst) {
                        None => Ok(()),
                        Some(None) if !src_is_dir => Err(Errno::EISDIR),
                        Some(Some(_)) if src_is_dir => Err(Errno::ENOTDIR),
                        Some(None) if has_children(&model, &dst) => Err(Errno::ENOTEMPTY),
                        Some(_) => Ok(()),
                    }
                };
                assert_eq!(fs.rename(&src, &dst, now), expect, "rename {src} {dst}");
                if expect.is_ok() && src != dst {
                    model.remove(&dst);
                    let moved: Vec<String> = model
                        .keys()
                        .filter(|p| **p == src || is_below(p, &src))
                        .cloned()
                        .collect();
                    for old in moved {
                        let value = model.remove(&old).unwrap();
                        model.insert(format!("{dst}{}", &old[src.len()..]), value);
                    }
                }
            }
            _ => {
                // Overwrite part of an existing file.
                if let Some(Some(data)) = model.get_mut(&existing) {
                    let id = fs.lookup(&existing).unwrap();
                    let offset = rng.below(data.len() + 8);
                    let patch = [step as u8; 3];
                    fs.write_at(id, offset as u64, &patch, now).unwrap();
                    if data.len() < offset + 3 {
                        data.resize(offset + 3, 0);
                    }
                    data[offset..offset + 3].copy_from_slice(&patch);
                }
            }
        }
    }

    // The whole tree matches the model, and no node leaked.
    assert!(model.len() > 20, "the stress test should build a real tree");
    assert_eq!(fs.node_count(), model.len());
    for (path, value) in &model {
        let id = fs.lookup(path).unwrap();
        match value {
            Some(data) => assert_eq!(&*fs.file_data(id).unwrap(), &data[..], "{path}"),
            None => {
                let listed: Vec<String> = fs
                    .readdir(id)
                    .unwrap()
                    .into_iter()
                    .map(|e| e.name.to_string())
                    .collect();
                let expected: Vec<String> = model
                    .keys()
                    .filter(|p| {
                        *p != path
                            && is_below(p, path)
                            && !p[path.len()..].trim_start_matches('/').contains('/')
                    })
                    .map(|p| p.rsplit('/').next().unwrap().to_string())
                    .collect();
                assert_eq!(listed, expected, "{path}");
                if path != "/" {
                    let parent_path = &path[..path.rfind('/').unwrap().max(1)];
                    assert_eq!(fs.parent(id).unwrap(), fs.lookup(parent_path).unwrap());
                }
            }
        }
    }
}

#[test]
fn deep_and_wide_tree() {
    let mut fs = MemFs::new();
    // 100 levels deep.
    let mut path = String::new();
    for i in 0..100 {
        path.push_str(&format!("/d{i}"));
    }
    let leaf = fs.mkdir_all(&path, 0o755, 0).unwrap();
    assert_eq!(fs.lookup(&path).unwrap(), leaf);
    let mut up = path.clone();
    up.push_str(&"/..".repeat(100));
    assert_eq!(fs.lookup(&up).unwrap(), fs.root());
    // 2000 entries in one directory.
    for i in 0..2000 {
        fs.create_file(&format!("/d0/f{i:04}"), 0o644, 0).unwrap();
    }
    let entries = fs.readdir(fs.lookup("/d0").unwrap()).unwrap();
    assert_eq!(entries.len(), 2001);
    assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
    assert_eq!(fs.node_count(), 1 + 100 + 2000);
    // Tear it all down.
    for i in 0..2000 {
        fs.unlink(&format!("/d0/f{i:04}"), 0).unwrap();
    }
    while !path.is_empty() {
        fs.rmdir(&path, 0).unwrap();
        path.truncate(path.rfind('/').unwrap());
    }
    assert_eq!(fs.node_count(), 1);
    assert_eq!(fs.readdir(fs.root()).unwrap(), vec![]);
}

#[test]
fn byte_limit_gives_enospc_and_removal_gives_it_back() {
    let mut fs = MemFs::new();
    let empty = fs.byte_usage().0;
    fs.set_byte_limit(empty + 3 * NODE_COST + 100_000);
    fs.mkdir("/d", 0o755, 0).unwrap();
    let f = fs.create_file("/d/y", 0o644, 0).unwrap();
    // Appending 4 KiB at a time, as `yes > /d/y` does, until the budget says no.
    let chunk = [b'y'; 4096];
    let mut written = 0u64;
    loop {
        match fs.write_at(f, written, &chunk, 0) {
            Ok(n) => written += n as u64,
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                break;
            }
        }
    }
    // Doubling growth stops at the budget, which the file then nearly fills.
    let (used, limit) = fs.byte_usage();
    assert_le!(used, limit);
    assert_gt!(written, 90_000);
    assert_le!(written, 100_000);
    assert_eq!(fs.metadata(f).unwrap().size, written);
    // A failed write changed nothing; a new node does not fit either.
    assert_eq!(fs.byte_usage().0, used);
    assert!(fs.write_at(f, written, &[1; 50_000], 0).is_err());
    assert_eq!(fs.metadata(f).unwrap().size, written);
    // Extending with a hole takes no memory; giving the hole memory does not fit.
    assert_eq!(fs.truncate(f, written + 50_000, 0), Ok(()));
    assert_eq!(fs.byte_usage().0, used);
    assert_eq!(
        fs.allocate(f, written + 50_000, true, 0),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.byte_usage().0, used);
    // Removing the file gives everything back.
    fs.unlink("/d/y", 0).unwrap();
    assert_eq!(fs.byte_usage().0, empty + NODE_COST);
    fs.rmdir("/d", 0).unwrap();
    assert_eq!(fs.byte_usage().0, empty);
    // Nodes and symlink targets count too.
    fs.set_byte_limit(empty + 2 * NODE_COST + 10);
    fs.symlink("/l", "0123456789", 0).unwrap();
    assert_eq!(fs.symlink("/m", "x", 0), Err(Errno::ENOSPC));
    assert_eq!(fs.create_file("/n", 0o644, 0).map(|_| ()), Ok(()));
    assert_eq!(
        fs.create_file("/o", 0o644, 0).map(|_| ()),
        Err(Errno::ENOSPC)
    );
}

#[test]
fn truncate_and_rename_keep_the_count() {
    let mut fs = MemFs::new();
    let empty = fs.byte_usage().0;
    let a = fs.create_file("/a", 0o644, 0).unwrap();
    fs.write_at(a, 0, &[1; 10_000], 0).unwrap();
    fs.truncate(a, 10, 0).unwrap();
    let b = fs.create_file("/b", 0o644, 0).unwrap();
    fs.truncate(b, 5000, 0).unwrap();
    // Renaming over a file frees the one replaced.
    fs.rename("/a", "/b", 0).unwrap();
    fs.unlink("/b", 0).unwrap();
    assert_eq!(fs.byte_usage().0, empty);
}

#[test]
fn an_open_file_outlives_its_last_name() {
    let mut fs = sample();
    let (used_before, _) = fs.byte_usage();
    let node = fs.create_file("/etc/tmpfile", 0o600, 7).unwrap();
    fs.hold(node).unwrap();
    fs.unlink("/etc/tmpfile", 8).unwrap();
    assert_eq!(fs.lookup("/etc/tmpfile"), Err(Errno::ENOENT));
    // Still readable and writable through the open description, with no names.
    assert_eq!(fs.write_at(node, 0, b"kept", 9), Ok(4));
    let mut buf = [0u8; 4];
    assert_eq!(fs.read_at(node, 0, &mut buf), Ok(4));
    assert_eq!(&buf, b"kept");
    assert_eq!(fs.metadata(node).unwrap().nlink, 0);
    // A second open, then both closed: freed with the last, its bytes given back.
    fs.hold(node).unwrap();
    fs.release(node);
    assert!(fs.metadata(node).is_ok());
    fs.release(node);
    assert_eq!(fs.metadata(node), Err(Errno::ENOENT));
    assert_eq!(fs.byte_usage().0, used_before);
}

#[test]
fn a_file_replaced_by_rename_lives_while_open() {
    let mut fs = sample();
    let old = fs.lookup("/home/user/notes").unwrap();
    fs.hold(old).unwrap();
    let new = fs.create_file("/home/user/new", 0o600, 7).unwrap();
    fs.write_at(new, 0, b"new", 7).unwrap();
    fs.rename("/home/user/new", "/home/user/notes", 8).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(fs.read_at(old, 0, &mut buf), Ok(2));
    assert_eq!(&buf, b"hi");
    fs.release(old);
    assert_eq!(fs.metadata(old), Err(Errno::ENOENT));
    // Closing a file that still has its name frees nothing.
    let ls = fs.lookup("/bin/ls").unwrap();
    fs.hold(ls).unwrap();
    fs.release(ls);
    assert!(fs.metadata(ls).is_ok());
}

#[test]
fn a_file_extended_by_truncate_ends_in_a_hole() {
    let mut fs = MemFs::new();
    let f = fs.create_file("/sparse", 0o644, 0).unwrap();
    let empty = fs.byte_usage().0;
    // A hole of 1 GiB: the length, no memory.
    fs.truncate(f, 1 << 30, 1).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.allocated), (1 << 30, 0));
    assert_eq!(fs.byte_usage().0, empty);
    let mut buf = [9u8; 16];
    assert_eq!(fs.read_at(f, (1 << 30) - 8, &mut buf), Ok(8));
    assert_eq!(buf, [0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
    // Writing inside it stores bytes up to the write; the rest stays a hole.
    fs.write_at(f, 5000, b"abc", 2).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.allocated), (1 << 30, 2 * BLOCK_SIZE));
    let mut buf = [9u8; 6];
    assert_eq!(fs.read_at(f, 4999, &mut buf), Ok(6));
    assert_eq!(&buf, b"\0abc\0\0");
    // Cutting it back keeps the stored bytes below the new length.
    fs.truncate(f, 5002, 3).unwrap();
    assert_eq!(fs.metadata(f).unwrap().allocated, 2 * BLOCK_SIZE);
    assert_eq!(fs.file_data(f).unwrap().len(), 5002);
    assert_eq!(&fs.file_data(f).unwrap()[4999..], b"\0ab");
}

#[test]
fn allocate_gives_a_hole_memory_and_may_extend() {
    let mut fs = MemFs::new();
    let f = fs.create_file("/a", 0o644, 0).unwrap();
    fs.truncate(f, 4 * BLOCK_SIZE, 0).unwrap();
    assert_eq!(fs.metadata(f).unwrap().allocated, 0);
    // Within the length (FALLOC_FL_KEEP_SIZE): memory, the same length.
    fs.allocate(f, 2 * BLOCK_SIZE, true, 1).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.allocated), (4 * BLOCK_SIZE, 2 * BLOCK_SIZE));
    // Keeping the length does not allocate past it.
    fs.allocate(f, 8 * BLOCK_SIZE, true, 1).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.allocated), (4 * BLOCK_SIZE, 4 * BLOCK_SIZE));
    // Mode 0 extends, rounding memory up to whole blocks.
    fs.allocate(f, 6 * BLOCK_SIZE - 1, false, 2).unwrap();
    let m = fs.metadata(f).unwrap();
    assert_eq!((m.size, m.allocated), (6 * BLOCK_SIZE - 1, 6 * BLOCK_SIZE));
    assert_eq!(m.modified, 2);
    // Only files have bytes.
    fs.mkdir("/d", 0o755, 0).unwrap();
    let d = fs.lookup("/d").unwrap();
    assert_eq!(fs.allocate(d, 1, false, 0), Err(Errno::EISDIR));
}

#[test]
fn times_before_1970_are_kept() {
    let mut fs = sample();
    let notes = fs.lookup("/home/user/notes").unwrap();
    // 1960-01-01 and a nanosecond before the epoch.
    fs.set_times(notes, Some(-315_619_200_000_000_000), Some(-1))
        .unwrap();
    let m = fs.metadata(notes).unwrap();
    assert_eq!((m.accessed, m.modified), (-315_619_200_000_000_000, -1));
    fs.set_times(notes, None, Some(i64::MIN)).unwrap();
    assert_eq!(fs.metadata(notes).unwrap().modified, i64::MIN);
}

#[test]
fn directory_link_counts_follow_every_change() {
    let mut fs = MemFs::new();
    let nlink = |fs: &MemFs, path: &str| fs.metadata(fs.lookup(path).unwrap()).unwrap().nlink;
    fs.mkdir("/a", 0o755, 0).unwrap();
    fs.mkdir("/x", 0o755, 0).unwrap();
    for d in ["/a/b", "/a/c", "/a/d"] {
        fs.mkdir(d, 0o755, 0).unwrap();
    }
    fs.create_file("/a/file", 0o644, 0).unwrap();
    fs.symlink("/a/link", "b", 0).unwrap();
    assert_eq!(
        nlink(&fs, "/a"),
        5,
        "three subdirectories; files and links do not count"
    );
    assert_eq!(nlink(&fs, "/"), 4);
    // Moved to another directory, renamed in place, renamed over an empty directory.
    fs.rename("/a/b", "/x/b", 1).unwrap();
    assert_eq!((nlink(&fs, "/a"), nlink(&fs, "/x")), (4, 3));
    fs.rename("/a/c", "/a/c2", 2).unwrap();
    assert_eq!(nlink(&fs, "/a"), 4);
    fs.rename("/a/c2", "/a/d", 3).unwrap();
    assert_eq!(nlink(&fs, "/a"), 3, "the replaced directory is gone");
    fs.rename("/a/file", "/x/file", 4).unwrap();
    assert_eq!((nlink(&fs, "/a"), nlink(&fs, "/x")), (3, 3));
    fs.rmdir("/a/d", 5).unwrap();
    fs.rmdir("/x/b", 5).unwrap();
    assert_eq!((nlink(&fs, "/a"), nlink(&fs, "/x")), (2, 2));
}
