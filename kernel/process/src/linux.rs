//! Starting a Linux program (a static-pie executable, see `elf_loader::linux`): its image and
//! a main-thread stack in the user region, the initial stack contents the Linux x86_64 ABI
//! defines (`argc`, `argv`, `envp`, the auxiliary vector, the strings they point to), and a
//! main task that enters user mode at the program's entry point. System calls then reach the
//! handler `posix` installed in `usermode`.

use crate::memory_map::{MemoryMap, RegionKind};
use crate::{MAIN_TASKS, SpawnError, c_strings};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use elf_loader::LinuxProgram;
use memory::{Commit, Mapping, Protection, SharedPages};
use task::JoinHandle;
use usermode::TrapFrame;
use vfs::ProcessContext;

/// Size of a program's main-thread stack (as Linux's default `ulimit -s`), committed as it is
/// touched, above one guard page.
pub(crate) const STACK_SIZE: u64 = 8 << 20;
const PAGE: u64 = 4096;

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_EXECFN: u64 = 31;

/// What a Linux process keeps alive while any of its threads runs.
struct Image {
    image: Mapping,
    _stack: Mapping,
}

impl Drop for Image {
    fn drop(&mut self) {
        backtrace::unregister_image(self.image.start());
    }
}

/// Which file, in which version, a program image was read from: inode, length, modification
/// time and a hash of its first and last 4 KiB (the ELF and program headers, and the section
/// header table, which places every section: a rewrite that keeps the time, `touch -d`, still
/// changes it). Equal keys mean equal bytes, so the symbol table built for one spawn serves
/// the next spawns of the same program.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileVersion {
    ino: u64,
    size: u64,
    modified: i64,
    ends: u64,
}

/// XXH64 of the first 4 KiB of `bytes`, seeding that of the last 4 KiB (a byte-at-a-time
/// hash such as FNV-1a took about 30 000 instructions of every spawn).
fn hash_ends(bytes: &[u8]) -> u64 {
    const EDGE: usize = 4096;
    let head = &bytes[..bytes.len().min(EDGE)];
    let tail = &bytes[bytes.len().saturating_sub(EDGE)..];
    xxhash_rust::xxh64::xxh64(tail, xxhash_rust::xxh64::xxh64(head, 0))
}

/// The bytes of the program file at `path` and their version (`None` if the file changed
/// while it was read).
pub(crate) fn read_program(path: &str) -> Result<(Vec<u8>, Option<FileVersion>), SpawnError> {
    let fd = vfs::open(path, vfs::OpenOptions::read_only()).map_err(SpawnError::File)?;
    let stat = |fd| vfs::fstat(fd).ok().map(|s| (s.ino, s.size, s.modified));
    let before = stat(fd);
    let bytes = vfs::read_to_end(fd);
    let after = stat(fd);
    let _ = vfs::close(fd);
    let bytes = bytes.map_err(SpawnError::File)?;
    let version = match (before, after) {
        (Some((ino, size, modified)), Some(a))
            if a == (ino, size, modified) && size == bytes.len() as u64 =>
        {
            Some(FileVersion {
                ino,
                size,
                modified,
                ends: hash_ends(&bytes),
            })
        }
        _ => None,
    };
    Ok((bytes, version))
}

/// What every spawn of one version of a program shares: its symbol table (parsing and
/// demangling thousands of names was most of the time of a spawn) and its read-only pages
/// (copying the text and read-only data into every new image was most of what was left).
#[derive(Clone)]
pub(crate) struct Known {
    pub(crate) table: Arc<symbols::SymbolTable>,
    pub(crate) read_only: Arc<SharedPages>,
}

/// The programs spawned last, by file version, newest last.
static KNOWN: spin::Mutex<Vec<(FileVersion, Known)>> = spin::Mutex::new(Vec::new());
/// At most this many programs are kept, and older ones go while their read-only pages
/// together take more than [`KNOWN_BYTES`] (a running process keeps its own alive).
const KNOWN_KEPT: usize = 8;
const KNOWN_BYTES: u64 = 64 << 20;

/// What is kept of file version `version`, if that version was loaded before.
fn known(version: FileVersion) -> Option<Known> {
    let mut cache = KNOWN.lock();
    let i = cache.iter().position(|(k, _)| *k == version)?;
    let entry = cache.remove(i);
    let known = entry.1.clone();
    cache.push(entry);
    Some(known)
}

/// Loads the program `bytes` (of file version `version`): with the read-only pages and the
/// symbol table of an earlier load of the same version when there was one, else building
/// both (and keeping them when the version is known).
pub(crate) fn load_known(
    bytes: &[u8],
    version: Option<FileVersion>,
) -> Result<(LinuxProgram, Option<Arc<symbols::SymbolTable>>), SpawnError> {
    if let Some(known) = version.and_then(known) {
        return load_as_known(bytes, known);
    }
    let program = elf_loader::load(bytes).map_err(SpawnError::Load)?;
    let table = symbols::SymbolTable::from_elf(bytes).ok().map(Arc::new);
    if let (Some(version), Some(table)) = (version, &table) {
        let mut cache = KNOWN.lock();
        cache.push((
            version,
            Known {
                table: table.clone(),
                read_only: program.read_only_pages().clone(),
            },
        ));
        let bytes = |cache: &Vec<(FileVersion, Known)>| -> u64 {
            cache.iter().map(|(_, k)| k.read_only.len()).sum()
        };
        while cache.len() > KNOWN_KEPT || (cache.len() > 1 && bytes(&cache) > KNOWN_BYTES) {
            cache.remove(0);
        }
    }
    Ok((program, table))
}

