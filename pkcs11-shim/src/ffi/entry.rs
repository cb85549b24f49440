//! Every `extern "C"` function of the PKCS#11 3.0 function table. Each one decodes its
//! arguments with the helpers of [`super`], calls the safe body in [`crate::module`], and
//! encodes the result. Functions the emulator does not implement return
//! CKR_FUNCTION_NOT_SUPPORTED (they are listed at the end).

use super::{
    FfiResult, Written, array_mut, bytes, read, read_mechanism, read_template, write, write_output,
};
use crate::info;
use crate::module::{self, OutKind};
use cryptoki_sys::*;
use hsmemu::AttributeRef;
use hsmemu::OperationKind;
use hsmemu::attributes::AttributeValue;
use std::ffi::{CStr, c_void};
use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

const MAX_HANDLES: CK_ULONG = 1 << 24;

/// Runs a function body, turning a panic into CKR_GENERAL_ERROR, and records the call in the
/// audit log if one is configured.
fn guard(function: &str, f: impl FnOnce() -> FfiResult<()>) -> CK_RV {
    let rv = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(rv)) => rv,
        Err(_) => CKR_GENERAL_ERROR,
    };
    module::audit(function, rv);
    rv
}

/// Writes a list (slot IDs, mechanisms) with the length-query protocol for arrays.
///
/// # Safety
/// `count` must be NULL or a valid `CK_ULONG`; `out`, if not NULL, must have `*count` slots.
unsafe fn write_list<T: Copy>(out: *mut T, count: *mut CK_ULONG, items: &[T]) -> FfiResult<()> {
    // SAFETY: forwarded caller guarantee.
    let available = unsafe { read(count) }?;
    let needed = items.len() as CK_ULONG;
    // SAFETY: as above.
    unsafe { write(count, needed) }?;
    if out.is_null() {
        return Ok(());
    }
    // SAFETY: the caller guarantees `available` slots at `out`.
    let slots = unsafe { array_mut(out, available, MAX_HANDLES) }?;
    if slots.len() < items.len() {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    slots[..items.len()].copy_from_slice(items);
    Ok(())
}

/// Delivers an operation's output under the length-query protocol.
///
/// # Safety
/// As [`write_output`].
unsafe fn deliver(
    h: CK_SESSION_HANDLE,
    kind: OutKind,
    input: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
    run: impl FnOnce(
        &mut hsmemu::Hsm<crate::platform::OsPlatform>,
        hsmemu::SessionHandle,
    ) -> hsmemu::Result<Vec<u8>>,
) -> FfiResult<()> {
    // SAFETY: forwarded caller guarantee; NULL is refused.
    let capacity = unsafe { read(out_len) }?;
    let capacity = if out.is_null() {
        None
    } else {
        Some(usize::try_from(capacity).map_err(|_| CKR_ARGUMENTS_BAD)?)
    };
    let output = module::produce(h, kind, input, capacity, run)?;
    // SAFETY: forwarded caller guarantee.
    unsafe { write_output(out, out_len, &output) }.map(|_: Written| ())
}

/// Delivers a single-part operation's output straight into the caller's buffer (the crypto
/// running outside the token lock), or only its length for a NULL or short buffer (the operation
/// then stays active).
///
/// # Safety
/// As [`write_output`].
unsafe fn deliver_detached(
    h: CK_SESSION_HANDLE,
    op: OperationKind,
    input: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> FfiResult<()> {
    // SAFETY: forwarded caller guarantee; NULL is refused.
    let capacity = unsafe { read(out_len) }?;
    // PKCS#11 lets the output overwrite the input (in-place encryption): then the input is
    // copied first, so no shared and mutable view of the same bytes ever coexist.
    let start = out as usize;
    let overlaps = !out.is_null()
        && (input.as_ptr() as usize)
            < start.saturating_add(usize::try_from(capacity).unwrap_or(usize::MAX))
        && start < (input.as_ptr() as usize).saturating_add(input.len());
    let owned;
    let input = if overlaps {
        owned = input.to_vec();
        owned.as_slice()
    } else {
        input
    };
    let buffer = if out.is_null() {
        None
    } else {
        // SAFETY: the caller guarantees `*out_len` writable bytes at `out`; they do not overlap
        // `input` (an overlapping input was copied above and the original is not used again).
        Some(unsafe { array_mut(out, capacity, 1 << 30) }?)
    };
    let had_buffer = buffer.is_some();
    let result = module::produce_detached(h, op, input, buffer)?;
    let (len, rv) = match result {
        Ok(written) => (written, Ok(())),
        Err(needed) => (
            needed,
            if had_buffer {
                Err(CKR_BUFFER_TOO_SMALL)
            } else {
                Ok(())
            },
        ),
    };
    // SAFETY: checked non-NULL above.
    unsafe { write(out_len, len as CK_ULONG) }?;
    rv
}

// ---- General purpose (PKCS#11 3.0 §5.4) ----

pub(crate) unsafe extern "C" fn c_initialize(args: *mut c_void) -> CK_RV {
    guard("C_Initialize", || {
        let mut reserved = None;
        if !args.is_null() {
            // SAFETY: a non-NULL argument is a CK_C_INITIALIZE_ARGS (PKCS#11 3.0 §5.4).
            let a = unsafe { read(args as *const CK_C_INITIALIZE_ARGS) }?;
            let given = [
                a.CreateMutex.is_some(),
                a.DestroyMutex.is_some(),
                a.LockMutex.is_some(),
                a.UnlockMutex.is_some(),
            ];
            if given.iter().any(|g| *g) && !given.iter().all(|g| *g) {
                return Err(CKR_ARGUMENTS_BAD);
            }
            if given[0] && a.flags & CKF_OS_LOCKING_OK == 0 {
                // Only OS locking is implemented; the application's mutexes cannot be used.
                return Err(CKR_CANT_LOCK);
            }
            if !a.pReserved.is_null() {
                // SAFETY: hsmemu documents pReserved as a NUL-terminated configuration string.
                let text = unsafe { CStr::from_ptr(a.pReserved as *const std::ffi::c_char) };
                reserved = Some(text.to_str().map_err(|_| CKR_ARGUMENTS_BAD)?.to_owned());
            }
        }
        module::initialize(reserved.as_deref())
    })
}

pub(crate) unsafe extern "C" fn c_finalize(reserved: *mut c_void) -> CK_RV {
    guard("C_Finalize", || {
        if reserved.is_null() {
            module::finalize()
        } else {
            Err(CKR_ARGUMENTS_BAD)
        }
    })
}

pub(crate) unsafe extern "C" fn c_get_info(out: *mut CK_INFO) -> CK_RV {
    guard("C_GetInfo", || {
        module::with_module(|_| Ok(()))?;
        // SAFETY: the caller passes a CK_INFO to fill.
        unsafe { write(out, info::library(CK_VERSION { major: 3, minor: 0 })) }
    })
}

pub(crate) unsafe extern "C" fn c_get_info_v2(out: *mut CK_INFO) -> CK_RV {
    guard("C_GetInfo", || {
        module::with_module(|_| Ok(()))?;
        // SAFETY: the caller passes a CK_INFO to fill.
        unsafe {
            write(
                out,
                info::library(CK_VERSION {
                    major: 2,
                    minor: 40,
                }),
            )
        }
    })
}

// ---- Slots and tokens (§5.5) ----

pub(crate) unsafe extern "C" fn c_get_slot_list(
    _present: CK_BBOOL,
    out: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard("C_GetSlotList", || {
        let slots = module::slot_list()?;
        // SAFETY: forwarded caller guarantee.
        unsafe { write_list(out, count, &slots) }
    })
}

pub(crate) unsafe extern "C" fn c_get_slot_info(slot: CK_SLOT_ID, out: *mut CK_SLOT_INFO) -> CK_RV {
    guard("C_GetSlotInfo", || {
        let value = module::with_slot(slot, |t| {
            Ok(info::slot(t.hsm.token_info().label.as_deref()))
        })?;
        // SAFETY: the caller passes a CK_SLOT_INFO to fill.
        unsafe { write(out, value) }
    })
}

pub(crate) unsafe extern "C" fn c_get_token_info(
    slot: CK_SLOT_ID,
    out: *mut CK_TOKEN_INFO,
) -> CK_RV {
    guard("C_GetTokenInfo", || {
        let value = module::with_slot(slot, |t| Ok(info::token(slot, &t.hsm.token_info())))?;
        // SAFETY: the caller passes a CK_TOKEN_INFO to fill.
        unsafe { write(out, value) }
    })
}

pub(crate) unsafe extern "C" fn c_get_mechanism_list(
    slot: CK_SLOT_ID,
    out: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard("C_GetMechanismList", || {
        let list = module::mechanism_list(slot)?;
        // SAFETY: forwarded caller guarantee.
        unsafe { write_list(out, count, &list) }
    })
}

pub(crate) unsafe extern "C" fn c_get_mechanism_info(
    slot: CK_SLOT_ID,
    ty: CK_MECHANISM_TYPE,
    out: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    guard("C_GetMechanismInfo", || {
        let ty = module::standard_code(slot, ty)?;
        let m = hsmemu::mechanisms::MechanismType::from_code(ty).ok_or(CKR_MECHANISM_INVALID)?;
        let i = m.info();
        let value = CK_MECHANISM_INFO {
            ulMinKeySize: i.min_key_size,
            ulMaxKeySize: i.max_key_size,
            flags: i.flags,
        };
        // SAFETY: the caller passes a CK_MECHANISM_INFO to fill.
        unsafe { write(out, value) }
    })
}

pub(crate) unsafe extern "C" fn c_init_token(
    slot: CK_SLOT_ID,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
    label: *mut CK_UTF8CHAR,
) -> CK_RV {
    guard("C_InitToken", || {
        // SAFETY: the caller passes the PIN with its length.
        let pin = unsafe { bytes(pin, pin_len) }?;
        // SAFETY: the label is a 32-byte blank-padded field (PKCS#11 3.0 §5.5 C_InitToken).
        let label = unsafe { bytes(label, 32) }?;
        module::init_token(slot, pin, label)
    })
}

pub(crate) unsafe extern "C" fn c_init_pin(
    h: CK_SESSION_HANDLE,
    pin: *mut CK_UTF8CHAR,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_InitPIN", || {
        // SAFETY: the caller passes the PIN with its length.
        let pin = unsafe { bytes(pin, len) }?;
        module::init_pin(h, pin)
    })
}

