//! CKM_ECDSA (PKCS#11 3.0 §6.3.6: the caller supplies the digest; single-part) and
//! CKM_ECDSA_SHA256 (§6.3.7: SHA-256 of the message; multi-part) on P-256, with deterministic
//! nonces (RFC 6979) and signatures as `r || s` (64 bytes), as PKCS#11 specifies.

use super::sha256::DigestOperation;
use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::sync::Arc;
use alloc::vec::Vec;
use zeroize::Zeroizing;

const EC_FLAGS: u64 = flags::EC_F_P | flags::EC_NAMEDCURVE | flags::EC_UNCOMPRESS;

/// Raw ECDSA over P-256.
pub const INFO_RAW: MechanismInfo = MechanismInfo {
    min_key_size: 256,
    max_key_size: 256,
    flags: flags::SIGN | flags::VERIFY | EC_FLAGS,
};

/// ECDSA with SHA-256 over P-256.
pub const INFO_SHA256: MechanismInfo = INFO_RAW;

/// Length of a P-256 signature `r || s`.
pub const SIGNATURE_LEN: usize = 64;

/// What the signature covers.
#[derive(Debug)]
enum Input {
    /// CKM_ECDSA: the digest itself, given in one piece.
    Digest,
    /// CKM_ECDSA_SHA256: a running hash of the message.
    Message(DigestOperation),
}

impl Input {
    fn new(provider: &CryptoProvider, hash: bool) -> Self {
        if hash {
            Input::Message(DigestOperation::new(provider))
        } else {
            Input::Digest
        }
    }

    fn update(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Input::Message(h) => {
                h.update(data);
                Ok(())
            }
            // CKM_ECDSA is single-part (PKCS#11 3.0 §6.3.6 table: "Sign: ✓ single-part only").
            Input::Digest => Err(Error::FunctionNotSupported),
        }
    }

    fn finish(self, last: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match self {
            Input::Message(mut h) => {
                h.update(last);
                Ok(Zeroizing::new(h.finish()))
            }
            Input::Digest if last.is_empty() => Err(Error::DataLenRange),
            Input::Digest => Ok(Zeroizing::new(last.to_vec())),
        }
    }
}

/// A signing operation.
#[derive(Debug)]
pub struct SignOperation {
    key: Arc<SecretBytes>,
    input: Input,
}

impl SignOperation {
    /// Starts signing with a private scalar; `hash` selects CKM_ECDSA_SHA256.
    pub fn new(provider: &CryptoProvider, key: Arc<SecretBytes>, hash: bool) -> Self {
        SignOperation {
            key,
            input: Input::new(provider, hash),
        }
    }

    /// Absorbs a part (CKM_ECDSA_SHA256 only).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.input.update(data)
    }

    /// The signature over everything absorbed plus `last`.
    pub fn finish(self, provider: &CryptoProvider, last: &[u8]) -> Result<Vec<u8>> {
        let digest = self.input.finish(last)?;
        let sig = provider
            .p256
            .sign_prehash(self.key.expose(), &digest)
            .map_err(|_| Error::DataLenRange)?;
        Ok(sig.to_vec())
    }
}

/// A verification operation.
#[derive(Debug)]
pub struct VerifyOperation {
    point: Vec<u8>,
    input: Input,
}

impl VerifyOperation {
    /// Starts verifying with a SEC1 public point; `hash` selects CKM_ECDSA_SHA256.
    pub fn new(provider: &CryptoProvider, point: Vec<u8>, hash: bool) -> Self {
        VerifyOperation {
            point,
            input: Input::new(provider, hash),
        }
    }

    /// Absorbs a part (CKM_ECDSA_SHA256 only).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.input.update(data)
    }

    /// Verifies `signature` (`r || s`) over everything absorbed plus `last`.
    pub fn finish(self, provider: &CryptoProvider, last: &[u8], signature: &[u8]) -> Result<()> {
        let digest = self.input.finish(last)?;
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::SignatureLenRange);
        }
        provider
            .p256
            .verify_prehash(&self.point, &digest, signature)
            .map_err(|_| Error::SignatureInvalid)
    }
}
