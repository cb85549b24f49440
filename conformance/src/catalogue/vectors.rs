//! Known answers through the C ABI: import known keys with C_CreateObject, then compare
//! C_WrapKey / C_UnwrapKey / C_Encrypt / C_Decrypt / C_Verify with RFC 3394, RFC 5649 and
//! Wycheproof (from `hsmemu-vectors`), so an encoding bug shows up as a failed vector.

use super::scenario;
use super::wrap::CKM_KWP;
use crate::loader::{Attr, Mech, Read};
use crate::scenario::{Check, Ctx, Scenario, Stop, ensure};
use cryptoki_sys::*;
use hsmemu_vectors::wycheproof::{self, SignatureFormat};
use hsmemu_vectors::{Expectation, KeyWrapCase, rfc3394, rfc5649};

fn kek(ctx: &Ctx<'_>, value: &[u8]) -> Check<CK_OBJECT_HANDLE> {
    ctx.create(
        CKO_SECRET_KEY,
        CKK_AES,
        value,
        &[
            Attr::bool(CKA_WRAP, true),
            Attr::bool(CKA_UNWRAP, true),
            Attr::bool(CKA_ENCRYPT, true),
            Attr::bool(CKA_DECRYPT, true),
        ],
    )
}

/// Imports the key data of a wrap case as an extractable secret (AES if its length allows).
fn target(ctx: &Ctx<'_>, data: &[u8]) -> Check<CK_OBJECT_HANDLE> {
    let ty = if matches!(data.len(), 16 | 24 | 32) {
        CKK_AES
    } else {
        CKK_GENERIC_SECRET
    };
    ctx.create(
        CKO_SECRET_KEY,
        ty,
        data,
        &[
            Attr::bool(CKA_EXTRACTABLE, true),
            Attr::bool(CKA_SENSITIVE, false),
        ],
    )
}

/// Wraps the case's key data and compares the blob; unwraps the blob and compares the value.
fn wrap_case(ctx: &Ctx<'_>, mech: CK_MECHANISM_TYPE, c: &KeyWrapCase) -> Check {
    ctx.require(mech)?;
    let kek = kek(ctx, &c.kek)?;
    let key = target(ctx, &c.plaintext)?;
    let blob = ctx.ok(
        ctx.m.wrap_key(ctx.s, &Mech::Plain(mech), kek, key),
        "C_WrapKey",
    )?;
    ensure(
        blob == c.wrapped,
        format!("{}: wrapped bytes differ from the known answer", c.source),
    )?;
    let ty = if matches!(c.plaintext.len(), 16 | 24 | 32) {
        CKK_AES
    } else {
        CKK_GENERIC_SECRET
    };
    let t = [
        Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
        Attr::ulong(CKA_KEY_TYPE, ty),
        Attr::bool(CKA_TOKEN, false),
        Attr::bool(CKA_SENSITIVE, false),
        Attr::bool(CKA_EXTRACTABLE, true),
    ];
    let back = ctx.ok(
        ctx.m
            .unwrap_key(ctx.s, &Mech::Plain(mech), kek, &c.wrapped, &t),
        "C_UnwrapKey",
    )?;
    ensure(
        ctx.read(back, CKA_VALUE) == (CKR_OK, Read::Value(c.plaintext.clone())),
        format!("{}: unwrapped value differs", c.source),
    )
}

/// Unwraps every Wycheproof case: valid ones must give the key data, invalid ones be refused.
fn wycheproof_unwrap(ctx: &Ctx<'_>, mech: CK_MECHANISM_TYPE, cases: &[KeyWrapCase]) -> Check {
    ctx.require(mech)?;
    let mut failures = Vec::new();
    for c in cases {
        let kek = kek(ctx, &c.kek)?;
        let t = [
            Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
            Attr::ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET),
            Attr::bool(CKA_TOKEN, false),
            Attr::bool(CKA_SENSITIVE, false),
            Attr::bool(CKA_EXTRACTABLE, true),
        ];
        let got = ctx
            .m
            .unwrap_key(ctx.s, &Mech::Plain(mech), kek, &c.wrapped, &t);
        let ok = match (c.expect, &got) {
            (Expectation::Valid, Ok(h)) => {
                ctx.read(*h, CKA_VALUE) == (CKR_OK, Read::Value(c.plaintext.clone()))
            }
            (Expectation::Valid, Err(_)) => false,
            (Expectation::Invalid, r) => r.is_err(),
            (Expectation::Acceptable, _) => true,
        };
        if let Ok(h) = got {
            let _ = ctx.m.destroy_object(ctx.s, h);
        }
        let _ = ctx.m.destroy_object(ctx.s, kek);
        if !ok {
            failures.push(c.source.clone());
        }
    }
    ensure(
        failures.is_empty(),
        format!(
            "{} of {} cases wrong, first: {}",
            failures.len(),
            cases.len(),
            failures.first().cloned().unwrap_or_default()
        ),
    )
}

fn vectors<T>(r: Result<Vec<T>, hsmemu_vectors::VectorError>) -> Check<Vec<T>> {
    r.map_err(|e| Stop::Fail(format!("vector data: {e}")))
}

