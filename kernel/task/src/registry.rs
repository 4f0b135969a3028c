//! The registry of live tasks by id: lookup and the `ps` snapshot.

use crate::{State, Task, TaskId};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use spin::Mutex;
use x86_64::instructions::interrupts;

pub(crate) static TASKS: Mutex<BTreeMap<TaskId, Weak<Task>>> = Mutex::new(BTreeMap::new());

pub(crate) fn find(id: TaskId) -> Option<Arc<Task>> {
    interrupts::without_interrupts(|| TASKS.lock().get(&id).and_then(Weak::upgrade))
}

/// The live task `id` (or an ended one still referenced, by a joiner for instance).
pub fn lookup(id: TaskId) -> Option<Arc<Task>> {
    find(id)
}

/// A snapshot of one task for `ps`.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub id: TaskId,
    pub name: String,
    /// The name a program gave it (`PR_SET_NAME`), if any.
    pub comm: Option<String>,
    pub state: State,
    pub cpu_ns: u64,
    /// The part of `cpu_ns` spent in user mode (sampled by the timer tick).
    pub user_ns: u64,
    pub priority: u8,
    /// The task that spawned it (0 for the first tasks).
    pub parent: TaskId,
    /// When it was created (monotonic ns).
    pub started_ns: u64,
}

/// Every live task (those that exited but are still referenced by a joiner included).
pub fn list() -> Vec<TaskInfo> {
    let tasks: Vec<Arc<Task>> = interrupts::without_interrupts(|| {
        let mut map = TASKS.lock();
        map.retain(|_, w| w.strong_count() > 0);
        map.values().filter_map(Weak::upgrade).collect()
    });
    tasks
        .iter()
        .map(|t| TaskInfo {
            id: t.id,
            name: t.name.clone(),
            comm: t.comm(),
            state: t.state(),
            cpu_ns: t.cpu_ns(),
            user_ns: t.user_ns(),
            priority: t.priority(),
            parent: t.parent,
            started_ns: t.started_ns,
        })
        .collect()
}
