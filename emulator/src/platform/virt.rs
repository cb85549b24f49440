//! The virtual platform: a seeded ChaCha20 RNG, a RAM store and a settable clock, so that every
//! test and example is reproducible from one seed (after trussed's `virt`).

use super::{ObjectStore, Platform, StoreError, UnixTime};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// An object store in memory.
#[derive(Clone, Debug, Default)]
pub struct RamStore {
    records: BTreeMap<u64, Vec<u8>>,
    state: Option<Vec<u8>>,
}

impl RamStore {
    /// Mutable access to a raw record, for tamper tests.
    pub fn record_mut(&mut self, id: u64) -> Option<&mut Vec<u8>> {
        self.records.get_mut(&id)
    }
}

impl ObjectStore for RamStore {
    fn put(&mut self, id: u64, record: &[u8]) -> Result<(), StoreError> {
        self.records.insert(id, record.to_vec());
        Ok(())
    }

    fn get(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.get(&id).cloned())
    }

    fn remove(&mut self, id: u64) -> Result<(), StoreError> {
        self.records.remove(&id);
        Ok(())
    }

    fn ids(&self) -> Result<Vec<u64>, StoreError> {
        Ok(self.records.keys().copied().collect())
    }

    fn put_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        self.state = Some(state.to_vec());
        Ok(())
    }

    fn get_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state.clone())
    }
}

/// A deterministic platform: the same seed gives the same keys, nonces and signatures.
#[derive(Debug)]
pub struct VirtPlatform {
    rng: ChaCha20Rng,
    clock: UnixTime,
    store: RamStore,
}

impl VirtPlatform {
    /// A platform seeded with `seed`, its clock at 2026-01-01T00:00:00Z.
    pub fn new(seed: u64) -> Self {
        Self::with_store(seed, RamStore::default())
    }

    /// A platform over an existing store (to reopen a token's records).
    pub fn with_store(seed: u64, store: RamStore) -> Self {
        VirtPlatform {
            rng: ChaCha20Rng::seed_from_u64(seed),
            clock: 1_767_225_600,
            store,
        }
    }

    /// Sets the clock.
    pub fn set_time(&mut self, now: UnixTime) {
        self.clock = now;
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, seconds: u64) {
        self.clock = self.clock.saturating_add(seconds);
    }

    /// Takes the store out (e.g. to reopen it under a fresh `Hsm`).
    pub fn into_store(self) -> RamStore {
        self.store
    }
}

impl Platform for VirtPlatform {
    type Rng = ChaCha20Rng;
    type Store = RamStore;

    fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }

    fn now(&self) -> UnixTime {
        self.clock
    }

    fn store(&mut self) -> &mut RamStore {
        &mut self.store
    }

    fn store_ref(&self) -> &RamStore {
        &self.store
    }
}
