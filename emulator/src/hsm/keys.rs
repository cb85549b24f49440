//! Key management: C_GenerateKey, C_GenerateKeyPair, C_WrapKey, C_UnwrapKey and C_DeriveKey
//! (PKCS#11 3.0 §5.18). Keys leave only by wrapping and come back only by unwrapping; private
//! keys travel as PKCS#8 `PrivateKeyInfo` DER (RFC 5958).

use super::Hsm;
use super::objects::template_class;
use crate::attributes::{Attribute, AttributeType as A, AttributeValue, KeyType, ObjectClass};
use crate::error::{Error, Result};
use crate::mechanisms::{
    Mechanism, aes_gcm, aes_keygen, aes_kw, aes_kwp, ec, ecdh, flags, generic_secret,
};
use crate::object::{ObjectHandle, SessionHandle};
use crate::platform::Platform;
use crate::policy::{self, Origin};
use crate::profile::GcmIvSource;
use crate::secret::SecretBytes;
use alloc::vec::Vec;

/// The CK_ULONG value of `ty` in a template.
fn template_ulong(template: &[Attribute], ty: A) -> Result<Option<u64>> {
    match template.iter().find(|a| a.ty == ty).map(|a| &a.value) {
        None => Ok(None),
        Some(AttributeValue::Ulong(u)) => Ok(Some(*u)),
        Some(_) => Err(Error::AttributeValueInvalid),
    }
}

/// Checks that a template's CKA_CLASS / CKA_KEY_TYPE, if given, agree with what the mechanism
/// makes, and returns the template with both set.
fn with_class_and_type(
    template: &[Attribute],
    class: ObjectClass,
    key_type: KeyType,
) -> Result<Vec<Attribute>> {
    if template_class(template)?.is_some_and(|c| c != class) {
        return Err(Error::TemplateInconsistent);
    }
    if template_ulong(template, A::KeyType)?.is_some_and(|k| k != key_type as u64) {
        return Err(Error::TemplateInconsistent);
    }
    let mut t: Vec<Attribute> = template
        .iter()
        .filter(|a| !matches!(a.ty, A::Class | A::KeyType))
        .cloned()
        .collect();
    t.push(Attribute::class(class));
    t.push(Attribute::key_type(key_type));
    Ok(t)
}

/// A usable AES key-encryption key's value, or the given size/type errors.
fn check_kek(
    object_class: ObjectClass,
    key_type: Option<KeyType>,
    len: usize,
    type_err: Error,
    size_err: Error,
) -> Result<()> {
    if object_class != ObjectClass::SecretKey || key_type != Some(KeyType::Aes) {
        return Err(type_err);
    }
    if !matches!(len, 16 | 24 | 32) {
        return Err(size_err);
    }
    Ok(())
}

impl<P: Platform> Hsm<P> {
    /// C_GenerateKey: CKM_AES_KEY_GEN or CKM_GENERIC_SECRET_KEY_GEN; CKA_VALUE_LEN is required.
    pub fn generate_key(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        self.session(session)?;
        mechanism.require(flags::GENERATE)?;
        let key_type = match mechanism {
            Mechanism::AesKeyGen => KeyType::Aes,
            _ => KeyType::GenericSecret,
        };
        let template = with_class_and_type(template, ObjectClass::SecretKey, key_type)?;
        let origin = Origin::Generate(mechanism.mechanism_type().code());
        policy::check_new_template(ObjectClass::SecretKey, origin, &template, self.caller())?;
        let len = template_ulong(&template, A::ValueLen)?.ok_or(Error::TemplateIncomplete)?;
        let len = usize::try_from(len).map_err(|_| Error::AttributeValueInvalid)?;
        let rng = self.platform.rng();
        let value = match key_type {
            KeyType::Aes => aes_keygen::generate(rng, len)?,
            _ => generic_secret::generate(rng, len)?,
        };
        let (attrs, value) =
            self.build_object(ObjectClass::SecretKey, origin, &template, Some(value))?;
        self.insert_object(session, attrs, value, None)
    }

