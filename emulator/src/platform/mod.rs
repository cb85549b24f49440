//! The host seam: everything the core cannot do without an operating system (a random number
//! generator, a clock, and persistent storage) behind one trait, so the core stays `no_std`,
//! does no I/O and holds no globals.
//!
//! [`virt`] is the deterministic platform for tests and examples (seeded ChaCha20, RAM store,
//! settable clock). The PKCS#11 shim supplies the OS RNG, the system clock and a file store.

pub mod virt;

use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;

/// Seconds since the Unix epoch, as the platform's clock reports them.
pub type UnixTime = u64;

/// What the core needs from its host.
pub trait Platform {
    /// The random number generator type.
    type Rng: CryptoRng;
    /// The object store type.
    type Store: ObjectStore;

    /// The cryptographically secure RNG (NIST SP 800-90A-grade in production).
    fn rng(&mut self) -> &mut Self::Rng;
    /// The current time.
    fn now(&self) -> UnixTime;
    /// The persistent store of sealed token-object records.
    fn store(&mut self) -> &mut Self::Store;
    /// Read-only access to the store.
    fn store_ref(&self) -> &Self::Store;
}

/// A failure of the object store (I/O, a full device). Carries no record contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The store could not read or write.
    Io,
    /// The store is full.
    Full,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Io => "object store I/O failed",
            StoreError::Full => "object store is full",
        })
    }
}

impl From<StoreError> for crate::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Io => crate::Error::DeviceError,
            StoreError::Full => crate::Error::DeviceMemory,
        }
    }
}

/// Persistent storage of opaque, already-sealed records keyed by object id.
///
/// Contract: `put` is atomic (a reader sees the old record or the new one, never a mix) and
/// durable when it returns; `remove` is durable when it returns.
pub trait ObjectStore {
    /// Stores (or replaces) the record of `id`.
    fn put(&mut self, id: u64, record: &[u8]) -> Result<(), StoreError>;
    /// The record of `id`, if any.
    fn get(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes the record of `id` (no error if absent).
    fn remove(&mut self, id: u64) -> Result<(), StoreError>;
    /// The ids of all records, ascending.
    fn ids(&self) -> Result<Vec<u64>, StoreError>;
    /// Stores (or replaces) the token's state record (PIN hashes, counters, wrapped keys).
    fn put_state(&mut self, state: &[u8]) -> Result<(), StoreError>;
    /// The token's state record, if the token was ever initialised.
    fn get_state(&self) -> Result<Option<Vec<u8>>, StoreError>;
}