pub(crate) unsafe extern "C" fn c_set_pin(
    h: CK_SESSION_HANDLE,
    old: *mut CK_UTF8CHAR,
    old_len: CK_ULONG,
    new: *mut CK_UTF8CHAR,
    new_len: CK_ULONG,
) -> CK_RV {
    guard("C_SetPIN", || {
        // SAFETY: the caller passes both PINs with their lengths.
        let (old, new) = unsafe { (bytes(old, old_len)?, bytes(new, new_len)?) };
        module::run(h, |hsm, s| hsm.set_pin(s, old, new))
    })
}

// ---- Sessions (§5.6) ----

pub(crate) unsafe extern "C" fn c_open_session(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _app: *mut c_void,
    _notify: CK_NOTIFY,
    out: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    guard("C_OpenSession", || {
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let h = module::open_session(slot, flags)?;
        // SAFETY: checked non-NULL; the caller passes a handle to fill.
        unsafe { write(out, h) }
    })
}

pub(crate) unsafe extern "C" fn c_close_session(h: CK_SESSION_HANDLE) -> CK_RV {
    guard("C_CloseSession", || module::close_session(h))
}

pub(crate) unsafe extern "C" fn c_close_all_sessions(slot: CK_SLOT_ID) -> CK_RV {
    guard("C_CloseAllSessions", || module::close_all_sessions(slot))
}

