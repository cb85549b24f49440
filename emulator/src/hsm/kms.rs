//! The KMS-style services on top of the PKCS#11 model: data keys under backing keys,
//! domain-key rotation, and keys with imported (BYOK) material that can expire. See
//! [`crate::hierarchy`] and docs/key-hierarchy.md.

use super::Hsm;
use crate::attributes::{
    Attribute, AttributeMap, AttributeType as A, AttributeValue, KeyType, ObjectClass,
};
use crate::error::{Error, Result};
use crate::hierarchy::DomainKeys;
use crate::hierarchy::datakey::{self, DataKey, EncryptionContext};
use crate::hierarchy::imported::{ImportState, MaterialState};
use crate::mechanisms::aes_keygen;
use crate::object::{ObjectHandle, SessionHandle};
use crate::platform::{Platform, UnixTime};
use crate::policy::{self, Origin};
use crate::secret::SecretBytes;
use alloc::sync::Arc;
use alloc::vec::Vec;
use rand_core::Rng as _;

impl<P: Platform> Hsm<P> {
    /// An AES-256 backing key's value, checked for the function `usage`.
    fn backing_key(
        &mut self,
        session: SessionHandle,
        handle: ObjectHandle,
        usage: A,
    ) -> Result<Arc<SecretBytes>> {
        let key = self.key(session, handle, Error::KeyHandleInvalid)?;
        if key.class() != ObjectClass::SecretKey || key.key_type() != Some(KeyType::Aes) {
            return Err(Error::KeyTypeInconsistent);
        }
        policy::check_usage(&key.attrs, usage)?;
        let value = self.key_material(handle)?;
        if value.len() != 32 {
            return Err(Error::KeySizeRange);
        }
        Ok(value)
    }

    /// Generates a data key of `len` bytes under an AES-256 backing key with CKA_ENCRYPT
    /// (KMS GenerateDataKey): the plaintext and a self-describing blob bound to `context`.
    pub fn generate_data_key(
        &mut self,
        session: SessionHandle,
        backing_key: ObjectHandle,
        len: usize,
        context: &EncryptionContext<'_>,
    ) -> Result<DataKey> {
        let key = self.backing_key(session, backing_key, A::Encrypt)?;
        datakey::generate(
            &self.provider,
            self.platform.rng(),
            backing_key.0,
            key.expose(),
            len,
            context,
        )
    }

    /// Opens a data-key blob (KMS Decrypt); the backing key (named by the blob) needs
    /// CKA_DECRYPT, and `context` must be the one given at generation.
    pub fn decrypt_data_key(
        &mut self,
        session: SessionHandle,
        blob: &[u8],
        context: &EncryptionContext<'_>,
    ) -> Result<SecretBytes> {
        let handle = ObjectHandle(datakey::backing_key_id(blob)?);
        let key = self.backing_key(session, handle, A::Decrypt)?;
        datakey::decrypt(&self.provider, key.expose(), blob, context)
    }

    /// Rotates the domain key: a new generation seals every token-object record again, then
    /// older generations are forgotten. If a write fails, the old generation is kept so that
    /// every record still opens. Returns the new generation.
    pub fn rotate_domain_key(&mut self) -> Result<u32> {
        let domain = self.domain.as_mut().ok_or(Error::UserNotLoggedIn)?;
        let generation = domain.rotate(self.platform.rng());
        let tokens: Vec<ObjectHandle> = self
            .objects
            .iter()
            .filter(|(_, o)| o.session.is_none())
            .map(|(h, _)| *h)
            .collect();
        for handle in tokens {
            self.persist(handle)?;
        }
        if let Some(domain) = self.domain.as_mut() {
            domain.retire_old();
        }
        self.save_state()?;
        Ok(generation)
    }

    /// The current domain-key generation.
    pub fn domain_key_generation(&self) -> u32 {
        self.domain
            .as_ref()
            .map_or(0, DomainKeys::current_generation)
    }