pub(crate) fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for (i, c) in rfc3394::cases().into_iter().enumerate() {
        out.push(scenario(
            format!("vectors.rfc3394.4_{}", i + 1),
            &["vectors", "wrap"],
            "RFC 3394 §4",
            format!("CKM_AES_KEY_WRAP reproduces {}", c.source),
            move |ctx| wrap_case(ctx, CKM_AES_KEY_WRAP, &c),
        ));
    }
    for (i, c) in rfc5649::cases().into_iter().enumerate() {
        out.push(scenario(
            format!("vectors.rfc5649.6_{}", i + 1),
            &["vectors", "wrap"],
            "RFC 5649 §6",
            format!("CKM_AES_KEY_WRAP_KWP reproduces {}", c.source),
            move |ctx| wrap_case(ctx, CKM_KWP, &c),
        ));
    }
    out.push(scenario(
        "vectors.wycheproof.aes_kw_unwrap",
        &["vectors", "reimport"],
        "Wycheproof aes_wrap_test.json",
        "C_UnwrapKey with CKM_AES_KEY_WRAP over every Wycheproof case",
        |ctx| wycheproof_unwrap(ctx, CKM_AES_KEY_WRAP, &vectors(wycheproof::aes_kw())?),
    ));
    out.push(scenario(
        "vectors.wycheproof.aes_kwp_unwrap",
        &["vectors", "reimport"],
        "Wycheproof aes_kwp_test.json",
        "C_UnwrapKey with CKM_AES_KEY_WRAP_KWP over every Wycheproof case",
        |ctx| wycheproof_unwrap(ctx, CKM_KWP, &vectors(wycheproof::aes_kwp())?),
    ));
    out.push(scenario(
        "vectors.wycheproof.aes_gcm",
        &["vectors"],
        "Wycheproof aes_gcm_test.json (96-bit IVs)",
        "C_Encrypt / C_Decrypt with CKM_AES_GCM over every Wycheproof case with a 96-bit IV",
        |ctx| {
            ctx.require(CKM_AES_GCM)?;
            // A module that chooses its own IVs cannot reproduce the encryption half; its
            // decryption half still runs, with the vectors' IVs as given.
            let generated = ctx.m.generates_gcm_ivs();
            ctx.m.forget_gcm_ivs();
            let mut wrong = Vec::new();
            let cases = vectors(wycheproof::aes_gcm())?;
            for c in cases.iter().filter(|c| c.iv.len() == 12) {
                let key = kek(ctx, &c.key)?;
                let m = Mech::Gcm {
                    iv: c.iv.clone(),
                    aad: c.aad.clone(),
                    tag_bits: (c.tag.len() * 8) as CK_ULONG,
                };
                let mut sealed = c.ct.clone();
                sealed.extend_from_slice(&c.tag);
                let ok = match c.expect {
                    Expectation::Valid => {
                        (generated
                            || ctx
                                .m
                                .encrypt(ctx.s, &m, key, &c.msg)
                                .is_ok_and(|ct| ct == sealed))
                            && ctx
                                .m
                                .decrypt(ctx.s, &m, key, &sealed)
                                .is_ok_and(|pt| pt == c.msg)
                    }
                    Expectation::Invalid => ctx.m.decrypt(ctx.s, &m, key, &sealed).is_err(),
                    Expectation::Acceptable => true,
                };
                let _ = ctx.m.destroy_object(ctx.s, key);
                if !ok {
                    wrong.push(c.id.tc_id);
                }
            }
            ensure(wrong.is_empty(), format!("tcIds {wrong:?} wrong"))?;
            ensure(
                !generated,
                "decryption half passes; encryption half not run: the module chooses GCM IVs",
            )
        },
    ));
    out.push(scenario(
        "vectors.wycheproof.ecdsa_p256_sha256",
        &["vectors"],
        "Wycheproof ecdsa_secp256r1_sha256_p1363_test.json",
        "C_Verify with CKM_ECDSA over C_Digest(SHA-256) for every P1363 case",
        |ctx| {
            ctx.require(CKM_ECDSA)?;
            ctx.require(CKM_SHA256)?;
            let cases = vectors(wycheproof::ecdsa_p256_sha256(SignatureFormat::P1363))?;
            let mut wrong = Vec::new();
            for c in &cases {
                let len = u8::try_from(c.public_point.len())
                    .map_err(|_| Stop::Fail("public point too long".into()))?;
                let mut point = vec![0x04, len];
                point.extend_from_slice(&c.public_point);
                let t = [
                    Attr::ulong(CKA_CLASS, CKO_PUBLIC_KEY),
                    Attr::ulong(CKA_KEY_TYPE, CKK_EC),
                    Attr::bool(CKA_TOKEN, false),
                    Attr::bytes(CKA_EC_PARAMS, crate::scenario::P256_PARAMS),
                    Attr::bytes(CKA_EC_POINT, point),
                    Attr::bool(CKA_VERIFY, true),
                ];
                let key = ctx.ok(
                    ctx.m.create_object(ctx.s, &t),
                    "C_CreateObject(EC public key)",
                )?;
                let digest = ctx.ok(
                    ctx.m.digest(ctx.s, &Mech::Plain(CKM_SHA256), &c.msg),
                    "C_Digest",
                )?;
                let verified = ctx
                    .m
                    .verify(ctx.s, &Mech::Plain(CKM_ECDSA), key, &digest, &c.sig)
                    .is_ok();
                let _ = ctx.m.destroy_object(ctx.s, key);
                let ok = match c.expect {
                    Expectation::Valid => verified,
                    Expectation::Invalid => !verified,
                    Expectation::Acceptable => true,
                };
                if !ok {
                    wrong.push(c.id.tc_id);
                }
            }
            ensure(
                wrong.is_empty(),
                format!(
                    "{} of {} cases wrong: tcIds {:?}",
                    wrong.len(),
                    cases.len(),
                    &wrong[..wrong.len().min(10)]
                ),
            )
        },
    ));
    out
}