pub(crate) unsafe extern "C" fn c_get_session_info(
    h: CK_SESSION_HANDLE,
    out: *mut CK_SESSION_INFO,
) -> CK_RV {
    guard("C_GetSessionInfo", || {
        let (slot, si) = module::session_info(h)?;
        let flags = CKF_SERIAL_SESSION | if si.rw { CKF_RW_SESSION } else { 0 };
        let value = CK_SESSION_INFO {
            slotID: slot,
            state: si.state as CK_STATE,
            flags,
            ulDeviceError: 0,
        };
        // SAFETY: the caller passes a CK_SESSION_INFO to fill.
        unsafe { write(out, value) }
    })
}

pub(crate) unsafe extern "C" fn c_login(
    h: CK_SESSION_HANDLE,
    user: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_Login", || {
        // SAFETY: the caller passes the PIN with its length.
        let pin = unsafe { bytes(pin, len) }?;
        module::login(h, user, pin)
    })
}

pub(crate) unsafe extern "C" fn c_logout(h: CK_SESSION_HANDLE) -> CK_RV {
    guard("C_Logout", || module::run(h, |hsm, s| hsm.logout(s)))
}

// ---- Objects (§5.7) ----

pub(crate) unsafe extern "C" fn c_create_object(
    h: CK_SESSION_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
    out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_CreateObject", || {
        // SAFETY: the caller passes a template of n attributes.
        let template = unsafe { read_template(t, n) }?;
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let o = module::create_object(h, template)?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, o) }
    })
}

pub(crate) unsafe extern "C" fn c_copy_object(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
    out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_CopyObject", || {
        // SAFETY: the caller passes a template of n attributes.
        let template = unsafe { read_template(t, n) }?;
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let copy = module::copy_object(h, o, template)?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, copy) }
    })
}

pub(crate) unsafe extern "C" fn c_destroy_object(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_DestroyObject", || module::destroy_object(h, o))
}

pub(crate) unsafe extern "C" fn c_get_object_size(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    out: *mut CK_ULONG,
) -> CK_RV {
    guard("C_GetObjectSize", || {
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let size = module::object_size(h, o)?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, size) }
    })
}

