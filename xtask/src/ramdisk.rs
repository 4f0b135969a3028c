//! Packs the guest's initial ramdisk: the repository's `initrd/` tree as `/`, the kernel ELF
//! (debug info stripped) as `/boot/kernel.elf` for the kernel's symbolized backtraces, plus
//! the `--add HOST:GUEST` files and directories, into a cpio newc archive.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::workspace::Workspace;

const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;
const EXEC_MODE: u32 = 0o755;
/// Where the kernel finds its own symbol table.
pub const KERNEL_ELF_GUEST: &str = "/boot/kernel.elf";

/// One `--add HOST:GUEST`: a host file or directory copied to an absolute guest path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSpec {
    pub host: PathBuf,
    /// Absolute, normalised (no `.`, `..` or empty components), never `/` itself.
    pub guest: String,
}

impl AddSpec {
    /// Parses `HOST:GUEST` (split at the last `:`) and checks that HOST exists.
    pub fn parse(spec: &str) -> Result<Self> {
        let Some((host, guest)) = spec.rsplit_once(':') else {
            return Err(Error::usage(format!(
                "--add {spec:?}: expected HOST:GUEST (e.g. ./notes.txt:/tmp/notes.txt)"
            )));
        };
        if host.is_empty() {
            return Err(Error::usage(format!("--add {spec:?}: empty host path")));
        }
        let guest = normalize_guest_path(guest)
            .map_err(|why| Error::usage(format!("--add {spec:?}: guest path {why}")))?;
        let host = PathBuf::from(host);
        if !host.exists() {
            return Err(Error::usage(format!(
                "--add {spec:?}: host path {} does not exist",
                host.display()
            )));
        }
        Ok(Self { host, guest })
    }
}

/// `/a//b/./c` -> `/a/b/c`; rejects relative paths, `..` and `/` itself.
fn normalize_guest_path(guest: &str) -> std::result::Result<String, &'static str> {
    if !guest.starts_with('/') {
        return Err("must be absolute (start with /)");
    }
    let mut parts = Vec::new();
    for part in guest.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("must not contain `..`"),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("must name something below /");
    }
    Ok(format!("/{}", parts.join("/")))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir {
        mtime: u64,
    },
    File {
        mode: u32,
        mtime: u64,
        data: Vec<u8>,
    },
    Symlink {
        target: String,
        mtime: u64,
    },
}

/// The guest tree, keyed by path without the leading `/` (the form the archive uses).
/// A later addition replaces an earlier one at the same path.
#[derive(Debug, Default)]
struct Tree {
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// Copies host `source` (file or directory, recursively) to guest `dest` (no leading `/`).
    fn add_host(&mut self, source: &Path, dest: &str) -> Result<()> {
        let meta = fs::metadata(source).context(|| format!("reading {}", source.display()))?;
        let mtime = u64::try_from(meta.mtime()).unwrap_or(0);
        self.add_parents(dest, mtime);
        if meta.is_dir() {
            self.nodes.insert(dest.to_string(), Node::Dir { mtime });
            self.add_dir_contents(source, dest)
        } else if meta.is_file() {
            let data = fs::read(source).context(|| format!("reading {}", source.display()))?;
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                EXEC_MODE
            } else {
                FILE_MODE
            };
            self.nodes
                .insert(dest.to_string(), Node::File { mode, mtime, data });
            Ok(())
        } else {
            Err(Error::failed(format!(
                "{}: not a regular file or directory",
                source.display()
            )))
        }
    }

    fn add_dir_contents(&mut self, source: &Path, dest: &str) -> Result<()> {
        let mut names = Vec::new();
        for entry in fs::read_dir(source).context(|| format!("listing {}", source.display()))? {
            let entry = entry.context(|| format!("listing {}", source.display()))?;
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            let Some(name_str) = name.to_str() else {
                return Err(Error::failed(format!(
                    "{}: file name {name:?} is not UTF-8",
                    source.display()
                )));
            };
            let child = if dest.is_empty() {
                name_str.to_string()
            } else {
                format!("{dest}/{name_str}")
            };
            self.add_host(&source.join(&name), &child)?;
        }
        Ok(())
    }

    /// Adds directory entries for every ancestor of `path` not yet present.
    fn add_parents(&mut self, path: &str, mtime: u64) {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            let parent = &path[..end];
            if !matches!(self.nodes.get(parent), Some(Node::Dir { .. })) {
                self.nodes.insert(parent.to_string(), Node::Dir { mtime });
            }
            end += 1;
        }
    }

    /// Parents sort before their children, so the archive can be unpacked in order.
    fn into_archive(self) -> Vec<u8> {
        let mut builder = initrd::Builder::new();
        for (path, node) in &self.nodes {
            if path.is_empty() {
                continue;
            }
            match node {
                Node::Dir { mtime } => builder.add_dir(path, DIR_MODE, *mtime),
                Node::File { mode, mtime, data } => builder.add_file(path, *mode, *mtime, data),
                Node::Symlink { target, mtime } => builder.add_symlink(path, target, *mtime),
            }
        }
        builder.finish()
    }
}

