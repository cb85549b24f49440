//! Export by wrapping: AES-KW, AES-KWP and AES-GCM of AES and generic-secret keys, PKCS#8 of
//! P-256 keys, proven by behaviour after the unwrap; and the refusals with their exact CK_RV
//! (PKCS#11 3.0 §5.18.6, §4.9).

use super::scenario;
use crate::loader::{Attr, Mech};
use crate::scenario::{Check, Ctx, Scenario, Stop, ensure};
use cryptoki_sys::*;

/// CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0; RFC 5649).
pub const CKM_KWP: CK_MECHANISM_TYPE = 0x210B;

/// A wrapping mechanism under test.
#[derive(Clone, Copy)]
pub(crate) enum W {
    Kw,
    Kwp,
    Gcm,
}

impl W {
    pub(crate) fn name(self) -> &'static str {
        match self {
            W::Kw => "kw",
            W::Kwp => "kwp",
            W::Gcm => "gcm",
        }
    }

    pub(crate) fn mech(self) -> Mech {
        match self {
            W::Kw => Mech::Plain(CKM_AES_KEY_WRAP),
            W::Kwp => Mech::Plain(CKM_KWP),
            W::Gcm => Mech::Gcm {
                iv: vec![0x5a; 12],
                aad: b"wrap".to_vec(),
                tag_bits: 128,
            },
        }
    }
}

/// A key to export.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    Aes(CK_ULONG),
    Generic(usize),
    P256,
}

impl Target {
    fn name(self) -> String {
        match self {
            Target::Aes(n) => format!("aes{}", n * 8),
            Target::Generic(n) => format!("generic{n}"),
            Target::P256 => "p256_pkcs8".into(),
        }
    }
}

/// An extractable key of `target`: (key, public key for P-256).
pub(crate) fn make(
    ctx: &Ctx<'_>,
    target: Target,
) -> Check<(CK_OBJECT_HANDLE, Option<CK_OBJECT_HANDLE>)> {
    let extractable = [
        Attr::bool(CKA_EXTRACTABLE, true),
        Attr::bool(CKA_SENSITIVE, true),
    ];
    match target {
        Target::Aes(len) => Ok((ctx.aes(len, &extractable)?, None)),
        Target::Generic(len) => {
            let value: Vec<u8> = (0..len).map(|i| (i * 7 + 3).to_le_bytes()[0]).collect();
            let extra = [
                Attr::bool(CKA_EXTRACTABLE, true),
                Attr::bool(CKA_SIGN, true),
                Attr::bool(CKA_VERIFY, true),
            ];
            Ok((
                ctx.create(CKO_SECRET_KEY, CKK_GENERIC_SECRET, &value, &extra)?,
                None,
            ))
        }
        Target::P256 => {
            let (public, private) = ctx.ec_pair(&extractable)?;
            Ok((private, Some(public)))
        }
    }
}

/// The unwrap template for `target`.
pub(crate) fn template(target: Target) -> Vec<Attr> {
    let mut t = vec![Attr::bool(CKA_TOKEN, false)];
    match target {
        Target::Aes(_) => t.extend([
            Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
            Attr::ulong(CKA_KEY_TYPE, CKK_AES),
            Attr::bool(CKA_ENCRYPT, true),
            Attr::bool(CKA_DECRYPT, true),
        ]),
        Target::Generic(_) => t.extend([
            Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
            Attr::ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET),
            Attr::bool(CKA_SIGN, true),
            Attr::bool(CKA_VERIFY, true),
        ]),
        Target::P256 => t.extend([
            Attr::ulong(CKA_CLASS, CKO_PRIVATE_KEY),
            Attr::ulong(CKA_KEY_TYPE, CKK_EC),
            Attr::bool(CKA_SIGN, true),
        ]),
    }
    t
}

