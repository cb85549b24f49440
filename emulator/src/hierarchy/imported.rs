//! Imported key material (AWS KMS "importing key material", BYOK): a key created with an
//! external origin has no material until it is imported; material may carry an expiry, after
//! which it is deleted and the key is unusable until the *identical* material is imported
//! again (KMS: "you must reimport the same key material").
//!
//! The key remembers a salted HMAC-SHA256 fingerprint of its first material, so it can refuse
//! different material without keeping the material itself.
//!
//! Invariant: once a key has had material, only that material is ever accepted.

use crate::error::{Error, Result};
use crate::platform::UnixTime;
use crate::provider::CryptoProvider;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Where a key's material stands (KMS key states Enabled / PendingImport).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaterialState {
    /// No material has ever been imported.
    PendingImport,
    /// Material is present; usable until the expiry, if any.
    Active {
        /// When the material expires (seconds since the Unix epoch), if ever.
        expires_at: Option<UnixTime>,
    },
    /// The material expired or was deleted; re-import the same material to use the key again.
    Expired,
}

/// The persistent BYOK state of an external key (sealed into its record's AAD).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportState {
    /// Current state.
    pub state: MaterialState,
    /// `(salt, HMAC-SHA256(salt, material))` of the first material imported.
    fingerprint: Option<([u8; 16], [u8; 32])>,
}

impl core::fmt::Debug for ImportState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ImportState")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ImportState {
    /// A key waiting for its first import.
    pub fn pending() -> Self {
        ImportState {
            state: MaterialState::PendingImport,
            fingerprint: None,
        }
    }

    /// Accepts `material` if it is the first ever or identical to the first; records the new
    /// expiry. Different material is CKR_ATTRIBUTE_VALUE_INVALID.
    pub fn import(
        &mut self,
        provider: &CryptoProvider,
        salt: [u8; 16],
        material: &[u8],
        expires_at: Option<UnixTime>,
    ) -> Result<()> {
        let fingerprint = |salt: &[u8; 16]| -> Result<[u8; 32]> {
            let mut mac = provider.sha256.hmac(salt).map_err(|_| Error::DeviceError)?;
            mac.update(material);
            mac.finish()
                .expose()
                .try_into()
                .map_err(|_| Error::DeviceError)
        };
        match &self.fingerprint {
            Some((salt, expected)) => {
                if !bool::from(fingerprint(salt)?.ct_eq(expected)) {
                    return Err(Error::AttributeValueInvalid);
                }
            }
            None => self.fingerprint = Some((salt, fingerprint(&salt)?)),
        }
        self.state = MaterialState::Active { expires_at };
        Ok(())
    }

    /// Whether the material is usable at `now`; moves an expired key to `Expired` and returns
    /// `true` if that happened (so the caller deletes the material).
    pub fn expire_if_due(&mut self, now: UnixTime) -> bool {
        match self.state {
            MaterialState::Active {
                expires_at: Some(t),
            } if now >= t => {
                self.state = MaterialState::Expired;
                true
            }
            _ => false,
        }
    }

    /// Deletes the material (KMS DeleteImportedKeyMaterial).
    pub fn delete(&mut self) {
        if matches!(self.state, MaterialState::Active { .. }) {
            self.state = MaterialState::Expired;
        }
    }
}
