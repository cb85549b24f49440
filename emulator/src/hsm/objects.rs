//! Object management: C_CreateObject, C_CopyObject, C_DestroyObject, C_GetAttributeValue,
//! C_SetAttributeValue and C_FindObjects* (PKCS#11 3.0 §5.7). Every rule comes from
//! [`crate::policy`]; this file only sequences the checks and the writes.

use super::Hsm;
use crate::attributes::{
    Attribute, AttributeMap, AttributeType as A, AttributeValue, KeyType, ObjectClass,
};
use crate::error::{Error, Result};
use crate::mechanisms::{aes_keygen, ec, generic_secret};
use crate::object::{ObjectHandle, SessionHandle};
use crate::platform::{ObjectStore, Platform};
use crate::policy::{self, Change, Origin};
use crate::secret::SecretBytes;
use alloc::vec::Vec;

/// One attribute value as C_GetAttributeValue returns it, borrowed from the object.
#[derive(Clone, Copy)]
pub enum AttributeRef<'a> {
    /// A stored attribute.
    Value(&'a AttributeValue),
    /// CKA_VALUE of a key or data object that the policy lets the caller read (not sensitive,
    /// or a public key's value). Copy it only into the caller's buffer.
    Secret(&'a [u8]),
}

/// A visible object, read attribute by attribute under the readability rules of
/// [`policy::check_readable`] (PKCS#11 3.0 §4.9 CKA_SENSITIVE, §5.7).
pub struct ObjectReader<'a> {
    object: &'a crate::object::Object,
    class: ObjectClass,
}

impl<'a> ObjectReader<'a> {
    /// The value of `ty`: `Err(AttributeSensitive)` if the policy forbids reading it,
    /// `Err(AttributeTypeInvalid)` if the object has no such attribute.
    pub fn get(&self, ty: A) -> Result<AttributeRef<'a>> {
        policy::check_readable(&self.object.attrs, self.class, ty)?;
        if ty == A::Value {
            return self
                .object
                .value
                .as_ref()
                .map(|v| AttributeRef::Secret(v.expose()))
                .ok_or(Error::AttributeTypeInvalid);
        }
        self.object
            .attrs
            .get(ty)
            .map(AttributeRef::Value)
            .ok_or(Error::AttributeTypeInvalid)
    }
}

impl<P: Platform> Hsm<P> {
    /// Builds a new object's attributes and value from a template: policy checks, the value
    /// check for its key type, then defaults and computed attributes. Nothing is stored.
    pub(super) fn build_object(
        &self,
        class: ObjectClass,
        origin: Origin,
        template: &[Attribute],
        value: Option<SecretBytes>,
    ) -> Result<(AttributeMap, Option<SecretBytes>)> {
        policy::check_new_template(class, origin, template, self.caller())?;
        policy::check_required(class, origin, template)?;
        let mut attrs = AttributeMap::new();
        let mut value = value;
        for a in template {
            match (a.ty, &a.value) {
                (A::Value, AttributeValue::Bytes(b)) => value = Some(SecretBytes::from_slice(b)),
                _ => attrs.set(a.ty, a.value.clone()),
            }
        }
        attrs.set(A::Class, AttributeValue::Ulong(class as u64));
        if class.is_key() {
            let key_type = match attrs.ulong(A::KeyType) {
                None => return Err(Error::TemplateIncomplete),
                Some(code) => KeyType::from_code(code).ok_or(Error::AttributeValueInvalid)?,
            };
            self.check_key_value(class, key_type, &mut attrs, value.as_ref(), origin)?;
        }
        policy::finish_new(&mut attrs, class, origin);
        Ok((attrs, value))
    }

