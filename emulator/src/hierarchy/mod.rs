//! The key hierarchy, after AWS KMS (docs/key-hierarchy.md):
//!
//! * the **domain key** (AES-256) lives only in [`DomainKeys`], in memory; it seals every
//!   stored token-object record ([`seal_record`], [`open_record`]) with AES-256-GCM, the record's
//!   identity and all its attributes as AAD, so a record that is moved, edited or swapped in the
//!   store fails to open;
//! * **backing keys** are ordinary key objects; the [`datakey`] service hands out data keys
//!   encrypted under a per-call key derived from a backing key (NIST SP 800-108 counter KDF);
//! * **imported material** ([`imported`]) can expire, after which the key is unusable until the
//!   identical material is imported again.
//!
//! Invariants: the domain key never reaches the store, a `Debug` string or an error; a record
//! opens only under the id it was sealed for and with exactly the attributes it was sealed with.

pub mod datakey;
pub mod imported;
pub mod token_state;

use crate::attributes::AttributeMap;
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

/// Domain-separation prefix of every record's AAD.
const RECORD_AAD_LABEL: &[u8] = b"hsmemu/record/v1";
/// Record format version.
const RECORD_FORMAT: u8 = 1;

/// The domain keys of one HSM: the current generation seals, older ones still open records
/// not yet re-sealed.
///
/// Invariant: never serialised, never printed.
pub struct DomainKeys {
    current: u32,
    keys: BTreeMap<u32, SecretBytes>,
}

impl fmt::Debug for DomainKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DomainKeys {{ current: {}, generations: {} }}",
            self.current,
            self.keys.len()
        )
    }
}

impl DomainKeys {
    /// A first domain key from the RNG.
    pub fn generate(rng: &mut dyn CryptoRng) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(1, random_key(rng));
        DomainKeys { current: 1, keys }
    }

    /// The generation that seals new records.
    pub fn current_generation(&self) -> u32 {
        self.current
    }

    /// Adds a new generation and makes it current; older generations stay until retired.
    pub fn rotate(&mut self, rng: &mut dyn CryptoRng) -> u32 {
        self.current += 1;
        self.keys.insert(self.current, random_key(rng));
        self.current
    }

    /// Forgets every generation older than the current one (after all records are re-sealed).
    pub fn retire_old(&mut self) {
        let current = self.current;
        self.keys.retain(|g, _| *g == current);
    }

    /// Number of generations held.
    pub fn generations(&self) -> usize {
        self.keys.len()
    }

    /// Serialised form, only ever stored encrypted (see [`token_state`]).
    pub(crate) fn encode(&self) -> Result<SecretBytes> {
        let pairs: Vec<(u32, &[u8])> = self.keys.iter().map(|(g, k)| (*g, k.expose())).collect();
        postcard::to_allocvec(&(self.current, pairs))
            .map(SecretBytes::new)
            .map_err(|_| Error::DeviceError)
    }

    /// The inverse of [`DomainKeys::encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let (current, pairs): (u32, Vec<(u32, Vec<u8>)>) =
            postcard::from_bytes(bytes).map_err(|_| Error::DeviceError)?;
        let keys: BTreeMap<u32, SecretBytes> = pairs
            .into_iter()
            .map(|(g, k)| (g, SecretBytes::new(k)))
            .collect();
        if !keys.contains_key(&current) {
            return Err(Error::DeviceError);
        }
        Ok(DomainKeys { current, keys })
    }

    fn key(&self, generation: u32) -> Result<&SecretBytes> {
        self.keys.get(&generation).ok_or(Error::DeviceError)
    }
}

fn random_key(rng: &mut dyn CryptoRng) -> SecretBytes {
    let mut key = SecretBytes::new(vec![0u8; 32]);
    rng.fill_bytes(key.expose_mut());
    key
}

/// The authenticated, non-secret part of a stored record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHeader {
    /// Record format version.
    pub format: u8,
    /// The object id (its handle) the record was sealed for.
    pub id: u64,
    /// Domain-key generation that sealed it.
    pub generation: u32,
    /// Every attribute of the object except its value.
    pub attrs: AttributeMap,
    /// BYOK state of imported material, if the key is external.
    pub import: Option<imported::ImportState>,
}

/// A stored token-object record: header in clear (so public objects can be found before
/// login), value sealed under the domain key.
#[derive(Debug, Serialize, Deserialize)]
struct StoredRecord {
    header: RecordHeader,
    nonce: [u8; 12],
    /// AES-256-GCM ciphertext || 16-byte tag of the value (empty value if none).
    sealed: Vec<u8>,
    has_value: bool,
}

