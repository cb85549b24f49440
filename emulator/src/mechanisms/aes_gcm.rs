//! CKM_AES_GCM (PKCS#11 3.0 §6.12.x, CK_GCM_PARAMS; NIST SP 800-38D): encryption, decryption
//! and key wrapping with a caller-supplied 96-bit IV, additional authenticated data, and a tag
//! of 96 to 128 bits appended to the ciphertext.
//!
//! Multi-part operations buffer their input and produce all output at the final call: GCM
//! decryption must not release plaintext before the tag is verified.

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::sync::Arc;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// AES-128/192/256 for encrypt, decrypt, wrap and unwrap.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 16,
    max_key_size: 32,
    flags: flags::ENCRYPT | flags::DECRYPT | flags::WRAP | flags::UNWRAP,
};

/// CK_GCM_PARAMS (PKCS#11 3.0 §6.12.x): IV, AAD and tag length in bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcmParams {
    /// The IV; this emulator requires exactly 12 bytes (SP 800-38D §8.2 recommends 96 bits).
    pub iv: Vec<u8>,
    /// Additional authenticated data.
    pub aad: Vec<u8>,
    /// Tag length in bits: 96, 104, 112, 120 or 128.
    pub tag_bits: u64,
}

impl GcmParams {
    /// These parameters with an IV the token chooses, for profiles that refuse caller IVs
    /// (`profile::GcmIvSource::Generated`; SP 800-38D §8.2.2): the caller must pass 12 zero
    /// bytes, else CKR_MECHANISM_PARAM_INVALID.
    pub fn with_generated_iv(&self, rng: &mut impl rand_core::CryptoRng) -> Result<Self> {
        if self.iv.len() != 12 || self.iv.iter().any(|b| *b != 0) {
            return Err(Error::MechanismParamInvalid);
        }
        let mut params = self.clone();
        rng.fill_bytes(&mut params.iv);
        Ok(params)
    }

    /// The IV as an array and the tag length in bytes, or CKR_MECHANISM_PARAM_INVALID.
    fn validate(&self) -> Result<([u8; 12], usize)> {
        let iv: [u8; 12] = self
            .iv
            .as_slice()
            .try_into()
            .map_err(|_| Error::MechanismParamInvalid)?;
        match self.tag_bits {
            96 | 104 | 112 | 120 | 128 => Ok((iv, (self.tag_bits / 8) as usize)),
            _ => Err(Error::MechanismParamInvalid),
        }
    }
}

