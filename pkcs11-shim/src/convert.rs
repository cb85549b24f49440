//! Safe conversions between PKCS#11's C representations (already copied out of caller memory
//! by [`crate::ffi`]) and the emulator's types: templates, mechanisms, attribute values, and the
//! one exhaustive mapping of [`hsmemu::Error`] to `CK_RV` (PKCS#11 3.0 §5.1).

use cryptoki_sys::*;
use hsmemu::Error;
use hsmemu::attributes::{Attribute, AttributeType, AttributeValue, ValueKind};
use hsmemu::mechanisms::aes_gcm::GcmParams;
use hsmemu::mechanisms::ecdh::EcdhParams;
use hsmemu::mechanisms::{Mechanism, MechanismType};

/// An attribute as the caller passed it: type code and raw bytes, or a nested template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawAttribute {
    /// A plain attribute.
    Bytes(CK_ATTRIBUTE_TYPE, Vec<u8>),
    /// An array attribute (CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE).
    Nested(CK_ATTRIBUTE_TYPE, Vec<RawAttribute>),
}

/// A mechanism's parameters as the caller passed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawParam {
    /// No parameter.
    None,
    /// An opaque parameter (e.g. an AES-KW IV).
    Bytes(Vec<u8>),
    /// CK_GCM_PARAMS.
    Gcm {
        /// pIv.
        iv: Vec<u8>,
        /// pAAD.
        aad: Vec<u8>,
        /// ulTagBits.
        tag_bits: CK_ULONG,
    },
    /// CK_ECDH1_DERIVE_PARAMS.
    Ecdh {
        /// kdf.
        kdf: CK_ULONG,
        /// pSharedData.
        shared_data: Vec<u8>,
        /// pPublicData.
        public_data: Vec<u8>,
    },
}

/// A CK_MECHANISM as the caller passed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMechanism {
    /// The CKM_* code.
    pub code: CK_MECHANISM_TYPE,
    /// Its parameter.
    pub param: RawParam,
}

/// The default AES-KW IV (RFC 3394 §2.2.3.1).
const KW_DEFAULT_IV: [u8; 8] = [0xA6; 8];
/// The default AES-KWP alternative IV prefix (RFC 5649 §3).
const KWP_DEFAULT_AIV: [u8; 4] = [0xA6, 0x59, 0x59, 0xA6];

/// Decodes a mechanism: unknown codes are CKR_MECHANISM_INVALID, malformed parameters
/// CKR_MECHANISM_PARAM_INVALID. An explicit default IV for KW/KWP is accepted.
pub fn mechanism(raw: RawMechanism) -> Result<Mechanism, CK_RV> {
    let ty = MechanismType::from_code(raw.code).ok_or(CKR_MECHANISM_INVALID)?;
    let no_param = |m: Mechanism| match raw.param {
        RawParam::None => Ok(m),
        _ => Err(CKR_MECHANISM_PARAM_INVALID),
    };
    match ty {
        MechanismType::AesGcm => match raw.param {
            RawParam::Gcm { iv, aad, tag_bits } => {
                Ok(Mechanism::AesGcm(GcmParams { iv, aad, tag_bits }))
            }
            _ => Err(CKR_MECHANISM_PARAM_INVALID),
        },
        MechanismType::Ecdh1Derive => match raw.param {
            RawParam::Ecdh {
                kdf,
                shared_data,
                public_data,
            } => Ok(Mechanism::Ecdh1Derive(EcdhParams {
                kdf,
                shared_data,
                public_data,
            })),
            _ => Err(CKR_MECHANISM_PARAM_INVALID),
        },
        MechanismType::AesKeyWrap => match &raw.param {
            RawParam::Bytes(iv) if iv.as_slice() == KW_DEFAULT_IV => Ok(Mechanism::AesKeyWrap),
            _ => no_param(Mechanism::AesKeyWrap),
        },
        MechanismType::AesKeyWrapKwp => match &raw.param {
            RawParam::Bytes(iv) if iv.as_slice() == KWP_DEFAULT_AIV => Ok(Mechanism::AesKeyWrapKwp),
            _ => no_param(Mechanism::AesKeyWrapKwp),
        },
        MechanismType::Sha256 => no_param(Mechanism::Sha256),
        MechanismType::Sha256Hmac => no_param(Mechanism::Sha256Hmac),
        MechanismType::GenericSecretKeyGen => no_param(Mechanism::GenericSecretKeyGen),
        MechanismType::EcKeyPairGen => no_param(Mechanism::EcKeyPairGen),
        MechanismType::Ecdsa => no_param(Mechanism::Ecdsa),
        MechanismType::EcdsaSha256 => no_param(Mechanism::EcdsaSha256),
        MechanismType::AesKeyGen => no_param(Mechanism::AesKeyGen),
    }
}

