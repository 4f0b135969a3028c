//! The processes there are now: tasks grouped by the process context they share.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use task::{State, TaskInfo};
use vfs::ProcessContext;

/// One process: its id, its context (none for a kernel task) and its live tasks, main task
/// first if it is still alive, then by id.
pub(crate) struct Process {
    pub pid: u64,
    pub context: Option<Arc<ProcessContext>>,
    pub tasks: Vec<TaskInfo>,
}

impl Process {
    /// The command name (`comm`): the program file's name for a program, else the task's name,
    /// cut to 15 bytes as Linux does.
    pub fn name(&self) -> String {
        // A name the program gave its main thread (`PR_SET_NAME`) wins, as on Linux.
        if let Some(comm) = self
            .tasks
            .iter()
            .find(|t| t.id == self.pid)
            .and_then(|t| t.comm.clone())
        {
            return comm;
        }
        let exe = self.context.as_ref().and_then(|c| c.exe());
        let full = match &exe {
            Some(path) => path.rsplit('/').next().unwrap_or(path),
            None => self.tasks.first().map_or("", |t| t.name.as_str()),
        };
        let mut end = full.len().min(15);
        while !full.is_char_boundary(end) {
            end -= 1;
        }
        String::from(&full[..end])
    }

    /// The parent process's id: the process that made the context, else the process of the
    /// task that spawned the main task, else 0.
    pub fn ppid(&self) -> u64 {
        match &self.context {
            Some(c) if c.parent_pid() != 0 => c.parent_pid(),
            _ => self.tasks.first().map_or(0, |t| pid_of(t.parent)),
        }
    }

    /// The main task (or the first live one).
    pub fn main(&self) -> &TaskInfo {
        &self.tasks[0]
    }

    /// CPU time `(all, user mode)` in ns: its live tasks' and its ended threads'.
    pub fn cpu_times(&self) -> (u64, u64) {
        let (ended_cpu, ended_user) = self.context.as_ref().map_or((0, 0), |c| c.ended_times());
        let cpu = ended_cpu + self.tasks.iter().map(|t| t.cpu_ns).sum::<u64>();
        let user = ended_user + self.tasks.iter().map(|t| t.user_ns).sum::<u64>();
        (cpu, user.min(cpu))
    }

    /// The task `tid` of this process.
    pub fn task(&self, tid: u64) -> Option<&TaskInfo> {
        self.tasks.iter().find(|t| t.id == tid)
    }
}

/// The process id of task `id`: its context's, or its own without one.
pub(crate) fn pid_of(id: task::TaskId) -> u64 {
    task::context_of::<ProcessContext>(id)
        .map(|c| c.pid())
        .filter(|&p| p != 0)
        .unwrap_or(id)
}

/// Every process with a live task, by id.
pub(crate) fn all() -> BTreeMap<u64, Process> {
    let mut by_pid: BTreeMap<u64, Process> = BTreeMap::new();
    for t in task::list() {
        if t.state == State::Exited {
            continue;
        }
        let context = task::context_of::<ProcessContext>(t.id);
        let pid = pid_of(t.id);
        let entry = by_pid.entry(pid).or_insert_with(|| Process {
            pid,
            context,
            tasks: Vec::new(),
        });
        entry.tasks.push(t);
    }
    for p in by_pid.values_mut() {
        let pid = p.pid;
        p.tasks.sort_by_key(|t| (t.id != pid, t.id));
    }
    by_pid
}

/// Process `pid`, if it has a live task.
pub(crate) fn get(pid: u64) -> Option<Process> {
    all().remove(&pid)
}

/// The calling process's id and the calling task's id.
pub(crate) fn me() -> (u64, u64) {
    (vfs::current_context().pid(), task::current_id())
}