/// Builds the archive bytes from `tree_root` (skipped if absent), the kernel ELF `kernel`
/// (at [`KERNEL_ELF_GUEST`], if given), the `programs` (at `/bin/NAME`), the symbolic links
/// `links` (`/bin/NAME -> TARGET`) and `adds`, in order (an `--add` wins over all).
pub fn pack(
    tree_root: &Path,
    kernel: Option<&Path>,
    programs: &[(String, PathBuf)],
    links: &[(String, String)],
    adds: &[AddSpec],
) -> Result<Vec<u8>> {
    let mut tree = Tree::default();
    if tree_root.is_dir() {
        tree.add_dir_contents(tree_root, "")?;
    }
    if let Some(kernel) = kernel {
        tree.add_host(kernel, KERNEL_ELF_GUEST.trim_start_matches('/'))?;
    }
    for (name, path) in programs {
        tree.add_host(path, &format!("bin/{name}"))?;
    }
    for (name, target) in links {
        let path = format!("bin/{name}");
        tree.add_parents(&path, 0);
        tree.nodes.insert(
            path,
            Node::Symlink {
                target: target.clone(),
                mtime: 0,
            },
        );
    }
    for add in adds {
        let dest = add.guest.trim_start_matches('/');
        tree.add_host(&add.host, dest)?;
    }
    Ok(tree.into_archive())
}

