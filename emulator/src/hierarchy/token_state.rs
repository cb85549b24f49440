//! The persisted token state and how the domain keys survive a restart without ever being
//! stored in the clear (docs/key-hierarchy.md, "Token state").
//!
//! ```text
//! SO PIN ──PBKDF2(salt_so)──> KEK_so ──AES-KWP──┐
//!                                              ├──> token master key (TMK, AES-256, random)
//! user PIN ─PBKDF2(salt_u)──> KEK_u ───AES-KWP──┘          │ AES-KWP
//!                                                           v
//!                                          domain keys (all generations)
//! ```
//!
//! Either login unwraps the TMK and with it the domain keys; a PIN change re-wraps only the TMK;
//! a domain-key rotation re-wraps only the domain keys, so it needs no PIN.
//!
//! Invariant: the state record holds no PIN, no TMK and no domain key in the clear.

use crate::error::{Error, Result};
use crate::mechanisms::{aes_kwp, generic_secret};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use crate::token::TokenSnapshot;
use alloc::vec::Vec;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

const FORMAT: u8 = 1;

/// The TMK wrapped under a key derived from one PIN.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PinWrap {
    salt: [u8; 16],
    rounds: u32,
    blob: Vec<u8>,
}

impl PinWrap {
    fn kek(&self, provider: &CryptoProvider, pin: &[u8]) -> SecretBytes {
        let mut kek = SecretBytes::new(alloc::vec![0u8; 32]);
        provider
            .sha256
            .pbkdf2(pin, &self.salt, self.rounds, kek.expose_mut());
        kek
    }

    /// Wraps `tmk` under a key derived from `pin` with a fresh salt.
    pub(crate) fn new(
        provider: &CryptoProvider,
        rng: &mut dyn CryptoRng,
        pin: &[u8],
        rounds: u32,
        tmk: &SecretBytes,
    ) -> Result<Self> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let mut wrap = PinWrap {
            salt,
            rounds,
            blob: Vec::new(),
        };
        let kek = wrap.kek(provider, pin);
        wrap.blob = aes_kwp::wrap(provider, kek.expose(), tmk.expose())?;
        Ok(wrap)
    }

    /// The TMK, if `pin` is the PIN it was wrapped under.
    pub(crate) fn open(&self, provider: &CryptoProvider, pin: &[u8]) -> Result<SecretBytes> {
        let kek = self.kek(provider, pin);
        aes_kwp::unwrap(provider, kek.expose(), &self.blob).map_err(|_| Error::DeviceError)
    }
}

/// The TMK wraps of the two users.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct Wraps {
    pub(crate) so: Option<PinWrap>,
    pub(crate) user: Option<PinWrap>,
}

/// The token state record.
#[derive(Serialize, Deserialize)]
pub(crate) struct TokenState {
    format: u8,
    pub(crate) token: TokenSnapshot,
    pub(crate) wraps: Wraps,
    /// The encoded domain keys, AES-KWP-wrapped under the TMK.
    pub(crate) domain: Vec<u8>,
}

impl TokenState {
    pub(crate) fn new(token: TokenSnapshot, wraps: Wraps, domain: Vec<u8>) -> Self {
        TokenState {
            format: FORMAT,
            token,
            wraps,
            domain,
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self).map_err(|_| Error::DeviceError)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let state: TokenState = postcard::from_bytes(bytes).map_err(|_| Error::DeviceError)?;
        if state.format != FORMAT {
            return Err(Error::DeviceError);
        }
        Ok(state)
    }
}

/// A fresh token master key.
pub(crate) fn new_tmk(rng: &mut dyn CryptoRng) -> Result<SecretBytes> {
    generic_secret::generate(rng, 32)
}
