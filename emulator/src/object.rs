//! Objects held by the HSM: attributes plus, for keys and data objects, a value kept apart in
//! zeroizing storage (PKCS#11 3.0 §4).
//!
//! Invariant: an object's CKA_VALUE is never in its [`AttributeMap`]; it lives in
//! [`Object::value`], so listing or storing attributes can never leak it.

use crate::attributes::{AttributeMap, AttributeType, KeyType, ObjectClass};
use crate::hierarchy::imported::ImportState;
use crate::secret::SecretBytes;
use alloc::sync::Arc;
use core::fmt;

/// An object handle (CK_OBJECT_HANDLE). Token objects keep theirs across restarts (it is their
/// record id); handles are never reused within an HSM's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectHandle(pub u64);

/// A session handle (CK_SESSION_HANDLE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionHandle(pub u64);

impl fmt::Display for ObjectHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "object {}", self.0)
    }
}

/// An object.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    /// Every attribute except CKA_VALUE.
    pub(crate) attrs: AttributeMap,
    /// CKA_VALUE (secret key, private scalar, or data object value), if any.
    pub(crate) value: Option<Arc<SecretBytes>>,
    /// The session that owns a session object; `None` for token objects.
    pub(crate) session: Option<SessionHandle>,
    /// BYOK state, for keys with external material.
    pub(crate) import: Option<ImportState>,
}

impl Object {
    pub(crate) fn class(&self) -> ObjectClass {
        // Invariant: every object is created through a path that sets a valid CKA_CLASS.
        self.attrs.class().unwrap_or(ObjectClass::Data)
    }

    pub(crate) fn key_type(&self) -> Option<KeyType> {
        self.attrs.key_type()
    }

    pub(crate) fn is_token(&self) -> bool {
        self.attrs.flag(AttributeType::Token)
    }

    pub(crate) fn is_private(&self) -> bool {
        self.attrs.flag(AttributeType::Private)
    }
}