    /// C_GenerateKeyPair: CKM_EC_KEY_PAIR_GEN on P-256 (CKA_EC_PARAMS in the public template).
    /// Both keys are created or neither.
    pub fn generate_key_pair(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        public_template: &[Attribute],
        private_template: &[Attribute],
    ) -> Result<(ObjectHandle, ObjectHandle)> {
        self.session(session)?;
        mechanism.require(flags::GENERATE_KEY_PAIR)?;
        let origin = Origin::Generate(mechanism.mechanism_type().code());
        let public_template =
            with_class_and_type(public_template, ObjectClass::PublicKey, KeyType::Ec)?;
        let private_template =
            with_class_and_type(private_template, ObjectClass::PrivateKey, KeyType::Ec)?;
        policy::check_new_template(
            ObjectClass::PrivateKey,
            origin,
            &private_template,
            self.caller(),
        )?;
        policy::check_new_template(
            ObjectClass::PublicKey,
            origin,
            &public_template,
            self.caller(),
        )?;
        let params = public_template
            .iter()
            .find(|a| a.ty == A::EcParams)
            .and_then(|a| match &a.value {
                AttributeValue::Bytes(b) => Some(b.as_slice()),
                _ => None,
            })
            .ok_or(Error::TemplateIncomplete)?;
        ec::check_params(params)?;
        let private = self.provider.p256.generate(self.platform.rng());
        let point = self
            .provider
            .p256
            .public_point(private.expose())
            .map_err(|_| Error::DeviceError)?;
        let mut public_template = public_template;
        public_template.push(Attribute::bytes(A::EcPoint, ec::encode_point(&point)?));
        // CKA_EC_POINT is computed here; it may not come from the caller (footnote 4), so the
        // public key is built as if created, then marked generated.
        let (mut public_attrs, _) = self.build_object(
            ObjectClass::PublicKey,
            Origin::Create,
            &public_template,
            None,
        )?;
        policy::finish_generated_public(&mut public_attrs, mechanism.mechanism_type().code());
        let (private_attrs, private) = self.build_object(
            ObjectClass::PrivateKey,
            origin,
            &private_template,
            Some(private),
        )?;
        self.check_writable(
            session,
            public_attrs.flag(A::Token),
            public_attrs.flag(A::Private),
        )?;
        let private_handle = self.insert_object(session, private_attrs, private, None)?;
        match self.insert_object(session, public_attrs, None, None) {
            Ok(public_handle) => Ok((public_handle, private_handle)),
            Err(e) => {
                self.remove_object(private_handle)?;
                Err(e)
            }
        }
    }

    /// C_WrapKey: AES-KW, AES-KWP or AES-GCM under an AES key with CKA_WRAP, of a secret key
    /// (its value) or a P-256 private key (PKCS#8), subject to [`policy::check_wrap`].
    pub fn wrap_key(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        wrapping_key: ObjectHandle,
        key: ObjectHandle,
    ) -> Result<Vec<u8>> {
        self.session(session)?;
        mechanism.require(flags::WRAP)?;
        let kek = self.key(session, wrapping_key, Error::WrappingKeyHandleInvalid)?;
        let kek_len = kek.value.as_ref().map_or(0, |v| v.len());
        check_kek(
            kek.class(),
            kek.key_type(),
            kek_len,
            Error::WrappingKeyTypeInconsistent,
            Error::WrappingKeySizeRange,
        )?;
        let target = self.key(session, key, Error::KeyHandleInvalid)?;
        policy::check_wrap(&kek.attrs, &target.attrs)?;
        let target_class = target.class();
        let kek_value = self.key_material(wrapping_key)?;
        let value = self.key_material(key)?;
        let data = match target_class {
            ObjectClass::SecretKey => SecretBytes::from_slice(value.expose()),
            ObjectClass::PrivateKey => self
                .provider
                .p256
                .private_to_pkcs8(value.expose())
                .map_err(|_| Error::KeyNotWrappable)?,
            _ => return Err(Error::KeyNotWrappable),
        };
        let kek = kek_value.expose();
        self.session_mut(session)?.wrap_iv = None;
        match mechanism {
            Mechanism::AesKeyWrap => aes_kw::wrap(&self.provider, kek, data.expose()),
            Mechanism::AesKeyWrapKwp => aes_kwp::wrap(&self.provider, kek, data.expose()),
            Mechanism::AesGcm(params) if self.profile().gcm_iv == GcmIvSource::Generated => {
                // As for encryption; C_WrapKey hands the IV back (`generated_wrap_iv`).
                let params = params.with_generated_iv(self.platform.rng())?;
                let blob = aes_gcm::wrap(&self.provider, kek, &params, data.expose())?;
                self.session_mut(session)?.wrap_iv = Some(params.iv);
                Ok(blob)
            }
            Mechanism::AesGcm(params) => aes_gcm::wrap(&self.provider, kek, params, data.expose()),
            _ => Err(Error::MechanismInvalid),
        }
    }

    /// The IV the token chose for the session's last AES-GCM C_WrapKey, under a profile with
    /// [`GcmIvSource::Generated`]; `None` otherwise. The C boundary writes it into the caller's
    /// `CK_GCM_PARAMS.pIv`.
    pub fn generated_wrap_iv(&self, session: SessionHandle) -> Option<&[u8]> {
        self.session(session).ok()?.wrap_iv.as_deref()
    }