/// Encrypts `plaintext`: ciphertext || tag.
pub fn encrypt(
    provider: &CryptoProvider,
    key: &[u8],
    params: &GcmParams,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let (iv, tag_len) = params.validate()?;
    // Room for the tag up front: the ciphertext is not copied again when it is appended.
    let mut out = Vec::with_capacity(plaintext.len() + tag_len);
    out.extend_from_slice(plaintext);
    let tag = provider
        .aes_gcm
        .seal(key, &iv, &params.aad, &mut out, tag_len)
        .map_err(|_| Error::KeySizeRange)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Encrypts `plaintext` straight into `out` (ciphertext || tag), which must hold
/// [`output_len`] bytes: no intermediate buffer, for hosts that own the output memory.
pub fn encrypt_into(
    provider: &CryptoProvider,
    key: &[u8],
    params: &GcmParams,
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    let (iv, tag_len) = params.validate()?;
    let n = plaintext.len();
    let out = out.get_mut(..n + tag_len).ok_or(Error::ArgumentsBad)?;
    let (body, tag_out) = out.split_at_mut(n);
    let tag = provider
        .aes_gcm
        .seal_to(key, &iv, &params.aad, plaintext, body, tag_len)
        .map_err(|_| Error::KeySizeRange)?;
    tag_out.copy_from_slice(&tag);
    Ok(n + tag_len)
}

/// Decrypts ciphertext || tag. Any authentication failure is CKR_ENCRYPTED_DATA_INVALID and
/// yields nothing.
pub fn decrypt(
    provider: &CryptoProvider,
    key: &[u8],
    params: &GcmParams,
    input: &[u8],
) -> Result<SecretBytes> {
    let (iv, tag_len) = params.validate()?;
    let split = input
        .len()
        .checked_sub(tag_len)
        .ok_or(Error::EncryptedDataLenRange)?;
    let (ct, tag) = input.split_at(split);
    let mut out = SecretBytes::from_slice(ct);
    provider
        .aes_gcm
        .open(key, &iv, &params.aad, out.expose_mut(), tag)
        .map_err(|_| Error::EncryptedDataInvalid)?;
    Ok(out)
}

/// Output length of a single-part operation on `input_len` bytes.
pub fn output_len(params: &GcmParams, decrypting: bool, input_len: usize) -> usize {
    let tag = (params.tag_bits / 8) as usize;
    if decrypting {
        input_len.saturating_sub(tag)
    } else {
        input_len + tag
    }
}

/// A multi-part GCM encryption or decryption (C_EncryptUpdate / C_DecryptUpdate buffer; the
/// final call produces everything).
#[derive(Debug)]
pub struct GcmOperation {
    key: Arc<SecretBytes>,
    params: GcmParams,
    decrypting: bool,
    buffered: Zeroizing<Vec<u8>>,
}

impl GcmOperation {
    /// Starts an operation after checking the parameters.
    pub fn new(key: Arc<SecretBytes>, params: GcmParams, decrypting: bool) -> Result<Self> {
        params.validate()?;
        Ok(GcmOperation {
            key,
            params,
            decrypting,
            buffered: Zeroizing::new(Vec::new()),
        })
    }

    /// The operation's IV.
    pub fn iv(&self) -> &[u8] {
        &self.params.iv
    }

    /// Absorbs a part; GCM releases nothing until the final call.
    pub fn update(&mut self, data: &[u8]) {
        self.buffered.extend_from_slice(data);
    }

    /// The length [`GcmOperation::finish`] will return after `more` further input bytes.
    pub fn output_len(&self, more: usize) -> usize {
        output_len(&self.params, self.decrypting, self.buffered.len() + more)
    }

    /// Finishes a single-part encryption straight into `out`; other cases go through
    /// [`GcmOperation::finish`]. Returns the bytes written.
    pub fn finish_into(
        self,
        provider: &CryptoProvider,
        last: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        if !self.decrypting && self.buffered.is_empty() {
            return encrypt_into(provider, self.key.expose(), &self.params, last, out);
        }
        let result = self.finish(provider, last)?;
        out.get_mut(..result.len())
            .ok_or(Error::ArgumentsBad)?
            .copy_from_slice(&result);
        Ok(result.len())
    }

    /// Finishes: ciphertext || tag, or the verified plaintext.
    pub fn finish(self, provider: &CryptoProvider, last: &[u8]) -> Result<Vec<u8>> {
        // A single-part call has buffered nothing: use its input as it is, without a copy.
        let mut joined = self.buffered;
        let input: &[u8] = if joined.is_empty() {
            last
        } else {
            joined.extend_from_slice(last);
            &joined
        };
        if self.decrypting {
            decrypt(provider, self.key.expose(), &self.params, input).map(|p| p.expose().to_vec())
        } else {
            encrypt(provider, self.key.expose(), &self.params, input)
        }
    }
}

/// Wraps key bytes with GCM (C_WrapKey): ciphertext || tag.
pub fn wrap(
    provider: &CryptoProvider,
    kek: &[u8],
    params: &GcmParams,
    key: &[u8],
) -> Result<Vec<u8>> {
    encrypt(provider, kek, params, key)
}

/// Unwraps GCM-wrapped key bytes (C_UnwrapKey); failures are CKR_WRAPPED_KEY_INVALID or
/// CKR_WRAPPED_KEY_LEN_RANGE.
pub fn unwrap(
    provider: &CryptoProvider,
    kek: &[u8],
    params: &GcmParams,
    blob: &[u8],
) -> Result<SecretBytes> {
    decrypt(provider, kek, params, blob).map_err(|e| match e {
        Error::EncryptedDataInvalid => Error::WrappedKeyInvalid,
        Error::EncryptedDataLenRange => Error::WrappedKeyLenRange,
        other => other,
    })
}
