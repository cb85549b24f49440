//! CKM_AES_KEY_GEN (PKCS#11 3.0 §6.12.3) and the AES key check value (§6.12.1, CKA_CHECK_VALUE:
//! the first three bytes of the encryption of an all-zero block).

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::vec;
use alloc::vec::Vec;
use rand_core::CryptoRng;

/// AES keys of 16, 24 or 32 bytes.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 16,
    max_key_size: 32,
    flags: flags::GENERATE,
};

/// Checks an AES key length in bytes (FIPS 197: 128, 192 or 256 bits).
pub fn check_len(len: usize) -> Result<()> {
    match len {
        16 | 24 | 32 => Ok(()),
        _ => Err(Error::AttributeValueInvalid),
    }
}

/// A fresh AES key of `len` bytes from the RNG.
pub fn generate(rng: &mut dyn CryptoRng, len: usize) -> Result<SecretBytes> {
    check_len(len)?;
    let mut key = SecretBytes::new(vec![0u8; len]);
    rng.fill_bytes(key.expose_mut());
    Ok(key)
}

/// CKA_CHECK_VALUE of an AES key: the first 3 bytes of AES_K(0^128).
pub fn check_value(provider: &CryptoProvider, key: &[u8]) -> Result<Vec<u8>> {
    let block = provider
        .aes_kw
        .encrypt_block(key, &[0u8; 16])
        .map_err(|_| Error::KeySizeRange)?;
    Ok(block[..3].to_vec())
}
