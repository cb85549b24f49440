//! The emulator's error type: one variant per PKCS#11 return code a caller must be able to see
//! (PKCS#11 3.0 §5.1, "Function return values"), named after it without the `CKR_` prefix.
//!
//! Invariant: no variant carries key material, PINs or plaintext; `Display` names the rule.

use core::fmt;

/// Result type of every fallible emulator call.
pub type Result<T> = core::result::Result<T, Error>;

/// Why a command failed. Each variant is exactly one `CKR_*` code (PKCS#11 3.0 §5.1); the shim
/// maps them with one exhaustive match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// CKR_ACTION_PROHIBITED: CKA_MODIFIABLE, CKA_COPYABLE or CKA_DESTROYABLE forbids it.
    ActionProhibited,
    /// CKR_ARGUMENTS_BAD: malformed arguments.
    ArgumentsBad,
    /// CKR_ATTRIBUTE_READ_ONLY: the attribute cannot be set, or not by this caller, or not to this value.
    AttributeReadOnly,
    /// CKR_ATTRIBUTE_SENSITIVE: the value is sensitive or unextractable and cannot be revealed.
    AttributeSensitive,
    /// CKR_ATTRIBUTE_TYPE_INVALID: the attribute is not valid for the object.
    AttributeTypeInvalid,
    /// CKR_ATTRIBUTE_VALUE_INVALID: the value is malformed or out of range.
    AttributeValueInvalid,
    /// CKR_DATA_INVALID: the input data is invalid for the mechanism.
    DataInvalid,
    /// CKR_DATA_LEN_RANGE: the input data has a length the mechanism does not accept.
    DataLenRange,
    /// CKR_DEVICE_ERROR: the store failed, or a stored record failed authentication.
    DeviceError,
    /// CKR_DEVICE_MEMORY: the store is full.
    DeviceMemory,
    /// CKR_ENCRYPTED_DATA_INVALID: the ciphertext failed authentication (opaque by design).
    EncryptedDataInvalid,
    /// CKR_ENCRYPTED_DATA_LEN_RANGE: the ciphertext has an impossible length.
    EncryptedDataLenRange,
    /// CKR_FUNCTION_FAILED: the profile's vendor fails this call (CloudHSM: read-only
    /// sessions).
    FunctionFailed,
    /// CKR_FUNCTION_NOT_SUPPORTED: the function is not supported (e.g. multi-part CKM_ECDSA).
    FunctionNotSupported,
    /// CKR_KEY_FUNCTION_NOT_PERMITTED: the key's usage attributes (CKA_ENCRYPT, ...) forbid it,
    /// or its imported material has expired.
    KeyFunctionNotPermitted,
    /// CKR_KEY_HANDLE_INVALID: no such key visible to the session.
    KeyHandleInvalid,
    /// CKR_KEY_NOT_WRAPPABLE: the key may not be wrapped by this wrapping key (trusted-wrap
    /// rule, wrap template mismatch).
    KeyNotWrappable,
    /// CKR_KEY_SIZE_RANGE: the key (or the data to be wrapped) has an unsupported size.
    KeySizeRange,
    /// CKR_KEY_TYPE_INCONSISTENT: the key type does not fit the mechanism.
    KeyTypeInconsistent,
    /// CKR_KEY_UNEXTRACTABLE: CKA_EXTRACTABLE is false.
    KeyUnextractable,
    /// CKR_MECHANISM_INVALID: the mechanism does not exist or does not do this.
    MechanismInvalid,
    /// CKR_MECHANISM_PARAM_INVALID: the mechanism parameters are wrong.
    MechanismParamInvalid,
    /// CKR_OBJECT_HANDLE_INVALID: no such object visible to the session.
    ObjectHandleInvalid,
    /// CKR_OPERATION_ACTIVE: an operation of this kind is already active on the session.
    OperationActive,
    /// CKR_OPERATION_NOT_INITIALIZED: no operation of this kind is active.
    OperationNotInitialized,
    /// CKR_PIN_INCORRECT: wrong PIN.
    PinIncorrect,
    /// CKR_PIN_LEN_RANGE: the PIN is too short or too long.
    PinLenRange,
    /// CKR_PIN_LOCKED: too many failed logins.
    PinLocked,
    /// CKR_RANDOM_SEED_NOT_SUPPORTED: the RNG does not accept seed material.
    RandomSeedNotSupported,
    /// CKR_SESSION_EXISTS: the token has open sessions (C_InitToken).
    SessionExists,
    /// CKR_SESSION_HANDLE_INVALID: no such session.
    SessionHandleInvalid,
    /// CKR_SESSION_READ_ONLY: the session is read-only.
    SessionReadOnly,
    /// CKR_SESSION_READ_ONLY_EXISTS: the SO cannot log in while a read-only session exists.
    SessionReadOnlyExists,
    /// CKR_SESSION_READ_WRITE_SO_EXISTS: no read-only session while the SO is logged in.
    SessionReadWriteSoExists,
    /// CKR_SIGNATURE_INVALID: the signature does not verify.
    SignatureInvalid,
    /// CKR_SIGNATURE_LEN_RANGE: the signature has an impossible length.
    SignatureLenRange,
    /// CKR_TEMPLATE_INCOMPLETE: a required attribute is missing.
    TemplateIncomplete,
    /// CKR_TEMPLATE_INCONSISTENT: attributes conflict (including unwrap-template conflicts).
    TemplateInconsistent,
    /// CKR_TOKEN_NOT_RECOGNIZED: the token has not been initialised.
    TokenNotRecognized,
    /// CKR_UNWRAPPING_KEY_HANDLE_INVALID: no such unwrapping key.
    UnwrappingKeyHandleInvalid,
    /// CKR_UNWRAPPING_KEY_SIZE_RANGE: the unwrapping key has an unsupported size.
    UnwrappingKeySizeRange,
    /// CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: the unwrapping key does not fit the mechanism.
    UnwrappingKeyTypeInconsistent,
    /// CKR_USER_ALREADY_LOGGED_IN: this user is already logged in.
    UserAlreadyLoggedIn,
    /// CKR_USER_ANOTHER_ALREADY_LOGGED_IN: the other user is logged in.
    UserAnotherAlreadyLoggedIn,
    /// CKR_USER_NOT_LOGGED_IN: the operation needs a login.
    UserNotLoggedIn,
    /// CKR_USER_PIN_NOT_INITIALIZED: the user PIN has not been set.
    UserPinNotInitialized,
    /// CKR_WRAPPED_KEY_INVALID: the wrapped blob failed authentication or does not decode
    /// (opaque by design).
    WrappedKeyInvalid,
    /// CKR_WRAPPED_KEY_LEN_RANGE: the wrapped blob has an impossible length.
    WrappedKeyLenRange,
    /// CKR_WRAPPING_KEY_HANDLE_INVALID: no such wrapping key.
    WrappingKeyHandleInvalid,
    /// CKR_WRAPPING_KEY_SIZE_RANGE: the wrapping key has an unsupported size.
    WrappingKeySizeRange,
    /// CKR_WRAPPING_KEY_TYPE_INCONSISTENT: the wrapping key does not fit the mechanism.
    WrappingKeyTypeInconsistent,
}