/// Proves `restored` is the same key as `original` by using both.
pub(crate) fn same_key(
    ctx: &Ctx<'_>,
    target: Target,
    original: CK_OBJECT_HANDLE,
    restored: CK_OBJECT_HANDLE,
    public: Option<CK_OBJECT_HANDLE>,
) -> Check {
    match target {
        Target::Aes(_) => {
            let ct = ctx.gcm_encrypt(original, b"the same key")?;
            ensure(
                ctx.gcm_decrypt(restored, &ct)? == b"the same key",
                "the re-imported key decrypts to something else",
            )
        }
        Target::Generic(_) => {
            ctx.require(CKM_SHA256_HMAC)?;
            let mac = |k| {
                ctx.ok(
                    ctx.m
                        .sign(ctx.s, &Mech::Plain(CKM_SHA256_HMAC), k, b"mac me"),
                    "C_Sign(HMAC)",
                )
            };
            ensure(
                mac(original)? == mac(restored)?,
                "HMACs of the original and re-imported key differ",
            )
        }
        Target::P256 => {
            ctx.require(CKM_ECDSA)?;
            let digest = [0x42u8; 32];
            let sig = ctx.ok(
                ctx.m
                    .sign(ctx.s, &Mech::Plain(CKM_ECDSA), restored, &digest),
                "C_Sign(ECDSA) with the re-imported key",
            )?;
            let public = public.ok_or_else(|| Stop::Fail("no public key".into()))?;
            ctx.ok(
                ctx.m
                    .verify(ctx.s, &Mech::Plain(CKM_ECDSA), public, &digest, &sig),
                "C_Verify with the original public key",
            )
        }
    }
}

fn round_trip(ctx: &Ctx<'_>, w: W, target: Target) -> Check {
    let kek = ctx.aes(32, &[])?;
    let (original, public) = make(ctx, target)?;
    let blob = ctx.ok(ctx.m.wrap_key(ctx.s, &w.mech(), kek, original), "C_WrapKey")?;
    let restored = ctx.ok(
        ctx.m
            .unwrap_key(ctx.s, &w.mech(), kek, &blob, &template(target)),
        "C_UnwrapKey",
    )?;
    same_key(ctx, target, original, restored, public)
}

