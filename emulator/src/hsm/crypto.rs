//! Cryptographic operations: C_Encrypt*, C_Decrypt*, C_Digest*, C_Sign*, C_Verify*,
//! C_GenerateRandom and C_SeedRandom (PKCS#11 3.0 §5.8–§5.13, §5.15).
//!
//! Each `*_init` checks the key against the policy (usage attribute, key type) once, captures
//! the key value in the operation, and parks the operation in the session. Per the spec, an
//! error in an update or final call ends the operation.

use super::Hsm;
use crate::attributes::{AttributeType as A, KeyType, ObjectClass};
use crate::error::{Error, Result};
use crate::mechanisms::{Mechanism, aes_gcm, ec, ecdsa, flags, hmac, sha256};
use crate::object::{ObjectHandle, SessionHandle};
use crate::platform::Platform;
use crate::policy;
use crate::profile::GcmIvSource;
use crate::provider::CryptoProvider;
use crate::session::{CipherOp, SignOp, VerifyOp};
use alloc::vec;
use alloc::vec::Vec;
use rand_core::Rng as _;

/// The kinds of operation a session runs (one of each at a time, PKCS#11 3.0 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// C_EncryptInit .. C_Encrypt.
    Encrypt,
    /// C_DecryptInit .. C_Decrypt.
    Decrypt,
    /// C_DigestInit .. C_Digest.
    Digest,
    /// C_SignInit .. C_Sign.
    Sign,
    /// C_VerifyInit .. C_Verify.
    Verify,
}

#[derive(Debug)]
enum Op {
    Cipher(CipherOp),
    Digest(sha256::DigestOperation),
    Sign(SignOp),
    Verify(VerifyOp),
}

/// An operation taken out of its session by [`Hsm::take_operation`], finished without the HSM.
#[derive(Debug)]
pub struct ActiveOperation(Op);

impl ActiveOperation {
    /// Finishes an encryption, decryption, digest or signature over `data` (the rest of the
    /// input, after any update calls).
    pub fn finish(self, provider: &CryptoProvider, data: &[u8]) -> Result<Vec<u8>> {
        match self.0 {
            Op::Cipher(CipherOp::Gcm(gcm)) => gcm.finish(provider, data),
            Op::Digest(mut d) => {
                d.update(data);
                Ok(d.finish())
            }
            Op::Sign(SignOp::Ecdsa(op)) => op.finish(provider, data),
            Op::Sign(SignOp::Hmac(mut op)) => {
                op.update(data);
                Ok(op.sign())
            }
            Op::Verify(_) => Err(Error::OperationNotInitialized),
        }
    }

    /// [`ActiveOperation::finish`] writing into `out`, which must hold at least the length
    /// [`Hsm::output_len`] gave; returns the bytes written. Encryption writes straight into
    /// `out`, with no intermediate buffer.
    pub fn finish_into(
        self,
        provider: &CryptoProvider,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        match self.0 {
            Op::Cipher(CipherOp::Gcm(gcm)) => gcm.finish_into(provider, data, out),
            other => {
                let result = ActiveOperation(other).finish(provider, data)?;
                out.get_mut(..result.len())
                    .ok_or(Error::ArgumentsBad)?
                    .copy_from_slice(&result);
                Ok(result.len())
            }
        }
    }

    /// Finishes a verification of `signature` over `data`.
    pub fn verify(self, provider: &CryptoProvider, data: &[u8], signature: &[u8]) -> Result<()> {
        match self.0 {
            Op::Verify(VerifyOp::Ecdsa(op)) => op.finish(provider, data, signature),
            Op::Verify(VerifyOp::Hmac(mut op)) => {
                op.update(data);
                op.verify(signature)
            }
            _ => Err(Error::OperationNotInitialized),
        }
    }
}

/// Which cipher direction an operation slot holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