    /// C_UnwrapKey: the inverse of [`Hsm::wrap_key`]. The unwrapping key's CKA_UNWRAP_TEMPLATE is
    /// merged into `template`; the new key has CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
    /// CKA_NEVER_EXTRACTABLE false. On any failure no object is created.
    pub fn unwrap_key(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        unwrapping_key: ObjectHandle,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        self.session(session)?;
        mechanism.require(flags::UNWRAP)?;
        let kek = self.key(session, unwrapping_key, Error::UnwrappingKeyHandleInvalid)?;
        policy::check_usage(&kek.attrs, A::Unwrap)?;
        let kek_len = kek.value.as_ref().map_or(0, |v| v.len());
        check_kek(
            kek.class(),
            kek.key_type(),
            kek_len,
            Error::UnwrappingKeyTypeInconsistent,
            Error::UnwrappingKeySizeRange,
        )?;
        let template = policy::merge_unwrap_template(&kek.attrs, template)?;
        let class = template_class(&template)?.ok_or(Error::TemplateIncomplete)?;
        let key_type = template_ulong(&template, A::KeyType)?.ok_or(Error::TemplateIncomplete)?;
        let key_type = KeyType::from_code(key_type).ok_or(Error::AttributeValueInvalid)?;
        policy::check_new_template(class, Origin::Unwrap, &template, self.caller())?;
        let kek_value = self.key_material(unwrapping_key)?;
        let kek = kek_value.expose();
        let data = match mechanism {
            Mechanism::AesKeyWrap => aes_kw::unwrap(&self.provider, kek, wrapped)?,
            Mechanism::AesKeyWrapKwp => aes_kwp::unwrap(&self.provider, kek, wrapped)?,
            Mechanism::AesGcm(params) => aes_gcm::unwrap(&self.provider, kek, params, wrapped)?,
            _ => return Err(Error::MechanismInvalid),
        };
        let value = match (class, key_type) {
            (ObjectClass::SecretKey, KeyType::Aes) => {
                aes_keygen::check_len(data.len()).map_err(|_| Error::WrappedKeyInvalid)?;
                data
            }
            (ObjectClass::SecretKey, KeyType::GenericSecret) => {
                generic_secret::check_len(data.len()).map_err(|_| Error::WrappedKeyInvalid)?;
                data
            }
            (ObjectClass::PrivateKey, KeyType::Ec) => self
                .provider
                .p256
                .pkcs8_to_private(data.expose())
                .map_err(|_| Error::WrappedKeyInvalid)?,
            _ => return Err(Error::TemplateInconsistent),
        };
        let (attrs, value) = self.build_object(class, Origin::Unwrap, &template, Some(value))?;
        self.insert_object(session, attrs, value, None)
    }

    /// C_DeriveKey: CKM_ECDH1_DERIVE (null KDF) from a P-256 private key with CKA_DERIVE into an
    /// AES key or generic secret of CKA_VALUE_LEN bytes (default 32). CKA_ALWAYS_SENSITIVE and
    /// CKA_NEVER_EXTRACTABLE propagate from the base key (PKCS#11 3.0 §4.9).
    pub fn derive_key(
        &mut self,
        session: SessionHandle,
        mechanism: &Mechanism,
        base_key: ObjectHandle,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        self.session(session)?;
        mechanism.require(flags::DERIVE)?;
        let Mechanism::Ecdh1Derive(params) = mechanism else {
            return Err(Error::MechanismInvalid);
        };
        let base = self.key(session, base_key, Error::KeyHandleInvalid)?;
        if base.class() != ObjectClass::PrivateKey || base.key_type() != Some(KeyType::Ec) {
            return Err(Error::KeyTypeInconsistent);
        }
        policy::check_usage(&base.attrs, A::Derive)?;
        let origin = Origin::Derive {
            base_always_sensitive: base.attrs.flag(A::AlwaysSensitive),
            base_never_extractable: base.attrs.flag(A::NeverExtractable),
        };
        if template_class(template)?.is_some_and(|c| c != ObjectClass::SecretKey) {
            return Err(Error::TemplateInconsistent);
        }
        let key_type = template_ulong(template, A::KeyType)?.ok_or(Error::TemplateIncomplete)?;
        let key_type = KeyType::from_code(key_type).ok_or(Error::AttributeValueInvalid)?;
        let mut template = with_class_and_type(template, ObjectClass::SecretKey, key_type)?;
        policy::check_new_template(ObjectClass::SecretKey, origin, &template, self.caller())?;
        let private = self.key_material(base_key)?;
        let shared = ecdh::shared_secret(&self.provider, private.expose(), params)?;
        let len = match template_ulong(&template, A::ValueLen)? {
            Some(len) => usize::try_from(len).map_err(|_| Error::AttributeValueInvalid)?,
            None => shared.len(),
        };
        if len == 0 || len > shared.len() {
            return Err(Error::AttributeValueInvalid);
        }
        template.retain(|a| a.ty != A::ValueLen);
        let value = SecretBytes::from_slice(&shared.expose()[..len]);
        let (attrs, value) =
            self.build_object(ObjectClass::SecretKey, origin, &template, Some(value))?;
        self.insert_object(session, attrs, value, None)
    }
}
