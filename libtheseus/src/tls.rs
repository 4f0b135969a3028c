//! Thread-local storage: keys with destructors (the `pthread_key_*` model) and the thread
//! pointer.
//!
//! A [`Key`] names one `u64` slot in every thread, 0 until the thread sets it. When a thread
//! ends, the destructor of each key whose value is non-zero runs with that value (in the
//! ending thread, repeated up to 4 rounds while destructors set new values, as in POSIX).
//! Keys are never deleted (there are few).
//!
//! Compiled `#[thread_local]` statics use the x86_64 TLS layout (variant II): the FS base
//! register holds the [`thread_pointer`], which points at the end of the thread's static TLS
//! block where a pointer to itself is stored.

/// A thread-local key: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key(task::TlsKey);

impl Key {
    /// Creates a key. `destructor`, if any, receives a thread's non-zero value when the
    /// thread ends.
    pub fn new(destructor: Option<fn(u64)>) -> Key {
        Key(task::TlsKey::new(destructor))
    }

    /// The running thread's value (0 if never set).
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// Sets the running thread's value.
    pub fn set(self, value: u64) {
        self.0.set(value)
    }

    /// A number identifying the key (for a C ABI's `pthread_key_t`).
    pub fn index(self) -> usize {
        self.0.0
    }
}

/// The running thread's thread pointer (FS base): the end of its static TLS block, where the
/// block's own address is stored.
pub fn thread_pointer() -> usize {
    x86_64::registers::model_specific::FsBase::read().as_u64() as usize
}
