//! The RustCrypto provider: `aes-gcm`, `aes-kw`, `p256`, `sha2`, `hmac`, `pbkdf2` and `kbkdf`.
//! Pure Rust, `no_std`, constant-time where the crates are.

use super::{AesGcm, AesKeyWrap, CryptoError, CryptoProvider, CryptoResult, Hasher, P256, Sha256};
use crate::secret::SecretBytes;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::AeadInOut;
use aes_gcm::aead::array::Array;
use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
use aes_gcm::aead::inout::InOutBuf;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::CryptoRng;
use sha2::Digest;
use zeroize::Zeroize;

/// The RustCrypto provider, the default.
pub const PROVIDER: CryptoProvider = CryptoProvider {
    aes_gcm: &RustCryptoAesGcm,
    aes_kw: &RustCryptoAesKw,
    p256: &RustCryptoP256,
    sha256: &RustCryptoSha256,
};

struct RustCryptoAesGcm;

/// Dispatches on AES key size and GCM tag size, the two type parameters of `aes_gcm::AesGcm`.
macro_rules! with_gcm {
    ($key:expr, $tag_len:expr, |$cipher:ident| $body:expr) => {
        match ($key.len(), $tag_len) {
            (16, 12) => with_gcm!(@ Aes128, U12, $key, |$cipher| $body),
            (16, 13) => with_gcm!(@ Aes128, U13, $key, |$cipher| $body),
            (16, 14) => with_gcm!(@ Aes128, U14, $key, |$cipher| $body),
            (16, 15) => with_gcm!(@ Aes128, U15, $key, |$cipher| $body),
            (16, 16) => with_gcm!(@ Aes128, U16, $key, |$cipher| $body),
            (24, 12) => with_gcm!(@ Aes192, U12, $key, |$cipher| $body),
            (24, 13) => with_gcm!(@ Aes192, U13, $key, |$cipher| $body),
            (24, 14) => with_gcm!(@ Aes192, U14, $key, |$cipher| $body),
            (24, 15) => with_gcm!(@ Aes192, U15, $key, |$cipher| $body),
            (24, 16) => with_gcm!(@ Aes192, U16, $key, |$cipher| $body),
            (32, 12) => with_gcm!(@ Aes256, U12, $key, |$cipher| $body),
            (32, 13) => with_gcm!(@ Aes256, U13, $key, |$cipher| $body),
            (32, 14) => with_gcm!(@ Aes256, U14, $key, |$cipher| $body),
            (32, 15) => with_gcm!(@ Aes256, U15, $key, |$cipher| $body),
            (32, 16) => with_gcm!(@ Aes256, U16, $key, |$cipher| $body),
            (16 | 24 | 32, _) => Err(CryptoError::InvalidInput),
            _ => Err(CryptoError::InvalidKey),
        }
    };
    (@ $aes:ty, $tag:ty, $key:expr, |$cipher:ident| $body:expr) => {{
        let $cipher = aes_gcm::AesGcm::<$aes, U12, $tag>::new_from_slice($key)
            .map_err(|_| CryptoError::InvalidKey)?;
        $body
    }};
}

impl AesGcm for RustCryptoAesGcm {
    fn seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag_len: usize,
    ) -> CryptoResult<Vec<u8>> {
        let nonce = Array::from(*iv);
        with_gcm!(key, tag_len, |cipher| cipher
            .encrypt_inout_detached(&nonce, aad, buf.into())
            .map(|tag| tag.to_vec())
            .map_err(|_| CryptoError::InvalidInput))
    }

    fn seal_to(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        input: &[u8],
        out: &mut [u8],
        tag_len: usize,
    ) -> CryptoResult<Vec<u8>> {
        let nonce = Array::from(*iv);
        let buf = InOutBuf::new(input, out).map_err(|_| CryptoError::InvalidInput)?;
        with_gcm!(key, tag_len, |cipher| cipher
            .encrypt_inout_detached(&nonce, aad, buf)
            .map(|tag| tag.to_vec())
            .map_err(|_| CryptoError::InvalidInput))
    }

    fn open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> CryptoResult<()> {
        let nonce = Array::from(*iv);
        let result = with_gcm!(key, tag.len(), |cipher| {
            let tag = Array::try_from(tag).map_err(|_| CryptoError::InvalidInput)?;
            cipher
                .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
                .map_err(|_| CryptoError::Authentication)
        });
        if result.is_err() {
            buf.zeroize();
        }
        result
    }
}

