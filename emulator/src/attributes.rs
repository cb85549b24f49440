//! Object attributes: types, values and templates (PKCS#11 3.0 §4, "Objects").
//!
//! This module owns the *vocabulary*: which attribute types exist, which value kind each has,
//! and the object classes and key types the emulator models. The *rules* about who may set or
//! read what live in [`crate::policy`].
//!
//! Invariant: the `Debug` of a value never prints bytes (they may be key material); it prints
//! only the length.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

macro_rules! attribute_types {
    ($($(#[$doc:meta])* $name:ident = $code:literal : $kind:ident,)*) => {
        /// An attribute type (PKCS#11 3.0 §4; the discriminant is the spec's `CKA_*` value).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(u64)]
        pub enum AttributeType {
            $($(#[$doc])* $name = $code,)*
        }

        impl AttributeType {
            /// Every attribute type the emulator knows.
            pub const ALL: &'static [AttributeType] = &[$(AttributeType::$name),*];

            /// The type with this `CKA_*` code, if the emulator knows it.
            pub fn from_code(code: u64) -> Option<Self> {
                match code {
                    $($code => Some(AttributeType::$name),)*
                    _ => None,
                }
            }

            /// The `CKA_*` code.
            pub fn code(self) -> u64 {
                self as u64
            }

            /// The kind of value this attribute holds.
            pub fn kind(self) -> ValueKind {
                match self {
                    $(AttributeType::$name => ValueKind::$kind,)*
                }
            }
        }
    };
}

attribute_types! {
    /// CKA_CLASS (§4.2): the object class.
    Class = 0x0000: Ulong,
    /// CKA_TOKEN (§4.4): token object (persistent) rather than session object.
    Token = 0x0001: Bool,
    /// CKA_PRIVATE (§4.4): visible only to a logged-in user.
    Private = 0x0002: Bool,
    /// CKA_LABEL (§4.4): description.
    Label = 0x0003: Bytes,
    /// CKA_APPLICATION (§4.5): data object's application.
    Application = 0x0010: Bytes,
    /// CKA_VALUE: key value (§4.7–4.9) or data object value (§4.5).
    Value = 0x0011: Bytes,
    /// CKA_OBJECT_ID (§4.5): DER OID of a data object.
    ObjectId = 0x0012: Bytes,
    /// CKA_TRUSTED (§4.9): key can be trusted for wrapping; only the SO may set it true.
    Trusted = 0x0086: Bool,
    /// CKA_CHECK_VALUE (§4.9, §6.x): key check value.
    CheckValue = 0x0090: Bytes,
    /// CKA_KEY_TYPE (§4.7): key type.
    KeyType = 0x0100: Ulong,
    /// CKA_ID (§4.7): key identifier.
    Id = 0x0102: Bytes,
    /// CKA_SENSITIVE (§4.8, §4.9): value cannot be revealed; false->true only.
    Sensitive = 0x0103: Bool,
    /// CKA_ENCRYPT (§4.9): key supports encryption.
    Encrypt = 0x0104: Bool,
    /// CKA_DECRYPT (§4.9): key supports decryption.
    Decrypt = 0x0105: Bool,
    /// CKA_WRAP (§4.9): key supports wrapping.
    Wrap = 0x0106: Bool,
    /// CKA_UNWRAP (§4.9): key supports unwrapping.
    Unwrap = 0x0107: Bool,
    /// CKA_SIGN (§4.8, §4.9): key supports signatures and MACs.
    Sign = 0x0108: Bool,
    /// CKA_VERIFY (§4.9): key supports verification.
    Verify = 0x010A: Bool,
    /// CKA_DERIVE (§4.7): key supports derivation.
    Derive = 0x010C: Bool,
    /// CKA_START_DATE (§4.7): CK_DATE, informational.
    StartDate = 0x0110: Bytes,
    /// CKA_END_DATE (§4.7): CK_DATE, informational.
    EndDate = 0x0111: Bytes,
    /// CKA_VALUE_LEN (§6.x): key length in bytes.
    ValueLen = 0x0161: Ulong,
    /// CKA_EXTRACTABLE (§4.8, §4.9): key may leave by wrapping; true->false only.
    Extractable = 0x0162: Bool,
    /// CKA_LOCAL (§4.7): generated on the token (computed).
    Local = 0x0163: Bool,
    /// CKA_NEVER_EXTRACTABLE (§4.8, §4.9): never had CKA_EXTRACTABLE true (computed).
    NeverExtractable = 0x0164: Bool,
    /// CKA_ALWAYS_SENSITIVE (§4.8, §4.9): always had CKA_SENSITIVE true (computed).
    AlwaysSensitive = 0x0165: Bool,
    /// CKA_KEY_GEN_MECHANISM (§4.7): mechanism that generated the key (computed).
    KeyGenMechanism = 0x0166: Ulong,
    /// CKA_MODIFIABLE (§4.4): attributes may be changed.
    Modifiable = 0x0170: Bool,
    /// CKA_COPYABLE (§4.4): object may be copied; true->false only.
    Copyable = 0x0171: Bool,
    /// CKA_DESTROYABLE (§4.4): object may be destroyed.
    Destroyable = 0x0172: Bool,
    /// CKA_EC_PARAMS (§2.3.3): DER curve parameters.
    EcParams = 0x0180: Bytes,
    /// CKA_EC_POINT (§2.3.3): DER OCTET STRING holding the SEC1 public point.
    EcPoint = 0x0181: Bytes,
    /// CKA_ALWAYS_AUTHENTICATE (§4.8): re-login before each use.
    AlwaysAuthenticate = 0x0202: Bool,
    /// CKA_WRAP_WITH_TRUSTED (§4.8, §4.9): may only be wrapped by a CKA_TRUSTED key; false->true only.
    WrapWithTrusted = 0x0210: Bool,
    /// CKA_WRAP_TEMPLATE (§4.9): keys wrapped by this key must match this template.
    WrapTemplate = 0x4000_0211: Template,
    /// CKA_UNWRAP_TEMPLATE (§4.9): forced onto every key this key unwraps.
    UnwrapTemplate = 0x4000_0212: Template,
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The value kind of an attribute type (PKCS#11 3.0 §3: CK_BBOOL, CK_ULONG, byte array,
/// CK_ATTRIBUTE array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// CK_BBOOL.
    Bool,
    /// CK_ULONG.
    Ulong,
    /// Byte array.
    Bytes,
    /// Array of attributes (a nested template).
    Template,
}

/// An attribute value.
///
/// Byte values are held in zeroizing storage because a template may carry key material
/// (CKA_VALUE in C_CreateObject).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// CK_BBOOL.
    Bool(bool),
    /// CK_ULONG.
    Ulong(u64),
    /// Byte array.
    Bytes(Zeroizing<Vec<u8>>),
    /// Nested template.
    Template(Vec<Attribute>),
}

impl AttributeValue {
    /// A byte-array value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Self {
        AttributeValue::Bytes(Zeroizing::new(b.into()))
    }

    /// The kind of this value.
    pub fn kind(&self) -> ValueKind {
        match self {
            AttributeValue::Bool(_) => ValueKind::Bool,
            AttributeValue::Ulong(_) => ValueKind::Ulong,
            AttributeValue::Bytes(_) => ValueKind::Bytes,
            AttributeValue::Template(_) => ValueKind::Template,
        }
    }
}

impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::Bool(b) => write!(f, "{b}"),
            AttributeValue::Ulong(u) => write!(f, "{u:#x}"),
            AttributeValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            AttributeValue::Template(t) => f.debug_list().entries(t).finish(),
        }
    }
}

