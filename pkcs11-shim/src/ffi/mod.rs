//! The C boundary: the only place in this crate with `unsafe`.
//!
//! It owns three things: the exported entry symbols and function tables ([`tables`]), the
//! `extern "C"` functions themselves ([`entry`]), and the pointer helpers below that every
//! function uses to read its arguments and write its results. Each entry point decodes, calls
//! safe Rust in [`crate::module`], and encodes; it never holds logic of its own.
//!
//! Invariants kept here:
//! * every pointer is checked for NULL and every length for plausibility before use; a bad
//!   argument is CKR_ARGUMENTS_BAD, never a crash;
//! * outputs follow the PKCS#11 length-query protocol (PKCS#11 3.0 §5.2): a NULL buffer gets
//!   the required length, a short buffer gets CKR_BUFFER_TOO_SMALL and the required length;
//! * no panic crosses the boundary: it becomes CKR_GENERAL_ERROR.
//!
//! Only LP64 targets are supported: `CK_ULONG` is `u64` there, the emulator's integer type.

pub mod entry;
pub mod fork;
pub mod tables;

use crate::convert::{RawAttribute, RawMechanism, RawParam};
use cryptoki_sys::*;
use std::mem::size_of;

/// Largest buffer length the module accepts from a caller (1 GiB): a larger length is a
/// corrupted argument, not data.
const MAX_LEN: CK_ULONG = 1 << 30;
/// Largest number of attributes in one template.
const MAX_ATTRIBUTES: CK_ULONG = 4096;

/// Result of a decode or encode step: the error is the CK_RV to return.
pub type FfiResult<T> = Result<T, CK_RV>;

/// Borrows `len` bytes at `ptr`. NULL is allowed only with `len == 0`.
///
/// # Safety
/// If `ptr` is not NULL it must point to `len` readable bytes that stay valid and unmodified
/// for the lifetime `'a` chosen by the caller (the duration of the C call).
pub unsafe fn bytes<'a>(ptr: *const CK_BYTE, len: CK_ULONG) -> FfiResult<&'a [u8]> {
    if len > MAX_LEN {
        return Err(CKR_ARGUMENTS_BAD);
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(CKR_ARGUMENTS_BAD)
        };
    }
    let len = usize::try_from(len).map_err(|_| CKR_ARGUMENTS_BAD)?;
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// What [`write_output`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Only the length was reported (NULL output buffer).
    LengthOnly,
    /// The data was copied.
    Data,
}