struct RustCryptoAesKw;

/// Dispatches on the AES key size of a key-wrapping key.
macro_rules! with_kek {
    ($kind:ident, $kek:expr, |$k:ident| $body:expr) => {
        match $kek.len() {
            16 => with_kek!(@ aes_kw::$kind<Aes128>, $kek, |$k| $body),
            24 => with_kek!(@ aes_kw::$kind<Aes192>, $kek, |$k| $body),
            32 => with_kek!(@ aes_kw::$kind<Aes256>, $kek, |$k| $body),
            _ => Err(CryptoError::InvalidKey),
        }
    };
    (@ $ty:ty, $kek:expr, |$k:ident| $body:expr) => {{
        let $k = <$ty>::new_from_slice($kek).map_err(|_| CryptoError::InvalidKey)?;
        $body
    }};
}

impl AesKeyWrap for RustCryptoAesKw {
    fn kw_wrap(&self, kek: &[u8], data: &[u8]) -> CryptoResult<Vec<u8>> {
        if data.len() < 16 || !data.len().is_multiple_of(8) {
            return Err(CryptoError::InvalidInput);
        }
        let mut out = vec![0u8; data.len() + aes_kw::IV_LEN];
        with_kek!(AesKw, kek, |k| k
            .wrap_key(data, &mut out)
            .map_err(|_| CryptoError::InvalidInput))?;
        Ok(out)
    }

    fn kw_unwrap(&self, kek: &[u8], wrapped: &[u8]) -> CryptoResult<SecretBytes> {
        if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
            return Err(CryptoError::InvalidInput);
        }
        let mut out = SecretBytes::new(vec![0u8; wrapped.len() - aes_kw::IV_LEN]);
        let buf = out.expose_mut();
        with_kek!(AesKw, kek, |k| k
            .unwrap_key(wrapped, buf)
            .map(|_| ())
            .map_err(|_| CryptoError::Authentication))?;
        Ok(out)
    }

    fn kwp_wrap(&self, kek: &[u8], data: &[u8]) -> CryptoResult<Vec<u8>> {
        if data.is_empty() {
            return Err(CryptoError::InvalidInput);
        }
        let mut out = vec![0u8; data.len().div_ceil(8) * 8 + aes_kw::IV_LEN];
        let n = with_kek!(AesKwp, kek, |k| k
            .wrap_key(data, &mut out)
            .map(<[u8]>::len)
            .map_err(|_| CryptoError::InvalidInput))?;
        out.truncate(n);
        Ok(out)
    }

    fn kwp_unwrap(&self, kek: &[u8], wrapped: &[u8]) -> CryptoResult<SecretBytes> {
        if wrapped.len() < 16 || !wrapped.len().is_multiple_of(8) {
            return Err(CryptoError::InvalidInput);
        }
        let mut buf = SecretBytes::new(vec![0u8; wrapped.len() - aes_kw::IV_LEN]);
        let n = with_kek!(AesKwp, kek, |k| k
            .unwrap_key(wrapped, buf.expose_mut())
            .map(<[u8]>::len)
            .map_err(|_| CryptoError::Authentication))?;
        Ok(SecretBytes::from_slice(&buf.expose()[..n]))
    }

    fn encrypt_block(&self, key: &[u8], block: &[u8; 16]) -> CryptoResult<[u8; 16]> {
        let mut b = Array::from(*block);
        match key.len() {
            16 => Aes128::new_from_slice(key).map(|c| c.encrypt_block(&mut b)),
            24 => Aes192::new_from_slice(key).map(|c| c.encrypt_block(&mut b)),
            32 => Aes256::new_from_slice(key).map(|c| c.encrypt_block(&mut b)),
            _ => return Err(CryptoError::InvalidKey),
        }
        .map_err(|_| CryptoError::InvalidKey)?;
        Ok(b.into())
    }
}

struct RustCryptoP256;

fn secret_key(private: &[u8]) -> CryptoResult<p256::SecretKey> {
    p256::SecretKey::from_slice(private).map_err(|_| CryptoError::InvalidKey)
}

/// The scalar of a secret key, without leaving a copy on the stack.
fn scalar_bytes(sk: &p256::SecretKey) -> SecretBytes {
    let mut bytes = sk.to_bytes();
    let out = SecretBytes::from_slice(&bytes);
    bytes.as_mut_slice().zeroize();
    out
}