    /// Creates an AES key whose material comes from outside (KMS origin EXTERNAL): the template
    /// gives CKA_VALUE_LEN and the usual attributes; the key is unusable until
    /// [`Hsm::import_key_material`].
    pub fn create_external_key(
        &mut self,
        session: SessionHandle,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        self.session(session)?;
        let mut t: Vec<Attribute> = template
            .iter()
            .filter(|a| !matches!(a.ty, A::Class | A::KeyType))
            .cloned()
            .collect();
        t.push(Attribute::class(ObjectClass::SecretKey));
        t.push(Attribute::key_type(KeyType::Aes));
        // The material arrives later, as with unwrap: no CKA_VALUE and no computed attributes.
        policy::check_new_template(ObjectClass::SecretKey, Origin::Unwrap, &t, self.caller())?;
        let len = t
            .iter()
            .find(|a| a.ty == A::ValueLen)
            .and_then(|a| match a.value {
                AttributeValue::Ulong(u) => usize::try_from(u).ok(),
                _ => None,
            })
            .ok_or(Error::TemplateIncomplete)?;
        aes_keygen::check_len(len)?;
        let mut attrs = AttributeMap::new();
        for a in &t {
            attrs.set(a.ty, a.value.clone());
        }
        policy::finish_new(&mut attrs, ObjectClass::SecretKey, Origin::Create);
        self.insert_object(session, attrs, None, Some(ImportState::pending()))
    }

    /// Imports material into an external key (KMS ImportKeyMaterial), optionally expiring at
    /// `expires_at`. The first import fixes the material: later imports must be identical
    /// (CKR_ATTRIBUTE_VALUE_INVALID otherwise). Keys that are not external: CKR_ACTION_PROHIBITED.
    pub fn import_key_material(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        material: &[u8],
        expires_at: Option<UnixTime>,
    ) -> Result<()> {
        let object = self.key(session, key, Error::KeyHandleInvalid)?;
        self.check_writable(session, object.is_token(), object.is_private())?;
        let mut import = object.import.clone().ok_or(Error::ActionProhibited)?;
        if object.attrs.ulong(A::ValueLen) != Some(material.len() as u64) {
            return Err(Error::AttributeValueInvalid);
        }
        if expires_at.is_some_and(|t| t <= self.platform.now()) {
            return Err(Error::ArgumentsBad);
        }
        let mut salt = [0u8; 16];
        self.platform.rng().fill_bytes(&mut salt);
        import.import(&self.provider, salt, material, expires_at)?;
        let kcv = aes_keygen::check_value(&self.provider, material)?;
        let previous = self
            .objects
            .get(&key)
            .map(|o| (o.import.clone(), o.value.clone(), o.attrs.clone()));
        if let Some(object) = self.objects.get_mut(&key) {
            object.import = Some(import);
            object.value = Some(Arc::new(SecretBytes::from_slice(material)));
            object.attrs.set(A::CheckValue, AttributeValue::bytes(kcv));
        }
        if let Err(e) = self.persist(key) {
            if let (Some(object), Some((import, value, attrs))) =
                (self.objects.get_mut(&key), previous)
            {
                object.import = import;
                object.value = value;
                object.attrs = attrs;
            }
            return Err(e);
        }
        Ok(())
    }

    /// The state of a key's imported material, after applying its expiry. `None` for keys
    /// whose material was generated or supplied in the ordinary way.
    pub fn key_material_state(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
    ) -> Result<Option<MaterialState>> {
        self.key(session, key, Error::KeyHandleInvalid)?;
        // Applies the expiry as a side effect; the state is then read back.
        let _ = self.key_material(key);
        Ok(self
            .objects
            .get(&key)
            .and_then(|o| o.import.as_ref())
            .map(|i| i.state))
    }

    /// Deletes a key's imported material now (KMS DeleteImportedKeyMaterial).
    pub fn delete_key_material(&mut self, session: SessionHandle, key: ObjectHandle) -> Result<()> {
        let object = self.key(session, key, Error::KeyHandleInvalid)?;
        self.check_writable(session, object.is_token(), object.is_private())?;
        if object.import.is_none() {
            return Err(Error::ActionProhibited);
        }
        if let Some(object) = self.objects.get_mut(&key) {
            if let Some(import) = object.import.as_mut() {
                import.delete();
            }
            object.value = None;
        }
        self.persist(key)
    }
}
