//! The compile cache: precompiled artifacts in the in-memory file system
//! ([`DIR`]), one file per module and engine configuration, sealed by the kernel.
//!
//! The key of a module is the SHA-256 of its bytes and the SHA-256 of
//! `wasmtime_config::FINGERPRINT` (the wasmtime version and every setting the artifact
//! depends on): `DIR/<module hash>-<first 16 hex digits of the configuration hash>.cwasm`. A
//! changed configuration or module is a miss.
//!
//! `Module::deserialize` runs the artifact's code as is, so an entry must be one this kernel
//! made: a file is `MAGIC`, then an HMAC-SHA-256 over the key and the artifact under a key
//! drawn at boot from `libtheseus::random` (never stored in a file), then the artifact. An
//! entry that is truncated, corrupted, made for another key, written by someone else (a
//! guest with `/` preopened can write here) or left from another boot fails the check
//! before anything is deserialized, and is compiled again and replaced.
//!
//! A miss runs the compiler the caller gives (the kernel runs `/bin/wasmtime-compile IN OUT`
//! as a Linux program) on a temporary copy of the module, and stores its output sealed,
//! written under a temporary name and renamed into place, so concurrent runs of one module
//! never see half an entry. The temporary files are removed however the lookup ends: also
//! when the task is killed during the compile (Ctrl-C), whose unwinding drops them.
//!
//! One compile per module at a time: a lookup that misses while another lookup of the same
//! key is compiling waits for it ([`COMPILING`]) and then reads the entry it stored, so ten
//! first runs of one module at once start one compiler, not ten. If that compile failed (or
//! was killed) the next waiter compiles.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};
use hmac::{Hmac, Mac};
use libtheseus::sync::{Mutex, Once};
use libtheseus::{Errno, fs, futex, random, thread};
use sha2::{Digest, Sha256};

/// The cache directory.
pub const DIR: &str = "/var/cache/wasmtime";

/// The first bytes of an entry (format version 1).
const MAGIC: &[u8; 8] = b"THWTCW01";
const MAC_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// How the artifact was obtained (for the caller's statistics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A valid entry was there.
    Hit,
    /// No entry: compiled.
    Miss,
    /// An entry was there but failed the check (the reason): compiled again.
    Rejected(&'static str),
}

/// Compiles the module file at the first path into an artifact file at the second.
pub type Compile<'a> = &'a dyn Fn(&str, &str) -> Result<(), CompileError>;

/// Why a compile produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The compiler rejected the module: its one-line reason (invalid, or a feature that is
    /// off).
    Rejected(String),
    /// The compiler could not be run or failed otherwise (the reason).
    Failed(String),
}

/// Why no artifact could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheError {
    /// The compile failed.
    Compile(CompileError),
    /// The cache directory or a temporary file could not be used.
    Io(String),
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The cache key of `module` under the shared engine configuration.
pub fn key(module: &[u8]) -> String {
    let config = Sha256::digest(wasmtime_config::FINGERPRINT.as_bytes());
    format!("{}-{}", hex(&Sha256::digest(module)), &hex(&config)[..16])
}

/// The path of `key`'s entry.
pub fn entry_path(key: &str) -> String {
    format!("{DIR}/{key}.cwasm")
}

fn boot_key() -> &'static [u8; 32] {
    static KEY: Once<[u8; 32]> = Once::new();
    KEY.call_once(|| {
        let mut k = [0u8; 32];
        random::fill(&mut k);
        k
    })
}

fn mac(key: &str, artifact: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(boot_key()).expect("HMAC takes any key length");
    mac.update(&(key.len() as u64).to_le_bytes());
    mac.update(key.as_bytes());
    mac.update(artifact);
    mac
}

/// `artifact` as an entry for `key`.
pub fn seal(key: &str, artifact: &[u8]) -> Vec<u8> {
    let tag = mac(key, artifact).finalize().into_bytes();
    let mut entry = Vec::with_capacity(MAGIC.len() + MAC_LEN + artifact.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&tag);
    entry.extend_from_slice(artifact);
    entry
}

/// The artifact of an entry for `key`, if the entry is one this kernel sealed for that key.
pub fn unseal<'a>(key: &str, entry: &'a [u8]) -> Result<&'a [u8], &'static str> {
    let Some(rest) = entry.strip_prefix(MAGIC.as_slice()) else {
        return Err("not a cache entry");
    };
    if rest.len() < MAC_LEN {
        return Err("truncated");
    }
    let (tag, artifact) = rest.split_at(MAC_LEN);
    mac(key, artifact)
        .verify_slice(tag)
        .map_err(|_| "checksum mismatch (corrupted, truncated or not sealed by this kernel)")?;
    Ok(artifact)
}

