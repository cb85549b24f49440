//! CKM_AES_KEY_WRAP (PKCS#11 3.0 §6.12.x; RFC 3394; NIST SP 800-38F §6.2 "KW") with the
//! default IV A6A6A6A6A6A6A6A6.

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

/// Wraps `data` (a multiple of 8 bytes, at least 16): CKR_KEY_SIZE_RANGE otherwise.
pub fn wrap(provider: &CryptoProvider, kek: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    if data.len() < 16 || !data.len().is_multiple_of(8) {
        return Err(Error::KeySizeRange);
    }
    provider
        .aes_kw
        .kw_wrap(kek, data)
        .map_err(|_| Error::WrappingKeySizeRange)
}

/// Unwraps a blob; a bad length is CKR_WRAPPED_KEY_LEN_RANGE, a failed integrity check
/// CKR_WRAPPED_KEY_INVALID, and neither yields any output.
pub fn unwrap(provider: &CryptoProvider, kek: &[u8], blob: &[u8]) -> Result<SecretBytes> {
    if blob.len() < 24 || !blob.len().is_multiple_of(8) {
        return Err(Error::WrappedKeyLenRange);
    }
    provider
        .aes_kw
        .kw_unwrap(kek, blob)
        .map_err(|_| Error::WrappedKeyInvalid)
}