impl<P: Platform> Hsm<P> {
    fn cipher_init(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        key: ObjectHandle,
        dir: Direction,
    ) -> Result<()> {
        let slot_busy = {
            let ops = &self.session(session)?.ops;
            match dir {
                Direction::Encrypt => ops.encrypt.is_some(),
                Direction::Decrypt => ops.decrypt.is_some(),
            }
        };
        if slot_busy {
            return Err(Error::OperationActive);
        }
        let (flag, usage) = match dir {
            Direction::Encrypt => (flags::ENCRYPT, A::Encrypt),
            Direction::Decrypt => (flags::DECRYPT, A::Decrypt),
        };
        mechanism.require(flag)?;
        let object = self.key(session, key, Error::KeyHandleInvalid)?;
        policy::check_usage(&object.attrs, usage)?;
        if object.class() != ObjectClass::SecretKey || object.key_type() != Some(KeyType::Aes) {
            return Err(Error::KeyTypeInconsistent);
        }
        let value = self.key_material(key)?;
        let op = match mechanism {
            Mechanism::AesGcm(params) => {
                // Under a generating profile, C_EncryptInit hands the IV back (`generated_iv`).
                let params = if dir == Direction::Encrypt
                    && self.profile().gcm_iv == GcmIvSource::Generated
                {
                    params.with_generated_iv(self.platform.rng())?
                } else {
                    params.clone()
                };
                CipherOp::Gcm(aes_gcm::GcmOperation::new(
                    value,
                    params,
                    dir == Direction::Decrypt,
                )?)
            }
            _ => return Err(Error::MechanismInvalid),
        };
        let ops = &mut self.session_mut(session)?.ops;
        match dir {
            Direction::Encrypt => ops.encrypt = Some(op),
            Direction::Decrypt => ops.decrypt = Some(op),
        }
        Ok(())
    }

    fn cipher_take(&mut self, session: SessionHandle, dir: Direction) -> Result<CipherOp> {
        let ops = &mut self.session_mut(session)?.ops;
        match dir {
            Direction::Encrypt => ops.encrypt.take(),
            Direction::Decrypt => ops.decrypt.take(),
        }
        .ok_or(Error::OperationNotInitialized)
    }

    fn cipher_update(
        &mut self,
        session: SessionHandle,
        data: &[u8],
        dir: Direction,
    ) -> Result<Vec<u8>> {
        let mut op = self.cipher_take(session, dir)?;
        if matches!(op, CipherOp::Gcm(_)) && !self.profile().gcm_multipart {
            // The operation ends here, as any failed C_EncryptUpdate ends it (PKCS#11 3.0 §5.9).
            return Err(Error::MechanismInvalid);
        }
        let out = match &mut op {
            CipherOp::Gcm(gcm) => {
                gcm.update(data);
                Vec::new()
            }
        };
        let ops = &mut self.session_mut(session)?.ops;
        match dir {
            Direction::Encrypt => ops.encrypt = Some(op),
            Direction::Decrypt => ops.decrypt = Some(op),
        }
        Ok(out)
    }

    fn cipher_finish(
        &mut self,
        session: SessionHandle,
        last: &[u8],
        dir: Direction,
    ) -> Result<Vec<u8>> {
        match self.cipher_take(session, dir)? {
            CipherOp::Gcm(gcm) => gcm.finish(&self.provider, last),
        }
    }

    /// The IV the HSM chose for the session's active AES-GCM encryption, under a profile with
    /// [`GcmIvSource::Generated`]; `None` otherwise. The C boundary writes it into the caller's
    /// `CK_GCM_PARAMS.pIv` after C_EncryptInit.
    pub fn generated_iv(&self, session: SessionHandle) -> Option<&[u8]> {
        if self.profile().gcm_iv != GcmIvSource::Generated {
            return None;
        }
        match self.session(session).ok()?.ops.encrypt.as_ref()? {
            CipherOp::Gcm(gcm) => Some(gcm.iv()),
        }
    }

    /// C_EncryptInit (CKM_AES_GCM; the key needs CKA_ENCRYPT).
    pub fn encrypt_init(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        self.cipher_init(session, mechanism, key, Direction::Encrypt)
    }

    /// C_Encrypt: single-part; ends the operation.
    pub fn encrypt(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        let provider = self.provider;
        self.take_operation(session, OperationKind::Encrypt)?
            .finish(&provider, data)
    }

    /// C_EncryptUpdate: GCM returns nothing until the final part.
    pub fn encrypt_update(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        self.cipher_update(session, data, Direction::Encrypt)
    }

    /// C_EncryptFinal.
    pub fn encrypt_final(&mut self, session: SessionHandle) -> Result<Vec<u8>> {
        self.cipher_finish(session, &[], Direction::Encrypt)
    }

    /// C_DecryptInit (CKM_AES_GCM; the key needs CKA_DECRYPT).
    pub fn decrypt_init(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        self.cipher_init(session, mechanism, key, Direction::Decrypt)
    }

    /// C_Decrypt: single-part; a failed tag is CKR_ENCRYPTED_DATA_INVALID with no output.
    pub fn decrypt(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        let provider = self.provider;
        self.take_operation(session, OperationKind::Decrypt)?
            .finish(&provider, data)
    }

    /// C_DecryptUpdate: nothing is released before the tag is verified.
    pub fn decrypt_update(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        self.cipher_update(session, data, Direction::Decrypt)
    }

    /// C_DecryptFinal.
    pub fn decrypt_final(&mut self, session: SessionHandle) -> Result<Vec<u8>> {
        self.cipher_finish(session, &[], Direction::Decrypt)
    }

