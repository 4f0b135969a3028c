//! In-kernel tests of `/proc` and `/sys`: what they show of processes and the system, that
//! paths through them resolve as on Linux, and that nothing in them can be changed.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use ktest::kernel_test;
use vfs::{Errno, FileKind, OpenOptions};

fn read(path: &str) -> String {
    let bytes = vfs::read_file(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    String::from_utf8(bytes).unwrap()
}

fn names(path: &str) -> Vec<String> {
    vfs::read_dir(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_iter()
        .map(|e| String::from(&*e.name))
        .collect()
}

/// The value after `key` in a `Key:\tvalue` file.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim_start_matches('\t')
                .strip_prefix(':')
        })
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .trim()
}

kernel_test! {
    fn proc_self_is_the_calling_process() {
        let pid = vfs::current_context().pid();
        let tid = task::current_id();
        assert_ne!(pid, 0);
        assert_eq!(vfs::readlink("/proc/self").unwrap(), pid.to_string());
        assert_eq!(vfs::lstat("/proc/self").unwrap().kind, FileKind::Symlink);
        assert_eq!(vfs::stat("/proc/self").unwrap().kind, FileKind::Directory);
        assert_eq!(
            vfs::readlink("/proc/thread-self").unwrap(),
            format!("{pid}/task/{tid}")
        );
        let stat = read("/proc/self/stat");
        let (head, tail) = stat.rsplit_once(") ").unwrap();
        assert!(head.starts_with(&format!("{pid} (")), "{stat}");
        assert_eq!(tail.split_whitespace().count(), 50, "52 fields: {stat}");
        let status = read("/proc/self/status");
        assert_eq!(field(&status, "Tgid"), pid.to_string());
        assert_eq!(field(&status, "Uid"), "0\t0\t0\t0");
        let thread = read(&format!("/proc/self/task/{tid}/status"));
        assert_eq!(field(&thread, "Pid"), tid.to_string());
        assert!(names("/proc").contains(&pid.to_string()));
        assert!(names("/proc/self/task").contains(&tid.to_string()));
        // The working directory link leads into the file tree.
        assert_eq!(vfs::readlink("/proc/self/cwd").unwrap(), vfs::getcwd());
        assert_eq!(vfs::stat("/proc/self/cwd/tmp").unwrap().kind, FileKind::Directory);
        assert_eq!(vfs::stat("/proc/self/root/tmp").unwrap().kind, FileKind::Directory);
    }
}

kernel_test! {
    fn a_child_process_shows_its_arguments_descriptors_and_leaves() {
        let null: Arc<dyn vfs::File> = Arc::new(vfs::NullDevice::new());
        let ctx = vfs::current_context().new_child(null.clone(), null.clone(), null);
        ctx.set_args(vec!["prog".into(), "one two".into(), "".into()]);
        ctx.set_env(vec![("K".into(), "v".into())]);
        ctx.set_exe("/bin/prog");
        let go = Arc::new(task::WaitQueue::new());
        let done = Arc::new(AtomicBool::new(false));
        let (go2, done2) = (go.clone(), done.clone());
        let builder = task::Builder::new("proc-child");
        let child = vfs::spawn_with_context(builder, ctx.clone(), move || {
            vfs::open("/tmp", OpenOptions::read_only()).unwrap();
            go2.wait_until(|| done2.load(Ordering::SeqCst));
            0
        })
        .unwrap();
        let pid = child.id();
        while vfs::readlink(&format!("/proc/{pid}/fd/3")).is_err() {
            task::yield_now();
        }
        assert_eq!(ctx.pid(), pid);
        let dir = format!("/proc/{pid}");
        assert_eq!(vfs::read_file(&format!("{dir}/cmdline")).unwrap(), b"prog\0one two\0\0");
        assert_eq!(vfs::read_file(&format!("{dir}/environ")).unwrap(), b"K=v\0");
        assert_eq!(read(&format!("{dir}/comm")), "prog\n");
        assert_eq!(vfs::readlink(&format!("{dir}/exe")).unwrap(), "/bin/prog");
        assert_eq!(vfs::readlink(&format!("{dir}/fd/0")).unwrap(), "/dev/null");
        assert_eq!(vfs::readlink(&format!("{dir}/fd/3")).unwrap(), "/tmp");
        assert_eq!(names(&format!("{dir}/fd")), ["0", "1", "2", "3"]);
        let status = read(&format!("{dir}/status"));
        assert_eq!(field(&status, "PPid"), vfs::current_context().pid().to_string());
        assert_eq!(field(&status, "Threads"), "1");
        done.store(true, Ordering::SeqCst);
        go.notify_all();
        child.join();
        assert_eq!(vfs::stat(&dir), Err(Errno::ENOENT), "an ended process leaves /proc");
    }
}

