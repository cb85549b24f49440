//! The crypto provider seam: every primitive the mechanisms use, as a plain struct of small
//! trait objects (the shape of rustls's `CryptoProvider`).
//!
//! The policy and the mechanisms never name a crypto crate; they call through
//! [`CryptoProvider`]. [`rustcrypto::PROVIDER`] is the portable `no_std` default; a host can
//! plug in a faster backend (aws-lc-rs, ring) without touching the policy.
//!
//! Invariant: implementations never return partial output on failure, and never put secret
//! bytes in an error.

pub mod rustcrypto;

use crate::secret::SecretBytes;
use alloc::boxed::Box;
use alloc::vec::Vec;
use rand_core::CryptoRng;

/// A primitive failed. Deliberately uninformative: callers map it to the opaque CKR code of
/// the operation (PKCS#11 3.0 §5.2: decryption and unwrap failures reveal nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The key has a length or value the primitive does not accept.
    InvalidKey,
    /// The input has a length or encoding the primitive does not accept.
    InvalidInput,
    /// Authentication failed (tag mismatch, integrity check value, bad signature).
    Authentication,
}

/// Result of a primitive.
pub type CryptoResult<T> = core::result::Result<T, CryptoError>;

/// AES-GCM (NIST SP 800-38D) with a 96-bit IV and a tag of 12 to 16 bytes.
pub trait AesGcm: Sync {
    /// Encrypts `buf` in place and returns the tag of `tag_len` bytes.
    fn seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag_len: usize,
    ) -> CryptoResult<Vec<u8>>;
    /// Encrypts `input` into `out` (the same length) and returns the tag. Backends that can
    /// read one buffer and write another override it to save the copy.
    fn seal_to(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        input: &[u8],
        out: &mut [u8],
        tag_len: usize,
    ) -> CryptoResult<Vec<u8>> {
        out.get_mut(..input.len())
            .ok_or(CryptoError::InvalidInput)?
            .copy_from_slice(input);
        self.seal(key, iv, aad, out, tag_len)
    }
    /// Verifies `tag` and decrypts `buf` in place; on failure `buf` is zeroed.
    fn open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> CryptoResult<()>;
}

/// AES key wrap: KW (RFC 3394, SP 800-38F §6.2) and KWP (RFC 5649, SP 800-38F §6.3), and the
/// single-block AES encryption behind CKA_CHECK_VALUE.
pub trait AesKeyWrap: Sync {
    /// RFC 3394 wrap; `data` must be a multiple of 8 bytes and at least 16.
    fn kw_wrap(&self, kek: &[u8], data: &[u8]) -> CryptoResult<Vec<u8>>;
    /// RFC 3394 unwrap.
    fn kw_unwrap(&self, kek: &[u8], wrapped: &[u8]) -> CryptoResult<SecretBytes>;
    /// RFC 5649 wrap; `data` may be any length from 1 byte.
    fn kwp_wrap(&self, kek: &[u8], data: &[u8]) -> CryptoResult<Vec<u8>>;
    /// RFC 5649 unwrap.
    fn kwp_unwrap(&self, kek: &[u8], wrapped: &[u8]) -> CryptoResult<SecretBytes>;
    /// AES encryption of one block (FIPS 197), for key check values.
    fn encrypt_block(&self, key: &[u8], block: &[u8; 16]) -> CryptoResult<[u8; 16]>;
}

/// NIST P-256 (FIPS 186-5, SEC 1): key generation, ECDSA, ECDH and PKCS#8.
pub trait P256: Sync {
    /// A new private scalar (32 bytes, big-endian) from `rng`.
    fn generate(&self, rng: &mut dyn CryptoRng) -> SecretBytes;
    /// The uncompressed SEC1 public point (65 bytes) of a private scalar.
    fn public_point(&self, private: &[u8]) -> CryptoResult<Vec<u8>>;
    /// Checks that `point` is a valid SEC1 encoding of a point on the curve (not infinity).
    fn check_point(&self, point: &[u8]) -> CryptoResult<()>;
    /// Deterministic ECDSA (RFC 6979) over a caller-supplied digest: `r || s`, 64 bytes.
    fn sign_prehash(&self, private: &[u8], digest: &[u8]) -> CryptoResult<[u8; 64]>;
    /// Verifies an `r || s` signature over a digest with a SEC1 public point.
    fn verify_prehash(&self, point: &[u8], digest: &[u8], signature: &[u8]) -> CryptoResult<()>;
    /// ECDH (SEC 1 §3.3.1): the x-coordinate of `private * peer_point`.
    fn ecdh(&self, private: &[u8], peer_point: &[u8]) -> CryptoResult<SecretBytes>;
    /// PKCS#8 `PrivateKeyInfo` DER (RFC 5208/5958) of a private scalar.
    fn private_to_pkcs8(&self, private: &[u8]) -> CryptoResult<SecretBytes>;
    /// The private scalar of a P-256 PKCS#8 `PrivateKeyInfo`.
    fn pkcs8_to_private(&self, der: &[u8]) -> CryptoResult<SecretBytes>;
}

/// An incremental hash or MAC computation.
pub trait Hasher: Send {
    /// Absorbs data.
    fn update(&mut self, data: &[u8]);
    /// The digest or tag.
    fn finish(self: Box<Self>) -> SecretBytes;
}

/// SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104, FIPS 198-1) and the KDFs built on them.
pub trait Sha256: Sync {
    /// A SHA-256 computation.
    fn digest(&self) -> Box<dyn Hasher>;
    /// An HMAC-SHA256 computation under `key`.
    fn hmac(&self, key: &[u8]) -> CryptoResult<Box<dyn Hasher>>;
    /// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) filling `out`.
    fn pbkdf2(&self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]);
    /// The NIST SP 800-108 counter-mode KDF with HMAC-SHA256, 32-bit counter and length,
    /// deriving 32 bytes.
    fn kbkdf_counter(&self, key: &[u8], label: &[u8], context: &[u8]) -> CryptoResult<SecretBytes>;
}

/// The primitives the emulator uses.
#[derive(Clone, Copy)]
pub struct CryptoProvider {
    /// AES-GCM.
    pub aes_gcm: &'static dyn AesGcm,
    /// AES-KW and AES-KWP.
    pub aes_kw: &'static dyn AesKeyWrap,
    /// P-256.
    pub p256: &'static dyn P256,
    /// SHA-256 and HMAC.
    pub sha256: &'static dyn Sha256,
}

impl core::fmt::Debug for CryptoProvider {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CryptoProvider")
    }
}

impl Default for CryptoProvider {
    fn default() -> Self {
        rustcrypto::PROVIDER
    }
}