/// Fills one attribute of a C_GetAttributeValue template with `value`, laid out as PKCS#11
/// 3.0 §2.1 defines it (CK_BBOOL, CK_ULONG in native order, byte arrays, nested templates);
/// returns the per-attribute CK_RV.
///
/// # Safety
/// `a.pValue`, if not NULL, must point to `a.ulValueLen` writable bytes (or, for array
/// attributes, `a.ulValueLen / sizeof(CK_ATTRIBUTE)` attributes whose buffers are valid).
pub(super) unsafe fn fill_attribute(
    a: &mut CK_ATTRIBUTE,
    value: AttributeRef<'_>,
    depth: u8,
) -> CK_RV {
    let bytes = |b: &[u8], a: &mut CK_ATTRIBUTE| {
        let mut len = a.ulValueLen;
        // SAFETY: forwarded caller guarantee; `len` is a local.
        let rv = match unsafe { write_output(a.pValue.cast(), &mut len, b) } {
            Ok(_) => CKR_OK,
            Err(rv) => rv,
        };
        a.ulValueLen = if rv == CKR_OK {
            len
        } else {
            CK_UNAVAILABLE_INFORMATION
        };
        rv
    };
    match value {
        AttributeRef::Secret(b) => bytes(b, a),
        AttributeRef::Value(AttributeValue::Bytes(b)) => bytes(b, a),
        AttributeRef::Value(AttributeValue::Bool(b)) => {
            bytes(&[if *b { CK_TRUE } else { CK_FALSE }], a)
        }
        // CK_ULONG is u64 on the LP64 targets this module supports.
        AttributeRef::Value(AttributeValue::Ulong(u)) => bytes(&u.to_ne_bytes(), a),
        AttributeRef::Value(AttributeValue::Template(list)) => {
            let size = size_of::<CK_ATTRIBUTE>() as CK_ULONG;
            let needed = list.len() as CK_ULONG * size;
            if a.pValue.is_null() {
                a.ulValueLen = needed;
                return CKR_OK;
            }
            if depth > 0 || a.ulValueLen < needed {
                a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                return CKR_BUFFER_TOO_SMALL;
            }
            // SAFETY: the caller supplies an attribute array of ulValueLen bytes.
            let Ok(inner) = (unsafe {
                array_mut(
                    a.pValue.cast::<CK_ATTRIBUTE>(),
                    list.len() as CK_ULONG,
                    MAX_HANDLES,
                )
            }) else {
                a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                return CKR_ARGUMENTS_BAD;
            };
            let mut rv = CKR_OK;
            for (slot, attr) in inner.iter_mut().zip(list) {
                slot.type_ = attr.ty.code();
                // SAFETY: forwarded caller guarantee for the inner buffers.
                let r =
                    unsafe { fill_attribute(slot, AttributeRef::Value(&attr.value), depth + 1) };
                if r != CKR_OK {
                    rv = r;
                }
            }
            a.ulValueLen = needed;
            rv
        }
    }
}