/// A record opened from the store.
#[derive(Debug)]
pub struct OpenedRecord {
    /// The authenticated header.
    pub header: RecordHeader,
    /// The value (CKA_VALUE or private scalar), if the object has one.
    pub value: Option<SecretBytes>,
}

fn record_aad(header: &RecordHeader, has_value: bool) -> Result<Vec<u8>> {
    let mut aad = RECORD_AAD_LABEL.to_vec();
    aad.push(u8::from(has_value));
    let encoded = postcard::to_allocvec(header).map_err(|_| Error::DeviceError)?;
    aad.extend_from_slice(&encoded);
    Ok(aad)
}

/// Seals an object into a record for the store: AES-256-GCM under the current domain key,
/// with the header (id, generation, all attributes, import state) as AAD.
pub fn seal_record(
    provider: &CryptoProvider,
    domain: &DomainKeys,
    rng: &mut dyn CryptoRng,
    id: u64,
    attrs: &AttributeMap,
    import: Option<&imported::ImportState>,
    value: Option<&SecretBytes>,
) -> Result<Vec<u8>> {
    let header = RecordHeader {
        format: RECORD_FORMAT,
        id,
        generation: domain.current,
        attrs: attrs.clone(),
        import: import.cloned(),
    };
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut nonce);
    let aad = record_aad(&header, value.is_some())?;
    let mut sealed = value.map(|v| v.expose().to_vec()).unwrap_or_default();
    let tag = provider
        .aes_gcm
        .seal(
            domain.key(domain.current)?.expose(),
            &nonce,
            &aad,
            &mut sealed,
            16,
        )
        .map_err(|_| Error::DeviceError)?;
    sealed.extend_from_slice(&tag);
    let record = StoredRecord {
        header,
        nonce,
        sealed,
        has_value: value.is_some(),
    };
    postcard::to_allocvec(&record).map_err(|_| Error::DeviceError)
}

/// Why a stored record was refused (reported by id at load; never contains record bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes do not decode as a record.
    Malformed,
    /// The record claims a different id than the one it is stored under (moved or swapped).
    WrongId,
    /// No domain key of the record's generation is held.
    UnknownGeneration,
    /// Authentication failed: the record was edited, or sealed by another HSM.
    Tampered,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordError::Malformed => "record does not decode",
            RecordError::WrongId => "record is stored under another object's id",
            RecordError::UnknownGeneration => {
                "record was sealed by a domain key this HSM does not hold"
            }
            RecordError::Tampered => {
                "record failed authentication (edited, or sealed by another HSM)"
            }
        })
    }
}

/// Reads a record's header without authenticating it: only for listing public objects while
/// the domain key is still locked (before the first login). The record is authenticated when
/// the domain key is unlocked.
pub fn peek_header(id: u64, bytes: &[u8]) -> core::result::Result<RecordHeader, RecordError> {
    let record: StoredRecord = postcard::from_bytes(bytes).map_err(|_| RecordError::Malformed)?;
    if record.header.id != id {
        return Err(RecordError::WrongId);
    }
    Ok(record.header)
}

/// Opens a record stored under `id`, verifying that it was sealed for `id` by one of our
/// domain keys and has not been altered.
pub fn open_record(
    provider: &CryptoProvider,
    domain: &DomainKeys,
    id: u64,
    bytes: &[u8],
) -> core::result::Result<OpenedRecord, RecordError> {
    let record: StoredRecord = postcard::from_bytes(bytes).map_err(|_| RecordError::Malformed)?;
    if record.header.id != id {
        return Err(RecordError::WrongId);
    }
    let key = domain
        .key(record.header.generation)
        .map_err(|_| RecordError::UnknownGeneration)?;
    let aad = record_aad(&record.header, record.has_value).map_err(|_| RecordError::Malformed)?;
    let split = record
        .sealed
        .len()
        .checked_sub(16)
        .ok_or(RecordError::Malformed)?;
    let (ct, tag) = record.sealed.split_at(split);
    let mut value = SecretBytes::from_slice(ct);
    provider
        .aes_gcm
        .open(key.expose(), &record.nonce, &aad, value.expose_mut(), tag)
        .map_err(|_| RecordError::Tampered)?;
    Ok(OpenedRecord {
        header: record.header,
        value: record.has_value.then_some(value),
    })
}
