//! Re-import by unwrapping: attributes of unwrapped keys, check values, CKA_UNWRAP_TEMPLATE,
//! and bad blobs refused with no object created (PKCS#11 3.0 §5.18.7, §4.9).

use super::scenario;
use super::wrap::{Target, W, make, template};
use crate::loader::{Attr, Read};
use crate::scenario::{Check, Ctx, Scenario, ensure};
use cryptoki_sys::*;

/// A KEK, an extractable AES-128 key and its blob under `w`.
fn wrapped(
    ctx: &Ctx<'_>,
    w: W,
    kek_extra: &[Attr],
) -> Check<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, Vec<u8>)> {
    ctx.require(w.mech().code())?;
    let kek = ctx.aes(32, kek_extra)?;
    let (key, _) = make(ctx, Target::Aes(16))?;
    let blob = ctx.ok(ctx.m.wrap_key(ctx.s, &w.mech(), kek, key), "C_WrapKey")?;
    Ok((kek, key, blob))
}

/// Unwrapping `blob` must fail with `want` and create nothing.
fn refused_without_object(
    ctx: &Ctx<'_>,
    w: W,
    kek: CK_OBJECT_HANDLE,
    blob: &[u8],
    want: CK_RV,
) -> Check {
    let before = ctx.count()?;
    ctx.refused(
        ctx.m
            .unwrap_key(ctx.s, &w.mech(), kek, blob, &template(Target::Aes(16))),
        want,
        "C_UnwrapKey",
    )?;
    ensure(
        ctx.count()? == before,
        "a failed unwrap left an object behind",
    )
}