/// One attribute: a type and its value (CK_ATTRIBUTE, PKCS#11 3.0 §3.4).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// The type.
    pub ty: AttributeType,
    /// The value.
    pub value: AttributeValue,
}

impl Attribute {
    /// A boolean attribute.
    pub fn bool(ty: AttributeType, b: bool) -> Self {
        Attribute {
            ty,
            value: AttributeValue::Bool(b),
        }
    }

    /// A CK_ULONG attribute.
    pub fn ulong(ty: AttributeType, u: u64) -> Self {
        Attribute {
            ty,
            value: AttributeValue::Ulong(u),
        }
    }

    /// A byte-array attribute.
    pub fn bytes(ty: AttributeType, b: impl Into<Vec<u8>>) -> Self {
        Attribute {
            ty,
            value: AttributeValue::bytes(b),
        }
    }

    /// A nested-template attribute.
    pub fn template(ty: AttributeType, t: Vec<Attribute>) -> Self {
        Attribute {
            ty,
            value: AttributeValue::Template(t),
        }
    }

    /// CKA_CLASS.
    pub fn class(c: ObjectClass) -> Self {
        Attribute::ulong(AttributeType::Class, c as u64)
    }

    /// CKA_KEY_TYPE.
    pub fn key_type(k: KeyType) -> Self {
        Attribute::ulong(AttributeType::KeyType, k as u64)
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}={:?}", self.ty, self.value)
    }
}

