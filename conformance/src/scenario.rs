//! Scenarios and the context they run in: a module, a slot, a read-write session logged in as
//! the user, and helpers that turn CK_RVs into outcomes.

use crate::loader::{Attr, CkResult, Mech, Module, Read};
use crate::rv::name;
use cryptoki_sys::*;

/// Why a scenario did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The module gave a wrong answer.
    Fail(String),
    /// The module lacks a mechanism or function the scenario needs: not a failure.
    Unsupported(String),
}

/// Result of a scenario step.
pub type Check<T = ()> = Result<T, Stop>;

/// One scenario of the catalogue.
pub struct Scenario {
    /// Stable id, e.g. `wrap.kwp.aes128`.
    pub id: String,
    /// Tags for `--only` (wrap, export, reimport, policy, vectors, errors, ...).
    pub tags: &'static [&'static str],
    /// The specification section or reference it checks.
    pub reference: &'static str,
    /// One line saying what it checks.
    pub description: String,
    /// The check.
    pub run: Box<dyn Fn(&Ctx<'_>) -> Check>,
}

/// What a scenario runs against.
pub struct Ctx<'m> {
    /// The module.
    pub m: &'m Module,
    /// The slot of the token under test.
    pub slot: CK_SLOT_ID,
    /// A read-write session logged in as the user (the scenario's own).
    pub s: CK_SESSION_HANDLE,
    /// The user PIN.
    pub pin: String,
    /// The mechanisms the token lists.
    pub mechanisms: Vec<CK_MECHANISM_TYPE>,
}

/// DER of the P-256 OID (RFC 5480).
pub const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Checks a CK_RV: CKR_FUNCTION_NOT_SUPPORTED (where something else was wanted) makes the
/// scenario unsupported, any other difference fails it.
pub fn expect_rv(got: CK_RV, want: CK_RV, what: &str) -> Check {
    match got {
        g if g == want => Ok(()),
        CKR_FUNCTION_NOT_SUPPORTED => Err(Stop::Unsupported(format!(
            "{what}: CKR_FUNCTION_NOT_SUPPORTED"
        ))),
        _ => Err(Stop::Fail(format!(
            "{what}: expected {}, got {}",
            name(want),
            name(got)
        ))),
    }
}

/// Fails with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl Into<String>) -> Check {
    if cond {
        Ok(())
    } else {
        Err(Stop::Fail(msg.into()))
    }
}

