//! Property-based leak search (DESIGN.md §5): random sequences of PKCS#11 calls against any
//! module, with the no-export invariants checked after every step. A failing sequence is shrunk
//! by proptest to a minimal one and printed as a replayable script.
//!
//! Invariants:
//! * the value of a key created with CKA_EXTRACTABLE false never appears in any output: attribute
//!   reads, ciphertexts, decryptions, or the contents of any wrapped blob (opened offline under
//!   every key-encryption key whose value the search knows);
//! * CKA_SENSITIVE never reads false after reading true; CKA_EXTRACTABLE never reads true after
//!   reading false; CKA_NEVER_EXTRACTABLE never reads false after reading true.
//!
//! Keys are created with C_CreateObject from values the search chose, so it knows every secret.

use crate::loader::{Attr, Mech, Module, Read};
use crate::scenario::gcm;
use cryptoki_sys::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use std::collections::HashMap;

/// One call of a sequence. Indices pick among the keys and blobs made so far (modulo their count).
#[derive(Clone, Debug)]
pub enum Step {
    /// C_CreateObject of an AES-128 key that may never leave (CKA_EXTRACTABLE false).
    CreateProtected,
    /// C_CreateObject of an extractable AES-128 key.
    CreateExtractable {
        /// CKA_SENSITIVE.
        sensitive: bool,
    },
    /// C_CreateObject of an AES-256 key-encryption key (wrap, unwrap, encrypt, decrypt).
    CreateKek,
    /// C_SetAttributeValue(CKA_EXTRACTABLE true).
    MakeExtractable(usize),
    /// C_SetAttributeValue(CKA_SENSITIVE false).
    MakeInsensitive(usize),
    /// C_CopyObject with CKA_EXTRACTABLE true and CKA_SENSITIVE false.
    CopyLoosened(usize),
    /// C_WrapKey(kek, key) with KW (0), KWP (1) or GCM (2).
    Wrap(usize, usize, u8),
    /// C_UnwrapKey(kek, blob) asking for an extractable, non-sensitive key.
    Unwrap(usize, usize, u8),
    /// C_GetAttributeValue of CKA_VALUE and the protection attributes.
    Read(usize),
    /// C_Encrypt (GCM) of a blob under a key.
    Encrypt(usize, usize),
    /// C_Decrypt (GCM) of a blob under a key.
    Decrypt(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..16;
    prop_oneof![
        Just(Step::CreateProtected),
        any::<bool>().prop_map(|sensitive| Step::CreateExtractable { sensitive }),
        Just(Step::CreateKek),
        i().prop_map(Step::MakeExtractable),
        i().prop_map(Step::MakeInsensitive),
        i().prop_map(Step::CopyLoosened),
        (i(), i(), 0u8..3).prop_map(|(a, b, m)| Step::Wrap(a, b, m)),
        (i(), i(), 0u8..3).prop_map(|(a, b, m)| Step::Unwrap(a, b, m)),
        i().prop_map(Step::Read),
        (i(), i()).prop_map(|(a, b)| Step::Encrypt(a, b)),
        (i(), i()).prop_map(|(a, b)| Step::Decrypt(a, b)),
    ]
}

fn mech(m: u8) -> Mech {
    match m {
        0 => Mech::Plain(CKM_AES_KEY_WRAP),
        1 => Mech::Plain(crate::catalogue::CKM_KWP),
        _ => Mech::Gcm {
            iv: vec![0x77; 12],
            aad: Vec::new(),
            tag_bits: 128,
        },
    }
}

#[derive(Default)]
struct State {
    keys: Vec<CK_OBJECT_HANDLE>,
    keks: Vec<(CK_OBJECT_HANDLE, [u8; 32])>,
    blobs: Vec<Vec<u8>>,
    protected: Vec<[u8; 16]>,
    counter: u8,
    seen: HashMap<(CK_OBJECT_HANDLE, CK_ATTRIBUTE_TYPE), bool>,
}

impl State {
    fn value(&mut self, n: usize) -> Vec<u8> {
        self.counter = self.counter.wrapping_add(1);
        (0..n)
            .map(|i| {
                self.counter
                    .wrapping_mul(31)
                    .wrapping_add(i.to_le_bytes()[0] ^ 0xa5)
            })
            .collect()
    }

    /// Whether `bytes` contain a protected secret, directly or inside a blob opened offline.
    fn leaks(&self, bytes: &[u8]) -> Option<String> {
        use aes_kw::KeyInit;
        let contains = |b: &[u8]| {
            self.protected
                .iter()
                .find(|p| b.windows(16).any(|w| w == &p[..]))
        };
        if contains(bytes).is_some() {
            return Some("a protected key's value appeared in an output".into());
        }
        for (_, kek) in &self.keks {
            let mut buf = vec![0u8; bytes.len()];
            let kw = aes_kw::KwAes256::new(&(*kek).into());
            let kwp = aes_kw::KwpAes256::new(&(*kek).into());
            let opened = [
                kw.unwrap_key(bytes, &mut buf).map(<[u8]>::to_vec).ok(),
                kwp.unwrap_key(bytes, &mut buf.clone())
                    .map(<[u8]>::to_vec)
                    .ok(),
            ];
            if opened.iter().flatten().any(|o| contains(o).is_some()) {
                return Some("a wrapped blob contains a protected key's value".into());
            }
        }
        None
    }