pub(crate) unsafe extern "C" fn c_get_attribute_value(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CK_RV {
    guard("C_GetAttributeValue", || {
        // SAFETY: the caller passes a template of n attributes to fill.
        let attrs = unsafe { array_mut(t, n, 4096) }?;
        // PKCS#11 3.0 §5.7: every attribute is processed; the call reports the most severe
        // per-attribute failure.
        let rank = |rv| match rv {
            CKR_ATTRIBUTE_SENSITIVE => 3,
            CKR_ATTRIBUTE_TYPE_INVALID => 2,
            CKR_BUFFER_TOO_SMALL => 1,
            CKR_OK => 0,
            _ => 4,
        };
        let worst = module::read_object(h, o, |object| {
            let mut worst = CKR_OK;
            for a in attrs.iter_mut() {
                let rv = match object.get(a.type_) {
                    Err(rv) => {
                        a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                        rv
                    }
                    // SAFETY: forwarded caller guarantee for each attribute's buffer.
                    Ok(v) => unsafe { fill_attribute(a, v, 0) },
                };
                if rank(rv) > rank(worst) {
                    worst = rv;
                }
            }
            worst
        })?;
        if worst == CKR_OK { Ok(()) } else { Err(worst) }
    })
}

pub(crate) unsafe extern "C" fn c_set_attribute_value(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CK_RV {
    guard("C_SetAttributeValue", || {
        // SAFETY: the caller passes a template of n attributes.
        let template = unsafe { read_template(t, n) }?;
        module::set_attributes(h, o, template)
    })
}

pub(crate) unsafe extern "C" fn c_find_objects_init(
    h: CK_SESSION_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CK_RV {
    guard("C_FindObjectsInit", || {
        // SAFETY: the caller passes a template of n attributes.
        let template = unsafe { read_template(t, n) }?;
        module::find_init(h, template)
    })
}

pub(crate) unsafe extern "C" fn c_find_objects(
    h: CK_SESSION_HANDLE,
    out: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    guard("C_FindObjects", || {
        if count.is_null() || (out.is_null() && max > 0) {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // SAFETY: the caller passes room for `max` handles.
        let slots = unsafe { array_mut(out, max, MAX_HANDLES) }?;
        let found = module::find(h, slots.len())?;
        slots[..found.len()].copy_from_slice(&found);
        // SAFETY: checked non-NULL.
        unsafe { write(count, found.len() as CK_ULONG) }
    })
}

pub(crate) unsafe extern "C" fn c_find_objects_final(h: CK_SESSION_HANDLE) -> CK_RV {
    guard("C_FindObjectsFinal", || module::find_final(h))
}

// ---- Encryption and decryption (§5.8, §5.9) ----

/// Writes `iv` into the `pIv` buffer of the CK_GCM_PARAMS of `m`.
///
/// # Safety
/// `m` must be a valid CK_MECHANISM whose parameter is a CK_GCM_PARAMS with `ulIvLen`
/// writable bytes at `pIv`.
unsafe fn write_gcm_iv(m: *const CK_MECHANISM, iv: &[u8]) -> FfiResult<()> {
    // SAFETY: forwarded caller guarantee.
    let mechanism = unsafe { m.read_unaligned() };
    if mechanism.pParameter.is_null()
        || mechanism.ulParameterLen != size_of::<CK_GCM_PARAMS>() as CK_ULONG
    {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    // SAFETY: checked non-NULL and of CK_GCM_PARAMS size.
    let params = unsafe {
        mechanism
            .pParameter
            .cast::<CK_GCM_PARAMS>()
            .read_unaligned()
    };
    if params.pIv.is_null() || params.ulIvLen != iv.len() as CK_ULONG {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    // SAFETY: pIv holds ulIvLen == iv.len() bytes (caller guarantee), distinct from `iv`.
    unsafe { std::ptr::copy_nonoverlapping(iv.as_ptr(), params.pIv, iv.len()) };
    Ok(())
}

pub(crate) unsafe extern "C" fn c_encrypt_init(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_EncryptInit", || {
        // SAFETY: the caller passes a valid mechanism.
        let raw = unsafe { read_mechanism(m) }?;
        let decoded = module::mechanism(h, raw)?;
        let iv = module::start(h, OutKind::Encrypt, |hsm, s| {
            hsm.encrypt_init(s, &decoded, hsmemu::ObjectHandle(key))?;
            Ok(hsm.generated_iv(s).map(<[u8]>::to_vec))
        })?;
        if let Some(iv) = iv {
            // A profile that generates GCM IVs returns the IV in the caller's CK_GCM_PARAMS
            // (CloudHSM; reference/cloudhsm-kms.md §1.7). read_mechanism accepted `m` as
            // CK_GCM_PARAMS with a 12-byte pIv, and the emulator only generates for GCM.
            // SAFETY: `m` and its parameter were read above; pIv points to ulIvLen bytes.
            unsafe { write_gcm_iv(m, &iv) }?;
        }
        Ok(())
    })
}

pub(crate) unsafe extern "C" fn c_encrypt(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_Encrypt", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver_detached(h, OperationKind::Encrypt, data, out, out_len)
        }
    })
}

pub(crate) unsafe extern "C" fn c_encrypt_update(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_EncryptUpdate", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver(h, OutKind::EncryptUpdate, data, out, out_len, |hsm, s| {
                hsm.encrypt_update(s, data)
            })
        }
    })
}

pub(crate) unsafe extern "C" fn c_encrypt_final(
    h: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: the caller passes an output buffer with its length.
    guard("C_EncryptFinal", || unsafe {
        deliver(h, OutKind::EncryptFinal, &[], out, out_len, |hsm, s| {
            hsm.encrypt_final(s)
        })
    })
}

pub(crate) unsafe extern "C" fn c_decrypt_init(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_DecryptInit", || {
        // SAFETY: the caller passes a valid mechanism.
        let m = module::mechanism(h, unsafe { read_mechanism(m) }?)?;
        module::start(h, OutKind::Decrypt, |hsm, s| {
            hsm.decrypt_init(s, &m, hsmemu::ObjectHandle(key))
        })
    })
}

pub(crate) unsafe extern "C" fn c_decrypt(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_Decrypt", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver_detached(h, OperationKind::Decrypt, data, out, out_len)
        }
    })
}

pub(crate) unsafe extern "C" fn c_decrypt_update(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_DecryptUpdate", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver(h, OutKind::DecryptUpdate, data, out, out_len, |hsm, s| {
                hsm.decrypt_update(s, data)
            })
        }
    })
}

pub(crate) unsafe extern "C" fn c_decrypt_final(
    h: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: the caller passes an output buffer with its length.
    guard("C_DecryptFinal", || unsafe {
        deliver(h, OutKind::DecryptFinal, &[], out, out_len, |hsm, s| {
            hsm.decrypt_final(s)
        })
    })
}

// ---- Digests (§5.10) ----

