//! The KMS-style data-key service (AWS KMS GenerateDataKey / Decrypt; "AWS KMS Cryptographic
//! Details": data keys are encrypted under a per-call key derived from the backing key).
//!
//! A data key is returned as plaintext plus a self-describing ciphertext blob:
//!
//! ```text
//! "HSMDK" | version (1) | backing key id (u64 BE) | KDF nonce (32) | GCM IV (12) | ct || tag (16)
//! ```
//!
//! The per-call key is `KBKDF-CTR-HMAC-SHA256(backing key, label "hsmemu data key v1",
//! context = KDF nonce)` (NIST SP 800-108r1 §4.1); the data key is sealed under it with
//! AES-256-GCM, the blob header and the canonical encryption context as AAD. Data keys are never
//! stored.
//!
//! Invariant: a blob opens only with the same backing key, the same encryption context and
//! unmodified bytes; any failure is the opaque CKR_ENCRYPTED_DATA_INVALID.

use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use alloc::vec;
use alloc::vec::Vec;
use rand_core::CryptoRng;

const MAGIC: &[u8; 5] = b"HSMDK";
const VERSION: u8 = 1;
const KDF_LABEL: &[u8] = b"hsmemu data key v1";
const HEADER_LEN: usize = MAGIC.len() + 1 + 8 + 32 + 12;
const TAG_LEN: usize = 16;

/// An encryption context: name/value pairs bound to the blob as AAD (KMS "encryption
/// context"). Order does not matter; names must be unique.
pub type EncryptionContext<'a> = [(&'a str, &'a str)];

/// A freshly generated data key.
#[derive(Debug)]
pub struct DataKey {
    /// The data key itself, for the caller to use and then forget.
    pub plaintext: SecretBytes,
    /// The blob to store beside the data it protects; [`crate::Hsm::decrypt_data_key`] turns
    /// it back into the key.
    pub ciphertext_blob: Vec<u8>,
}

/// The backing key id a blob names, without opening it.
pub fn backing_key_id(blob: &[u8]) -> Result<u64> {
    if blob.len() < HEADER_LEN + TAG_LEN
        || &blob[..MAGIC.len()] != MAGIC
        || blob[MAGIC.len()] != VERSION
    {
        return Err(Error::EncryptedDataInvalid);
    }
    let id = &blob[MAGIC.len() + 1..MAGIC.len() + 9];
    Ok(u64::from_be_bytes(
        id.try_into().map_err(|_| Error::EncryptedDataInvalid)?,
    ))
}

/// Canonical encoding of an encryption context: pairs sorted by name, each as
/// `len(name) | name | len(value) | value` with 32-bit big-endian lengths.
fn canonical_context(context: &EncryptionContext<'_>) -> Result<Vec<u8>> {
    let mut pairs: Vec<_> = context.to_vec();
    pairs.sort_unstable();
    if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Error::ArgumentsBad);
    }
    let mut out = Vec::new();
    for (name, value) in pairs {
        for s in [name, value] {
            let len = u32::try_from(s.len()).map_err(|_| Error::ArgumentsBad)?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    Ok(out)
}

fn aad(header: &[u8], context: &EncryptionContext<'_>) -> Result<Vec<u8>> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&canonical_context(context)?);
    Ok(aad)
}

/// Generates a data key of `len` bytes under `backing_key` (whose id is `backing_id`).
pub fn generate(
    provider: &CryptoProvider,
    rng: &mut dyn CryptoRng,
    backing_id: u64,
    backing_key: &[u8],
    len: usize,
    context: &EncryptionContext<'_>,
) -> Result<DataKey> {
    if !(1..=1024).contains(&len) {
        return Err(Error::DataLenRange);
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&backing_id.to_be_bytes());
    let mut nonce = [0u8; 32 + 12];
    rng.fill_bytes(&mut nonce);
    header.extend_from_slice(&nonce);
    let per_call = provider
        .sha256
        .kbkdf_counter(backing_key, KDF_LABEL, &nonce[..32])
        .map_err(|_| Error::KeySizeRange)?;
    let mut plaintext = SecretBytes::new(vec![0u8; len]);
    rng.fill_bytes(plaintext.expose_mut());
    let iv: [u8; 12] = nonce[32..].try_into().map_err(|_| Error::DeviceError)?;
    let mut ct = plaintext.expose().to_vec();
    let tag = provider
        .aes_gcm
        .seal(
            per_call.expose(),
            &iv,
            &aad(&header, context)?,
            &mut ct,
            TAG_LEN,
        )
        .map_err(|_| Error::DeviceError)?;
    let mut blob = header;
    blob.extend_from_slice(&ct);
    blob.extend_from_slice(&tag);
    Ok(DataKey {
        plaintext,
        ciphertext_blob: blob,
    })
}

/// Opens a data-key blob with its backing key and encryption context.
pub fn decrypt(
    provider: &CryptoProvider,
    backing_key: &[u8],
    blob: &[u8],
    context: &EncryptionContext<'_>,
) -> Result<SecretBytes> {
    backing_key_id(blob)?;
    let (header, rest) = blob.split_at(HEADER_LEN);
    let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce = &header[MAGIC.len() + 9..];
    let per_call = provider
        .sha256
        .kbkdf_counter(backing_key, KDF_LABEL, &nonce[..32])
        .map_err(|_| Error::KeySizeRange)?;
    let iv: [u8; 12] = nonce[32..]
        .try_into()
        .map_err(|_| Error::EncryptedDataInvalid)?;
    let mut out = SecretBytes::from_slice(ct);
    provider
        .aes_gcm
        .open(
            per_call.expose(),
            &iv,
            &aad(header, context)?,
            out.expose_mut(),
            tag,
        )
        .map_err(|_| Error::EncryptedDataInvalid)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_context_ignores_order_and_refuses_duplicates() {
        let a = canonical_context(&[("b", "2"), ("a", "1")]);
        let b = canonical_context(&[("a", "1"), ("b", "2")]);
        assert_eq!(a, b);
        assert_eq!(
            canonical_context(&[("a", "1"), ("a", "1")]),
            Err(Error::ArgumentsBad)
        );
        // Length prefixes keep ("ab", "") apart from ("a", "b").
        assert_ne!(
            canonical_context(&[("ab", "")]),
            canonical_context(&[("a", "b")])
        );
    }

    #[test]
    fn short_or_foreign_blobs_are_refused_before_any_crypto() {
        assert_eq!(backing_key_id(b"HSMDK"), Err(Error::EncryptedDataInvalid));
        assert_eq!(
            backing_key_id(&[0u8; 100]),
            Err(Error::EncryptedDataInvalid)
        );
    }
}