impl Ctx<'_> {
    /// Unsupported unless the token lists `mechanism`.
    pub fn require(&self, mechanism: CK_MECHANISM_TYPE) -> Check {
        if self.mechanisms.contains(&mechanism) {
            Ok(())
        } else {
            Err(Stop::Unsupported(format!(
                "mechanism 0x{mechanism:x} is not offered"
            )))
        }
    }

    /// The value of a call that must succeed; CKR_MECHANISM_INVALID and
    /// CKR_FUNCTION_NOT_SUPPORTED make the scenario unsupported.
    pub fn ok<T>(&self, r: CkResult<T>, what: &str) -> Check<T> {
        r.map_err(|rv| match rv {
            CKR_MECHANISM_INVALID | CKR_FUNCTION_NOT_SUPPORTED => {
                Stop::Unsupported(format!("{what}: {}", name(rv)))
            }
            _ => Stop::Fail(format!("{what}: {}", name(rv))),
        })
    }

    /// A call that must fail with exactly `want`.
    pub fn refused<T>(&self, r: CkResult<T>, want: CK_RV, what: &str) -> Check {
        match r {
            Err(rv) if rv == want => Ok(()),
            Err(CKR_FUNCTION_NOT_SUPPORTED) => Err(Stop::Unsupported(format!(
                "{what}: CKR_FUNCTION_NOT_SUPPORTED"
            ))),
            Err(rv) => Err(Stop::Fail(format!(
                "{what}: expected {}, got {}",
                name(want),
                name(rv)
            ))),
            Ok(_) => Err(Stop::Fail(format!(
                "{what}: expected {}, but it succeeded",
                name(want)
            ))),
        }
    }

    /// An AES key generated on the token (a session object), extra attributes appended.
    pub fn aes(&self, len: CK_ULONG, extra: &[Attr]) -> Check<CK_OBJECT_HANDLE> {
        self.require(CKM_AES_KEY_GEN)?;
        let mut t = vec![
            Attr::ulong(CKA_VALUE_LEN, len),
            Attr::bool(CKA_TOKEN, false),
            Attr::bool(CKA_ENCRYPT, true),
            Attr::bool(CKA_DECRYPT, true),
            Attr::bool(CKA_WRAP, true),
            Attr::bool(CKA_UNWRAP, true),
        ];
        t.retain(|a| !extra.iter().any(|e| attr_type(e) == attr_type(a)));
        t.extend_from_slice(extra);
        self.ok(
            self.m
                .generate_key(self.s, &Mech::Plain(CKM_AES_KEY_GEN), &t),
            "C_GenerateKey(AES)",
        )
    }

    /// An object created with C_CreateObject from `class`, `key_type`, `value` and `extra`.
    pub fn create(
        &self,
        class: CK_OBJECT_CLASS,
        key_type: CK_KEY_TYPE,
        value: &[u8],
        extra: &[Attr],
    ) -> Check<CK_OBJECT_HANDLE> {
        let mut t = vec![
            Attr::ulong(CKA_CLASS, class),
            Attr::ulong(CKA_KEY_TYPE, key_type),
            Attr::bytes(CKA_VALUE, value),
            Attr::bool(CKA_TOKEN, false),
        ];
        t.extend_from_slice(extra);
        self.ok(self.m.create_object(self.s, &t), "C_CreateObject")
    }

    /// A P-256 key pair: (public, private), extra attributes on the private key.
    pub fn ec_pair(&self, private_extra: &[Attr]) -> Check<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
        self.require(CKM_EC_KEY_PAIR_GEN)?;
        let public = [
            Attr::bytes(CKA_EC_PARAMS, P256_PARAMS),
            Attr::bool(CKA_TOKEN, false),
            Attr::bool(CKA_VERIFY, true),
        ];
        let mut private = vec![
            Attr::bool(CKA_TOKEN, false),
            Attr::bool(CKA_SIGN, true),
            Attr::bool(CKA_DERIVE, true),
        ];
        private.retain(|a| !private_extra.iter().any(|e| attr_type(e) == attr_type(a)));
        private.extend_from_slice(private_extra);
        self.ok(
            self.m
                .generate_key_pair(self.s, &Mech::Plain(CKM_EC_KEY_PAIR_GEN), &public, &private),
            "C_GenerateKeyPair(P-256)",
        )
    }

    /// One attribute, read alone.
    pub fn read(&self, o: CK_OBJECT_HANDLE, ty: CK_ATTRIBUTE_TYPE) -> (CK_RV, Read) {
        let (rv, mut reads) = self.m.get_attributes(self.s, o, &[ty]);
        (rv, reads.pop().unwrap_or(Read::Unavailable))
    }

    /// A boolean attribute that must be readable.
    pub fn flag(&self, o: CK_OBJECT_HANDLE, ty: CK_ATTRIBUTE_TYPE) -> Check<bool> {
        match self.read(o, ty) {
            (CKR_OK, Read::Value(v)) => Ok(v.first().is_some_and(|b| *b != 0)),
            (rv, _) => Err(Stop::Fail(format!(
                "reading attribute 0x{ty:x}: {}",
                name(rv)
            ))),
        }
    }

    /// Encrypts with AES-GCM (fixed IV and AAD: scenarios compare keys, not IVs).
    pub fn gcm_encrypt(&self, key: CK_OBJECT_HANDLE, data: &[u8]) -> Check<Vec<u8>> {
        self.require(CKM_AES_GCM)?;
        self.ok(
            self.m.encrypt(self.s, &gcm(), key, data),
            "C_Encrypt(AES-GCM)",
        )
    }

    /// Decrypts with AES-GCM.
    pub fn gcm_decrypt(&self, key: CK_OBJECT_HANDLE, data: &[u8]) -> Check<Vec<u8>> {
        self.ok(
            self.m.decrypt(self.s, &gcm(), key, data),
            "C_Decrypt(AES-GCM)",
        )
    }

    /// How many objects the session sees.
    pub fn count(&self) -> Check<usize> {
        self.ok(self.m.find(self.s, &[]), "C_FindObjects")
            .map(|v| v.len())
    }
}

/// The GCM parameters scenarios use.
pub fn gcm() -> Mech {
    Mech::Gcm {
        iv: vec![0x24; 12],
        aad: b"hsmemu".to_vec(),
        tag_bits: 128,
    }
}

fn attr_type(a: &Attr) -> CK_ATTRIBUTE_TYPE {
    match a {
        Attr::Value(t, _) | Attr::Nested(t, _) => *t,
    }
}