pub(crate) unsafe extern "C" fn c_digest_init(h: CK_SESSION_HANDLE, m: *mut CK_MECHANISM) -> CK_RV {
    guard("C_DigestInit", || {
        // SAFETY: the caller passes a valid mechanism.
        let m = module::mechanism(h, unsafe { read_mechanism(m) }?)?;
        module::start(h, OutKind::Digest, |hsm, s| hsm.digest_init(s, &m))
    })
}

pub(crate) unsafe extern "C" fn c_digest(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_Digest", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver_detached(h, OperationKind::Digest, data, out, out_len)
        }
    })
}

pub(crate) unsafe extern "C" fn c_digest_update(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_DigestUpdate", || {
        // SAFETY: the caller passes the input with its length.
        let data = unsafe { bytes(data, len) }?;
        module::run(h, |hsm, s| hsm.digest_update(s, data))
    })
}

pub(crate) unsafe extern "C" fn c_digest_final(
    h: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: the caller passes an output buffer with its length.
    guard("C_DigestFinal", || unsafe {
        deliver(h, OutKind::DigestFinal, &[], out, out_len, |hsm, s| {
            hsm.digest_final(s)
        })
    })
}

// ---- Signatures and MACs (§5.11, §5.12) ----

pub(crate) unsafe extern "C" fn c_sign_init(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_SignInit", || {
        // SAFETY: the caller passes a valid mechanism.
        let m = module::mechanism(h, unsafe { read_mechanism(m) }?)?;
        module::start(h, OutKind::Sign, |hsm, s| {
            hsm.sign_init(s, &m, hsmemu::ObjectHandle(key))
        })
    })
}

pub(crate) unsafe extern "C" fn c_sign(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_Sign", || {
        // SAFETY: the caller passes the input and an output buffer with its length.
        unsafe {
            let data = bytes(data, len)?;
            deliver_detached(h, OperationKind::Sign, data, out, out_len)
        }
    })
}

pub(crate) unsafe extern "C" fn c_sign_update(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_SignUpdate", || {
        // SAFETY: the caller passes the input with its length.
        let data = unsafe { bytes(data, len) }?;
        module::run(h, |hsm, s| hsm.sign_update(s, data))
    })
}

pub(crate) unsafe extern "C" fn c_sign_final(
    h: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: the caller passes an output buffer with its length.
    guard("C_SignFinal", || unsafe {
        deliver(h, OutKind::SignFinal, &[], out, out_len, |hsm, s| {
            hsm.sign_final(s)
        })
    })
}

pub(crate) unsafe extern "C" fn c_verify_init(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_VerifyInit", || {
        // SAFETY: the caller passes a valid mechanism.
        let m = module::mechanism(h, unsafe { read_mechanism(m) }?)?;
        module::run(h, |hsm, s| {
            hsm.verify_init(s, &m, hsmemu::ObjectHandle(key))
        })
    })
}

pub(crate) unsafe extern "C" fn c_verify(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
    sig: *mut CK_BYTE,
    sig_len: CK_ULONG,
) -> CK_RV {
    guard("C_Verify", || {
        // SAFETY: the caller passes the data and the signature with their lengths.
        let (data, sig) = unsafe { (bytes(data, len)?, bytes(sig, sig_len)?) };
        module::verify_detached(h, data, sig)
    })
}

pub(crate) unsafe extern "C" fn c_verify_update(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_VerifyUpdate", || {
        // SAFETY: the caller passes the input with its length.
        let data = unsafe { bytes(data, len) }?;
        module::run(h, |hsm, s| hsm.verify_update(s, data))
    })
}

pub(crate) unsafe extern "C" fn c_verify_final(
    h: CK_SESSION_HANDLE,
    sig: *mut CK_BYTE,
    sig_len: CK_ULONG,
) -> CK_RV {
    guard("C_VerifyFinal", || {
        // SAFETY: the caller passes the signature with its length.
        let sig = unsafe { bytes(sig, sig_len) }?;
        module::run(h, |hsm, s| hsm.verify_final(s, sig))
    })
}

// ---- Key management (§5.18) ----

pub(crate) unsafe extern "C" fn c_generate_key(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
    out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_GenerateKey", || {
        // SAFETY: the caller passes a valid mechanism and a template of n attributes.
        let (m, template) = unsafe { (read_mechanism(m)?, read_template(t, n)?) };
        let (m, template) = (
            module::mechanism(h, m)?,
            crate::convert::template(template)?,
        );
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let key = module::create(h, |hsm, s| hsm.generate_key(s, &m, &template))?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, key.0) }
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn c_generate_key_pair(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    pub_t: *mut CK_ATTRIBUTE,
    pub_n: CK_ULONG,
    priv_t: *mut CK_ATTRIBUTE,
    priv_n: CK_ULONG,
    pub_out: *mut CK_OBJECT_HANDLE,
    priv_out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_GenerateKeyPair", || {
        // SAFETY: the caller passes a valid mechanism and two templates with their lengths.
        let (m, public, private) = unsafe {
            (
                read_mechanism(m)?,
                read_template(pub_t, pub_n)?,
                read_template(priv_t, priv_n)?,
            )
        };
        let m = module::mechanism(h, m)?;
        let (public, private) = (
            crate::convert::template(public)?,
            crate::convert::template(private)?,
        );
        if pub_out.is_null() || priv_out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let (p, k) = module::create(h, |hsm, s| hsm.generate_key_pair(s, &m, &public, &private))?;
        // SAFETY: both checked non-NULL.
        unsafe {
            write(pub_out, p.0)?;
            write(priv_out, k.0)
        }
    })
}