/// Decodes a template: unknown types are CKR_ATTRIBUTE_TYPE_INVALID, values of the wrong size
/// CKR_ATTRIBUTE_VALUE_INVALID.
pub fn template(raw: Vec<RawAttribute>) -> Result<Vec<Attribute>, CK_RV> {
    raw.into_iter().map(attribute).collect()
}

fn attribute(raw: RawAttribute) -> Result<Attribute, CK_RV> {
    let (code, value) = match raw {
        RawAttribute::Bytes(code, bytes) => {
            let ty = AttributeType::from_code(code).ok_or(CKR_ATTRIBUTE_TYPE_INVALID)?;
            let value = match ty.kind() {
                ValueKind::Bool => match bytes.as_slice() {
                    [b] => AttributeValue::Bool(*b != CK_FALSE),
                    _ => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
                },
                ValueKind::Ulong => {
                    let arr: [u8; 8] = bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?;
                    AttributeValue::Ulong(CK_ULONG::from_ne_bytes(arr))
                }
                ValueKind::Bytes => AttributeValue::bytes(bytes),
                ValueKind::Template => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
            };
            (ty, value)
        }
        RawAttribute::Nested(code, inner) => {
            let ty = AttributeType::from_code(code).ok_or(CKR_ATTRIBUTE_TYPE_INVALID)?;
            if ty.kind() != ValueKind::Template {
                return Err(CKR_ATTRIBUTE_VALUE_INVALID);
            }
            (ty, AttributeValue::Template(template(inner)?))
        }
    };
    Ok(Attribute { ty: code, value })
}

