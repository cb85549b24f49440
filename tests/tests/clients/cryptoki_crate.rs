//! The Rust `cryptoki` crate drives the module: basic operations, the concurrency test and the
//! persistence test of the PKCS#11-module issue.
//!
//! The module's state is per process and `HSMEMU_CONF` is read from the environment, so each
//! scenario runs in a child process of this test binary (an `#[ignore]`d test selected with
//! `HSMEMU_CHILD`).

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use hsmemu_tests::*;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const P256_OID: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Runs `name` (an ignored test of this module) in a child process with `conf`.
fn child(name: &str, conf: &Path) -> Output {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args([
            &format!("cryptoki_crate::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HSMEMU_CHILD", name)
        .env("HSMEMU_CONF", conf)
        .output()
        .unwrap()
}

fn child_ok(name: &str, conf: &Path) -> String {
    let out = child(name, conf);
    let t = text(&out);
    assert!(
        out.status.success() && t.contains("1 passed"),
        "child {name} failed:\n{t}"
    );
    t
}

fn is_child(name: &str) -> bool {
    std::env::var("HSMEMU_CHILD").is_ok_and(|v| v == name)
}

fn open() -> (Pkcs11, Session) {
    let pkcs11 = Pkcs11::new(module_path()).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = pkcs11.get_slots_with_token().unwrap()[0];
    let session = pkcs11.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new("1234".into())))
        .unwrap();
    (pkcs11, session)
}

fn gcm_round_trip(session: &Session, key: ObjectHandle, data: &[u8]) -> Result<bool, CkError> {
    let mut iv = [7u8; 12];
    let ct = session.encrypt(
        &Mechanism::AesGcm(GcmParams::new(&mut iv, b"aad", 128.into())?),
        key,
        data,
    )?;
    let pt = session.decrypt(
        &Mechanism::AesGcm(GcmParams::new(&mut iv, b"aad", 128.into())?),
        key,
        &ct,
    )?;
    Ok(pt == data && ct.len() == data.len() + 16)
}

fn ec_pair(session: &Session, label: &str) -> (ObjectHandle, ObjectHandle) {
    let public = [
        Attribute::EcParams(P256_OID.to_vec()),
        Attribute::Label(label.into()),
        Attribute::Verify(true),
    ];
    let private = [Attribute::Label(label.into()), Attribute::Sign(true)];
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .unwrap()
}

#[test]
#[ignore = "run in a child process by cryptoki_basics"]
fn child_basics() {
    if !is_child("child_basics") {
        return;
    }
    let (_pkcs11, session) = open();
    let key = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"k".to_vec()),
            ],
        )
        .unwrap();
    assert!(gcm_round_trip(&session, key, b"through the cryptoki crate").unwrap());
    // A sensitive value is not returned; the other attributes of the same call are.
    let attrs = session
        .get_attributes(key, &[AttributeType::Value, AttributeType::Label])
        .unwrap();
    assert_eq!(attrs, vec![Attribute::Label(b"k".to_vec())]);
    let (public, private) = ec_pair(&session, "ec");
    let sig = session
        .sign(&Mechanism::EcdsaSha256, private, b"message")
        .unwrap();
    assert_eq!(sig.len(), 64);
    session
        .verify(&Mechanism::EcdsaSha256, public, b"message", &sig)
        .unwrap();
    let err = session
        .verify(&Mechanism::EcdsaSha256, public, b"other", &sig)
        .unwrap_err();
    assert!(
        matches!(err, CkError::Pkcs11(RvError::SignatureInvalid, _)),
        "{err:?}"
    );
    // Wrap and unwrap with KWP through the crate.
    let kek = session
        .generate_key(&Mechanism::AesKeyGen, &[Attribute::ValueLen(32.into())])
        .unwrap();
    let target = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::ValueLen(16.into()), Attribute::Extractable(true)],
        )
        .unwrap();
    // cryptoki's AesKeyWrapPad is 0x210A; the emulator implements RFC 5649 as 0x210B only.
    let err = session
        .wrap_key(&Mechanism::AesKeyWrapPad, kek, target)
        .unwrap_err();
    assert!(
        matches!(err, CkError::Pkcs11(RvError::MechanismInvalid, _)),
        "{err:?}"
    );
    let blob = session
        .wrap_key(&Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
    ];
    let restored = session
        .unwrap_key(&Mechanism::AesKeyWrap, kek, &blob, &template)
        .unwrap();
    let mut iv = [1u8; 12];
    let ct = session
        .encrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, &[], 128.into()).unwrap()),
            target,
            b"same",
        )
        .unwrap();
    let pt = session
        .decrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, &[], 128.into()).unwrap()),
            restored,
            &ct,
        )
        .unwrap();
    assert_eq!(pt, b"same");
}