pub(crate) unsafe extern "C" fn c_wrap_key(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    wrapping: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    guard("C_WrapKey", || {
        // SAFETY: the caller passes a valid mechanism.
        let decoded = module::mechanism(h, unsafe { read_mechanism(m) }?)?;
        let input = [wrapping.to_ne_bytes(), key.to_ne_bytes()].concat();
        // SAFETY: the caller passes an output buffer with its length.
        unsafe {
            deliver(h, OutKind::Wrap, &input, out, out_len, |hsm, s| {
                hsm.wrap_key(
                    s,
                    &decoded,
                    hsmemu::ObjectHandle(wrapping),
                    hsmemu::ObjectHandle(key),
                )
            })
        }?;
        if matches!(decoded, hsmemu::mechanisms::Mechanism::AesGcm(_))
            && let Some(iv) = module::generated_wrap_iv(h)?
        {
            // As in C_EncryptInit: the profile's token chose the IV.
            // SAFETY: `m` was read above as CK_GCM_PARAMS; pIv points to ulIvLen bytes.
            unsafe { write_gcm_iv(m, &iv) }?;
        }
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn c_unwrap_key(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    unwrapping: CK_OBJECT_HANDLE,
    wrapped: *mut CK_BYTE,
    wrapped_len: CK_ULONG,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
    out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_UnwrapKey", || {
        // SAFETY: the caller passes a mechanism, the blob and a template with their lengths.
        let (m, blob, template) = unsafe {
            (
                read_mechanism(m)?,
                bytes(wrapped, wrapped_len)?,
                read_template(t, n)?,
            )
        };
        let (m, template) = (
            module::mechanism(h, m)?,
            crate::convert::template(template)?,
        );
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let key = module::create(h, |hsm, s| {
            hsm.unwrap_key(s, &m, hsmemu::ObjectHandle(unwrapping), blob, &template)
        })?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, key.0) }
    })
}

pub(crate) unsafe extern "C" fn c_derive_key(
    h: CK_SESSION_HANDLE,
    m: *mut CK_MECHANISM,
    base: CK_OBJECT_HANDLE,
    t: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
    out: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    guard("C_DeriveKey", || {
        // SAFETY: the caller passes a mechanism and a template with their lengths.
        let (m, template) = unsafe { (read_mechanism(m)?, read_template(t, n)?) };
        let (m, template) = (
            module::mechanism(h, m)?,
            crate::convert::template(template)?,
        );
        if out.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let key = module::create(h, |hsm, s| {
            hsm.derive_key(s, &m, hsmemu::ObjectHandle(base), &template)
        })?;
        // SAFETY: checked non-NULL.
        unsafe { write(out, key.0) }
    })
}

// ---- Random numbers (§5.19) ----

pub(crate) unsafe extern "C" fn c_seed_random(
    h: CK_SESSION_HANDLE,
    seed: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_SeedRandom", || {
        // SAFETY: the caller passes the seed with its length.
        let seed = unsafe { bytes(seed, len) }?;
        module::run(h, |hsm, s| hsm.seed_random(s, seed))
    })
}

pub(crate) unsafe extern "C" fn c_generate_random(
    h: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    guard("C_GenerateRandom", || {
        // SAFETY: the caller passes a buffer of `len` bytes.
        let buf = unsafe { array_mut(out, len, 1 << 30) }?;
        let random = module::create(h, |hsm, s| hsm.generate_random(s, buf.len()))?;
        buf.copy_from_slice(&random);
        Ok(())
    })
}

// ---- Not supported (CKR_FUNCTION_NOT_SUPPORTED) ----

macro_rules! not_supported {
    ($($name:ident($($arg:ty),*);)*) => {
        $(
            pub(crate) unsafe extern "C" fn $name($(_: $arg),*) -> CK_RV {
                CKR_FUNCTION_NOT_SUPPORTED
            }
        )*
    };
}

