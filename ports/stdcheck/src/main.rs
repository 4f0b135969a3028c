//! Exercises the parts of stock `std` a program most needs, on this OS, and reports each area
//! as `ok` or `FAILED: why`. Exit status 0 only if every area passed.
//!
//! Run: `/bin/stdcheck [ARGS...]` (the arguments are echoed back by the `args` check).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type Check = fn() -> Result<String, String>;

fn ensure(cond: bool, what: &str) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.to_string()) }
}

fn fs() -> Result<String, String> {
    let dir = "/tmp/stdcheck";
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("create_dir_all: {e}"))?;
    let path = format!("{dir}/hello.txt");
    std::fs::write(&path, b"hello, file\n").map_err(|e| format!("write: {e}"))?;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| format!("open append: {e}"))?;
    f.write_all(b"second line\n")
        .map_err(|e| format!("append: {e}"))?;
    drop(f);
    let mut s = String::new();
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| format!("read: {e}"))?;
    ensure(
        s == "hello, file\nsecond line\n",
        "content read back differs",
    )?;
    let meta = std::fs::metadata(&path).map_err(|e| format!("metadata: {e}"))?;
    ensure(meta.is_file() && meta.len() == 24, "metadata: kind or size")?;
    std::fs::write(format!("{dir}/b.txt"), b"b").map_err(|e| format!("write b: {e}"))?;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("read_dir: {e}"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("read_dir entry: {e}"))?;
    names.sort();
    ensure(names == ["b.txt", "hello.txt"], "read_dir listing")?;
    std::fs::remove_file(&path).map_err(|e| format!("remove_file: {e}"))?;
    ensure(
        std::fs::metadata(&path).is_err(),
        "file still there after remove",
    )?;
    let missing = std::fs::File::open("/no/such/file").err().map(|e| e.kind());
    ensure(
        missing == Some(std::io::ErrorKind::NotFound),
        "missing file is not NotFound",
    )?;
    std::fs::remove_dir_all(dir).map_err(|e| format!("remove_dir_all: {e}"))?;
    ensure(
        std::fs::metadata(dir).is_err(),
        "directory still there after removal",
    )?;
    Ok("create, write, append, read back, metadata, read_dir, remove".into())
}

fn threads() -> Result<String, String> {
    let handles: Vec<_> = (0..8u64)
        .map(|i| std::thread::spawn(move || (0..1000u64).map(|x| x * i).sum::<u64>()))
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    ensure(
        total == (0..8u64).map(|i| 499_500 * i).sum::<u64>(),
        "wrong sum from 8 threads",
    )?;
    Ok("8 threads spawned and joined".into())
}

fn sync() -> Result<String, String> {
    let counter = Arc::new(Mutex::new(0u32));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    ensure(*counter.lock().unwrap() == 4000, "mutex counter")?;
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    h.join().unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..4 {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut got: Vec<i32> = rx.iter().collect();
    got.sort();
    ensure(got == [0, 1, 2, 3], "mpsc values")?;
    Ok("Mutex, Condvar, mpsc".into())
}

fn time() -> Result<String, String> {
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let dt = t0.elapsed();
    ensure(
        dt >= Duration::from_millis(30) && dt < Duration::from_secs(2),
        &format!("sleep(30ms) took {dt:?}"),
    )?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    ensure(now.as_secs() > 1_704_067_200, "SystemTime before 2024")?;
    Ok(format!("Instant (slept {} ms), SystemTime", dt.as_millis()))
}

fn hashmap() -> Result<String, String> {
    let mut m = HashMap::new();
    for i in 0..1000 {
        m.insert(format!("key{i}"), i);
    }
    ensure(m.len() == 1000 && m["key999"] == 999, "HashMap contents")?;
    // RandomState draws random keys: two maps hash differently.
    let a = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 1u32);
    let b = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 1u32);
    ensure(a != b, "RandomState keys are not random")?;
    Ok("1000 entries, random hash keys".into())
}

fn env() -> Result<String, String> {
    let args: Vec<String> = std::env::args().collect();
    ensure(!args.is_empty(), "no argv[0]")?;
    // SAFETY: single-threaded at this point of the check run.
    unsafe { std::env::set_var("STDCHECK_VAR", "value") };
    ensure(
        std::env::var("STDCHECK_VAR").as_deref() == Ok("value"),
        "set_var/var",
    )?;
    ensure(
        std::env::vars().any(|(k, _)| k == "STDCHECK_VAR"),
        "vars() misses a variable",
    )?;
    Ok(format!("args {:?}", &args[1..]))
}

fn stdio() -> Result<String, String> {
    println!("stdcheck: println works");
    eprintln!("stdcheck: eprintln works");
    Ok("println!, eprintln!".into())
}

fn main() {
    // Failure modes, to show that a program's failure ends only that program.
    match std::env::args().nth(1).as_deref() {
        Some("--panic") => panic!("stdcheck: deliberate panic"),
        Some("--segv") => {
            let p = std::hint::black_box(8usize) as *const u64;
            // SAFETY: not safe: reads the never-mapped first page on purpose.
            println!("{}", unsafe { p.read_volatile() });
        }
        Some("--spin") => {
            // Busy threads that never end on their own: for tests of killing a program.
            for _ in 0..2 {
                std::thread::spawn(|| {
                    loop {
                        std::hint::spin_loop();
                    }
                });
            }
            loop {
                std::hint::spin_loop();
            }
        }
        Some("--exit") => std::process::exit(
            std::env::args()
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(3),
        ),
        _ => {}
    }
    let checks: &[(&str, Check)] = &[
        ("stdio", stdio),
        ("fs", fs),
        ("thread", threads),
        ("sync", sync),
        ("time", time),
        ("hashmap", hashmap),
        ("env", env),
    ];
    let mut failed = 0;
    for (name, check) in checks {
        match check() {
            Ok(detail) => println!("{name:8} ok ({detail})"),
            Err(why) => {
                failed += 1;
                println!("{name:8} FAILED: {why}");
            }
        }
    }
    println!(
        "stdcheck: {} passed, {failed} failed",
        checks.len() - failed
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
