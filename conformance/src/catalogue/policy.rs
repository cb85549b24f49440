//! The attribute policy through the C ABI: sticky attributes, computed attributes, sensitive
//! values, copies, private objects, derivation (PKCS#11 3.0 §4.4–§4.9, §5.7).

use super::scenario;
use crate::loader::{Attr, Mech, Read};
use crate::scenario::{Ctx, Scenario, Stop, ensure, expect_rv};
use cryptoki_sys::*;

fn set(ctx: &Ctx<'_>, o: CK_OBJECT_HANDLE, a: Attr) -> cryptoki_sys::CK_RV {
    match ctx.m.set_attributes(ctx.s, o, &[a]) {
        Ok(()) => CKR_OK,
        Err(rv) => rv,
    }
}

pub(crate) fn scenarios() -> Vec<Scenario> {
    let mut out = vec![
        scenario(
            "policy.sensitive_is_sticky",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_SENSITIVE (footnote 11)",
            "CKA_SENSITIVE goes false->true, never back (CKR_ATTRIBUTE_READ_ONLY)",
            |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_EXTRACTABLE, true),
                    ],
                )?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_SENSITIVE, true)),
                    CKR_OK,
                    "setting CKA_SENSITIVE true",
                )?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_SENSITIVE, false)),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "clearing CKA_SENSITIVE",
                )?;
                ensure(
                    ctx.flag(k, CKA_SENSITIVE)?,
                    "CKA_SENSITIVE went back to false",
                )
            },
        ),
        scenario(
            "policy.extractable_is_sticky",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_EXTRACTABLE (footnote 12)",
            "CKA_EXTRACTABLE goes true->false, never back (CKR_ATTRIBUTE_READ_ONLY)",
            |ctx| {
                let k = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_EXTRACTABLE, false)),
                    CKR_OK,
                    "clearing CKA_EXTRACTABLE",
                )?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_EXTRACTABLE, true)),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "setting CKA_EXTRACTABLE again",
                )?;
                ensure(
                    !ctx.flag(k, CKA_EXTRACTABLE)?,
                    "CKA_EXTRACTABLE went back to true",
                )
            },
        ),
        scenario(
            "policy.wrap_with_trusted_is_sticky",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_WRAP_WITH_TRUSTED (footnote 11)",
            "CKA_WRAP_WITH_TRUSTED cannot be cleared once true",
            |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_EXTRACTABLE, true),
                        Attr::bool(CKA_WRAP_WITH_TRUSTED, true),
                    ],
                )?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_WRAP_WITH_TRUSTED, false)),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "clearing CKA_WRAP_WITH_TRUSTED",
                )
            },
        ),
        scenario(
            "policy.generated_key_history",
            &["policy"],
            "PKCS#11 3.0 §4.7, §4.9",
            "a generated sensitive, unextractable key has LOCAL, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE true",
            |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_SENSITIVE, true),
                        Attr::bool(CKA_EXTRACTABLE, false),
                    ],
                )?;
                for (ty, what) in [
                    (CKA_LOCAL, "CKA_LOCAL"),
                    (CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE"),
                    (CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE"),
                ] {
                    ensure(ctx.flag(k, ty)?, format!("{what} is false"))?;
                }
                Ok(())
            },
        ),
        scenario(
            "policy.always_sensitive_stays_false",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_ALWAYS_SENSITIVE",
            "making a key sensitive later leaves CKA_ALWAYS_SENSITIVE false",
            |ctx| {
                let k = ctx.aes(16, &[Attr::bool(CKA_SENSITIVE, false)])?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_SENSITIVE, true)),
                    CKR_OK,
                    "setting CKA_SENSITIVE",
                )?;
                ensure(
                    !ctx.flag(k, CKA_ALWAYS_SENSITIVE)?,
                    "CKA_ALWAYS_SENSITIVE became true",
                )
            },
        ),
        scenario(
            "policy.never_extractable_stays_false",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_NEVER_EXTRACTABLE",
            "making a key unextractable later leaves CKA_NEVER_EXTRACTABLE false",
            |ctx| {
                let k = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_EXTRACTABLE, false)),
                    CKR_OK,
                    "clearing CKA_EXTRACTABLE",
                )?;
                ensure(
                    !ctx.flag(k, CKA_NEVER_EXTRACTABLE)?,
                    "CKA_NEVER_EXTRACTABLE became true",
                )
            },
        ),
        scenario(
            "policy.sensitive_value_unreadable",
            &["policy", "export"],
            "PKCS#11 3.0 §5.7 C_GetAttributeValue",
            "reading CKA_VALUE of a sensitive key is CKR_ATTRIBUTE_SENSITIVE; CKA_LABEL in the same call is returned",
            |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_SENSITIVE, true),
                        Attr::bool(CKA_EXTRACTABLE, true),
                        Attr::bytes(CKA_LABEL, *b"lbl"),
                    ],
                )?;
                let (rv, reads) = ctx.m.get_attributes(ctx.s, k, &[CKA_VALUE, CKA_LABEL]);
                expect_rv(rv, CKR_ATTRIBUTE_SENSITIVE, "C_GetAttributeValue")?;
                ensure(
                    reads[0] == Read::Unavailable,
                    "the sensitive value was returned",
                )?;
                ensure(
                    reads[1] == Read::Value(b"lbl".to_vec()),
                    "CKA_LABEL was not returned",
                )
            },
        ),
        scenario(
            "policy.unextractable_value_unreadable",
            &["policy", "export"],
            "PKCS#11 3.0 §4.9 footnote 7",
            "CKA_VALUE of an unextractable (not sensitive) key is CKR_ATTRIBUTE_SENSITIVE",
            |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_EXTRACTABLE, false),
                    ],
                )?;
                expect_rv(
                    ctx.read(k, CKA_VALUE).0,
                    CKR_ATTRIBUTE_SENSITIVE,
                    "C_GetAttributeValue(CKA_VALUE)",
                )
            },
        ),
        scenario(
            "policy.plain_value_readable",
            &["policy"],
            "PKCS#11 3.0 §5.7",
            "CKA_VALUE of a non-sensitive, extractable key is returned",
            |ctx| {
                let k = ctx.create(
                    CKO_SECRET_KEY,
                    CKK_AES,
                    &[7; 16],
                    &[
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_EXTRACTABLE, true),
                    ],
                )?;
                ensure(
                    ctx.read(k, CKA_VALUE) == (CKR_OK, Read::Value(vec![7; 16])),
                    "the value was not returned as created",
                )
            },
        ),
        scenario(
            "policy.copy_cannot_clear_sensitive",
            &["policy"],
            "PKCS#11 3.0 §5.7 C_CopyObject",
            "C_CopyObject with CKA_SENSITIVE false of a sensitive key is CKR_ATTRIBUTE_READ_ONLY",
            |ctx| {
                let k = ctx.aes(16, &[Attr::bool(CKA_SENSITIVE, true)])?;
                ctx.refused(
                    ctx.m
                        .copy_object(ctx.s, k, &[Attr::bool(CKA_SENSITIVE, false)]),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "C_CopyObject",
                )
            },
        ),
        scenario(
            "policy.copy_cannot_set_extractable",
            &["policy"],
            "PKCS#11 3.0 §5.7 C_CopyObject",
            "C_CopyObject with CKA_EXTRACTABLE true of an unextractable key is CKR_ATTRIBUTE_READ_ONLY",
            |ctx| {
                let k = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, false)])?;
                ctx.refused(
                    ctx.m
                        .copy_object(ctx.s, k, &[Attr::bool(CKA_EXTRACTABLE, true)]),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "C_CopyObject",
                )
            },
        ),
        scenario(
            "policy.key_value_not_settable",
            &["policy"],
            "PKCS#11 3.0 §4.9 (CKA_VALUE not modifiable)",
            "C_SetAttributeValue of CKA_VALUE is CKR_ATTRIBUTE_READ_ONLY",
            |ctx| {
                let k = ctx.create(
                    CKO_SECRET_KEY,
                    CKK_AES,
                    &[7; 16],
                    &[
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_EXTRACTABLE, true),
                    ],
                )?;
                expect_rv(
                    set(ctx, k, Attr::bytes(CKA_VALUE, [1u8; 16])),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "setting CKA_VALUE",
                )
            },
        ),
        scenario(
            "policy.only_so_sets_trusted",
            &["policy"],
            "PKCS#11 3.0 §4.9 CKA_TRUSTED (footnote 10)",
            "the user setting CKA_TRUSTED true is CKR_ATTRIBUTE_READ_ONLY",
            |ctx| {
                let k = ctx.aes(32, &[])?;
                expect_rv(
                    set(ctx, k, Attr::bool(CKA_TRUSTED, true)),
                    CKR_ATTRIBUTE_READ_ONLY,
                    "setting CKA_TRUSTED as the user",
                )
            },
        ),
        scenario(
            "policy.logout_destroys_private_session_objects",
            &["policy"],
            "PKCS#11 3.0 §5.6 C_Logout",
            "C_Logout destroys the application's private session objects; public ones stay",
            |ctx| {
                let private = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_PRIVATE, true),
                        Attr::bytes(CKA_LABEL, *b"private-probe"),
                    ],
                )?;
                let public = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_PRIVATE, false),
                        Attr::bytes(CKA_LABEL, *b"public-probe"),
                    ],
                )?;
                ctx.ok(ctx.m.logout(ctx.s), "C_Logout")?;
                let hidden = ctx
                    .m
                    .find(ctx.s, &[Attr::bytes(CKA_LABEL, *b"private-probe")]);
                ctx.ok(ctx.m.login(ctx.s, CKU_USER, &ctx.pin), "C_Login")?;
                ensure(
                    ctx.ok(hidden, "C_FindObjects")?.is_empty(),
                    "the private object was found without login",
                )?;
                let after = ctx.ok(
                    ctx.m
                        .find(ctx.s, &[Attr::bytes(CKA_LABEL, *b"private-probe")]),
                    "C_FindObjects",
                )?;
                ensure(
                    !after.contains(&private),
                    "the private session object survived C_Logout",
                )?;
                ensure(
                    ctx.ok(
                        ctx.m
                            .find(ctx.s, &[Attr::bytes(CKA_LABEL, *b"public-probe")]),
                        "C_FindObjects",
                    )? == vec![public],
                    "the public session object was lost",
                )
            },
        ),
        scenario(
            "policy.private_token_object_hidden_before_login",
            &["policy"],
            "PKCS#11 3.0 §4.4 CKA_PRIVATE",
            "a private token object is invisible after C_Logout and visible again after C_Login",
            |ctx| {
                let t = [
                    Attr::bool(CKA_TOKEN, true),
                    Attr::bool(CKA_PRIVATE, true),
                    Attr::bytes(CKA_LABEL, *b"private-token-probe"),
                ];
                let k = ctx.aes(16, &t)?;
                ctx.ok(ctx.m.logout(ctx.s), "C_Logout")?;
                let hidden = ctx
                    .m
                    .find(ctx.s, &[Attr::bytes(CKA_LABEL, *b"private-token-probe")]);
                ctx.ok(ctx.m.login(ctx.s, CKU_USER, &ctx.pin), "C_Login")?;
                let found = ctx
                    .m
                    .find(ctx.s, &[Attr::bytes(CKA_LABEL, *b"private-token-probe")]);
                let _ = ctx.m.destroy_object(ctx.s, k);
                ensure(
                    ctx.ok(hidden, "C_FindObjects")?.is_empty(),
                    "the private object was found without login",
                )?;
                ensure(
                    ctx.ok(found, "C_FindObjects")?.len() == 1,
                    "not found after login",
                )
            },
        ),
    ];
    for (ty, what) in [
        (CKA_LOCAL, "CKA_LOCAL"),
        (CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE"),
        (CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE"),
    ] {
        out.push(scenario(
            format!("policy.computed_read_only.{}", what.to_lowercase()),
            &["policy"],
            "PKCS#11 3.0 §4.7, §4.9 (computed attributes)",
            format!("{what} cannot be set (CKR_ATTRIBUTE_READ_ONLY)"),
            move |ctx| {
                let k = ctx.aes(
                    16,
                    &[
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_EXTRACTABLE, true),
                    ],
                )?;
                let current = ctx.flag(k, ty)?;
                expect_rv(
                    set(ctx, k, Attr::bool(ty, !current)),
                    CKR_ATTRIBUTE_READ_ONLY,
                    &format!("setting {what}"),
                )
            },
        ));
    }
    out.push(scenario("policy.derive_propagates_sensitivity", &["policy"], "PKCS#11 3.0 §4.9, §5.18.8 C_DeriveKey",
        "ECDH from a sensitive unextractable base: a sensitive unextractable result keeps ALWAYS_SENSITIVE and NEVER_EXTRACTABLE", |ctx| {
            ctx.require(CKM_ECDH1_DERIVE)?;
            let (_, base) = ctx.ec_pair(&[Attr::bool(CKA_SENSITIVE, true), Attr::bool(CKA_EXTRACTABLE, false)])?;
            let (peer, _) = ctx.ec_pair(&[])?;
            let point = match ctx.read(peer, CKA_EC_POINT) {
                (CKR_OK, Read::Value(v)) => v,
                (rv, _) => return Err(Stop::Fail(format!("CKA_EC_POINT: {}", crate::rv::name(rv)))),
            };
            let raw = if point.len() == 67 && point[0] == 0x04 { point[2..].to_vec() } else { point };
            let t = [
                Attr::ulong(CKA_CLASS, CKO_SECRET_KEY), Attr::ulong(CKA_KEY_TYPE, CKK_AES), Attr::ulong(CKA_VALUE_LEN, 16),
                Attr::bool(CKA_TOKEN, false), Attr::bool(CKA_SENSITIVE, true), Attr::bool(CKA_EXTRACTABLE, false),
            ];
            let k = ctx.ok(ctx.m.derive_key(ctx.s, &Mech::Ecdh(raw), base, &t), "C_DeriveKey(ECDH1)")?;
            ensure(ctx.flag(k, CKA_ALWAYS_SENSITIVE)?, "CKA_ALWAYS_SENSITIVE is false")?;
            ensure(ctx.flag(k, CKA_NEVER_EXTRACTABLE)?, "CKA_NEVER_EXTRACTABLE is false")?;
            ensure(!ctx.flag(k, CKA_LOCAL)?, "a derived key claims CKA_LOCAL")
        }));
    out
}
