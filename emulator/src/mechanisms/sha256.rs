//! CKM_SHA256 (PKCS#11 3.0 §6.22; FIPS 180-4): single- and multi-part digest.

use super::{MechanismInfo, flags};
use crate::provider::{CryptoProvider, Hasher};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Digest only; no key.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 0,
    max_key_size: 0,
    flags: flags::DIGEST,
};

/// Length of a SHA-256 digest.
pub const OUTPUT_LEN: usize = 32;

/// A running digest (C_DigestInit .. C_DigestFinal).
pub struct DigestOperation(Box<dyn Hasher>);

impl core::fmt::Debug for DigestOperation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DigestOperation(SHA-256)")
    }
}

impl DigestOperation {
    /// Starts a digest.
    pub fn new(provider: &CryptoProvider) -> Self {
        DigestOperation(provider.sha256.digest())
    }

    /// Absorbs data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        self.0.finish().expose().to_vec()
    }
}

/// One-shot SHA-256.
pub fn digest(provider: &CryptoProvider, data: &[u8]) -> Vec<u8> {
    let mut op = DigestOperation::new(provider);
    op.update(data);
    op.finish()
}