    /// Checks a key's value against its type (PKCS#11 3.0 §2.3.3, §2.9, §2.10) and sets the
    /// attributes that follow from it (CKA_VALUE_LEN, CKA_CHECK_VALUE, CKA_EC_PARAMS).
    fn check_key_value(
        &self,
        class: ObjectClass,
        key_type: KeyType,
        attrs: &mut AttributeMap,
        value: Option<&SecretBytes>,
        origin: Origin,
    ) -> Result<()> {
        match (class, key_type) {
            (ObjectClass::SecretKey, KeyType::Aes | KeyType::GenericSecret) => {
                let Some(value) = value else {
                    return Err(Error::TemplateIncomplete);
                };
                if key_type == KeyType::Aes {
                    aes_keygen::check_len(value.len())?;
                    let kcv = aes_keygen::check_value(&self.provider, value.expose())?;
                    if attrs
                        .bytes(A::CheckValue)
                        .is_some_and(|given| given != kcv.as_slice())
                    {
                        return Err(Error::AttributeValueInvalid);
                    }
                    attrs.set(A::CheckValue, AttributeValue::bytes(kcv));
                } else {
                    generic_secret::check_len(value.len())?;
                }
                let len = value.len() as u64;
                if attrs.ulong(A::ValueLen).is_some_and(|given| given != len) {
                    return Err(Error::TemplateInconsistent);
                }
                attrs.set(A::ValueLen, AttributeValue::Ulong(len));
            }
            (ObjectClass::PrivateKey, KeyType::Ec) => {
                let Some(value) = value else {
                    return Err(Error::TemplateIncomplete);
                };
                if origin != Origin::Create {
                    attrs.set(A::EcParams, AttributeValue::bytes(ec::P256_PARAMS.to_vec()));
                }
                ec::check_params(attrs.bytes(A::EcParams).ok_or(Error::TemplateIncomplete)?)?;
                self.provider
                    .p256
                    .public_point(value.expose())
                    .map_err(|_| Error::AttributeValueInvalid)?;
            }
            (ObjectClass::PublicKey, KeyType::Ec) => {
                ec::check_params(attrs.bytes(A::EcParams).ok_or(Error::TemplateIncomplete)?)?;
                let point =
                    ec::decode_point(attrs.bytes(A::EcPoint).ok_or(Error::TemplateIncomplete)?)?;
                self.provider
                    .p256
                    .check_point(point)
                    .map_err(|_| Error::AttributeValueInvalid)?;
                let der = ec::encode_point(point)?;
                attrs.set(A::EcPoint, AttributeValue::bytes(der));
            }
            _ => return Err(Error::TemplateInconsistent),
        }
        Ok(())
    }

    /// C_CreateObject: data objects, AES and generic-secret keys, P-256 private and public keys.
    pub fn create_object(
        &mut self,
        session: SessionHandle,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        self.session(session)?;
        let class = template_class(template)?.ok_or(Error::TemplateIncomplete)?;
        let (attrs, value) = self.build_object(class, Origin::Create, template, None)?;
        self.insert_object(session, attrs, value, None)
    }

    /// C_CopyObject: a new object with the source's attributes changed by `template`, under the
    /// same rules as C_SetAttributeValue (a copy is never looser than its source).
    pub fn copy_object(
        &mut self,
        session: SessionHandle,
        handle: ObjectHandle,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        let source = self.object(session, handle, Error::ObjectHandleInvalid)?;
        policy::check_change(
            &source.attrs,
            source.class(),
            template,
            Change::Copy,
            self.caller(),
            self.profile(),
        )?;
        let mut attrs = source.attrs.clone();
        policy::apply_change(&mut attrs, template);
        let value = source
            .value
            .as_ref()
            .map(|v| SecretBytes::from_slice(v.expose()));
        let import = source.import.clone();
        self.insert_object(session, attrs, value, import)
    }

    /// C_DestroyObject. A token object is gone from the store before this returns.
    pub fn destroy_object(&mut self, session: SessionHandle, handle: ObjectHandle) -> Result<()> {
        let object = self.object(session, handle, Error::ObjectHandleInvalid)?;
        self.check_writable(session, object.is_token(), object.is_private())?;
        if !object.attrs.flag(A::Destroyable) {
            return Err(Error::ActionProhibited);
        }
        self.remove_object(handle)
    }

    /// C_GetAttributeValue: one result per requested type. Unreadable values are
    /// `Err(AttributeSensitive)` and unknown ones `Err(AttributeTypeInvalid)`, while the other
    /// attributes of the same call are still returned (PKCS#11 3.0 §5.7). Values are copied out;
    /// [`Hsm::read_object`] borrows them instead.
    pub fn get_attribute_values(
        &self,
        session: SessionHandle,
        handle: ObjectHandle,
        types: &[A],
    ) -> Result<Vec<Result<AttributeValue>>> {
        let reader = self.read_object(session, handle)?;
        Ok(types
            .iter()
            .map(|&ty| {
                reader.get(ty).map(|v| match v {
                    AttributeRef::Value(v) => v.clone(),
                    AttributeRef::Secret(b) => AttributeValue::bytes(b.to_vec()),
                })
            })
            .collect())
    }

