//! The host platform the shim gives each token: a ChaCha20 RNG seeded from the OS (or from the
//! configured seed), the system clock, and the token's object store.

use crate::store::file::FileStore;
use hsmemu::platform::virt::RamStore;
use hsmemu::platform::{ObjectStore, Platform, StoreError, UnixTime};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// Where a token keeps its records.
#[derive(Debug)]
pub enum TokenStore {
    /// In memory: gone at C_Finalize.
    Memory(RamStore),
    /// A token directory.
    File(FileStore),
}

impl ObjectStore for TokenStore {
    fn put(&mut self, id: u64, record: &[u8]) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(s) => s.put(id, record),
            TokenStore::File(s) => s.put(id, record),
        }
    }

    fn get(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            TokenStore::Memory(s) => s.get(id),
            TokenStore::File(s) => s.get(id),
        }
    }

    fn remove(&mut self, id: u64) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(s) => s.remove(id),
            TokenStore::File(s) => s.remove(id),
        }
    }

    fn ids(&self) -> Result<Vec<u64>, StoreError> {
        match self {
            TokenStore::Memory(s) => s.ids(),
            TokenStore::File(s) => s.ids(),
        }
    }

    fn put_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        match self {
            TokenStore::Memory(s) => s.put_state(state),
            TokenStore::File(s) => s.put_state(state),
        }
    }

    fn get_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            TokenStore::Memory(s) => s.get_state(),
            TokenStore::File(s) => s.get_state(),
        }
    }
}

/// The shim's platform.
#[derive(Debug)]
pub struct OsPlatform {
    rng: ChaCha20Rng,
    store: TokenStore,
}

impl OsPlatform {
    /// A platform over `store`; `seed` makes the RNG deterministic, otherwise the OS seeds it.
    pub fn new(store: TokenStore, seed: Option<u64>) -> Result<Self, String> {
        let rng = match seed {
            Some(seed) => ChaCha20Rng::seed_from_u64(seed),
            None => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| format!("the OS RNG failed: {e}"))?;
                ChaCha20Rng::from_seed(key)
            }
        };
        Ok(OsPlatform { rng, store })
    }
}

impl Platform for OsPlatform {
    type Rng = ChaCha20Rng;
    type Store = TokenStore;

    fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }

    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn store(&mut self) -> &mut TokenStore {
        &mut self.store
    }

    fn store_ref(&self) -> &TokenStore {
        &self.store
    }
}
