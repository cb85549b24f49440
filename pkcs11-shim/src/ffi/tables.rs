//! The exported symbols and function tables: `C_GetFunctionList` (the PKCS#11 2.40 table),
//! `C_GetInterfaceList` and `C_GetInterface` (PKCS#11 3.0 §5.4: the "PKCS 11" interface in
//! versions 3.0 and 2.40). Each table reports the version it really is. Only these three
//! symbols are exported; every other function is reached through a table.

use super::entry::*;
use super::{FfiResult, read, write};
use cryptoki_sys::*;
use std::ffi::CStr;

/// Builds a function table: the 2.40 functions every table has, plus the given fields.
macro_rules! function_table {
    ($ty:ident { $($field:ident: $value:expr,)* }) => {
        $ty {
            C_Initialize: Some(c_initialize),
            C_Finalize: Some(c_finalize),
            C_GetFunctionList: Some(C_GetFunctionList),
            C_GetSlotList: Some(c_get_slot_list),
            C_GetSlotInfo: Some(c_get_slot_info),
            C_GetTokenInfo: Some(c_get_token_info),
            C_GetMechanismList: Some(c_get_mechanism_list),
            C_GetMechanismInfo: Some(c_get_mechanism_info),
            C_InitToken: Some(c_init_token),
            C_InitPIN: Some(c_init_pin),
            C_SetPIN: Some(c_set_pin),
            C_OpenSession: Some(c_open_session),
            C_CloseSession: Some(c_close_session),
            C_CloseAllSessions: Some(c_close_all_sessions),
            C_GetSessionInfo: Some(c_get_session_info),
            C_GetOperationState: Some(c_get_operation_state),
            C_SetOperationState: Some(c_set_operation_state),
            C_Login: Some(c_login),
            C_Logout: Some(c_logout),
            C_CreateObject: Some(c_create_object),
            C_CopyObject: Some(c_copy_object),
            C_DestroyObject: Some(c_destroy_object),
            C_GetObjectSize: Some(c_get_object_size),
            C_GetAttributeValue: Some(c_get_attribute_value),
            C_SetAttributeValue: Some(c_set_attribute_value),
            C_FindObjectsInit: Some(c_find_objects_init),
            C_FindObjects: Some(c_find_objects),
            C_FindObjectsFinal: Some(c_find_objects_final),
            C_EncryptInit: Some(c_encrypt_init),
            C_Encrypt: Some(c_encrypt),
            C_EncryptUpdate: Some(c_encrypt_update),
            C_EncryptFinal: Some(c_encrypt_final),
            C_DecryptInit: Some(c_decrypt_init),
            C_Decrypt: Some(c_decrypt),
            C_DecryptUpdate: Some(c_decrypt_update),
            C_DecryptFinal: Some(c_decrypt_final),
            C_DigestInit: Some(c_digest_init),
            C_Digest: Some(c_digest),
            C_DigestUpdate: Some(c_digest_update),
            C_DigestKey: Some(c_digest_key),
            C_DigestFinal: Some(c_digest_final),
            C_SignInit: Some(c_sign_init),
            C_Sign: Some(c_sign),
            C_SignUpdate: Some(c_sign_update),
            C_SignFinal: Some(c_sign_final),
            C_SignRecoverInit: Some(c_sign_recover_init),
            C_SignRecover: Some(c_sign_recover),
            C_VerifyInit: Some(c_verify_init),
            C_Verify: Some(c_verify),
            C_VerifyUpdate: Some(c_verify_update),
            C_VerifyFinal: Some(c_verify_final),
            C_VerifyRecoverInit: Some(c_verify_recover_init),
            C_VerifyRecover: Some(c_verify_recover),
            C_DigestEncryptUpdate: Some(c_digest_encrypt_update),
            C_DecryptDigestUpdate: Some(c_decrypt_digest_update),
            C_SignEncryptUpdate: Some(c_sign_encrypt_update),
            C_DecryptVerifyUpdate: Some(c_decrypt_verify_update),
            C_GenerateKey: Some(c_generate_key),
            C_GenerateKeyPair: Some(c_generate_key_pair),
            C_WrapKey: Some(c_wrap_key),
            C_UnwrapKey: Some(c_unwrap_key),
            C_DeriveKey: Some(c_derive_key),
            C_SeedRandom: Some(c_seed_random),
            C_GenerateRandom: Some(c_generate_random),
            C_GetFunctionStatus: Some(c_get_function_status),
            C_CancelFunction: Some(c_cancel_function),
            C_WaitForSlotEvent: Some(c_wait_for_slot_event),
            $($field: $value,)*
        }
    };
}

/// The PKCS#11 2.40 function table.
pub static FUNCTION_LIST_2_40: CK_FUNCTION_LIST = function_table!(CK_FUNCTION_LIST {
    version: CK_VERSION {
        major: 2,
        minor: 40
    },
    C_GetInfo: Some(c_get_info_v2),
});

