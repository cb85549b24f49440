//! CKM_GENERIC_SECRET_KEY_GEN (PKCS#11 3.0 §6.55): random secrets of 1 to 512 bytes, used as
//! HMAC keys and as ECDH outputs.

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use alloc::vec;
use rand_core::CryptoRng;

/// Generic secrets of 1 to 512 bytes.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 1,
    max_key_size: 512,
    flags: flags::GENERATE,
};

/// Checks a generic-secret length in bytes.
pub fn check_len(len: usize) -> Result<()> {
    let (min, max) = (INFO.min_key_size, INFO.max_key_size);
    if (min..=max).contains(&(len as u64)) {
        Ok(())
    } else {
        Err(Error::AttributeValueInvalid)
    }
}

/// A fresh generic secret of `len` bytes from the RNG.
pub fn generate(rng: &mut dyn CryptoRng, len: usize) -> Result<SecretBytes> {
    check_len(len)?;
    let mut key = SecretBytes::new(vec![0u8; len]);
    rng.fill_bytes(key.expose_mut());
    Ok(key)
}
