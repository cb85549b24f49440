//! CKM_ECDH1_DERIVE (PKCS#11 3.0 §6.3.11, CK_ECDH1_DERIVE_PARAMS) on P-256 with the null KDF:
//! the derived key's value is the leading CKA_VALUE_LEN bytes of the shared x-coordinate
//! (SEC 1 §3.3.1).

use super::{MechanismInfo, ec, flags};
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::vec::Vec;

/// P-256 private keys, derive.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 256,
    max_key_size: 256,
    flags: flags::DERIVE | flags::EC_F_P | flags::EC_NAMEDCURVE | flags::EC_UNCOMPRESS,
};

/// CKD_NULL: no key derivation function (PKCS#11 3.0 §6.3.13).
pub const KDF_NULL: u64 = 1;

/// CK_ECDH1_DERIVE_PARAMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdhParams {
    /// The KDF (`CKD_*`); only [`KDF_NULL`] is supported.
    pub kdf: u64,
    /// Shared data for the KDF; must be empty with the null KDF.
    pub shared_data: Vec<u8>,
    /// The peer's public point: a SEC1 point, or one wrapped in a DER OCTET STRING.
    pub public_data: Vec<u8>,
}

/// The shared secret of `private` with the peer in `params`: 32 bytes.
///
/// An unsupported KDF, non-empty shared data or a peer point that is not on P-256 is
/// CKR_MECHANISM_PARAM_INVALID.
pub fn shared_secret(
    provider: &CryptoProvider,
    private: &[u8],
    params: &EcdhParams,
) -> Result<SecretBytes> {
    if params.kdf != KDF_NULL || !params.shared_data.is_empty() {
        return Err(Error::MechanismParamInvalid);
    }
    let point = ec::decode_point(&params.public_data).map_err(|_| Error::MechanismParamInvalid)?;
    provider
        .p256
        .ecdh(private, point)
        .map_err(|_| Error::MechanismParamInvalid)
}
