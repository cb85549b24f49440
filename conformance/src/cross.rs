//! Cross-module scenarios: a key wrapped in module A is unwrapped in module B, for every ordered
//! pair of modules on the command line and every wrapping mechanism both offer, and proven equal
//! by use (A encrypts with the original, B decrypts with the re-imported key). This is how an
//! encoding difference between two vendors shows up.

use crate::loader::{Attr, Mech, Module};
use crate::runner::{ModuleSpec, Outcome};
use crate::scenario::{Check, Ctx, Stop, ensure, gcm};
use cryptoki_sys::*;

/// One cross-module result.
#[derive(Clone, Debug)]
pub struct CrossResult {
    /// Scenario id, e.g. `cross.kw.hsmemu->softhsm2`.
    pub id: String,
    /// The module that wrapped.
    pub from: String,
    /// The module that unwrapped.
    pub to: String,
    /// What happened.
    pub outcome: Outcome,
}

struct Opened {
    name: String,
    m: Module,
    slot: CK_SLOT_ID,
    s: CK_SESSION_HANDLE,
    pin: String,
    mechanisms: Vec<CK_MECHANISM_TYPE>,
}

fn open(spec: &ModuleSpec) -> Result<Opened, String> {
    let name = |rv| crate::rv::name(rv);
    let m = spec.open()?;
    let slot = crate::runner::find_slot(&m, spec.token_label.as_deref())
        .map_err(|e| format!("{}: {e}", spec.name))?;
    let s = m
        .open_session(slot, true)
        .map_err(|rv| format!("C_OpenSession: {}", name(rv)))?;
    m.login(s, CKU_USER, &spec.pin)
        .map_err(|rv| format!("{}: C_Login: {}", spec.name, name(rv)))?;
    let mechanisms = m
        .mechanisms(slot)
        .map_err(|rv| format!("C_GetMechanismList: {}", name(rv)))?;
    Ok(Opened {
        name: spec.name.clone(),
        m,
        slot,
        s,
        pin: spec.pin.clone(),
        mechanisms,
    })
}

impl Opened {
    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            m: &self.m,
            slot: self.slot,
            s: self.s,
            pin: self.pin.clone(),
            mechanisms: self.mechanisms.clone(),
        }
    }
}

const KEK: [u8; 32] = [0x3c; 32];

fn kek(ctx: &Ctx<'_>) -> Check<CK_OBJECT_HANDLE> {
    ctx.create(
        CKO_SECRET_KEY,
        CKK_AES,
        &KEK,
        &[
            Attr::bool(CKA_WRAP, true),
            Attr::bool(CKA_UNWRAP, true),
            Attr::bool(CKA_SENSITIVE, true),
        ],
    )
}

fn cross(a: &Ctx<'_>, b: &Ctx<'_>, mech: &Mech) -> Check {
    b.require(mech.code())?;
    b.require(CKM_AES_GCM)?;
    let (kek_a, kek_b) = (kek(a)?, kek(b)?);
    let key = a.aes(
        16,
        &[
            Attr::bool(CKA_EXTRACTABLE, true),
            Attr::bool(CKA_SENSITIVE, true),
        ],
    )?;
    let blob = a.ok(
        a.m.wrap_key(a.s, mech, kek_a, key),
        "C_WrapKey in the first module",
    )?;
    let t = [
        Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
        Attr::ulong(CKA_KEY_TYPE, CKK_AES),
        Attr::bool(CKA_TOKEN, false),
        Attr::bool(CKA_ENCRYPT, true),
        Attr::bool(CKA_DECRYPT, true),
    ];
    let restored = b.ok(
        b.m.unwrap_key(b.s, mech, kek_b, &blob, &t),
        "C_UnwrapKey in the second module",
    )?;
    let ct = a.ok(
        a.m.encrypt(a.s, &gcm(), key, b"across modules"),
        "C_Encrypt in the first module",
    )?;
    let pt = b.ok(
        b.m.decrypt(b.s, &gcm(), restored, &ct),
        "C_Decrypt in the second module",
    )?;
    ensure(
        pt == b"across modules",
        "the key unwrapped in the second module is not the same key",
    )
}

/// Runs the cross-module scenarios for every ordered pair of `specs`.
pub fn run(specs: &[ModuleSpec]) -> Result<Vec<CrossResult>, String> {
    if specs.len() < 2 {
        return Ok(Vec::new());
    }
    let opened: Vec<Opened> = specs.iter().map(open).collect::<Result<_, _>>()?;
    let mechs = [
        ("kw", Mech::Plain(CKM_AES_KEY_WRAP)),
        ("kwp", Mech::Plain(crate::catalogue::CKM_KWP)),
    ];
    let mut out = Vec::new();
    for a in &opened {
        for b in &opened {
            if std::ptr::eq(a, b) {
                continue;
            }
            for (name, mech) in &mechs {
                let (ca, cb) = (a.ctx(), b.ctx());
                let outcome = match ca.require(mech.code()).and_then(|()| cross(&ca, &cb, mech)) {
                    Ok(()) => Outcome::Pass,
                    Err(Stop::Unsupported(why)) => Outcome::Unsupported(why),
                    Err(Stop::Fail(why)) => Outcome::Fail(why),
                };
                out.push(CrossResult {
                    id: format!("cross.{name}.{}->{}", a.name, b.name),
                    from: a.name.clone(),
                    to: b.name.clone(),
                    outcome,
                });
            }
        }
    }
    for o in &opened {
        let _ = o.m.logout(o.s);
        let _ = o.m.close_session(o.s);
        let _ = o.m.finalize();
    }
    Ok(out)
}