/// Packs the ramdisk (with the built kernel ELF, stripped of debug info when llvm-objcopy is
/// available) and writes it to `target/theseus/initrd.cpio`; returns that path.
pub fn write(ws: &Workspace, adds: &[AddSpec]) -> Result<PathBuf> {
    ws.ensure_out_dir()?;
    let elf = ws.kernel_elf();
    let kernel = if elf.is_file() {
        let stripped = ws.out_dir().join("kernel.stripped.elf");
        let objcopy = crate::setup::rust_sysroot(ws)
            .ok()
            .and_then(|sysroot| crate::setup::llvm_objcopy(&sysroot));
        Some(match objcopy {
            Some(objcopy) if strip_debug(&objcopy, &elf, &stripped)? => stripped,
            _ => elf,
        })
    } else {
        None
    };
    let mut programs = crate::ports_build::built_programs(ws);
    programs.extend(crate::linux_programs::built_programs(ws));
    programs.extend(crate::wasm_build::built_modules(ws));
    programs.extend(crate::wasm_compiler::built_program(ws));
    programs.extend(crate::userland::built_program(ws));
    let links = crate::userland::links(ws);
    let archive = pack(
        &ws.initrd_tree(),
        kernel.as_deref(),
        &programs,
        &links,
        adds,
    )?;
    let path = ws.initrd_archive();
    fs::write(&path, archive).context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `llvm-objcopy --strip-debug input output`; `false` (the caller keeps the unstripped file)
/// when objcopy fails.
fn strip_debug(objcopy: &Path, input: &Path, output: &Path) -> Result<bool> {
    let result = Command::new(objcopy)
        .arg("--strip-debug")
        .arg(input)
        .arg(output)
        .output()
        .context(|| format!("running {}", objcopy.display()))?;
    if !result.status.success() {
        eprintln!(
            "xtask: warning: {} --strip-debug failed ({}); the ramdisk gets the unstripped kernel",
            objcopy.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
        return Ok(false);
    }
    Ok(output.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use initrd::EntryKind;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn add_spec_errors() {
        let dir = scratch_dir("spec");
        let file = dir.join("f.txt");
        fs::write(&file, "x").unwrap();
        let host = file.display().to_string();

        let ok = AddSpec::parse(&format!("{host}:/tmp//./x.txt")).unwrap();
        assert_eq!(ok.guest, "/tmp/x.txt");
        assert_eq!(ok.host, file);

        for bad in [
            "no-colon".to_string(),
            format!("{host}:relative/x"),
            format!("{host}:/"),
            format!("{host}:/a/../b"),
            format!("{}:/x", dir.join("missing").display()),
            ":/x".to_string(),
        ] {
            let err = AddSpec::parse(&bad).unwrap_err();
            assert_eq!(err.exit_code, 2, "{bad}: {err}");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn packs_tree_and_adds() {
        let dir = scratch_dir("pack");
        let tree = dir.join("initrd");
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::write(tree.join("etc/motd"), "welcome\n").unwrap();
        fs::create_dir_all(tree.join("empty")).unwrap();
        let extra = dir.join("extra");
        fs::create_dir_all(extra.join("sub")).unwrap();
        fs::write(extra.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(extra.join("sub/run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.join("x.txt"), b"\0binary\xff").unwrap();

        let adds = [
            AddSpec::parse(&format!("{}:/tmp/x.txt", dir.join("x.txt").display())).unwrap(),
            AddSpec::parse(&format!("{}:/opt/tools", extra.display())).unwrap(),
            AddSpec::parse(&format!("{}:/etc/motd", dir.join("x.txt").display())).unwrap(),
        ];
        let links = [("ls".to_string(), "coreutils".to_string())];
        let archive = pack(&tree, None, &[], &links, &adds).unwrap();
        let entries = initrd::parse(&archive).unwrap();
        let listing: Vec<(&str, EntryKind, u32, &[u8])> = entries
            .iter()
            .map(|e| (e.path, e.kind, e.mode, e.data))
            .collect();
        let binary: &[u8] = b"\0binary\xff";
        assert_eq!(
            listing,
            vec![
                ("bin", EntryKind::Directory, 0o755, &[][..]),
                ("bin/ls", EntryKind::Symlink, 0o777, &b"coreutils"[..]),
                ("empty", EntryKind::Directory, 0o755, &[][..]),
                ("etc", EntryKind::Directory, 0o755, &[][..]),
                ("etc/motd", EntryKind::File, 0o644, binary),
                ("opt", EntryKind::Directory, 0o755, &[][..]),
                ("opt/tools", EntryKind::Directory, 0o755, &[][..]),
                ("opt/tools/sub", EntryKind::Directory, 0o755, &[][..]),
                (
                    "opt/tools/sub/run.sh",
                    EntryKind::File,
                    0o755,
                    &b"#!/bin/sh\n"[..]
                ),
                ("tmp", EntryKind::Directory, 0o755, &[][..]),
                ("tmp/x.txt", EntryKind::File, 0o644, binary),
            ]
        );
        let motd = entries.iter().find(|e| e.path == "etc/motd").unwrap();
        assert!(motd.mtime > 1_000_000_000, "mtime comes from the host");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_tree_gives_empty_archive() {
        let archive = pack(Path::new("/nonexistent/xtask/initrd"), None, &[], &[], &[]).unwrap();
        assert!(initrd::parse(&archive).unwrap().is_empty());
    }

    #[test]
    fn kernel_elf_goes_to_boot_and_add_overrides_it() {
        let dir = scratch_dir("kernel");
        fs::write(dir.join("kernel"), b"\x7fELF kernel").unwrap();
        fs::write(dir.join("other"), b"replacement").unwrap();
        let kernel = dir.join("kernel");
        let archive = pack(&dir.join("no-tree"), Some(&kernel), &[], &[], &[]).unwrap();
        let entries = initrd::parse(&archive).unwrap();
        let listing: Vec<(&str, &[u8])> = entries.iter().map(|e| (e.path, e.data)).collect();
        assert_eq!(
            listing,
            vec![
                ("boot", &[][..]),
                ("boot/kernel.elf", &b"\x7fELF kernel"[..])
            ]
        );

        let add = AddSpec::parse(&format!("{}:/boot/kernel.elf", dir.join("other").display()));
        let archive = pack(
            &dir.join("no-tree"),
            Some(&kernel),
            &[],
            &[],
            &[add.unwrap()],
        )
        .unwrap();
        let entries = initrd::parse(&archive).unwrap();
        let elf = entries
            .iter()
            .find(|e| e.path == "boot/kernel.elf")
            .unwrap();
        assert_eq!(elf.data, b"replacement");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn strip_debug_keeps_symbols_and_drops_dwarf() {
        let ws = Workspace::locate();
        let Some(objcopy) = crate::setup::rust_sysroot(&ws)
            .ok()
            .and_then(|s| crate::setup::llvm_objcopy(&s))
        else {
            eprintln!("llvm-objcopy not installed: nothing to test");
            return;
        };
        let dir = scratch_dir("strip");
        let input = std::env::current_exe().unwrap();
        let output = dir.join("stripped");
        assert!(strip_debug(&objcopy, &input, &output).unwrap());
        let before = fs::read(&input).unwrap();
        let after = fs::read(&output).unwrap();
        let sections = |elf: &[u8]| -> Vec<String> {
            use object::{Object, ObjectSection};
            let file = object::File::parse(elf).unwrap();
            file.sections()
                .map(|s| s.name().unwrap().to_string())
                .collect()
        };
        let (before, after) = (sections(&before), sections(&after));
        assert!(before.iter().any(|s| s == ".debug_info"), "{before:?}");
        assert!(!after.iter().any(|s| s.starts_with(".debug_")), "{after:?}");
        assert!(after.iter().any(|s| s == ".symtab"), "{after:?}");
        assert!(after.iter().any(|s| s == ".text"), "{after:?}");

        // A file objcopy cannot read: reported as failure, not an error.
        fs::write(dir.join("junk"), b"not an object file").unwrap();
        assert!(!strip_debug(&objcopy, &dir.join("junk"), &dir.join("junk.out")).unwrap());
        fs::remove_dir_all(dir).unwrap();
    }
}
