//! The compiler `wasmtime_runner` uses on a cache miss: runs `/bin/wasmtime-compile IN OUT`
//! (wasm/compiler: Cranelift in a static Linux program, built by xtask) as a process with
//! `/dev/null` as stdin and stdout and its stderr captured in a file next to OUT, waits for
//! it and turns its status into a result: 0 is success; 1 is the compiler rejecting the
//! module, with its first stderr line (its one-line reason); anything else (no compiler, a
//! crash, a file error) is a failure.

use alloc::format;
use alloc::string::{String, ToString};
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
    let argv = vec![COMPILER.to_string(), input.to_string(), output.to_string()];
    let spawned = process::spawn(COMPILER, argv, ctx);
    let status = spawned.map(|handle| process::status(handle.join()));
    let message = read_first_line(&err_path);
    let _ = vfs::unlink(&err_path);
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