    /// C_DigestInit (CKM_SHA256).
    pub fn digest_init(&mut self, session: SessionHandle, mechanism: &Mechanism) -> Result<()> {
        if self.session(session)?.ops.digest.is_some() {
            return Err(Error::OperationActive);
        }
        mechanism.require(flags::DIGEST)?;
        let op = sha256::DigestOperation::new(&self.provider);
        self.session_mut(session)?.ops.digest = Some(op);
        Ok(())
    }

    /// C_Digest: single-part.
    pub fn digest(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        let provider = self.provider;
        self.take_operation(session, OperationKind::Digest)?
            .finish(&provider, data)
    }

    /// C_DigestUpdate.
    pub fn digest_update(&mut self, session: SessionHandle, data: &[u8]) -> Result<()> {
        let op = self
            .session_mut(session)?
            .ops
            .digest
            .as_mut()
            .ok_or(Error::OperationNotInitialized)?;
        op.update(data);
        Ok(())
    }

    /// C_DigestFinal.
    pub fn digest_final(&mut self, session: SessionHandle) -> Result<Vec<u8>> {
        let op = self
            .session_mut(session)?
            .ops
            .digest
            .take()
            .ok_or(Error::OperationNotInitialized)?;
        Ok(op.finish())
    }

    /// C_SignInit: CKM_ECDSA / CKM_ECDSA_SHA256 with a P-256 private key, CKM_SHA256_HMAC with a
    /// generic secret; the key needs CKA_SIGN.
    pub fn sign_init(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        if self.session(session)?.ops.sign.is_some() {
            return Err(Error::OperationActive);
        }
        mechanism.require(flags::SIGN)?;
        let object = self.key(session, key, Error::KeyHandleInvalid)?;
        policy::check_usage(&object.attrs, A::Sign)?;
        let kind = (object.class(), object.key_type());
        let value = self.key_material(key)?;
        let op = match (mechanism, kind) {
            (
                Mechanism::Ecdsa | Mechanism::EcdsaSha256,
                (ObjectClass::PrivateKey, Some(KeyType::Ec)),
            ) => SignOp::Ecdsa(ecdsa::SignOperation::new(
                &self.provider,
                value,
                *mechanism == Mechanism::EcdsaSha256,
            )),
            (Mechanism::Sha256Hmac, (ObjectClass::SecretKey, Some(KeyType::GenericSecret))) => {
                SignOp::Hmac(hmac::MacOperation::new(&self.provider, value.expose())?)
            }
            _ => return Err(Error::KeyTypeInconsistent),
        };
        self.session_mut(session)?.ops.sign = Some(op);
        Ok(())
    }

    /// C_Sign: single-part.
    pub fn sign(&mut self, session: SessionHandle, data: &[u8]) -> Result<Vec<u8>> {
        let provider = self.provider;
        self.take_operation(session, OperationKind::Sign)?
            .finish(&provider, data)
    }