fn ensure_dir() -> Result<(), Errno> {
    let mut path = String::new();
    for part in DIR.split('/').filter(|p| !p.is_empty()) {
        path.push('/');
        path.push_str(part);
        match fs::mkdir(&path, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The keys being compiled now, each with a word that turns 1 when its compile ends.
static COMPILING: Mutex<BTreeMap<String, Arc<AtomicU32>>> = Mutex::new(BTreeMap::new());

/// This lookup's turn to compile `key`: ends the turn (and wakes the waiters) when dropped,
/// also by unwinding.
struct Turn {
    key: String,
    done: Arc<AtomicU32>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        COMPILING.lock().remove(&self.key);
        self.done.store(1, Ordering::SeqCst);
        futex::wake_all(&self.done);
    }
}

/// Takes the turn to compile `key`, or gives the word of the compile under way.
fn take_turn(key: &str) -> Result<Turn, Arc<AtomicU32>> {
    let mut compiling = COMPILING.lock();
    if let Some(done) = compiling.get(key) {
        return Err(done.clone());
    }
    let done = Arc::new(AtomicU32::new(0));
    compiling.insert(String::from(key), done.clone());
    Ok(Turn {
        key: String::from(key),
        done,
    })
}

/// The valid entry of `key` at `path` if there is one, else how the lookup missed.
fn read_entry(key: &str, path: &str) -> Result<Vec<u8>, Lookup> {
    match fs::read_file(path) {
        Ok(entry) => match unseal(key, &entry) {
            Ok(artifact) => Ok(artifact.to_vec()),
            Err(why) => Err(Lookup::Rejected(why)),
        },
        Err(_) => Err(Lookup::Miss),
    }
}

/// The artifact for `module`: from the cache if a valid entry is there, otherwise compiled
/// with `compile` and stored (or, if another lookup is compiling it, taken from that one's
/// entry once it is stored).
pub fn artifact(module: &[u8], compile: Compile<'_>) -> Result<(Vec<u8>, Lookup), CacheError> {
    let key = key(module);
    let path = entry_path(&key);
    let mut lookup = match read_entry(&key, &path) {
        Ok(artifact) => return Ok((artifact, Lookup::Hit)),
        Err(missed) => missed,
    };
    let _turn = loop {
        match take_turn(&key) {
            Ok(turn) => break turn,
            Err(done) => {
                while done.load(Ordering::SeqCst) == 0 {
                    let _ = futex::wait(&done, 0, None);
                    thread::kill_point();
                }
            }
        }
        // The other compile ended (stored or failed), or ended just before this lookup
        // took its turn: read what it left.
        match read_entry(&key, &path) {
            Ok(artifact) => return Ok((artifact, Lookup::Hit)),
            Err(missed) => lookup = missed,
        }
    };
    // A compile of this key may have ended between the first look and the turn.
    if let Ok(artifact) = read_entry(&key, &path) {
        return Ok((artifact, Lookup::Hit));
    }
    let io = |what: &str, e: Errno| CacheError::Io(format!("{what}: {e}"));
    ensure_dir().map_err(|e| io(DIR, e))?;
    let tmp = format!("{DIR}/{key}.{}", thread::current_id().as_u64());
    let files = TempFiles([
        format!("{tmp}.wasm"),
        format!("{tmp}.out"),
        format!("{tmp}.tmp"),
    ]);
    let [input, output, sealed] = &files.0;
    fs::write_file(input, module).map_err(|e| io(input, e))?;
    compile(input, output).map_err(CacheError::Compile)?;
    let artifact = fs::read_file(output).map_err(|e| io(output, e))?;
    fs::write_file(sealed, &seal(&key, &artifact)).map_err(|e| io(sealed, e))?;
    fs::rename(sealed, &path).map_err(|e| io(&path, e))?;
    Ok((artifact, lookup))
}

/// A lookup's temporary files (module copy, compiler output, sealed entry), removed when it
/// ends by any path: an error, or unwinding (a kill during the compile).
struct TempFiles([String; 3]);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::unlink(p);
        }
    }
}