/// The PKCS#11 3.0 function table.
pub static FUNCTION_LIST_3_0: CK_FUNCTION_LIST_3_0 = function_table!(CK_FUNCTION_LIST_3_0 {
    version: CK_VERSION { major: 3, minor: 0 },
    C_GetInfo: Some(c_get_info),
    C_GetInterfaceList: Some(C_GetInterfaceList),
    C_GetInterface: Some(C_GetInterface),
    C_LoginUser: Some(c_login_user),
    C_SessionCancel: Some(c_session_cancel),
    C_MessageEncryptInit: Some(c_message_encrypt_init),
    C_EncryptMessage: Some(c_encrypt_message),
    C_EncryptMessageBegin: Some(c_encrypt_message_begin),
    C_EncryptMessageNext: Some(c_encrypt_message_next),
    C_MessageEncryptFinal: Some(c_message_encrypt_final),
    C_MessageDecryptInit: Some(c_message_decrypt_init),
    C_DecryptMessage: Some(c_decrypt_message),
    C_DecryptMessageBegin: Some(c_decrypt_message_begin),
    C_DecryptMessageNext: Some(c_decrypt_message_next),
    C_MessageDecryptFinal: Some(c_message_decrypt_final),
    C_MessageSignInit: Some(c_message_sign_init),
    C_SignMessage: Some(c_sign_message),
    C_SignMessageBegin: Some(c_sign_message_begin),
    C_SignMessageNext: Some(c_sign_message_next),
    C_MessageSignFinal: Some(c_message_sign_final),
    C_MessageVerifyInit: Some(c_message_verify_init),
    C_VerifyMessage: Some(c_verify_message),
    C_VerifyMessageBegin: Some(c_verify_message_begin),
    C_VerifyMessageNext: Some(c_verify_message_next),
    C_MessageVerifyFinal: Some(c_message_verify_final),
});

/// The interface name of PKCS#11 3.0 §5.4: "PKCS 11", NUL-terminated.
static INTERFACE_NAME: &CStr = c"PKCS 11";

/// The interfaces, newest first: C_GetInterface without a version returns the first.
struct Interfaces([CK_INTERFACE; 2]);

// SAFETY: the table holds pointers to immutable statics (the name and the function lists),
// which are never written through; sharing them between threads is sound.
unsafe impl Sync for Interfaces {}

static INTERFACES: Interfaces = Interfaces([
    CK_INTERFACE {
        pInterfaceName: INTERFACE_NAME.as_ptr() as *mut CK_UTF8CHAR,
        pFunctionList: &raw const FUNCTION_LIST_3_0 as *mut std::ffi::c_void,
        flags: 0,
    },
    CK_INTERFACE {
        pInterfaceName: INTERFACE_NAME.as_ptr() as *mut CK_UTF8CHAR,
        pFunctionList: &raw const FUNCTION_LIST_2_40 as *mut std::ffi::c_void,
        flags: 0,
    },
]);

fn guard(f: impl FnOnce() -> FfiResult<()>) -> CK_RV {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(rv)) => rv,
        Err(_) => CKR_GENERAL_ERROR,
    }
}

/// C_GetFunctionList: the PKCS#11 2.40 table (PKCS#11 3.0 §5.4).
///
/// # Safety
/// `out` must be NULL or point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(out: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    // SAFETY: forwarded caller guarantee; the table is a static, never written through.
    guard(|| unsafe { write(out, &raw const FUNCTION_LIST_2_40 as *mut CK_FUNCTION_LIST) })
}

/// C_GetInterfaceList (PKCS#11 3.0 §5.4): the 3.0 and 2.40 interfaces.
///
/// # Safety
/// `count` must be NULL or a valid `CK_ULONG`; `out`, if not NULL, must have room for `*count`
/// interfaces.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterfaceList(out: *mut CK_INTERFACE, count: *mut CK_ULONG) -> CK_RV {
    guard(|| {
        // SAFETY: forwarded caller guarantee.
        let available = unsafe { read(count) }?;
        let n = INTERFACES.0.len() as CK_ULONG;
        // SAFETY: as above.
        unsafe { write(count, n) }?;
        if out.is_null() {
            return Ok(());
        }
        if available < n {
            return Err(CKR_BUFFER_TOO_SMALL);
        }
        // SAFETY: the caller guarantees room for `available >= n` interfaces.
        unsafe { std::ptr::copy_nonoverlapping(INTERFACES.0.as_ptr(), out, INTERFACES.0.len()) };
        Ok(())
    })
}

/// C_GetInterface (PKCS#11 3.0 §5.4): "PKCS 11" (or NULL) in version 3.0 (default) or 2.40.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `version` NULL or a valid `CK_VERSION`;
/// `out` must point to writable storage for a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterface(
    name: *mut CK_UTF8CHAR,
    version: *mut CK_VERSION,
    out: *mut *mut CK_INTERFACE,
    flags: CK_FLAGS,
) -> CK_RV {
    guard(|| {
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        if !name.is_null() {
            // SAFETY: the caller passes a NUL-terminated name.
            let name = unsafe { CStr::from_ptr(name as *const std::ffi::c_char) };
            if name != INTERFACE_NAME {
                return Err(CKR_ARGUMENTS_BAD);
            }
        }
        // SAFETY: forwarded caller guarantee.
        let wanted = if version.is_null() {
            None
        } else {
            // SAFETY: forwarded caller guarantee.
            Some(unsafe { read(version) }?)
        };
        let found = INTERFACES.0.iter().find(|i| {
            // SAFETY: every pFunctionList starts with its CK_VERSION.
            let v = unsafe { read(i.pFunctionList as *const CK_VERSION) }.ok();
            wanted.is_none_or(|w| v.is_some_and(|v| v.major == w.major && v.minor == w.minor))
                && i.flags & flags == flags
        });
        let found = found.ok_or(CKR_ARGUMENTS_BAD)?;
        // SAFETY: checked non-NULL; the interface is a static.
        unsafe { write(out, found as *const CK_INTERFACE as *mut CK_INTERFACE) }
    })
}