    fn pick<T: Copy>(v: &[T], i: usize) -> Option<T> {
        if v.is_empty() {
            None
        } else {
            Some(v[i % v.len()])
        }
    }
}

fn secret(class_extra: &[Attr], value: &[u8]) -> Vec<Attr> {
    let mut t = vec![
        Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
        Attr::ulong(CKA_KEY_TYPE, CKK_AES),
        Attr::bytes(CKA_VALUE, value.to_vec()),
        Attr::bool(CKA_TOKEN, false),
    ];
    t.extend_from_slice(class_extra);
    t
}

/// Runs one sequence; `Err` names the violated invariant.
fn run_sequence(m: &Module, s: CK_SESSION_HANDLE, steps: &[Step]) -> Result<(), String> {
    let mut st = State::default();
    for (n, step) in steps.iter().enumerate() {
        let mut outputs: Vec<Vec<u8>> = Vec::new();
        match *step {
            Step::CreateProtected => {
                let v: [u8; 16] = st.value(16).try_into().unwrap_or([0; 16]);
                let t = secret(
                    &[
                        Attr::bool(CKA_EXTRACTABLE, false),
                        Attr::bool(CKA_SENSITIVE, true),
                        Attr::bool(CKA_ENCRYPT, true),
                        Attr::bool(CKA_DECRYPT, true),
                    ],
                    &v,
                );
                if let Ok(h) = m.create_object(s, &t) {
                    st.keys.push(h);
                    st.protected.push(v);
                }
            }
            Step::CreateExtractable { sensitive } => {
                let v = st.value(16);
                let t = secret(
                    &[
                        Attr::bool(CKA_EXTRACTABLE, true),
                        Attr::bool(CKA_SENSITIVE, sensitive),
                        Attr::bool(CKA_ENCRYPT, true),
                        Attr::bool(CKA_DECRYPT, true),
                    ],
                    &v,
                );
                if let Ok(h) = m.create_object(s, &t) {
                    st.keys.push(h);
                }
            }
            Step::CreateKek => {
                let v: [u8; 32] = st.value(32).try_into().unwrap_or([0; 32]);
                let usage = [
                    Attr::bool(CKA_WRAP, true),
                    Attr::bool(CKA_UNWRAP, true),
                    Attr::bool(CKA_ENCRYPT, true),
                    Attr::bool(CKA_DECRYPT, true),
                    Attr::bool(CKA_EXTRACTABLE, false),
                ];
                if let Ok(h) = m.create_object(s, &secret(&usage, &v)) {
                    st.keks.push((h, v));
                    st.keys.push(h);
                }
            }
            Step::MakeExtractable(k) => {
                if let Some(k) = State::pick(&st.keys, k) {
                    let _ = m.set_attributes(s, k, &[Attr::bool(CKA_EXTRACTABLE, true)]);
                }
            }
            Step::MakeInsensitive(k) => {
                if let Some(k) = State::pick(&st.keys, k) {
                    let _ = m.set_attributes(s, k, &[Attr::bool(CKA_SENSITIVE, false)]);
                }
            }
            Step::CopyLoosened(k) => {
                if let Some(k) = State::pick(&st.keys, k)
                    && let Ok(h) = m.copy_object(
                        s,
                        k,
                        &[
                            Attr::bool(CKA_EXTRACTABLE, true),
                            Attr::bool(CKA_SENSITIVE, false),
                        ],
                    )
                {
                    st.keys.push(h);
                }
            }
            Step::Wrap(kek, key, mm) => {
                if let (Some((kek, _)), Some(key)) =
                    (State::pick(&st.keks, kek), State::pick(&st.keys, key))
                    && let Ok(blob) = m.wrap_key(s, &mech(mm), kek, key)
                {
                    outputs.push(blob.clone());
                    st.blobs.push(blob);
                }
            }
            Step::Unwrap(kek, blob, mm) => {
                if let (Some((kek, _)), Some(b)) = (
                    State::pick(&st.keks, kek),
                    st.blobs.get(blob % st.blobs.len().max(1)).cloned(),
                ) {
                    let t = [
                        Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
                        Attr::ulong(CKA_KEY_TYPE, CKK_AES),
                        Attr::bool(CKA_TOKEN, false),
                        Attr::bool(CKA_EXTRACTABLE, true),
                        Attr::bool(CKA_SENSITIVE, false),
                        Attr::bool(CKA_ENCRYPT, true),
                        Attr::bool(CKA_DECRYPT, true),
                    ];
                    if let Ok(h) = m.unwrap_key(s, &mech(mm), kek, &b, &t) {
                        st.keys.push(h);
                    }
                }
            }
            Step::Read(k) => {
                if let Some(k) = State::pick(&st.keys, k) {
                    let types = [
                        CKA_VALUE,
                        CKA_SENSITIVE,
                        CKA_EXTRACTABLE,
                        CKA_NEVER_EXTRACTABLE,
                    ];
                    let (_, reads) = m.get_attributes(s, k, &types);
                    for (ty, r) in types.iter().zip(reads) {
                        let Read::Value(v) = r else { continue };
                        if *ty == CKA_VALUE {
                            outputs.push(v);
                            continue;
                        }
                        let now = v.first().is_some_and(|b| *b != 0);
                        if let Some(before) = st.seen.insert((k, *ty), now) {
                            let flipped = match *ty {
                                CKA_SENSITIVE | CKA_NEVER_EXTRACTABLE => before && !now,
                                _ => !before && now,
                            };
                            if flipped {
                                return Err(format!(
                                    "step {n}: attribute 0x{ty:x} of object {k} flipped back"
                                ));
                            }
                        }
                    }
                }
            }
            Step::Encrypt(k, b) => {
                let data = st
                    .blobs
                    .get(b % st.blobs.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| vec![0; 16]);
                if let Some(k) = State::pick(&st.keys, k)
                    && let Ok(ct) = m.encrypt(s, &gcm(), k, &data)
                {
                    outputs.push(ct.clone());
                    st.blobs.push(ct);
                }
            }
            Step::Decrypt(k, b) => {
                if let (Some(k), Some(data)) = (
                    State::pick(&st.keys, k),
                    st.blobs.get(b % st.blobs.len().max(1)).cloned(),
                ) {
                    for m_ in [gcm(), mech(2)] {
                        if let Ok(pt) = m.decrypt(s, &m_, k, &data) {
                            outputs.push(pt);
                        }
                    }
                }
            }
        }
        for o in &outputs {
            if let Some(why) = st.leaks(o) {
                return Err(format!("step {n} ({step:?}): {why}"));
            }
        }
    }
    Ok(())
}

/// What a search found.
#[derive(Debug)]
pub enum Found {
    /// Every sequence kept the invariants.
    Nothing {
        /// Sequences run.
        cases: u32,
    },
    /// A (shrunk) sequence that breaks an invariant.
    Violation {
        /// The invariant broken, at which step.
        why: String,
        /// The minimal sequence, one step per line.
        script: String,
    },
}

/// Opens the module of `spec`, logs in, and searches it (see [`search`]).
pub fn search_module(
    spec: &crate::runner::ModuleSpec,
    cases: u32,
    steps: usize,
    seed: u64,
) -> Result<Found, String> {
    let m = spec.open()?;
    if spec.init_token {
        crate::runner::init_token(&m, spec)?;
    }
    let result = (|| {
        let slot = crate::runner::find_slot(&m, spec.token_label.as_deref())?;
        let keeper = m
            .open_session(slot, true)
            .map_err(|rv| format!("C_OpenSession: {}", crate::rv::name(rv)))?;
        m.login(keeper, CKU_USER, &spec.pin)
            .map_err(|rv| format!("C_Login: {}", crate::rv::name(rv)))?;
        let found = search(&m, slot, cases, steps, seed);
        let _ = m.logout(keeper);
        let _ = m.close_session(keeper);
        found
    })();
    let _ = m.finalize();
    result
}

/// Searches `cases` random sequences of up to `steps` calls on the token of `slot` (the user must
/// be logged in); each sequence runs in a fresh session whose objects die with it.
pub fn search(
    m: &Module,
    slot: CK_SLOT_ID,
    cases: u32,
    steps: usize,
    seed: u64,
) -> Result<Found, String> {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(step(), 1..=steps), |seq| {
        let s = m
            .open_session(slot, true)
            .map_err(|rv| TestCaseError::fail(format!("C_OpenSession: {}", crate::rv::name(rv))))?;
        let r = run_sequence(m, s, &seq);
        let _ = m.close_session(s);
        r.map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => Ok(Found::Nothing { cases }),
        Err(TestError::Fail(why, seq)) => {
            let script = seq
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{i:>3}: {s:?}"))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Found::Violation {
                why: why.to_string(),
                script,
            })
        }
        Err(TestError::Abort(why)) => Err(format!("search aborted: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_kw::KeyInit;

    #[test]
    fn leaks_are_seen_directly_and_inside_wrapped_blobs() {
        let mut st = State::default();
        let secret = [0x5cu8; 16];
        let kek = [0x11u8; 32];
        st.protected.push(secret);
        st.keks.push((1, kek));
        let mut shown = vec![0u8; 4];
        shown.extend_from_slice(&secret);
        assert!(st.leaks(&shown).is_some(), "a plain copy must be seen");
        let mut blob = [0u8; 24];
        aes_kw::KwAes256::new(&kek.into())
            .wrap_key(&secret, &mut blob)
            .unwrap();
        assert!(
            st.leaks(&blob).is_some(),
            "an RFC 3394 blob under a known KEK must be opened"
        );
        let mut kwp = [0u8; 24];
        aes_kw::KwpAes256::new(&kek.into())
            .wrap_key(&secret, &mut kwp)
            .unwrap();
        assert!(
            st.leaks(&kwp).is_some(),
            "an RFC 5649 blob under a known KEK must be opened"
        );
        assert!(st.leaks(&[0u8; 40]).is_none());
    }
}