/// Loads the program `bytes`, whose version was loaded before as `known`.
fn load_as_known(
    bytes: &[u8],
    known: Known,
) -> Result<(LinuxProgram, Option<Arc<symbols::SymbolTable>>), SpawnError> {
    let program =
        elf_loader::load_sharing(bytes, Some(&known.read_only)).map_err(SpawnError::Load)?;
    Ok((program, Some(known.table)))
}

/// The Linux program at `path` mapped into the user region, and its symbol table. A program
/// loaded before (this version of the file) is mapped straight from the bytes the file system
/// holds (no copy of the file is read) and shares its read-only pages with the earlier loads.
/// Otherwise the file is read, and what later loads share is built.
pub(crate) fn load_program(
    path: &str,
) -> Result<(LinuxProgram, Option<Arc<symbols::SymbolTable>>), SpawnError> {
    let direct = vfs::with_file_bytes(path, |bytes, stat| {
        let version = FileVersion {
            ino: stat.ino,
            size: stat.size,
            modified: stat.modified,
            ends: hash_ends(bytes),
        };
        known(version).map(|known| load_as_known(bytes, known))
    })
    .map_err(SpawnError::File)?;
    if let Some(Some(loaded)) = direct {
        return loaded;
    }
    let (bytes, version) = read_program(path)?;
    load_known(&bytes, version)
}

/// 16 bytes for `AT_RANDOM` (musl's stack-protector canary): from the virtio entropy device
/// when there is one, else TSC readings mixed with splitmix64.
fn random_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    if virtio_rng::fill(&mut out).is_ok() {
        return out;
    }
    let mut x = time::monotonic_ns() ^ 0x9e37_79b9_7f4a_7c15;
    for chunk in out.chunks_mut(8) {
        // SAFETY: reading the time-stamp counter has no side effects.
        x ^= unsafe { core::arch::x86_64::_rdtsc() };
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

/// Builds the initial stack in `stack` (mapped, user region) and returns the stack pointer
/// (pointing at `argc`, 16-byte aligned) and the auxiliary vector as written there (its
/// words, `AT_NULL` last).
fn initial_stack(
    stack: &Mapping,
    args: &[String],
    env: &[String],
    execfn: &str,
    auxv: &[(u64, u64)],
) -> Result<(u64, Vec<u64>), SpawnError> {
    let top = stack.start() + stack.len();
    let (arg_bytes, arg_offsets) = c_strings(args);
    let (env_bytes, env_offsets) = c_strings(env);
    let (exec_bytes, _) = c_strings(&[String::from(execfn)]);
    let platform = b"x86_64\0";
    let random = random_bytes();

    // The strings block at the very top.
    let mut block: Vec<u8> = Vec::new();
    let random_at = block.len();
    block.extend_from_slice(&random);
    let platform_at = block.len();
    block.extend_from_slice(platform);
    let exec_at = block.len();
    block.extend_from_slice(&exec_bytes);
    let args_at = block.len();
    block.extend_from_slice(&arg_bytes);
    let env_at = block.len();
    block.extend_from_slice(&env_bytes);
    let block_start = (top - block.len() as u64 - 16) & !15;
    let addr = |off: usize| block_start + off as u64;

    // The words below it: argc, argv..., 0, envp..., 0, auxv pairs, AT_NULL.
    let mut words: Vec<u64> = Vec::new();
    words.push(args.len() as u64);
    words.extend(arg_offsets.iter().map(|&o| addr(args_at + o)));
    words.push(0);
    words.extend(env_offsets.iter().map(|&o| addr(env_at + o)));
    words.push(0);
    let mut aux_words = Vec::with_capacity(2 * auxv.len() + 2);
    for &(key, value) in auxv {
        let value = match key {
            AT_RANDOM => addr(random_at),
            AT_PLATFORM => addr(platform_at),
            AT_EXECFN => addr(exec_at),
            _ => value,
        };
        aux_words.extend([key, value]);
    }
    aux_words.extend([AT_NULL, 0]);
    words.extend_from_slice(&aux_words);
    let sp = (block_start - words.len() as u64 * 8) & !15;
    let used = top - sp;
    if used > STACK_SIZE / 4 {
        return Err(SpawnError::ArgumentsTooLong);
    }
    // SAFETY: `sp..top` lies inside `stack`, a live read-write user mapping that nothing else
    // uses yet (the task has not started); pages are committed on first touch.
    unsafe {
        core::ptr::copy_nonoverlapping(block.as_ptr(), block_start as *mut u8, block.len());
        core::ptr::copy_nonoverlapping(words.as_ptr(), sp as *mut u64, words.len());
    }
    Ok((sp, aux_words))
}

/// Registers the loaded program (from `path`, see [`load_program`]) for backtraces, maps its
/// main stack (with `args`, `env` and the auxiliary vector), keeps both alive in `ctx` and
/// returns the entry point and the initial stack pointer.
fn prepare(
    (program, table): (LinuxProgram, Option<Arc<symbols::SymbolTable>>),
    path: &str,
    args: &[String],
    env: &[String],
    ctx: &ProcessContext,
) -> Result<(u64, u64, Ranges), SpawnError> {
    if let Some(table) = table {
        let (start, len) = program.image_range();
        backtrace::register_image(start, start + len, table);
    }
    let mut stack = Mapping::new_user(STACK_SIZE + PAGE, Protection::RW, Commit::OnDemand)
        .map_err(|_| SpawnError::OutOfMemory)?;
    stack
        .protect(0, PAGE, Protection::NONE)
        .map_err(|_| SpawnError::OutOfMemory)?;
    let (phdr, phnum) = program.program_headers();
    let entry = program.entry();
    let auxv = [
        (AT_PHDR, phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, phnum),
        (AT_PAGESZ, PAGE),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_PLATFORM, 0),
        (AT_HWCAP, 0),
        (AT_CLKTCK, 100),
        (AT_SECURE, 0),
        (AT_RANDOM, 0),
        (AT_EXECFN, 0),
    ];
    let (sp, aux_words) = initial_stack(&stack, args, env, path, &auxv)?;
    let (image_start, image_len) = program.image_range();
    let ranges = Ranges {
        image: image_start..image_start + image_len,
        stack: stack.start()..stack.start() + stack.len(),
    };
    ctx.set_args(args.to_vec());
    ctx.set_auxv(aux_words);
    if let Ok(absolute) = vfs::absolute(path) {
        ctx.set_exe(&absolute);
    }
    ctx.keep_alive(alloc::boxed::Box::new(Image {
        image: program.into_image(),
        _stack: stack,
    }));
    Ok((entry, sp, ranges))
}