/// Writes `data` following the length-query protocol (PKCS#11 3.0 §5.2).
///
/// # Safety
/// `out_len` must be NULL or point to a writable `CK_ULONG`; if `out` is not NULL it must
/// point to at least `*out_len` writable bytes.
pub unsafe fn write_output(
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
    data: &[u8],
) -> FfiResult<Written> {
    if out_len.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let needed = CK_ULONG::try_from(data.len()).map_err(|_| CKR_GENERAL_ERROR)?;
    // SAFETY: checked non-NULL; the caller guarantees it is a valid CK_ULONG.
    let available = unsafe { out_len.read_unaligned() };
    // SAFETY: as above.
    unsafe { out_len.write_unaligned(needed) };
    if out.is_null() {
        return Ok(Written::LengthOnly);
    }
    if available < needed {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    // SAFETY: `out` has at least `available >= needed` writable bytes, and cannot overlap
    // `data`, which the module owns.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len()) };
    Ok(Written::Data)
}

/// Writes a value through an out-pointer.
///
/// # Safety
/// `ptr` must be NULL or valid for writing a `T`.
pub unsafe fn write<T>(ptr: *mut T, value: T) -> FfiResult<()> {
    if ptr.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: checked non-NULL; the caller guarantees validity and alignment is handled by
    // write_unaligned.
    unsafe { ptr.write_unaligned(value) };
    Ok(())
}

/// Reads a value through an in-pointer.
///
/// # Safety
/// `ptr` must be NULL or valid for reading a `T`.
pub unsafe fn read<T>(ptr: *const T) -> FfiResult<T> {
    if ptr.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: checked non-NULL; the caller guarantees validity.
    Ok(unsafe { ptr.read_unaligned() })
}

/// Borrows an array of `count` values of `T` (templates, handle lists).
///
/// # Safety
/// If `ptr` is not NULL it must point to `count` readable, initialised values of `T`, valid
/// for `'a`.
pub unsafe fn array<'a, T>(ptr: *const T, count: CK_ULONG, max: CK_ULONG) -> FfiResult<&'a [T]> {
    if count > max {
        return Err(CKR_ARGUMENTS_BAD);
    }
    if ptr.is_null() {
        return if count == 0 {
            Ok(&[])
        } else {
            Err(CKR_ARGUMENTS_BAD)
        };
    }
    if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let count = usize::try_from(count).map_err(|_| CKR_ARGUMENTS_BAD)?;
    // SAFETY: non-NULL, aligned, and the caller guarantees `count` initialised values.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Mutable variant of [`array()`], for templates the module fills in (C_GetAttributeValue).
///
/// # Safety
/// As [`array()`], and the values must be writable and not aliased during `'a`.
pub unsafe fn array_mut<'a, T>(
    ptr: *mut T,
    count: CK_ULONG,
    max: CK_ULONG,
) -> FfiResult<&'a mut [T]> {
    if count > max {
        return Err(CKR_ARGUMENTS_BAD);
    }
    if ptr.is_null() {
        return if count == 0 {
            Ok(&mut [])
        } else {
            Err(CKR_ARGUMENTS_BAD)
        };
    }
    if ptr.align_offset(std::mem::align_of::<T>()) != 0 {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let count = usize::try_from(count).map_err(|_| CKR_ARGUMENTS_BAD)?;
    // SAFETY: non-NULL, aligned, and the caller guarantees `count` writable values, unaliased.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, count) })
}

/// Whether an attribute type holds a nested template (CKF_ARRAY_ATTRIBUTE, PKCS#11 3.0 §4.1).
fn is_array_attribute(ty: CK_ATTRIBUTE_TYPE) -> bool {
    ty & CKF_ARRAY_ATTRIBUTE != 0
}

/// Copies a caller's template (C_CreateObject, C_GenerateKey, ...), nested templates included.
///
/// # Safety
/// `ptr` must be NULL (with `count == 0`) or point to `count` valid `CK_ATTRIBUTE`s whose
/// `pValue` point to `ulValueLen` readable bytes (or to nested attribute arrays for array
/// attributes).
pub unsafe fn read_template(
    ptr: *const CK_ATTRIBUTE,
    count: CK_ULONG,
) -> FfiResult<Vec<RawAttribute>> {
    // SAFETY: forwarded caller guarantee.
    unsafe { read_template_depth(ptr, count, 0) }
}

unsafe fn read_template_depth(
    ptr: *const CK_ATTRIBUTE,
    count: CK_ULONG,
    depth: u8,
) -> FfiResult<Vec<RawAttribute>> {
    if depth > 1 {
        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    // SAFETY: forwarded caller guarantee.
    let attrs = unsafe { array(ptr, count, MAX_ATTRIBUTES) }?;
    let mut out = Vec::with_capacity(attrs.len());
    for a in attrs {
        if is_array_attribute(a.type_) {
            let size = size_of::<CK_ATTRIBUTE>() as CK_ULONG;
            if a.ulValueLen % size != 0 {
                return Err(CKR_ATTRIBUTE_VALUE_INVALID);
            }
            // SAFETY: for array attributes the caller's pValue is an array of CK_ATTRIBUTE.
            let nested = unsafe {
                read_template_depth(
                    a.pValue as *const CK_ATTRIBUTE,
                    a.ulValueLen / size,
                    depth + 1,
                )
            }?;
            out.push(RawAttribute::Nested(a.type_, nested));
        } else {
            // SAFETY: the caller guarantees pValue points to ulValueLen bytes.
            let value = unsafe { bytes(a.pValue as *const CK_BYTE, a.ulValueLen) }?;
            out.push(RawAttribute::Bytes(a.type_, value.to_vec()));
        }
    }
    Ok(out)
}

/// Reads a CK_MECHANISM and the parameter structures the emulator understands.
///
/// # Safety
/// `ptr` must be NULL or point to a valid `CK_MECHANISM` whose `pParameter` points to
/// `ulParameterLen` readable bytes (and, for CK_GCM_PARAMS and CK_ECDH1_DERIVE_PARAMS, to that
/// structure with valid inner pointers).
pub unsafe fn read_mechanism(ptr: *const CK_MECHANISM) -> FfiResult<RawMechanism> {
    // SAFETY: forwarded caller guarantee.
    let m = unsafe { read(ptr) }?;
    let param = match m.mechanism {
        CKM_AES_GCM => {
            if m.ulParameterLen != size_of::<CK_GCM_PARAMS>() as CK_ULONG {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the length matches CK_GCM_PARAMS; read is unaligned-safe.
            let p = unsafe { read(m.pParameter as *const CK_GCM_PARAMS) }
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            // SAFETY: the caller guarantees the IV and AAD pointers of its parameters.
            let iv = unsafe { bytes(p.pIv, p.ulIvLen) }.map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            // SAFETY: as above.
            let aad =
                unsafe { bytes(p.pAAD, p.ulAADLen) }.map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            RawParam::Gcm {
                iv: iv.to_vec(),
                aad: aad.to_vec(),
                tag_bits: p.ulTagBits,
            }
        }
        CKM_ECDH1_DERIVE => {
            if m.ulParameterLen != size_of::<CK_ECDH1_DERIVE_PARAMS>() as CK_ULONG {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the length matches CK_ECDH1_DERIVE_PARAMS.
            let p = unsafe { read(m.pParameter as *const CK_ECDH1_DERIVE_PARAMS) }
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            // SAFETY: the caller guarantees the inner pointers.
            let shared = unsafe { bytes(p.pSharedData, p.ulSharedDataLen) }
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            // SAFETY: as above.
            let public = unsafe { bytes(p.pPublicData, p.ulPublicDataLen) }
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            RawParam::Ecdh {
                kdf: p.kdf,
                shared_data: shared.to_vec(),
                public_data: public.to_vec(),
            }
        }
        _ => {
            // SAFETY: the caller guarantees pParameter points to ulParameterLen bytes.
            let raw = unsafe { bytes(m.pParameter as *const CK_BYTE, m.ulParameterLen) }
                .map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            if raw.is_empty() {
                RawParam::None
            } else {
                RawParam::Bytes(raw.to_vec())
            }
        }
    };
    Ok(RawMechanism {
        code: m.mechanism,
        param,
    })
}

/// Copies a fixed-width, blank-padded PKCS#11 string field (CK_INFO, CK_TOKEN_INFO, ...).
pub fn padded<const N: usize>(s: &str) -> [CK_UTF8CHAR; N] {
    let mut out = [b' '; N];
    let mut len = 0;
    for (i, c) in s.char_indices() {
        if i + c.len_utf8() > N {
            break;
        }
        len = i + c.len_utf8();
    }
    out[..len].copy_from_slice(&s.as_bytes()[..len]);
    out
}

#[cfg(test)]
mod tests {
    //! Pointer-helper tests; `cargo +nightly miri test -p hsmemu-pkcs11 --lib ffi::` runs them
    //! under Miri.
    use super::*;

    #[test]
    fn attributes_fill_with_the_length_query_protocol_including_nested_templates() {
        use hsmemu::AttributeRef;
        use hsmemu::attributes::{Attribute, AttributeType, AttributeValue};
        let empty = || CK_ATTRIBUTE {
            type_: 0,
            pValue: std::ptr::null_mut(),
            ulValueLen: 0,
        };
        // A CK_ULONG: length query, short buffer, then the value in native order.
        let value = AttributeValue::Ulong(0x1087);
        let mut a = empty();
        // SAFETY: NULL pValue is a length query.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Value(&value), 0) };
        assert_eq!(rv, CKR_OK);
        assert_eq!(a.ulValueLen, size_of::<CK_ULONG>() as CK_ULONG);
        let mut short = [0u8; 4];
        a.pValue = short.as_mut_ptr().cast();
        a.ulValueLen = 4;
        // SAFETY: `short` has the 4 bytes announced.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Value(&value), 0) };
        assert_eq!(
            (rv, a.ulValueLen),
            (CKR_BUFFER_TOO_SMALL, CK_UNAVAILABLE_INFORMATION)
        );
        let mut out: CK_ULONG = 0;
        a.pValue = (&raw mut out).cast();
        a.ulValueLen = size_of::<CK_ULONG>() as CK_ULONG;
        // SAFETY: `out` is a CK_ULONG, as announced.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Value(&value), 0) };
        assert_eq!(rv, CKR_OK);
        assert_eq!(out, 0x1087);

        // A template of two attributes: the array length, then each inner value.
        let template = AttributeValue::Template(vec![
            Attribute::bool(AttributeType::Extractable, false),
            Attribute::bytes(AttributeType::Label, b"kek".to_vec()),
        ]);
        let mut a = empty();
        // SAFETY: NULL pValue is a length query.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Value(&template), 0) };
        assert_eq!(
            (rv, a.ulValueLen),
            (CKR_OK, 2 * size_of::<CK_ATTRIBUTE>() as CK_ULONG)
        );
        let (mut flag, mut label) = (0xffu8, [0u8; 3]);
        let mut inner = [
            CK_ATTRIBUTE {
                type_: 0,
                pValue: (&raw mut flag).cast(),
                ulValueLen: 1,
            },
            CK_ATTRIBUTE {
                type_: 0,
                pValue: label.as_mut_ptr().cast(),
                ulValueLen: 3,
            },
        ];
        a.pValue = inner.as_mut_ptr().cast();
        // SAFETY: `inner` holds the two attributes announced, each with its buffer.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Value(&template), 0) };
        assert_eq!(rv, CKR_OK);
        assert_eq!((inner[0].type_, flag), (CKA_EXTRACTABLE, CK_FALSE));
        assert_eq!((inner[1].type_, &label), (CKA_LABEL, b"kek"));

        // A secret value goes to the caller's buffer only.
        let mut a = empty();
        let mut buf = [0u8; 2];
        a.pValue = buf.as_mut_ptr().cast();
        a.ulValueLen = 2;
        // SAFETY: `buf` has the 2 bytes announced.
        let rv = unsafe { entry::fill_attribute(&mut a, AttributeRef::Secret(&[1, 2]), 0) };
        assert_eq!((rv, buf), (CKR_OK, [1, 2]));
    }

    #[test]
    fn bytes_accepts_null_only_when_empty() {
        // SAFETY: NULL with length 0 is the documented empty case.
        assert_eq!(unsafe { bytes(std::ptr::null(), 0) }, Ok(&[][..]));
        // SAFETY: NULL with a length is refused before any read.
        assert_eq!(
            // SAFETY: NULL with a length is refused before any read.
            unsafe { bytes(std::ptr::null(), 3) },
            Err(CKR_ARGUMENTS_BAD)
        );
        let data = [1u8, 2, 3];
        // SAFETY: `data` has 3 readable bytes.
        assert_eq!(unsafe { bytes(data.as_ptr(), 3) }, Ok(&data[..]));
        // SAFETY: refused on length before any read.
        assert_eq!(
            // SAFETY: refused on length before any read.
            unsafe { bytes(data.as_ptr(), MAX_LEN + 1) },
            Err(CKR_ARGUMENTS_BAD)
        );
    }

    #[test]
    fn write_output_follows_the_length_query_protocol() {
        let data = [7u8; 5];
        let mut len: CK_ULONG = 0;
        // SAFETY: NULL output buffer, valid length pointer.
        assert_eq!(
            // SAFETY: NULL output buffer, valid length pointer.
            unsafe { write_output(std::ptr::null_mut(), &mut len, &data) },
            Ok(Written::LengthOnly)
        );
        assert_eq!(len, 5);
        let mut small = [0u8; 4];
        len = 4;
        // SAFETY: `small` has `len` writable bytes.
        assert_eq!(
            // SAFETY: `small` has `len` writable bytes.
            unsafe { write_output(small.as_mut_ptr(), &mut len, &data) },
            Err(CKR_BUFFER_TOO_SMALL)
        );
        assert_eq!((len, small), (5, [0; 4]));
        let mut big = [0u8; 8];
        len = 8;
        // SAFETY: `big` has `len` writable bytes.
        assert_eq!(
            // SAFETY: `big` has `len` writable bytes.
            unsafe { write_output(big.as_mut_ptr(), &mut len, &data) },
            Ok(Written::Data)
        );
        assert_eq!((len, &big[..5]), (5, &data[..]));
        // SAFETY: NULL length pointer is refused before any access.
        assert_eq!(
            // SAFETY: NULL length pointer is refused before any access.
            unsafe { write_output(big.as_mut_ptr(), std::ptr::null_mut(), &data) },
            Err(CKR_ARGUMENTS_BAD)
        );
    }

    #[test]
    fn read_template_copies_values_and_nested_templates() {
        let mut yes: CK_BBOOL = CK_TRUE;
        let mut label = *b"abc";
        let mut inner = [CK_ATTRIBUTE {
            type_: CKA_SENSITIVE,
            pValue: (&raw mut yes).cast(),
            ulValueLen: 1,
        }];
        let outer = [
            CK_ATTRIBUTE {
                type_: CKA_LABEL,
                pValue: label.as_mut_ptr().cast(),
                ulValueLen: 3,
            },
            CK_ATTRIBUTE {
                type_: CKA_UNWRAP_TEMPLATE,
                pValue: inner.as_mut_ptr().cast(),
                ulValueLen: size_of::<CK_ATTRIBUTE>() as CK_ULONG,
            },
        ];
        // SAFETY: every pointer above is valid for the lengths given.
        let got = unsafe { read_template(outer.as_ptr(), 2) }.unwrap();
        assert_eq!(
            got,
            vec![
                RawAttribute::Bytes(CKA_LABEL, b"abc".to_vec()),
                RawAttribute::Nested(
                    CKA_UNWRAP_TEMPLATE,
                    vec![RawAttribute::Bytes(CKA_SENSITIVE, vec![1])]
                ),
            ]
        );
        // SAFETY: NULL with a count is refused before any read.
        assert_eq!(
            // SAFETY: NULL with a count is refused before any read.
            unsafe { read_template(std::ptr::null(), 1) },
            Err(CKR_ARGUMENTS_BAD)
        );
    }

    #[test]
    fn read_mechanism_decodes_gcm_parameters() {
        let mut iv = [1u8; 12];
        let mut aad = *b"hdr";
        let mut params = CK_GCM_PARAMS {
            pIv: iv.as_mut_ptr(),
            ulIvLen: 12,
            ulIvBits: 96,
            pAAD: aad.as_mut_ptr(),
            ulAADLen: 3,
            ulTagBits: 128,
        };
        let m = CK_MECHANISM {
            mechanism: CKM_AES_GCM,
            pParameter: (&raw mut params).cast(),
            ulParameterLen: size_of::<CK_GCM_PARAMS>() as CK_ULONG,
        };
        // SAFETY: `m` and its parameters are valid.
        let got = unsafe { read_mechanism(&m) }.unwrap();
        assert_eq!(
            got.param,
            RawParam::Gcm {
                iv: vec![1; 12],
                aad: b"hdr".to_vec(),
                tag_bits: 128
            }
        );
        let short = CK_MECHANISM {
            ulParameterLen: 8,
            ..m
        };
        // SAFETY: refused on length before the parameter is read.
        assert_eq!(
            // SAFETY: refused on length before the parameter is read.
            unsafe { read_mechanism(&short) },
            Err(CKR_MECHANISM_PARAM_INVALID)
        );
    }

    #[test]
    fn padded_fields_are_blank_filled_and_cut_on_char_boundaries() {
        assert_eq!(&padded::<6>("ab"), b"ab    ");
        assert_eq!(&padded::<3>("abcdef"), b"abc");
        assert_eq!(&padded::<3>("aé€"), b"a\xc3\xa9");
    }
}