#[test]
fn cryptoki_basics() {
    let dir = scratch("cryptoki-basics");
    child_ok("child_basics", &token_conf(&dir, "t"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "run in a child process by concurrency_8_threads_then_finalize"]
fn child_concurrency() {
    if !is_child("child_concurrency") {
        return;
    }
    let (pkcs11, session) = open();
    let aes = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"shared".to_vec()),
            ],
        )
        .unwrap();
    let (public, private) = ec_pair(&session, "shared-ec");
    let slot = pkcs11.get_slots_with_token().unwrap()[0];
    let finalized = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for t in 0..8 {
        let (pkcs11, finalized, ops) = (pkcs11.clone(), finalized.clone(), ops.clone());
        workers.push(std::thread::spawn(move || {
            let sessions = [
                pkcs11.open_rw_session(slot).unwrap(),
                pkcs11.open_ro_session(slot).unwrap(),
            ];
            let mut i = 0usize;
            loop {
                let s = &sessions[i % 2];
                let result: Result<bool, CkError> = match (t + i) % 4 {
                    0 => gcm_round_trip(s, aes, &[t as u8; 64]),
                    1 => s
                        .sign(&Mechanism::EcdsaSha256, private, b"concurrent")
                        .and_then(|sig| {
                            s.verify(&Mechanism::EcdsaSha256, public, b"concurrent", &sig)
                                .map(|()| true)
                        }),
                    2 => s
                        .generate_key(&Mechanism::AesKeyGen, &[Attribute::ValueLen(16.into())])
                        .and_then(|k| {
                            gcm_round_trip(s, k, b"fresh key")
                                .and_then(|ok| s.destroy_object(k).map(|()| ok))
                        }),
                    _ => s
                        .find_objects(&[Attribute::Label(b"shared".to_vec())])
                        .map(|found| found == vec![aes]),
                };
                match result {
                    Ok(true) => {
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => panic!("thread {t}: wrong result"),
                    Err(CkError::Pkcs11(RvError::CryptokiNotInitialized, _))
                        if finalized.load(Ordering::SeqCst) =>
                    {
                        return i;
                    }
                    Err(e) => panic!(
                        "thread {t}: unexpected error {e:?} (finalized: {})",
                        finalized.load(Ordering::SeqCst)
                    ),
                }
                i += 1;
            }
        }));
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = ops.load(Ordering::Relaxed);
    assert!(before > 0, "no operation completed");
    finalized.store(true, Ordering::SeqCst);
    // C_Finalize from the main thread while every worker still holds two sessions.
    pkcs11.clone().finalize().unwrap();
    for w in workers {
        w.join().expect("a worker panicked");
    }
    println!("{before} operations in 3 s across 8 threads x 2 sessions, then a clean C_Finalize");
    drop(session);
}

#[test]
fn concurrency_8_threads_then_finalize() {
    let dir = scratch("cryptoki-concurrency");
    let out = child_ok("child_concurrency", &token_conf(&dir, "t"));
    let summary = out.lines().find(|l| l.contains("then a clean C_Finalize"));
    println!(
        "{}",
        summary.unwrap_or_else(|| panic!("no summary in:\n{out}"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const OBJECTS: usize = 1000;

fn expected(i: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let value: Vec<u8> = (0..16).map(|b| (i * 31 + b) as u8).collect();
    (
        format!("obj-{i:04}").into_bytes(),
        (i as u32).to_be_bytes().to_vec(),
        value,
    )
}

#[test]
#[ignore = "run in a child process by persistence_1000_objects_across_processes"]
fn child_persist_create() {
    if !is_child("child_persist_create") {
        return;
    }
    let (pkcs11, session) = open();
    for i in 0..OBJECTS {
        let (label, id, value) = expected(i);
        session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
                Attribute::Label(label),
                Attribute::Id(id),
                Attribute::Value(value),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
            ])
            .unwrap();
    }
    drop(session);
    pkcs11.finalize().unwrap();
}

#[test]
#[ignore = "run in a child process by persistence_1000_objects_across_processes"]
fn child_persist_verify() {
    if !is_child("child_persist_verify") {
        return;
    }
    let (_pkcs11, session) = open();
    let found = session
        .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
        .unwrap();
    let mut seen = 0;
    for h in found {
        let attrs = session
            .get_attributes(
                h,
                &[
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::Value,
                    AttributeType::Token,
                ],
            )
            .unwrap();
        let Some(Attribute::Label(label)) = attrs.first() else {
            panic!("no label")
        };
        let i: usize = String::from_utf8_lossy(&label[4..]).parse().unwrap();
        let (label, id, value) = expected(i);
        assert_eq!(
            attrs,
            vec![
                Attribute::Label(label),
                Attribute::Id(id),
                Attribute::Value(value),
                Attribute::Token(true)
            ]
        );
        seen += 1;
    }
    println!("found {seen} objects with their attributes");
}

#[test]
fn persistence_1000_objects_across_processes() {
    let dir = scratch("cryptoki-persistence");
    let conf = token_conf(&dir, "t");
    child_ok("child_persist_create", &conf);
    let out = child_ok("child_persist_verify", &conf);
    assert!(out.contains(&format!("found {OBJECTS} objects")), "{out}");
    println!("a new process found all {OBJECTS} token objects with the same attributes");
    // Alter one record on disk: it is refused with a clear message; the others still load.
    let objects = dir.join("token").join("objects");
    let victim = std::fs::read_dir(&objects)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let out = child_ok("child_persist_verify", &conf);
    assert!(
        out.contains(&format!("found {} objects", OBJECTS - 1)),
        "{out}"
    );
    assert!(
        out.contains("refused: record failed authentication"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