    /// C_GetAttributeValue without copies: a reader over an object the session may see
    /// (`Err(ObjectHandleInvalid)` otherwise), applying [`policy::check_readable`] to every
    /// attribute it hands out (PKCS#11 3.0 §5.7).
    pub fn read_object(
        &self,
        session: SessionHandle,
        handle: ObjectHandle,
    ) -> Result<ObjectReader<'_>> {
        let object = self.object(session, handle, Error::ObjectHandleInvalid)?;
        Ok(ObjectReader {
            object,
            class: object.class(),
        })
    }

    /// C_SetAttributeValue, under the change rules of [`policy::check_change`]. All or nothing:
    /// the change is written to the store before memory.
    pub fn set_attribute_values(
        &mut self,
        session: SessionHandle,
        handle: ObjectHandle,
        template: &[Attribute],
    ) -> Result<()> {
        let object = self.object(session, handle, Error::ObjectHandleInvalid)?;
        self.check_writable(session, object.is_token(), object.is_private())?;
        policy::check_change(
            &object.attrs,
            object.class(),
            template,
            Change::Set,
            self.caller(),
            self.profile(),
        )?;
        let old = object.attrs.clone();
        if let Some(object) = self.objects.get_mut(&handle) {
            policy::apply_change(&mut object.attrs, template);
        }
        if let Err(e) = self.persist(handle) {
            if let Some(object) = self.objects.get_mut(&handle) {
                object.attrs = old;
            }
            return Err(e);
        }
        Ok(())
    }

    /// C_FindObjectsInit: selects every visible object matching `template`. CKA_VALUE matches
    /// only values the caller could read, so a search is never an oracle for a hidden value.
    pub fn find_objects_init(
        &mut self,
        session: SessionHandle,
        template: &[Attribute],
    ) -> Result<()> {
        if self.session(session)?.ops.find.is_some() {
            return Err(Error::OperationActive);
        }
        let found: Vec<ObjectHandle> = self
            .objects
            .iter()
            .filter(|(_, o)| self.visible(o))
            .filter(|(_, o)| {
                template.iter().all(|a| match a.ty {
                    A::Value => {
                        policy::check_readable(&o.attrs, o.class(), A::Value).is_ok()
                            && matches!((&a.value, &o.value), (AttributeValue::Bytes(want), Some(have)) if want.as_slice() == have.expose())
                    }
                    _ => o.attrs.get(a.ty) == Some(&a.value),
                })
            })
            .map(|(h, _)| *h)
            .collect();
        self.session_mut(session)?.ops.find = Some(found);
        Ok(())
    }

    /// C_FindObjects: up to `max` more handles.
    pub fn find_objects(
        &mut self,
        session: SessionHandle,
        max: usize,
    ) -> Result<Vec<ObjectHandle>> {
        let found = self
            .session_mut(session)?
            .ops
            .find
            .as_mut()
            .ok_or(Error::OperationNotInitialized)?;
        let n = max.min(found.len());
        Ok(found.drain(..n).collect())
    }

    /// C_FindObjectsFinal.
    pub fn find_objects_final(&mut self, session: SessionHandle) -> Result<()> {
        self.session_mut(session)?
            .ops
            .find
            .take()
            .map(|_| ())
            .ok_or(Error::OperationNotInitialized)
    }

    /// Every token object id in the store, for administration (the store is the truth).
    pub fn stored_object_ids(&self) -> Result<Vec<u64>> {
        Ok(self.platform.store_ref().ids()?)
    }
}

/// The CKA_CLASS a template names, if any.
pub(super) fn template_class(template: &[Attribute]) -> Result<Option<ObjectClass>> {
    match template.iter().find(|a| a.ty == A::Class).map(|a| &a.value) {
        None => Ok(None),
        Some(AttributeValue::Ulong(code)) => ObjectClass::from_code(*code)
            .map(Some)
            .ok_or(Error::AttributeValueInvalid),
        Some(_) => Err(Error::AttributeValueInvalid),
    }
}
