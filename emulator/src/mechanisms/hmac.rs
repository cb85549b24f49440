//! CKM_SHA256_HMAC (PKCS#11 3.0 §6.22; RFC 2104, FIPS 198-1): full-length HMAC-SHA256 with
//! a generic-secret key, single- and multi-part sign and verify.

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::provider::{CryptoProvider, Hasher};
use alloc::boxed::Box;
use alloc::vec::Vec;
use subtle::ConstantTimeEq;

/// Generic-secret keys of 1 to 512 bytes.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 1,
    max_key_size: 512,
    flags: flags::SIGN | flags::VERIFY,
};

/// Length of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// A running MAC (C_SignInit/C_VerifyInit .. Final).
pub struct MacOperation(Box<dyn Hasher>);

impl core::fmt::Debug for MacOperation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MacOperation(HMAC-SHA256)")
    }
}

impl MacOperation {
    /// Starts a MAC under `key`.
    pub fn new(provider: &CryptoProvider, key: &[u8]) -> Result<Self> {
        provider
            .sha256
            .hmac(key)
            .map(MacOperation)
            .map_err(|_| Error::KeySizeRange)
    }

    /// Absorbs data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The tag.
    pub fn sign(self) -> Vec<u8> {
        self.0.finish().expose().to_vec()
    }

    /// Compares the tag with `signature` in constant time.
    pub fn verify(self, signature: &[u8]) -> Result<()> {
        if signature.len() != TAG_LEN {
            return Err(Error::SignatureLenRange);
        }
        let tag = self.0.finish();
        if bool::from(tag.expose().ct_eq(signature)) {
            Ok(())
        } else {
            Err(Error::SignatureInvalid)
        }
    }
}
