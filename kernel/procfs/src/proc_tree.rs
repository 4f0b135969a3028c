//! The `/proc` tree: the process directories, `self` and `thread-self`, and the system files.

use crate::{cpu, process_files, processes, system_files};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use vfs::generated::{Node, Tree};
use vfs::{Errno, FileKind};

/// What makes a file's content.
type Generator = fn() -> String;

/// The system-wide files of `/proc` and what makes each.
const FILES: [(&str, Generator); 6] = [
    ("cpuinfo", cpu::cpuinfo),
    ("meminfo", system_files::meminfo),
    ("mounts", system_files::mounts),
    ("stat", system_files::stat),
    ("uptime", system_files::uptime),
    ("version", system_files::version),
];

pub(crate) struct Proc;

impl Tree for Proc {
    fn node(&self, components: &[&str]) -> Result<Node, Errno> {
        Ok(match components {
            [] => {
                let mut entries: Vec<(String, FileKind)> = FILES
                    .iter()
                    .map(|(name, _)| (name.to_string(), FileKind::File))
                    .collect();
                entries.push(("self".into(), FileKind::Symlink));
                entries.push(("thread-self".into(), FileKind::Symlink));
                entries.push(("sys".into(), FileKind::Directory));
                entries.extend(
                    processes::all()
                        .into_keys()
                        .map(|pid| (pid.to_string(), FileKind::Directory)),
                );
                Node::Dir(entries)
            }
            ["self"] => Node::Symlink(processes::me().0.to_string()),
            ["thread-self"] => {
                let (pid, tid) = processes::me();
                Node::Symlink(format!("{pid}/task/{tid}"))
            }
            ["sys"] => Node::Dir(alloc::vec![("kernel".into(), FileKind::Directory)]),
            ["sys", "kernel"] => Node::Dir(
                system_files::KERNEL_FILES
                    .iter()
                    .map(|n| (n.to_string(), FileKind::File))
                    .collect(),
            ),
            ["sys", "kernel", name] => Node::File(
                system_files::kernel_file(name)
                    .ok_or(Errno::ENOENT)?
                    .into_bytes(),
            ),
            [name] => match FILES.iter().find(|(n, _)| n == name) {
                Some((_, make)) => Node::File(make().into_bytes()),
                None => process_node(name, &[])?,
            },
            [pid, rest @ ..] => process_node(pid, rest)?,
        })
    }
}

/// The node at `rest` below `/proc/PID`, `pid` as written in the path.
fn process_node(pid: &str, rest: &[&str]) -> Result<Node, Errno> {
    let pid: u64 = pid.parse().map_err(|_| Errno::ENOENT)?;
    let process = processes::get(pid).ok_or(Errno::ENOENT)?;
    process_files::node(&process, rest)
}