/// An object's attributes, one value per type, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMap(BTreeMap<AttributeType, AttributeValue>);

impl AttributeMap {
    /// An empty map.
    pub fn new() -> Self {
        AttributeMap(BTreeMap::new())
    }

    /// The value of `ty`, if present.
    pub fn get(&self, ty: AttributeType) -> Option<&AttributeValue> {
        self.0.get(&ty)
    }

    /// Sets `ty` to `value`.
    pub fn set(&mut self, ty: AttributeType, value: AttributeValue) {
        self.0.insert(ty, value);
    }

    /// Sets a boolean.
    pub fn set_bool(&mut self, ty: AttributeType, b: bool) {
        self.set(ty, AttributeValue::Bool(b));
    }

    /// Removes `ty`.
    pub fn remove(&mut self, ty: AttributeType) -> Option<AttributeValue> {
        self.0.remove(&ty)
    }

    /// Whether `ty` is present.
    pub fn contains(&self, ty: AttributeType) -> bool {
        self.0.contains_key(&ty)
    }

    /// A boolean attribute; absent or non-boolean reads as `false`.
    pub fn flag(&self, ty: AttributeType) -> bool {
        matches!(self.get(ty), Some(AttributeValue::Bool(true)))
    }

    /// A CK_ULONG attribute.
    pub fn ulong(&self, ty: AttributeType) -> Option<u64> {
        match self.get(ty) {
            Some(AttributeValue::Ulong(u)) => Some(*u),
            _ => None,
        }
    }

    /// A byte-array attribute.
    pub fn bytes(&self, ty: AttributeType) -> Option<&[u8]> {
        match self.get(ty) {
            Some(AttributeValue::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// A nested template attribute.
    pub fn template(&self, ty: AttributeType) -> Option<&[Attribute]> {
        match self.get(ty) {
            Some(AttributeValue::Template(t)) => Some(t),
            _ => None,
        }
    }

    /// Iterates in attribute-code order.
    pub fn iter(&self) -> impl Iterator<Item = (AttributeType, &AttributeValue)> {
        self.0.iter().map(|(t, v)| (*t, v))
    }

    /// Whether every attribute of `template` is present here with an equal value
    /// (the matching rule of C_FindObjectsInit and CKA_WRAP_TEMPLATE, PKCS#11 3.0 §5.7, §4.9).
    pub fn matches(&self, template: &[Attribute]) -> bool {
        template.iter().all(|a| self.get(a.ty) == Some(&a.value))
    }

    /// The object class.
    pub fn class(&self) -> Option<ObjectClass> {
        self.ulong(AttributeType::Class)
            .and_then(ObjectClass::from_code)
    }

    /// The key type.
    pub fn key_type(&self) -> Option<KeyType> {
        self.ulong(AttributeType::KeyType)
            .and_then(KeyType::from_code)
    }
}

/// Object classes the emulator models (PKCS#11 3.0 §4.2, `CKO_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum ObjectClass {
    /// CKO_DATA (§4.5).
    Data = 0,
    /// CKO_PUBLIC_KEY (§4.8 public keys).
    PublicKey = 2,
    /// CKO_PRIVATE_KEY (§4.8).
    PrivateKey = 3,
    /// CKO_SECRET_KEY (§4.9).
    SecretKey = 4,
}

impl ObjectClass {
    /// The class with this `CKO_*` code, if modelled.
    pub fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(ObjectClass::Data),
            2 => Some(ObjectClass::PublicKey),
            3 => Some(ObjectClass::PrivateKey),
            4 => Some(ObjectClass::SecretKey),
            _ => None,
        }
    }

    /// Whether objects of this class are keys.
    pub fn is_key(self) -> bool {
        !matches!(self, ObjectClass::Data)
    }
}

/// Key types the emulator models (PKCS#11 3.0 §4.7, `CKK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum KeyType {
    /// CKK_EC (§2.3): here always NIST P-256.
    Ec = 3,
    /// CKK_GENERIC_SECRET (§2.9.1).
    GenericSecret = 0x10,
    /// CKK_AES (§2.10).
    Aes = 0x1F,
}

impl KeyType {
    /// The key type with this `CKK_*` code, if modelled.
    pub fn from_code(code: u64) -> Option<Self> {
        match code {
            3 => Some(KeyType::Ec),
            0x10 => Some(KeyType::GenericSecret),
            0x1F => Some(KeyType::Aes),
            _ => None,
        }
    }
}