kernel_test! {
    fn system_files_show_memory_time_and_cpus() {
        let frames = memory::frame_stats();
        let meminfo = read("/proc/meminfo");
        assert_eq!(
            field(&meminfo, "MemTotal"),
            format!("{} kB", frames.total * memory::PAGE_SIZE / 1024)
        );
        let cpu_line = |text: &str| -> Vec<u64> {
            let line = text.lines().find(|l| l.starts_with("cpu ")).unwrap();
            line.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect()
        };
        let ctxt = |text: &str| -> u64 {
            let line = text.lines().find_map(|l| l.strip_prefix("ctxt ")).unwrap();
            line.parse().unwrap()
        };
        let before = read("/proc/stat");
        assert_eq!(cpu_line(&before).len(), 10, "{before}");
        let up_before: f64 = read("/proc/uptime").split(' ').next().unwrap().parse().unwrap();
        task::sleep_ns(30_000_000);
        let after = read("/proc/stat");
        assert!(ctxt(&after) > ctxt(&before), "task switches counted");
        let total = |v: Vec<u64>| v.iter().sum::<u64>();
        assert!(total(cpu_line(&after)) > total(cpu_line(&before)), "{before}{after}");
        let up_after: f64 = read("/proc/uptime").split(' ').next().unwrap().parse().unwrap();
        assert!(up_after > up_before);
        let cpuinfo = read("/proc/cpuinfo");
        assert_eq!(cpuinfo.matches("processor\t: ").count(), crate::online_cpus());
        assert!(field(&cpuinfo, "flags").split(' ').any(|f| f == "sse2"), "{cpuinfo}");
        assert_eq!(read("/proc/sys/kernel/ostype"), "Linux\n");
        let last = crate::online_cpus() - 1;
        let online: String = if last == 0 { "0\n".into() } else { format!("0-{last}\n") };
        assert_eq!(read("/sys/devices/system/cpu/online"), online);
        assert_eq!(read("/sys/class/net/lo/ifindex"), "1\n");
        assert_eq!(read("/sys/class/net/lo/address"), "00:00:00:00:00:00\n");
    }
}

kernel_test! {
    fn generated_trees_resolve_like_linux_and_cannot_change() {
        assert!(names("/").contains(&"proc".to_string()), "/ lists /proc");
        let top = names("/proc");
        for name in ["self", "meminfo", "stat", "cpuinfo", "sys"] {
            assert!(top.contains(&name.to_string()), "{name} in {top:?}");
        }
        assert_eq!(vfs::stat("/proc/no-such"), Err(Errno::ENOENT));
        assert_eq!(vfs::stat("/proc/4000000000"), Err(Errno::ENOENT));
        assert_eq!(vfs::stat("/proc/meminfo/x"), Err(Errno::ENOTDIR));
        assert_eq!(vfs::stat("/proc/self/../meminfo").unwrap().kind, FileKind::File);
        let rw = OpenOptions::new().read(true).write(true);
        assert_eq!(vfs::open("/proc/meminfo", rw).err(), Some(Errno::EACCES));
        assert_eq!(vfs::mkdir("/proc/x", 0o755), Err(Errno::EACCES));
        assert_eq!(vfs::unlink("/proc/meminfo"), Err(Errno::EACCES));
        assert_eq!(vfs::rename("/proc/meminfo", "/tmp/m"), Err(Errno::EACCES));
        assert_eq!(vfs::symlink("/x", "/sys/x"), Err(Errno::EACCES));
        assert_eq!(vfs::set_mode("/proc/stat", true, 0o777), Err(Errno::EACCES));
        assert!(vfs::mkdir_all("/proc", 0o755).is_ok(), "mkdir -p of an existing /proc");
        // A read continues where it left off, over the snapshot taken at open.
        let fd = vfs::open("/proc/version", OpenOptions::read_only()).unwrap();
        let mut head = [0u8; 5];
        assert_eq!(vfs::read(fd, &mut head).unwrap(), 5);
        assert_eq!(&head, b"Linux");
        let rest = vfs::read_to_end(fd).unwrap();
        assert!(rest.ends_with(b"\n"));
        vfs::close(fd).unwrap();
        // chdir into a generated directory and relative paths from it.
        let cwd = vfs::getcwd();
        vfs::chdir("/proc/sys").unwrap();
        assert_eq!(read("kernel/ostype"), "Linux\n");
        vfs::chdir(&cwd).unwrap();
    }
}
