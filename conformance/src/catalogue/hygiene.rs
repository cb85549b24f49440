//! API hygiene and basic crypto: the length-query protocol, operation-state rules, invalid
//! handles, read-only sessions, login errors, version consistency, and known answers for
//! digest, HMAC, ECDSA, ECDH and GCM (PKCS#11 3.0 §5).

use super::scenario;
use crate::loader::{Attr, Mech, Read};
use crate::scenario::{Check, Ctx, Scenario, Stop, ensure, expect_rv, gcm};
use cryptoki_sys::*;

fn point(ctx: &Ctx<'_>, public: CK_OBJECT_HANDLE) -> Check<Vec<u8>> {
    match ctx.read(public, CKA_EC_POINT) {
        (CKR_OK, Read::Value(v)) if v.len() == 67 && v[0] == 0x04 => Ok(v[2..].to_vec()),
        (CKR_OK, Read::Value(v)) => Ok(v),
        (rv, _) => Err(Stop::Fail(format!("CKA_EC_POINT: {}", crate::rv::name(rv)))),
    }
}

pub(crate) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario(
            "errors.length_query",
            &["errors"],
            "PKCS#11 3.0 §5.2 (length query)",
            "C_Encrypt with a NULL buffer returns the length and keeps the operation for the real call",
            |ctx| {
                let k = ctx.aes(16, &[])?;
                ctx.require(CKM_AES_GCM)?;
                ctx.ok(ctx.m.encrypt_init(ctx.s, &gcm(), k), "C_EncryptInit")?;
                let (rv, n, _) = ctx.m.encrypt_raw(ctx.s, b"0123456789", None);
                expect_rv(rv, CKR_OK, "C_Encrypt(NULL)")?;
                ensure(n == 26, format!("reported length {n}, expected 26"))?;
                let (rv, n, out) = ctx.m.encrypt_raw(ctx.s, b"0123456789", Some(26));
                expect_rv(rv, CKR_OK, "C_Encrypt(buffer)")?;
                ensure(n == 26 && out.len() == 26, "wrong output length")
            },
        ),
        scenario(
            "errors.buffer_too_small",
            &["errors"],
            "PKCS#11 3.0 §5.2 (CKR_BUFFER_TOO_SMALL)",
            "a short buffer gets CKR_BUFFER_TOO_SMALL with the needed length, and the operation stays active",
            |ctx| {
                let k = ctx.aes(16, &[])?;
                ctx.require(CKM_AES_GCM)?;
                ctx.ok(ctx.m.encrypt_init(ctx.s, &gcm(), k), "C_EncryptInit")?;
                let (rv, n, _) = ctx.m.encrypt_raw(ctx.s, b"0123456789", Some(4));
                expect_rv(rv, CKR_BUFFER_TOO_SMALL, "C_Encrypt(short)")?;
                ensure(n == 26, format!("reported length {n}"))?;
                let (rv, _, out) = ctx.m.encrypt_raw(ctx.s, b"0123456789", Some(26));
                expect_rv(rv, CKR_OK, "C_Encrypt after CKR_BUFFER_TOO_SMALL")?;
                // The retried call delivers the ciphertext of the same operation: it decrypts
                // back (a module that chose its own IV is driven with that IV).
                let back = ctx.gcm_decrypt(k, &out)?;
                ensure(
                    back == b"0123456789",
                    "the retried output does not decrypt back",
                )
            },
        ),
        scenario(
            "errors.init_twice",
            &["errors"],
            "PKCS#11 3.0 §5.2 (CKR_OPERATION_ACTIVE)",
            "a second C_EncryptInit while one is active is CKR_OPERATION_ACTIVE",
            |ctx| {
                let k = ctx.aes(16, &[])?;
                ctx.require(CKM_AES_GCM)?;
                ctx.ok(ctx.m.encrypt_init(ctx.s, &gcm(), k), "C_EncryptInit")?;
                ctx.refused(
                    ctx.m.encrypt_init(ctx.s, &gcm(), k),
                    CKR_OPERATION_ACTIVE,
                    "second C_EncryptInit",
                )
            },
        ),
        scenario(
            "errors.final_without_init",
            &["errors"],
            "PKCS#11 3.0 §5.2 (CKR_OPERATION_NOT_INITIALIZED)",
            "C_EncryptFinal without C_EncryptInit is CKR_OPERATION_NOT_INITIALIZED",
            |ctx| {
                expect_rv(
                    ctx.m.encrypt_final_len(ctx.s),
                    CKR_OPERATION_NOT_INITIALIZED,
                    "C_EncryptFinal",
                )
            },
        ),
        scenario(
            "errors.invalid_session_handle",
            &["errors"],
            "PKCS#11 3.0 §5.1 (CKR_SESSION_HANDLE_INVALID)",
            "a session handle that does not exist is CKR_SESSION_HANDLE_INVALID",
            |ctx| {
                ctx.refused(
                    ctx.m.random(0x7fff_0000_0000_0001, 8),
                    CKR_SESSION_HANDLE_INVALID,
                    "C_GenerateRandom",
                )
            },
        ),
        scenario(
            "errors.invalid_object_handle",
            &["errors"],
            "PKCS#11 3.0 §5.7 (CKR_OBJECT_HANDLE_INVALID)",
            "C_DestroyObject of a handle that does not exist is CKR_OBJECT_HANDLE_INVALID",
            |ctx| {
                ctx.refused(
                    ctx.m.destroy_object(ctx.s, 0x7fff_fff0),
                    CKR_OBJECT_HANDLE_INVALID,
                    "C_DestroyObject",
                )
            },
        ),
        scenario(
            "errors.invalid_key_handle",
            &["errors"],
            "PKCS#11 3.0 §5.8 (CKR_KEY_HANDLE_INVALID)",
            "C_EncryptInit with a key handle that does not exist is CKR_KEY_HANDLE_INVALID",
            |ctx| {
                ctx.require(CKM_AES_GCM)?;
                ctx.refused(
                    ctx.m.encrypt_init(ctx.s, &gcm(), 0x7fff_fff0),
                    CKR_KEY_HANDLE_INVALID,
                    "C_EncryptInit",
                )
            },
        ),
        scenario(
            "errors.read_only_session_token_object",
            &["errors", "policy"],
            "PKCS#11 3.0 §2.6 (CKR_SESSION_READ_ONLY)",
            "creating a token object in a read-only session is CKR_SESSION_READ_ONLY",
            |ctx| {
                let ro = ctx.ok(ctx.m.open_session(ctx.slot, false), "C_OpenSession(RO)")?;
                let r = ctx.m.generate_key(
                    ro,
                    &Mech::Plain(CKM_AES_KEY_GEN),
                    &[Attr::ulong(CKA_VALUE_LEN, 16), Attr::bool(CKA_TOKEN, true)],
                );
                let _ = ctx.m.close_session(ro);
                if let Ok(h) = r {
                    let _ = ctx.m.destroy_object(ctx.s, h);
                }
                ctx.refused(
                    r,
                    CKR_SESSION_READ_ONLY,
                    "C_GenerateKey(token) in a read-only session",
                )
            },
        ),
        scenario(
            "errors.login_twice",
            &["errors"],
            "PKCS#11 3.0 §5.6 C_Login (CKR_USER_ALREADY_LOGGED_IN)",
            "logging in again as the user is CKR_USER_ALREADY_LOGGED_IN",
            |ctx| {
                ctx.refused(
                    ctx.m.login(ctx.s, CKU_USER, &ctx.pin),
                    CKR_USER_ALREADY_LOGGED_IN,
                    "second C_Login",
                )
            },
        ),
        scenario(
            "errors.wrong_pin",
            &["errors"],
            "PKCS#11 3.0 §5.6 C_Login (CKR_PIN_INCORRECT)",
            "a wrong user PIN is CKR_PIN_INCORRECT; the right one then logs in",
            |ctx| {
                ctx.ok(ctx.m.logout(ctx.s), "C_Logout")?;
                let wrong = ctx.m.login(ctx.s, CKU_USER, "not-the-pin");
                ctx.ok(ctx.m.login(ctx.s, CKU_USER, &ctx.pin), "C_Login")?;
                ctx.refused(wrong, CKR_PIN_INCORRECT, "C_Login with a wrong PIN")
            },
        ),
        scenario(
            "errors.mechanism_invalid",
            &["errors"],
            "PKCS#11 3.0 §5.1 (CKR_MECHANISM_INVALID)",
            "an unknown mechanism code is CKR_MECHANISM_INVALID",
            |ctx| {
                let k = ctx.aes(16, &[])?;
                ctx.refused(
                    ctx.m.encrypt_init(ctx.s, &Mech::Plain(0x7fff_0001), k),
                    CKR_MECHANISM_INVALID,
                    "C_EncryptInit",
                )
            },
        ),
        scenario(
            "errors.gcm_bad_tag_length",
            &["errors"],
            "PKCS#11 3.0 CK_GCM_PARAMS (CKR_MECHANISM_PARAM_INVALID)",
            "a GCM tag length of 200 bits is CKR_MECHANISM_PARAM_INVALID",
            |ctx| {
                let k = ctx.aes(16, &[])?;
                ctx.require(CKM_AES_GCM)?;
                let m = Mech::Gcm {
                    iv: vec![1; 12],
                    aad: vec![],
                    tag_bits: 200,
                };
                ctx.refused(
                    ctx.m.encrypt_init(ctx.s, &m, k),
                    CKR_MECHANISM_PARAM_INVALID,
                    "C_EncryptInit",
                )
            },
        ),
        scenario(
            "errors.info_version_consistent",
            &["errors"],
            "PKCS#11 3.0 §5.4 (C_GetInfo, interfaces)",
            "C_GetInfo's cryptokiVersion matches the version of the function table in use",
            |ctx| {
                let info = ctx.ok(ctx.m.info(), "C_GetInfo")?;
                let table = ctx.m.table_version();
                ensure(
                    info.cryptokiVersion.major == table.major,
                    format!(
                        "C_GetInfo says {}.{}, the function table is {}.{}",
                        info.cryptokiVersion.major,
                        info.cryptokiVersion.minor,
                        table.major,
                        table.minor
                    ),
                )
            },
        ),
        scenario(
            "errors.session_info_state",
            &["errors"],
            "PKCS#11 3.0 §5.6 C_GetSessionInfo",
            "a read-write session of a logged-in user is in state CKS_RW_USER_FUNCTIONS",
            |ctx| {
                let info = ctx.ok(ctx.m.session_info(ctx.s), "C_GetSessionInfo")?;
                ensure(
                    info.state == CKS_RW_USER_FUNCTIONS && info.flags & CKF_RW_SESSION != 0,
                    format!("state {}", info.state),
                )
            },
        ),
        scenario(
            "crypto.random",
            &["crypto"],
            "PKCS#11 3.0 §5.19",
            "C_GenerateRandom returns distinct outputs",
            |ctx| {
                let a = ctx.ok(ctx.m.random(ctx.s, 32), "C_GenerateRandom")?;
                let b = ctx.ok(ctx.m.random(ctx.s, 32), "C_GenerateRandom")?;
                ensure(a != b && a.len() == 32, "repeated or short output")
            },
        ),
        scenario(
            "crypto.sha256_known_answer",
            &["crypto", "vectors"],
            "FIPS 180-2 B.1",
            "C_Digest(CKM_SHA256, \"abc\") is the FIPS 180-2 answer",
            |ctx| {
                ctx.require(CKM_SHA256)?;
                let d = ctx.ok(
                    ctx.m.digest(ctx.s, &Mech::Plain(CKM_SHA256), b"abc"),
                    "C_Digest",
                )?;
                let want = [
                    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d,
                    0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10,
                    0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
                ];
                ensure(d == want, "wrong digest")
            },
        ),
        scenario(
            "crypto.hmac_sha256_known_answer",
            &["crypto", "vectors"],
            "RFC 4231 §4.3",
            "C_Sign(CKM_SHA256_HMAC) with key \"Jefe\" is the RFC 4231 answer",
            |ctx| {
                ctx.require(CKM_SHA256_HMAC)?;
                let k = ctx.create(
                    CKO_SECRET_KEY,
                    CKK_GENERIC_SECRET,
                    b"Jefe",
                    &[Attr::bool(CKA_SIGN, true)],
                )?;
                let tag = ctx.ok(
                    ctx.m.sign(
                        ctx.s,
                        &Mech::Plain(CKM_SHA256_HMAC),
                        k,
                        b"what do ya want for nothing?",
                    ),
                    "C_Sign",
                )?;
                let want = [
                    0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08,
                    0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec,
                    0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
                ];
                ensure(tag == want, "wrong HMAC")
            },
        ),
        scenario(
            "crypto.ecdsa_round_trip",
            &["crypto"],
            "PKCS#11 3.0 §6.3.6",
            "a P-256 signature (r||s, 64 bytes) verifies; a changed digest does not (CKR_SIGNATURE_INVALID)",
            |ctx| {
                ctx.require(CKM_ECDSA)?;
                let (public, private) = ctx.ec_pair(&[])?;
                let digest = [0x11u8; 32];
                let sig = ctx.ok(
                    ctx.m.sign(ctx.s, &Mech::Plain(CKM_ECDSA), private, &digest),
                    "C_Sign",
                )?;
                ensure(sig.len() == 64, format!("signature of {} bytes", sig.len()))?;
                ctx.ok(
                    ctx.m
                        .verify(ctx.s, &Mech::Plain(CKM_ECDSA), public, &digest, &sig),
                    "C_Verify",
                )?;
                ctx.refused(
                    ctx.m
                        .verify(ctx.s, &Mech::Plain(CKM_ECDSA), public, &[0x12; 32], &sig),
                    CKR_SIGNATURE_INVALID,
                    "C_Verify of another digest",
                )
            },
        ),
        scenario(
            "crypto.ecdh_agreement",
            &["crypto"],
            "PKCS#11 3.0 §6.3.11",
            "two P-256 key pairs derive the same AES key with CKM_ECDH1_DERIVE (null KDF)",
            |ctx| {
                ctx.require(CKM_ECDH1_DERIVE)?;
                let (pa, ka) = ctx.ec_pair(&[])?;
                let (pb, kb) = ctx.ec_pair(&[])?;
                let t = [
                    Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
                    Attr::ulong(CKA_KEY_TYPE, CKK_AES),
                    Attr::ulong(CKA_VALUE_LEN, 32),
                    Attr::bool(CKA_TOKEN, false),
                    Attr::bool(CKA_ENCRYPT, true),
                    Attr::bool(CKA_DECRYPT, true),
                ];
                let ab = ctx.ok(
                    ctx.m
                        .derive_key(ctx.s, &Mech::Ecdh(point(ctx, pb)?), ka, &t),
                    "C_DeriveKey(A, B)",
                )?;
                let ba = ctx.ok(
                    ctx.m
                        .derive_key(ctx.s, &Mech::Ecdh(point(ctx, pa)?), kb, &t),
                    "C_DeriveKey(B, A)",
                )?;
                let ct = ctx.gcm_encrypt(ab, b"agreed")?;
                ensure(
                    ctx.gcm_decrypt(ba, &ct)? == b"agreed",
                    "the derived keys differ",
                )
            },
        ),
        scenario(
            "crypto.gcm_tamper_refused",
            &["crypto", "errors"],
            "NIST SP 800-38D; PKCS#11 3.0 §5.9 (CKR_ENCRYPTED_DATA_INVALID)",
            "GCM decryption of a modified ciphertext is CKR_ENCRYPTED_DATA_INVALID",
            |ctx| {
                let k = ctx.aes(32, &[])?;
                let mut ct = ctx.gcm_encrypt(k, b"do not touch")?;
                ct[0] ^= 1;
                ctx.refused(
                    ctx.m.decrypt(ctx.s, &gcm(), k, &ct),
                    CKR_ENCRYPTED_DATA_INVALID,
                    "C_Decrypt",
                )
            },
        ),
    ]
}