pub(crate) fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let targets = [Target::Aes(16), Target::Aes(32), Target::Generic(32)];
    for w in [W::Kw, W::Kwp, W::Gcm] {
        for target in targets {
            out.push(scenario(
                format!("wrap.{}.{}", w.name(), target.name()),
                &["wrap", "export", "reimport"],
                "PKCS#11 3.0 §5.18.6-7",
                format!(
                    "{} wrap of an extractable {} key, unwrapped and proven equal by use",
                    w.name().to_uppercase(),
                    target.name()
                ),
                move |ctx| round_trip(ctx, w, target),
            ));
        }
    }
    for w in [W::Kwp, W::Gcm] {
        out.push(scenario(
            format!("wrap.{}.p256_pkcs8", w.name()),
            &["wrap", "export", "reimport"],
            "PKCS#11 3.0 §5.18.6; RFC 5958",
            format!("{} wrap of a P-256 private key (PKCS#8), unwrapped, signs for the original public key", w.name().to_uppercase()),
            move |ctx| round_trip(ctx, w, Target::P256),
        ));
    }
    for (w, len, want) in [(W::Kw, 16, 24), (W::Kw, 32, 40), (W::Kwp, 16, 24)] {
        out.push(scenario(
            format!("wrap.{}.length_aes{}", w.name(), len * 8),
            &["wrap", "export"],
            "RFC 3394 §2.2.1; RFC 5649 §4.1",
            format!(
                "{} of a {len}-byte key is {want} bytes",
                w.name().to_uppercase()
            ),
            move |ctx| {
                let kek = ctx.aes(32, &[])?;
                let (key, _) = make(ctx, Target::Aes(len))?;
                let blob = ctx.ok(ctx.m.wrap_key(ctx.s, &w.mech(), kek, key), "C_WrapKey")?;
                ensure(blob.len() == want, format!("{} bytes", blob.len()))
            },
        ));
    }
    for w in [W::Kw, W::Kwp] {
        out.push(scenario(
            format!("wrap.refuse.unextractable.{}", w.name()),
            &["wrap", "export", "policy"],
            "PKCS#11 3.0 §5.18.6 (CKR_KEY_UNEXTRACTABLE)",
            "wrapping a key with CKA_EXTRACTABLE false is CKR_KEY_UNEXTRACTABLE",
            move |ctx| {
                ctx.require(w.mech().code())?;
                let kek = ctx.aes(32, &[])?;
                let key = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, false)])?;
                ctx.refused(
                    ctx.m.wrap_key(ctx.s, &w.mech(), kek, key),
                    CKR_KEY_UNEXTRACTABLE,
                    "C_WrapKey",
                )
            },
        ));
    }
    out.push(scenario(
        "wrap.refuse.wrap_with_trusted_untrusted_kek",
        &["wrap", "export", "policy"],
        "PKCS#11 3.0 §4.9 CKA_WRAP_WITH_TRUSTED",
        "a CKA_WRAP_WITH_TRUSTED key wrapped by an untrusted key is CKR_KEY_NOT_WRAPPABLE",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let kek = ctx.aes(32, &[])?;
            let key = ctx.aes(
                16,
                &[
                    Attr::bool(CKA_EXTRACTABLE, true),
                    Attr::bool(CKA_WRAP_WITH_TRUSTED, true),
                ],
            )?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), kek, key),
                CKR_KEY_NOT_WRAPPABLE,
                "C_WrapKey",
            )
        },
    ));
    out.push(scenario(
        "wrap.refuse.no_wrap_attribute",
        &["wrap", "export", "policy"],
        "PKCS#11 3.0 §4.9 CKA_WRAP",
        "a wrapping key without CKA_WRAP is CKR_KEY_FUNCTION_NOT_PERMITTED",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let kek = ctx.aes(32, &[Attr::bool(CKA_WRAP, false)])?;
            let key = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), kek, key),
                CKR_KEY_FUNCTION_NOT_PERMITTED,
                "C_WrapKey",
            )
        },
    ));
    out.push(scenario(
        "wrap.refuse.wrap_template_mismatch",
        &["wrap", "export", "policy"],
        "PKCS#11 3.0 §4.9 CKA_WRAP_TEMPLATE",
        "a key that does not match the wrapping key's CKA_WRAP_TEMPLATE is CKR_KEY_NOT_WRAPPABLE",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let t = Attr::Nested(CKA_WRAP_TEMPLATE, vec![Attr::ulong(CKA_VALUE_LEN, 16)]);
            let kek = ctx.aes(32, &[t])?;
            let key = ctx.aes(32, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), kek, key),
                CKR_KEY_NOT_WRAPPABLE,
                "C_WrapKey",
            )
        },
    ));
    out.push(scenario(
        "wrap.refuse.kw_of_odd_length",
        &["wrap", "export", "errors"],
        "RFC 3394 §2; PKCS#11 3.0 §5.18.6 (CKR_KEY_SIZE_RANGE)",
        "AES-KW of a 20-byte secret (not a multiple of 8) is CKR_KEY_SIZE_RANGE",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let kek = ctx.aes(32, &[])?;
            let (key, _) = make(ctx, Target::Generic(20))?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), kek, key),
                CKR_KEY_SIZE_RANGE,
                "C_WrapKey",
            )
        },
    ));
    out.push(scenario(
        "wrap.refuse.wrapping_key_not_aes",
        &["wrap", "export", "errors"],
        "PKCS#11 3.0 §5.18.6 (CKR_WRAPPING_KEY_TYPE_INCONSISTENT)",
        "AES-KW under an EC key is CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let (_, ec) = ctx.ec_pair(&[])?;
            let key = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), ec, key),
                CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
                "C_WrapKey",
            )
        },
    ));
    out.push(scenario(
        "wrap.refuse.invalid_wrapping_handle",
        &["wrap", "errors"],
        "PKCS#11 3.0 §5.18.6 (CKR_WRAPPING_KEY_HANDLE_INVALID)",
        "a wrapping-key handle that does not exist is CKR_WRAPPING_KEY_HANDLE_INVALID",
        |ctx| {
            ctx.require(CKM_AES_KEY_WRAP)?;
            let key = ctx.aes(16, &[Attr::bool(CKA_EXTRACTABLE, true)])?;
            ctx.refused(
                ctx.m.wrap_key(ctx.s, &W::Kw.mech(), 0x7fff_fff0, key),
                CKR_WRAPPING_KEY_HANDLE_INVALID,
                "C_WrapKey",
            )
        },
    ));
    out
}