    /// C_SignUpdate (not for CKM_ECDSA, which is single-part: CKR_FUNCTION_NOT_SUPPORTED).
    pub fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> Result<()> {
        let slot = &mut self.session_mut(session)?.ops.sign;
        let result = match slot.as_mut().ok_or(Error::OperationNotInitialized)? {
            SignOp::Ecdsa(op) => op.update(data),
            SignOp::Hmac(op) => {
                op.update(data);
                Ok(())
            }
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// C_SignFinal.
    pub fn sign_final(&mut self, session: SessionHandle) -> Result<Vec<u8>> {
        match self
            .session_mut(session)?
            .ops
            .sign
            .take()
            .ok_or(Error::OperationNotInitialized)?
        {
            SignOp::Ecdsa(op) => op.finish(&self.provider, &[]),
            SignOp::Hmac(op) => Ok(op.sign()),
        }
    }

    /// C_VerifyInit: CKM_ECDSA / CKM_ECDSA_SHA256 with a P-256 public key, CKM_SHA256_HMAC with a
    /// generic secret; the key needs CKA_VERIFY.
    pub fn verify_init(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        if self.session(session)?.ops.verify.is_some() {
            return Err(Error::OperationActive);
        }
        mechanism.require(flags::VERIFY)?;
        let object = self.key(session, key, Error::KeyHandleInvalid)?;
        policy::check_usage(&object.attrs, A::Verify)?;
        let op = match (mechanism, object.class(), object.key_type()) {
            (
                Mechanism::Ecdsa | Mechanism::EcdsaSha256,
                ObjectClass::PublicKey,
                Some(KeyType::Ec),
            ) => {
                let point = ec::decode_point(
                    object
                        .attrs
                        .bytes(A::EcPoint)
                        .ok_or(Error::KeyTypeInconsistent)?,
                )?
                .to_vec();
                VerifyOp::Ecdsa(ecdsa::VerifyOperation::new(
                    &self.provider,
                    point,
                    *mechanism == Mechanism::EcdsaSha256,
                ))
            }
            (Mechanism::Sha256Hmac, ObjectClass::SecretKey, Some(KeyType::GenericSecret)) => {
                let value = self.key_material(key)?;
                VerifyOp::Hmac(hmac::MacOperation::new(&self.provider, value.expose())?)
            }
            _ => return Err(Error::KeyTypeInconsistent),
        };
        self.session_mut(session)?.ops.verify = Some(op);
        Ok(())
    }

    /// C_Verify: single-part.
    pub fn verify(&mut self, session: SessionHandle, data: &[u8], signature: &[u8]) -> Result<()> {
        let provider = self.provider;
        self.take_operation(session, OperationKind::Verify)?
            .verify(&provider, data, signature)
    }

    /// The output length a single-part call of `kind` on `input_len` more bytes will produce
    /// (PKCS#11 3.0 §5.2 length query), without running or ending the operation. For a
    /// decryption it is the exact plaintext length a valid input gives.
    pub fn output_len(
        &self,
        session: SessionHandle,
        kind: OperationKind,
        input_len: usize,
    ) -> Result<usize> {
        let ops = &self.session(session)?.ops;
        let missing = Error::OperationNotInitialized;
        Ok(match kind {
            OperationKind::Encrypt => match ops.encrypt.as_ref().ok_or(missing)? {
                CipherOp::Gcm(g) => g.output_len(input_len),
            },
            OperationKind::Decrypt => match ops.decrypt.as_ref().ok_or(missing)? {
                CipherOp::Gcm(g) => g.output_len(input_len),
            },
            OperationKind::Digest => ops
                .digest
                .as_ref()
                .map(|_| sha256::OUTPUT_LEN)
                .ok_or(missing)?,
            OperationKind::Sign => match ops.sign.as_ref().ok_or(missing)? {
                SignOp::Ecdsa(_) => ecdsa::SIGNATURE_LEN,
                SignOp::Hmac(_) => hmac::TAG_LEN,
            },
            OperationKind::Verify => 0,
        })
    }

    /// Takes the active operation of `kind` out of its session, so that the host can finish it
    /// as a single-part call without holding the HSM (the operation owns its key material).
    /// The session has no operation of that kind afterwards, as after any single-part call.
    pub fn take_operation(
        &mut self,
        session: SessionHandle,
        kind: OperationKind,
    ) -> Result<ActiveOperation> {
        let ops = &mut self.session_mut(session)?.ops;
        let op = match kind {
            OperationKind::Encrypt => ops.encrypt.take().map(Op::Cipher),
            OperationKind::Decrypt => ops.decrypt.take().map(Op::Cipher),
            OperationKind::Digest => ops.digest.take().map(Op::Digest),
            OperationKind::Sign => ops.sign.take().map(Op::Sign),
            OperationKind::Verify => ops.verify.take().map(Op::Verify),
        };
        op.map(ActiveOperation)
            .ok_or(Error::OperationNotInitialized)
    }

    /// C_VerifyUpdate (not for CKM_ECDSA).
    pub fn verify_update(&mut self, session: SessionHandle, data: &[u8]) -> Result<()> {
        let slot = &mut self.session_mut(session)?.ops.verify;
        let result = match slot.as_mut().ok_or(Error::OperationNotInitialized)? {
            VerifyOp::Ecdsa(op) => op.update(data),
            VerifyOp::Hmac(op) => {
                op.update(data);
                Ok(())
            }
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// C_VerifyFinal.
    pub fn verify_final(&mut self, session: SessionHandle, signature: &[u8]) -> Result<()> {
        match self
            .session_mut(session)?
            .ops
            .verify
            .take()
            .ok_or(Error::OperationNotInitialized)?
        {
            VerifyOp::Ecdsa(op) => op.finish(&self.provider, &[], signature),
            VerifyOp::Hmac(op) => op.verify(signature),
        }
    }

    /// C_GenerateRandom.
    pub fn generate_random(&mut self, session: SessionHandle, len: usize) -> Result<Vec<u8>> {
        self.session(session)?;
        let mut out = vec![0u8; len];
        self.platform.rng().fill_bytes(&mut out);
        Ok(out)
    }

    /// C_SeedRandom: the platform RNG takes no outside seed (a deterministic platform must
    /// stay deterministic), so this is CKR_RANDOM_SEED_NOT_SUPPORTED.
    pub fn seed_random(&mut self, session: SessionHandle, _seed: &[u8]) -> Result<()> {
        self.session(session)?;
        Err(Error::RandomSeedNotSupported)
    }
}