pub(crate) fn scenarios() -> Vec<Scenario> {
    let mut out = vec![
        scenario(
            "reimport.unwrapped_is_not_local",
            &["reimport", "policy"],
            "PKCS#11 3.0 §4.7 CKA_LOCAL, §4.9 CKA_ALWAYS_SENSITIVE / CKA_NEVER_EXTRACTABLE",
            "an unwrapped key has CKA_LOCAL, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE false",
            |ctx| {
                let (kek, _, blob) = wrapped(ctx, W::Kw, &[])?;
                let mut t = template(Target::Aes(16));
                t.extend([
                    Attr::bool(CKA_SENSITIVE, true),
                    Attr::bool(CKA_EXTRACTABLE, false),
                ]);
                let key = ctx.ok(
                    ctx.m.unwrap_key(ctx.s, &W::Kw.mech(), kek, &blob, &t),
                    "C_UnwrapKey",
                )?;
                for (ty, what) in [
                    (CKA_LOCAL, "CKA_LOCAL"),
                    (CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE"),
                    (CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE"),
                ] {
                    ensure(
                        !ctx.flag(key, ty)?,
                        format!("{what} is true on an unwrapped key"),
                    )?;
                }
                Ok(())
            },
        ),
        scenario(
            "reimport.check_value_matches",
            &["reimport"],
            "PKCS#11 3.0 §6.12.1 CKA_CHECK_VALUE",
            "the unwrapped AES key has the original's CKA_CHECK_VALUE",
            |ctx| {
                let (kek, key, blob) = wrapped(ctx, W::Kw, &[])?;
                let restored = ctx.ok(
                    ctx.m
                        .unwrap_key(ctx.s, &W::Kw.mech(), kek, &blob, &template(Target::Aes(16))),
                    "C_UnwrapKey",
                )?;
                match (
                    ctx.read(key, CKA_CHECK_VALUE),
                    ctx.read(restored, CKA_CHECK_VALUE),
                ) {
                    ((CKR_OK, Read::Value(a)), (CKR_OK, Read::Value(b))) => ensure(
                        a == b && a.len() == 3,
                        format!("check values differ: original {a:02x?}, re-imported {b:02x?}"),
                    ),
                    ((rv, _), _) => Err(crate::scenario::Stop::Unsupported(format!(
                        "CKA_CHECK_VALUE not available: {}",
                        crate::rv::name(rv)
                    ))),
                }
            },
        ),
        scenario(
            "reimport.unwrap_template_merged",
            &["reimport", "policy"],
            "PKCS#11 3.0 §4.9 CKA_UNWRAP_TEMPLATE",
            "attributes of the unwrapping key's CKA_UNWRAP_TEMPLATE are applied to the unwrapped key",
            |ctx| {
                let t = Attr::Nested(
                    CKA_UNWRAP_TEMPLATE,
                    vec![Attr::bool(CKA_EXTRACTABLE, false)],
                );
                let (kek, _, blob) = wrapped(ctx, W::Kw, &[t])?;
                let key = ctx.ok(
                    ctx.m
                        .unwrap_key(ctx.s, &W::Kw.mech(), kek, &blob, &template(Target::Aes(16))),
                    "C_UnwrapKey",
                )?;
                ensure(
                    !ctx.flag(key, CKA_EXTRACTABLE)?,
                    "CKA_EXTRACTABLE from the unwrap template was not applied",
                )
            },
        ),
        scenario(
            "reimport.unwrap_template_conflict",
            &["reimport", "policy"],
            "PKCS#11 3.0 §4.9 CKA_UNWRAP_TEMPLATE (CKR_TEMPLATE_INCONSISTENT)",
            "a caller template contradicting CKA_UNWRAP_TEMPLATE is CKR_TEMPLATE_INCONSISTENT, creating nothing",
            |ctx| {
                let t = Attr::Nested(
                    CKA_UNWRAP_TEMPLATE,
                    vec![Attr::bool(CKA_EXTRACTABLE, false)],
                );
                let (kek, _, blob) = wrapped(ctx, W::Kw, &[t])?;
                let before = ctx.count()?;
                let mut tmpl = template(Target::Aes(16));
                tmpl.push(Attr::bool(CKA_EXTRACTABLE, true));
                ctx.refused(
                    ctx.m.unwrap_key(ctx.s, &W::Kw.mech(), kek, &blob, &tmpl),
                    CKR_TEMPLATE_INCONSISTENT,
                    "C_UnwrapKey",
                )?;
                ensure(
                    ctx.count()? == before,
                    "a failed unwrap left an object behind",
                )
            },
        ),
        scenario(
            "reimport.refuse.no_unwrap_attribute",
            &["reimport", "policy"],
            "PKCS#11 3.0 §4.9 CKA_UNWRAP",
            "an unwrapping key without CKA_UNWRAP is CKR_KEY_FUNCTION_NOT_PERMITTED",
            |ctx| {
                let (_, _, blob) = wrapped(ctx, W::Kw, &[])?;
                let kek = ctx.aes(32, &[Attr::bool(CKA_UNWRAP, false)])?;
                ctx.refused(
                    ctx.m
                        .unwrap_key(ctx.s, &W::Kw.mech(), kek, &blob, &template(Target::Aes(16))),
                    CKR_KEY_FUNCTION_NOT_PERMITTED,
                    "C_UnwrapKey",
                )
            },
        ),
        scenario(
            "reimport.refuse.invalid_unwrapping_handle",
            &["reimport", "errors"],
            "PKCS#11 3.0 §5.18.7 (CKR_UNWRAPPING_KEY_HANDLE_INVALID)",
            "an unwrapping-key handle that does not exist is CKR_UNWRAPPING_KEY_HANDLE_INVALID",
            |ctx| {
                let (_, _, blob) = wrapped(ctx, W::Kw, &[])?;
                refused_without_object(
                    ctx,
                    W::Kw,
                    0x7fff_fff0,
                    &blob,
                    CKR_UNWRAPPING_KEY_HANDLE_INVALID,
                )
            },
        ),
    ];
    for w in [W::Kw, W::Kwp, W::Gcm] {
        out.push(scenario(
            format!("reimport.refuse.tampered.{}", w.name()),
            &["reimport", "errors"],
            "PKCS#11 3.0 §5.18.7 (CKR_WRAPPED_KEY_INVALID)",
            "a blob with one bit flipped is CKR_WRAPPED_KEY_INVALID, creating nothing",
            move |ctx| {
                let (kek, _, mut blob) = wrapped(ctx, w, &[])?;
                blob[4] ^= 0x01;
                refused_without_object(ctx, w, kek, &blob, CKR_WRAPPED_KEY_INVALID)
            },
        ));
        out.push(scenario(
            format!("reimport.refuse.wrong_key.{}", w.name()),
            &["reimport", "errors"],
            "PKCS#11 3.0 §5.18.7 (CKR_WRAPPED_KEY_INVALID)",
            "a blob unwrapped under another key is CKR_WRAPPED_KEY_INVALID, creating nothing",
            move |ctx| {
                let (_, _, blob) = wrapped(ctx, w, &[])?;
                let other = ctx.aes(32, &[])?;
                refused_without_object(ctx, w, other, &blob, CKR_WRAPPED_KEY_INVALID)
            },
        ));
    }
    for w in [W::Kw, W::Kwp] {
        out.push(scenario(
            format!("reimport.refuse.truncated.{}", w.name()),
            &["reimport", "errors"],
            "PKCS#11 3.0 §5.18.7 (CKR_WRAPPED_KEY_LEN_RANGE)",
            "a blob whose length is not a multiple of 8 is CKR_WRAPPED_KEY_LEN_RANGE, creating nothing",
            move |ctx| {
                let (kek, _, blob) = wrapped(ctx, w, &[])?;
                refused_without_object(ctx, w, kek, &blob[..blob.len() - 3], CKR_WRAPPED_KEY_LEN_RANGE)
            },
        ));
    }
    out
}
