//! CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0 §6.12.x, code 0x210B; RFC 5649; NIST SP 800-38F §6.3
//! "KWP") with the default alternative IV A65959A6.

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::vec::Vec;

/// AES-128/192/256 key-encryption keys; wrap and unwrap.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 16,
    max_key_size: 32,
    flags: flags::WRAP | flags::UNWRAP,
};

/// Wraps `data` of any non-zero length.
pub fn wrap(provider: &CryptoProvider, kek: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    if data.is_empty() {
        return Err(Error::KeySizeRange);
    }
    provider
        .aes_kw
        .kwp_wrap(kek, data)
        .map_err(|_| Error::WrappingKeySizeRange)
}

/// Unwraps a blob; a bad length is CKR_WRAPPED_KEY_LEN_RANGE, a failed integrity or padding
/// check CKR_WRAPPED_KEY_INVALID, and neither yields any output.
pub fn unwrap(provider: &CryptoProvider, kek: &[u8], blob: &[u8]) -> Result<SecretBytes> {
    if blob.len() < 16 || !blob.len().is_multiple_of(8) {
        return Err(Error::WrappedKeyLenRange);
    }
    provider
        .aes_kw
        .kwp_unwrap(kek, blob)
        .map_err(|_| Error::WrappedKeyInvalid)
}