/// The `CK_RV` of an emulator error: one exhaustive match, no wildcard (STYLE.md).
pub fn rv(e: Error) -> CK_RV {
    match e {
        Error::ActionProhibited => CKR_ACTION_PROHIBITED,
        Error::ArgumentsBad => CKR_ARGUMENTS_BAD,
        Error::AttributeReadOnly => CKR_ATTRIBUTE_READ_ONLY,
        Error::AttributeSensitive => CKR_ATTRIBUTE_SENSITIVE,
        Error::AttributeTypeInvalid => CKR_ATTRIBUTE_TYPE_INVALID,
        Error::AttributeValueInvalid => CKR_ATTRIBUTE_VALUE_INVALID,
        Error::DataInvalid => CKR_DATA_INVALID,
        Error::DataLenRange => CKR_DATA_LEN_RANGE,
        Error::DeviceError => CKR_DEVICE_ERROR,
        Error::DeviceMemory => CKR_DEVICE_MEMORY,
        Error::EncryptedDataInvalid => CKR_ENCRYPTED_DATA_INVALID,
        Error::EncryptedDataLenRange => CKR_ENCRYPTED_DATA_LEN_RANGE,
        Error::FunctionFailed => CKR_FUNCTION_FAILED,
        Error::FunctionNotSupported => CKR_FUNCTION_NOT_SUPPORTED,
        Error::KeyFunctionNotPermitted => CKR_KEY_FUNCTION_NOT_PERMITTED,
        Error::KeyHandleInvalid => CKR_KEY_HANDLE_INVALID,
        Error::KeyNotWrappable => CKR_KEY_NOT_WRAPPABLE,
        Error::KeySizeRange => CKR_KEY_SIZE_RANGE,
        Error::KeyTypeInconsistent => CKR_KEY_TYPE_INCONSISTENT,
        Error::KeyUnextractable => CKR_KEY_UNEXTRACTABLE,
        Error::MechanismInvalid => CKR_MECHANISM_INVALID,
        Error::MechanismParamInvalid => CKR_MECHANISM_PARAM_INVALID,
        Error::ObjectHandleInvalid => CKR_OBJECT_HANDLE_INVALID,
        Error::OperationActive => CKR_OPERATION_ACTIVE,
        Error::OperationNotInitialized => CKR_OPERATION_NOT_INITIALIZED,
        Error::PinIncorrect => CKR_PIN_INCORRECT,
        Error::PinLenRange => CKR_PIN_LEN_RANGE,
        Error::PinLocked => CKR_PIN_LOCKED,
        Error::RandomSeedNotSupported => CKR_RANDOM_SEED_NOT_SUPPORTED,
        Error::SessionExists => CKR_SESSION_EXISTS,
        Error::SessionHandleInvalid => CKR_SESSION_HANDLE_INVALID,
        Error::SessionReadOnly => CKR_SESSION_READ_ONLY,
        Error::SessionReadOnlyExists => CKR_SESSION_READ_ONLY_EXISTS,
        Error::SessionReadWriteSoExists => CKR_SESSION_READ_WRITE_SO_EXISTS,
        Error::SignatureInvalid => CKR_SIGNATURE_INVALID,
        Error::SignatureLenRange => CKR_SIGNATURE_LEN_RANGE,
        Error::TemplateIncomplete => CKR_TEMPLATE_INCOMPLETE,
        Error::TemplateInconsistent => CKR_TEMPLATE_INCONSISTENT,
        Error::TokenNotRecognized => CKR_TOKEN_NOT_RECOGNIZED,
        Error::UnwrappingKeyHandleInvalid => CKR_UNWRAPPING_KEY_HANDLE_INVALID,
        Error::UnwrappingKeySizeRange => CKR_UNWRAPPING_KEY_SIZE_RANGE,
        Error::UnwrappingKeyTypeInconsistent => CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
        Error::UserAlreadyLoggedIn => CKR_USER_ALREADY_LOGGED_IN,
        Error::UserAnotherAlreadyLoggedIn => CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
        Error::UserNotLoggedIn => CKR_USER_NOT_LOGGED_IN,
        Error::UserPinNotInitialized => CKR_USER_PIN_NOT_INITIALIZED,
        Error::WrappedKeyInvalid => CKR_WRAPPED_KEY_INVALID,
        Error::WrappedKeyLenRange => CKR_WRAPPED_KEY_LEN_RANGE,
        Error::WrappingKeyHandleInvalid => CKR_WRAPPING_KEY_HANDLE_INVALID,
        Error::WrappingKeySizeRange => CKR_WRAPPING_KEY_SIZE_RANGE,
        Error::WrappingKeyTypeInconsistent => CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_decode_by_kind() {
        let raw = vec![
            RawAttribute::Bytes(CKA_TOKEN, vec![1]),
            RawAttribute::Bytes(CKA_VALUE_LEN, 32u64.to_ne_bytes().to_vec()),
            RawAttribute::Nested(
                CKA_WRAP_TEMPLATE,
                vec![RawAttribute::Bytes(CKA_EXTRACTABLE, vec![0])],
            ),
        ];
        let t = template(raw).unwrap();
        assert_eq!(t[0], Attribute::bool(AttributeType::Token, true));
        assert_eq!(t[1], Attribute::ulong(AttributeType::ValueLen, 32));
        assert_eq!(
            t[2],
            Attribute::template(
                AttributeType::WrapTemplate,
                vec![Attribute::bool(AttributeType::Extractable, false)]
            )
        );
        assert_eq!(
            template(vec![RawAttribute::Bytes(CKA_TOKEN, vec![1, 0])]),
            Err(CKR_ATTRIBUTE_VALUE_INVALID)
        );
        assert_eq!(
            template(vec![RawAttribute::Bytes(0x8000_0001, vec![])]),
            Err(CKR_ATTRIBUTE_TYPE_INVALID)
        );
    }

    #[test]
    fn mechanisms_decode_with_their_parameters() {
        let kw = |param| {
            mechanism(RawMechanism {
                code: CKM_AES_KEY_WRAP,
                param,
            })
        };
        assert_eq!(kw(RawParam::None), Ok(Mechanism::AesKeyWrap));
        assert_eq!(
            kw(RawParam::Bytes(vec![0xA6; 8])),
            Ok(Mechanism::AesKeyWrap)
        );
        assert_eq!(
            kw(RawParam::Bytes(vec![0; 8])),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
        assert_eq!(
            mechanism(RawMechanism {
                code: CKM_RSA_PKCS,
                param: RawParam::None
            }),
            Err(CKR_MECHANISM_INVALID)
        );
        assert_eq!(
            mechanism(RawMechanism {
                code: CKM_AES_GCM,
                param: RawParam::None
            }),
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
    }
}