/// Where a loaded program's image and main stack are.
struct Ranges {
    image: core::ops::Range<u64>,
    stack: core::ops::Range<u64>,
}

impl Ranges {
    /// Records them in the process's memory map, in place of an image and stack it had.
    fn record(self, ctx: &ProcessContext) {
        let map = MemoryMap::of(ctx);
        map.remove_kind(RegionKind::Image);
        map.remove_kind(RegionKind::Stack);
        map.insert(self.image, RegionKind::Image);
        map.insert(self.stack, RegionKind::Stack);
    }
}

/// The register state a program's first thread starts with.
fn first_frame(entry: u64, sp: u64) -> TrapFrame {
    TrapFrame {
        rip: entry,
        rsp: sp,
        ..TrapFrame::default()
    }
}

/// Starts the Linux program at `path` with `args` and `ctx`.
pub(crate) fn spawn(
    path: &str,
    args: Vec<String>,
    ctx: Arc<ProcessContext>,
) -> Result<JoinHandle, SpawnError> {
    let env: Vec<String> = ctx
        .env_vars()
        .into_iter()
        .map(|(k, v)| alloc::format!("{k}={v}"))
        .collect();
    let (entry, sp, ranges) = prepare(load_program(path)?, path, &args, &env, &ctx)?;
    ranges.record(&ctx);
    let name = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .unwrap_or(path);
    let builder = task::Builder::new(name);
    let handle = vfs::spawn_with_context(builder, ctx, move || {
        usermode::enter_user(&first_frame(entry, sp))
    })
    .map_err(|_| SpawnError::OutOfMemory)?;
    let mut mains = MAIN_TASKS.lock();
    mains.retain(|&id| task::tasks_sharing_context(id).contains(&id));
    mains.insert(handle.id());
    drop(mains);
    Ok(handle)
}

/// `execve` for the calling process: loads the Linux program at `path` with `args` and `env`
/// (`NAME=value` strings, which also become the process's environment), frees the image the
/// process ran so far, and returns the register state to continue with in user mode. The
/// caller must have ended the process's other threads. On error nothing changed.
pub fn exec(path: &str, args: Vec<String>, env: Vec<String>) -> Result<TrapFrame, SpawnError> {
    let loaded = load_program(path)?;
    let ctx = vfs::current_context();
    // The new image is loaded before the old one goes, so a failure leaves the process as it
    // was.
    let old: Vec<_> = ctx.take_resources::<Image>();
    match prepare(loaded, path, &args, &env, &ctx) {
        Ok((entry, sp, ranges)) => {
            drop(old);
            ranges.record(&ctx);
            ctx.set_env(
                env.iter()
                    .filter_map(|e| e.split_once('='))
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            );
            Ok(first_frame(entry, sp))
        }
        Err(e) => {
            for image in old {
                ctx.keep_alive(image);
            }
            Err(e)
        }
    }
}