impl Error {
    /// A one-line explanation for humans (logs, CLI messages).
    pub fn describe(self) -> &'static str {
        match self {
            Error::ActionProhibited => {
                "the object's CKA_MODIFIABLE/COPYABLE/DESTROYABLE forbids this"
            }
            Error::ArgumentsBad => "malformed arguments",
            Error::AttributeReadOnly => "attribute cannot be set or changed this way",
            Error::AttributeSensitive => "attribute value is sensitive or unextractable",
            Error::AttributeTypeInvalid => "attribute is not valid for this object",
            Error::AttributeValueInvalid => "attribute value is invalid",
            Error::DataInvalid => "input data is invalid for the mechanism",
            Error::DataLenRange => "input data length is out of range",
            Error::DeviceError => {
                "the object store failed or a stored record failed authentication"
            }
            Error::DeviceMemory => "the object store is full",
            Error::EncryptedDataInvalid => "ciphertext failed authentication",
            Error::EncryptedDataLenRange => "ciphertext length is out of range",
            Error::FunctionFailed => "the token's profile does not offer this",
            Error::FunctionNotSupported => "function not supported for this mechanism",
            Error::KeyFunctionNotPermitted => "the key's attributes do not permit this use",
            Error::KeyHandleInvalid => "no such key",
            Error::KeyNotWrappable => "the key may not be wrapped by this wrapping key",
            Error::KeySizeRange => "key size out of range",
            Error::KeyTypeInconsistent => "key type does not fit the mechanism",
            Error::KeyUnextractable => "the key is not extractable (CKA_EXTRACTABLE is false)",
            Error::MechanismInvalid => "mechanism not supported for this function",
            Error::MechanismParamInvalid => "mechanism parameters are invalid",
            Error::ObjectHandleInvalid => "no such object",
            Error::OperationActive => "an operation of this kind is already active",
            Error::OperationNotInitialized => "no operation of this kind is active",
            Error::PinIncorrect => "incorrect PIN",
            Error::PinLenRange => "PIN length out of range",
            Error::PinLocked => "PIN locked after too many failed logins",
            Error::RandomSeedNotSupported => "the RNG does not accept seed material",
            Error::SessionExists => "sessions are open",
            Error::SessionHandleInvalid => "no such session",
            Error::SessionReadOnly => "the session is read-only",
            Error::SessionReadOnlyExists => "a read-only session exists",
            Error::SessionReadWriteSoExists => {
                "the SO is logged in; read-only sessions are refused"
            }
            Error::SignatureInvalid => "signature does not verify",
            Error::SignatureLenRange => "signature length out of range",
            Error::TemplateIncomplete => "a required attribute is missing",
            Error::TemplateInconsistent => "template attributes conflict",
            Error::TokenNotRecognized => "the token is not initialised",
            Error::UnwrappingKeyHandleInvalid => "no such unwrapping key",
            Error::UnwrappingKeySizeRange => "unwrapping key size out of range",
            Error::UnwrappingKeyTypeInconsistent => {
                "unwrapping key type does not fit the mechanism"
            }
            Error::UserAlreadyLoggedIn => "already logged in",
            Error::UserAnotherAlreadyLoggedIn => "another user is logged in",
            Error::UserNotLoggedIn => "login required",
            Error::UserPinNotInitialized => "user PIN not initialised",
            Error::WrappedKeyInvalid => "wrapped key failed authentication or does not decode",
            Error::WrappedKeyLenRange => "wrapped key length out of range",
            Error::WrappingKeyHandleInvalid => "no such wrapping key",
            Error::WrappingKeySizeRange => "wrapping key size out of range",
            Error::WrappingKeyTypeInconsistent => "wrapping key type does not fit the mechanism",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl core::error::Error for Error {}