fn public_key(point: &[u8]) -> CryptoResult<p256::PublicKey> {
    p256::PublicKey::from_sec1_bytes(point).map_err(|_| CryptoError::InvalidInput)
}

impl P256 for RustCryptoP256 {
    fn generate(&self, rng: &mut dyn CryptoRng) -> SecretBytes {
        use p256::elliptic_curve::Generate;
        scalar_bytes(&p256::SecretKey::generate_from_rng(rng))
    }

    fn public_point(&self, private: &[u8]) -> CryptoResult<Vec<u8>> {
        Ok(secret_key(private)?.public_key().to_sec1_bytes().into_vec())
    }

    fn check_point(&self, point: &[u8]) -> CryptoResult<()> {
        public_key(point).map(|_| ())
    }

    fn sign_prehash(&self, private: &[u8], digest: &[u8]) -> CryptoResult<[u8; 64]> {
        // The same RFC 6979 signature `SigningKey::sign_prehash` makes, without deriving the
        // public key a `SigningKey` carries (a second scalar multiplication per call).
        let d = secret_key(private)?.to_nonzero_scalar();
        let (sig, _) =
            ecdsa::hazmat::sign_prehashed_rfc6979::<p256::NistP256, sha2::Sha256>(&d, digest, &[]);
        Ok(sig.to_bytes().into())
    }

    fn verify_prehash(&self, point: &[u8], digest: &[u8], signature: &[u8]) -> CryptoResult<()> {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
            .map_err(|_| CryptoError::InvalidKey)?;
        let sig = p256::ecdsa::Signature::from_slice(signature)
            .map_err(|_| CryptoError::Authentication)?;
        key.verify_prehash(digest, &sig)
            .map_err(|_| CryptoError::Authentication)
    }

    fn ecdh(&self, private: &[u8], peer_point: &[u8]) -> CryptoResult<SecretBytes> {
        let sk = secret_key(private)?;
        let peer = public_key(peer_point)?;
        let shared = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), peer.as_affine());
        Ok(SecretBytes::from_slice(shared.raw_secret_bytes()))
    }

    fn private_to_pkcs8(&self, private: &[u8]) -> CryptoResult<SecretBytes> {
        let doc = secret_key(private)?
            .to_pkcs8_der()
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(SecretBytes::from_slice(doc.as_bytes()))
    }

    fn pkcs8_to_private(&self, der: &[u8]) -> CryptoResult<SecretBytes> {
        let sk = p256::SecretKey::from_pkcs8_der(der).map_err(|_| CryptoError::InvalidInput)?;
        Ok(scalar_bytes(&sk))
    }
}

struct RustCryptoSha256;

struct DigestHasher(sha2::Sha256);

impl Hasher for DigestHasher {
    fn update(&mut self, data: &[u8]) {
        Digest::update(&mut self.0, data);
    }

    fn finish(self: Box<Self>) -> SecretBytes {
        SecretBytes::from_slice(&self.0.finalize())
    }
}

struct HmacHasher(Hmac<sha2::Sha256>);

impl Hasher for HmacHasher {
    fn update(&mut self, data: &[u8]) {
        Mac::update(&mut self.0, data);
    }

    fn finish(self: Box<Self>) -> SecretBytes {
        SecretBytes::from_slice(&self.0.finalize().into_bytes())
    }
}

impl Sha256 for RustCryptoSha256 {
    fn digest(&self) -> Box<dyn Hasher> {
        Box::new(DigestHasher(sha2::Sha256::new()))
    }

    fn hmac(&self, key: &[u8]) -> CryptoResult<Box<dyn Hasher>> {
        let mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(Box::new(HmacHasher(mac)))
    }

    fn pbkdf2(&self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out);
    }

    fn kbkdf_counter(&self, key: &[u8], label: &[u8], context: &[u8]) -> CryptoResult<SecretBytes> {
        use kbkdf::{Counter, Kbkdf, Params};
        let params = Params::builder(key)
            .with_label(label)
            .with_context(context)
            .build();
        let out = Counter::<Hmac<sha2::Sha256>, Aes256>::default()
            .derive(params)
            .map_err(|_| CryptoError::InvalidInput)?;
        Ok(SecretBytes::from_slice(&out))
    }
}
