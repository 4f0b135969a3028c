//! The compiler `wasmtime_runner` uses on a cache miss: runs `/bin/wasmtime-compile IN OUT`
//! (wasm/compiler: Cranelift in a static Linux program, built by xtask) as a process with
//! `/dev/null` as stdin and stdout and its stderr captured in a file next to OUT, waits for
//! it and turns its status into a result: 0 is success; 1 is the compiler rejecting the
//! module, with its first stderr line (its one-line reason); anything else (no compiler, a
//! crash, a file error) is a failure. If the calling task is killed meanwhile (Ctrl-C or
//! `kill` of the guest's job), its unwinding kills the compiler process, waits for its end
//! and removes the stderr file (the cache removes the other temporary files), so nothing of
//! the compile outlives the guest.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec;
use wasmtime_runner::CompileError;

/// The compiler program in the ramdisk.
pub const COMPILER: &str = "/bin/wasmtime-compile";

/// Compiles the module file `input` into the artifact file `output`.
pub fn compile(input: &str, output: &str) -> Result<(), CompileError> {
    let err_path = format!("{output}.err");
    let opened = (|| {
        Ok::<_, vfs::Errno>((
            vfs::open_file(vfs::NULL_DEVICE_PATH, vfs::OpenOptions::read_only())?,
            vfs::open_file(vfs::NULL_DEVICE_PATH, vfs::OpenOptions::write_create())?,
            vfs::open_file(&err_path, vfs::OpenOptions::write_create())?,
        ))
    })();
    let (stdin, stdout, stderr) =
        opened.map_err(|e| CompileError::Failed(format!("{err_path}: {e}")))?;
    let ctx = vfs::ProcessContext::new(stdin, stdout, stderr, "/");
    let context = Arc::downgrade(&ctx);
    let argv = vec![COMPILER.to_string(), input.to_string(), output.to_string()];
    let err_file = ErrFile(&err_path);
    let spawned = process::spawn(COMPILER, argv, ctx);
    let status = spawned.map(|handle| {
        let mut child = Child {
            task: handle.task().clone(),
            context,
            ended: false,
        };
        // A kill point: a kill of this task unwinds from here, dropping `child`.
        let value = handle.join();
        child.ended = true;
        process::status(value)
    });
    let message = read_first_line(&err_path);
    drop(err_file);
    match status {
        Err(e) => Err(CompileError::Failed(format!("{COMPILER}: {e}"))),
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(1)) if !message.is_empty() => Err(CompileError::Rejected(message)),
        Ok(Ok(code)) => Err(CompileError::Failed(format!(
            "{COMPILER} exited with status {code}: {message}"
        ))),
        Ok(Err(reason)) => Err(CompileError::Failed(format!(
            "{COMPILER}: {}",
            reason.lines().next().unwrap_or("")
        ))),
    }
}

/// The compiler process while the caller waits for it: dropped before it ended (the caller
/// unwinds from a kill), it is killed and waited for.
struct Child {
    /// Its main thread.
    task: Arc<task::Task>,
    /// Its context, which every thread of it holds (Cranelift compiles on several): gone
    /// once the last one has ended.
    context: Weak<vfs::ProcessContext>,
    ended: bool,
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let _ = process::kill(self.task.id(), "its caller was killed");
        // Sleeps are no kill points while the caller unwinds: waits until the compiler has
        // ended, all its threads (the main one ends first; the others may still be unwinding).
        while self.task.exit_value().is_none() || self.context.strong_count() > 0 {
            task::sleep_ns(1_000_000);
        }
    }
}

/// The compiler's stderr file, removed however the compile ends.
struct ErrFile<'a>(&'a str);

impl Drop for ErrFile<'_> {
    fn drop(&mut self) {
        let _ = vfs::unlink(self.0);
    }
}

fn read_first_line(path: &str) -> String {
    let Ok(fd) = vfs::open(path, vfs::OpenOptions::read_only()) else {
        return String::new();
    };
    let bytes = vfs::read_to_end(fd).unwrap_or_default();
    let _ = vfs::close(fd);
    String::from_utf8_lossy(&bytes)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}