not_supported! {
    c_get_operation_state(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    c_set_operation_state(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE);
    c_digest_key(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);
    c_sign_recover_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_sign_recover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_verify_recover_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_verify_recover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_digest_encrypt_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_decrypt_digest_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_sign_encrypt_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_decrypt_verify_update(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_get_function_status(CK_SESSION_HANDLE);
    c_cancel_function(CK_SESSION_HANDLE);
    c_wait_for_slot_event(CK_FLAGS, *mut CK_SLOT_ID, *mut c_void);
    c_login_user(CK_SESSION_HANDLE, CK_USER_TYPE, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR, CK_ULONG);
    c_session_cancel(CK_SESSION_HANDLE, CK_FLAGS);
    c_message_encrypt_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_encrypt_message(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_encrypt_message_begin(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG);
    c_encrypt_message_next(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG, CK_FLAGS);
    c_message_encrypt_final(CK_SESSION_HANDLE);
    c_message_decrypt_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_decrypt_message(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_decrypt_message_begin(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG);
    c_decrypt_message_next(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG, CK_FLAGS);
    c_message_decrypt_final(CK_SESSION_HANDLE);
    c_message_sign_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_sign_message(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_sign_message_begin(CK_SESSION_HANDLE, *mut c_void, CK_ULONG);
    c_sign_message_next(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    c_message_sign_final(CK_SESSION_HANDLE);
    c_message_verify_init(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    c_verify_message(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, CK_ULONG);
    c_verify_message_begin(CK_SESSION_HANDLE, *mut c_void, CK_ULONG);
    c_verify_message_next(CK_SESSION_HANDLE, *mut c_void, CK_ULONG, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, CK_ULONG);
    c_message_verify_final(CK_SESSION_HANDLE);
}

#[cfg(test)]
mod in_place_tests {
    //! The C entry points driven directly: in-place encryption (PKCS#11 lets the output
    //! overwrite the input). Not run under Miri (the token's PIN hashing is too slow there).
    use super::*;

    #[test]
    fn encryption_may_overwrite_its_input() {
        let config = c"pin_kdf_rounds = 1000\n[[token]]\nlabel = \"inplace\"\n";
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: CKF_OS_LOCKING_OK,
            pReserved: config.as_ptr() as *mut c_void,
        };
        // SAFETY: every pointer below points to live locals of the right type and length.
        unsafe {
            assert_eq!(c_initialize((&raw mut args).cast()), CKR_OK);
            let mut h = 0;
            assert_eq!(
                c_open_session(
                    0,
                    CKF_SERIAL_SESSION | CKF_RW_SESSION,
                    std::ptr::null_mut(),
                    None,
                    &mut h
                ),
                CKR_OK
            );
            let mut pin = *b"1234";
            assert_eq!(c_login(h, CKU_USER, pin.as_mut_ptr(), 4), CKR_OK);
            let mut len = 32u64.to_ne_bytes();
            let mut template = [CK_ATTRIBUTE {
                type_: CKA_VALUE_LEN,
                pValue: len.as_mut_ptr().cast(),
                ulValueLen: 8,
            }];
            let mut keygen = CK_MECHANISM {
                mechanism: CKM_AES_KEY_GEN,
                pParameter: std::ptr::null_mut(),
                ulParameterLen: 0,
            };
            let mut key = 0;
            assert_eq!(
                c_generate_key(h, &mut keygen, template.as_mut_ptr(), 1, &mut key),
                CKR_OK
            );
            let mut iv = [9u8; 12];
            let mut params = CK_GCM_PARAMS {
                pIv: iv.as_mut_ptr(),
                ulIvLen: 12,
                ulIvBits: 96,
                pAAD: std::ptr::null_mut(),
                ulAADLen: 0,
                ulTagBits: 128,
            };
            let mut gcm = CK_MECHANISM {
                mechanism: CKM_AES_GCM,
                pParameter: (&raw mut params).cast(),
                ulParameterLen: size_of::<CK_GCM_PARAMS>() as CK_ULONG,
            };
            let plaintext = *b"encrypted in place";
            // Separate buffers first.
            let mut input = plaintext;
            let mut separate = [0u8; 34];
            let mut n: CK_ULONG = 34;
            assert_eq!(c_encrypt_init(h, &mut gcm, key), CKR_OK);
            assert_eq!(
                c_encrypt(h, input.as_mut_ptr(), 18, separate.as_mut_ptr(), &mut n),
                CKR_OK
            );
            // Then one buffer for both.
            let mut buf = [0u8; 34];
            buf[..18].copy_from_slice(&plaintext);
            let mut n2: CK_ULONG = 34;
            assert_eq!(c_encrypt_init(h, &mut gcm, key), CKR_OK);
            assert_eq!(
                c_encrypt(h, buf.as_mut_ptr(), 18, buf.as_mut_ptr(), &mut n2),
                CKR_OK
            );
            assert_eq!((n, n2), (34, 34));
            assert_eq!(buf, separate);
            assert_eq!(c_finalize(std::ptr::null_mut()), CKR_OK);
        }
    }
}
