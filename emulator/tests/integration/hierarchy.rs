//! The key hierarchy: sealed records, restart, tamper evidence, domain-key rotation, data keys
//! and imported material (docs/key-hierarchy.md).

use crate::common::*;
use hsmemu::attributes::{Attribute, AttributeType as A, AttributeValue};
use hsmemu::hierarchy::RecordError;
use hsmemu::hierarchy::imported::MaterialState;
use hsmemu::platform::{ObjectStore, Platform};
use hsmemu::token::UserType;
use hsmemu::{Error, ObjectHandle};

fn relogin(hsm: &mut hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform>) -> hsmemu::SessionHandle {
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    s
}

#[test]
fn token_objects_survive_a_restart() {
    let (mut hsm, s) = user();
    let key = aes_key(
        &mut hsm,
        s,
        32,
        &[
            t(A::Token, true),
            Attribute::bytes(A::Label, b"kept".to_vec()),
        ],
    );
    let session_key = aes_key(&mut hsm, s, 16, &[]);
    let ct = encrypt(&mut hsm, s, key, b"before restart");
    let report = hsm.restart().clone();
    assert_eq!((report.loaded, report.rejected.len()), (1, 0));
    let s = relogin(&mut hsm);
    assert_eq!(
        read(&hsm, s, key, A::Label),
        Ok(AttributeValue::bytes(b"kept".to_vec()))
    );
    assert_eq!(decrypt(&mut hsm, s, key, &ct).unwrap(), b"before restart");
    assert_eq!(
        hsm.get_attribute_values(s, session_key, &[A::Class]).err(),
        Some(Error::ObjectHandleInvalid)
    );
    // Handles are never reused.
    let next = aes_key(&mut hsm, s, 16, &[]);
    assert!(next > session_key);
}

#[test]
fn records_hold_no_plaintext_value() {
    let (mut hsm, s) = user();
    let secret = [0xA5u8; 32];
    let key = aes_key_with_value(&mut hsm, s, &secret, &[t(A::Token, true)]);
    let record = hsm.platform().store_ref().get(key.0).unwrap().unwrap();
    assert!(
        !record.windows(32).any(|w| w == secret),
        "the key value must be sealed"
    );
}

#[test]
fn tampered_sealed_record_is_refused() {
    let (mut hsm, s) = user();
    let victim = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Token, true), t(A::Extractable, false)],
    );
    let survivor = aes_key(&mut hsm, s, 16, &[t(A::Token, true)]);
    let record = hsm.platform_mut().store().record_mut(victim.0).unwrap();
    let last = record.len() - 1;
    record[last] ^= 1;
    let report = hsm.restart().clone();
    assert_eq!(report.rejected, vec![(victim, RecordError::Tampered)]);
    assert_eq!(report.loaded, 1);
    let s = relogin(&mut hsm);
    assert!(
        hsm.get_attribute_values(s, survivor, &[A::Class]).is_ok(),
        "other objects still load"
    );
    assert_eq!(
        hsm.get_attribute_values(s, victim, &[A::Class]).err(),
        Some(Error::ObjectHandleInvalid)
    );
}

#[test]
fn edited_attribute_in_a_record_is_refused() {
    // Flip CKA_EXTRACTABLE from false to true in the stored bytes: the header is AAD.
    let (mut hsm, s) = user();
    let key = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Token, true), t(A::Extractable, false)],
    );
    let extractable_false = hsm.platform().store_ref().get(key.0).unwrap().unwrap();
    hsm.set_attribute_values(s, key, &[Attribute::bytes(A::Label, vec![])])
        .unwrap();
    // Find a single byte whose change turns the record into one claiming extractable = true
    // is format-specific; instead, try every single-bit flip and require that none opens.
    for i in 0..extractable_false.len() {
        let mut edited = extractable_false.clone();
        edited[i] ^= 0x01;
        *hsm.platform_mut().store().record_mut(key.0).unwrap() = edited;
        let report = hsm.restart().clone();
        assert_eq!(report.loaded, 0, "byte {i}: an edited record opened");
    }
}

#[test]
fn moved_record_is_refused() {
    let (mut hsm, s) = user();
    let a = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Token, true), t(A::Extractable, false)],
    );
    let b = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Token, true), t(A::Extractable, true)],
    );
    let a_bytes = hsm.platform().store_ref().get(a.0).unwrap().unwrap();
    *hsm.platform_mut().store().record_mut(b.0).unwrap() = a_bytes;
    let report = hsm.restart().clone();
    assert_eq!(report.rejected, vec![(b, RecordError::WrongId)]);
}

#[test]
fn record_sealed_by_another_hsm_is_refused() {
    // Another seed is another device: another domain key.
    let mut other = hsm_with_seed(2);
    let s = relogin(&mut other);
    let key = aes_key(&mut other, s, 16, &[t(A::Token, true)]);
    let foreign = other.platform().store_ref().get(key.0).unwrap().unwrap();
    let (mut hsm, s) = user();
    let mine = aes_key(&mut hsm, s, 16, &[t(A::Token, true)]);
    assert_eq!(mine, key, "same id on both HSMs");
    *hsm.platform_mut().store().record_mut(mine.0).unwrap() = foreign;
    assert_eq!(hsm.restart().rejected, vec![(mine, RecordError::Tampered)]);
}

#[test]
fn domain_key_rotation_reseals_every_record() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 32, &[t(A::Token, true)]);
    let ct = encrypt(&mut hsm, s, key, b"rotate me");
    let before = hsm.platform().store_ref().get(key.0).unwrap().unwrap();
    assert_eq!(hsm.rotate_domain_key().unwrap(), 2);
    let after = hsm.platform().store_ref().get(key.0).unwrap().unwrap();
    assert_ne!(before, after);
    // The old generation is forgotten: a record sealed under it no longer opens.
    *hsm.platform_mut().store().record_mut(key.0).unwrap() = before;
    assert_eq!(
        hsm.restart().rejected,
        vec![(key, RecordError::UnknownGeneration)]
    );
    *hsm.platform_mut().store().record_mut(key.0).unwrap() = after;
    assert_eq!(hsm.restart().loaded, 1);
    let s = relogin(&mut hsm);
    assert_eq!(decrypt(&mut hsm, s, key, &ct).unwrap(), b"rotate me");
}

#[test]
fn data_key_round_trip() {
    let (mut hsm, s) = user();
    let backing = aes_key(&mut hsm, s, 32, &[t(A::Token, true)]);
    let context = [("tenant", "acme"), ("purpose", "backup")];
    let dk = hsm.generate_data_key(s, backing, 32, &context).unwrap();
    assert_eq!(dk.plaintext.len(), 32);
    assert_eq!(dk.ciphertext_blob.len(), 5 + 1 + 8 + 32 + 12 + 32 + 16);
    // Context order does not matter.
    let reordered = [("purpose", "backup"), ("tenant", "acme")];
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob, &reordered)
            .unwrap(),
        dk.plaintext
    );
    // It survives a restart: the blob names its backing key.
    hsm.restart();
    let s = relogin(&mut hsm);
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob, &context)
            .unwrap(),
        dk.plaintext
    );
}

#[test]
fn data_key_context_must_match() {
    let (mut hsm, s) = user();
    let backing = aes_key(&mut hsm, s, 32, &[]);
    let dk = hsm
        .generate_data_key(s, backing, 16, &[("a", "1")])
        .unwrap();
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob, &[("a", "2")]),
        Err(Error::EncryptedDataInvalid)
    );
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob, &[]),
        Err(Error::EncryptedDataInvalid)
    );
    assert_eq!(
        hsm.generate_data_key(s, backing, 16, &[("a", "1"), ("a", "2")])
            .err(),
        Some(Error::ArgumentsBad)
    );
}

#[test]
fn data_key_tampered_blob_is_refused() {
    let (mut hsm, s) = user();
    let backing = aes_key(&mut hsm, s, 32, &[]);
    let other = aes_key(&mut hsm, s, 32, &[]);
    let dk = hsm.generate_data_key(s, backing, 16, &[]).unwrap();
    for i in [0, 7, 20, 60, dk.ciphertext_blob.len() - 1] {
        let mut blob = dk.ciphertext_blob.clone();
        blob[i] ^= 1;
        assert!(hsm.decrypt_data_key(s, &blob, &[]).is_err(), "byte {i}");
    }
    let mut redirected = dk.ciphertext_blob.clone();
    redirected[6..14].copy_from_slice(&other.0.to_be_bytes());
    assert_eq!(
        hsm.decrypt_data_key(s, &redirected, &[]),
        Err(Error::EncryptedDataInvalid)
    );
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob[..40], &[]),
        Err(Error::EncryptedDataInvalid)
    );
}

#[test]
fn data_key_needs_an_aes256_backing_key_with_usage() {
    let (mut hsm, s) = user();
    let small = aes_key(&mut hsm, s, 16, &[]);
    assert_eq!(
        hsm.generate_data_key(s, small, 32, &[]).err(),
        Some(Error::KeySizeRange)
    );
    let no_encrypt = aes_key(&mut hsm, s, 32, &[t(A::Encrypt, false)]);
    assert_eq!(
        hsm.generate_data_key(s, no_encrypt, 32, &[]).err(),
        Some(Error::KeyFunctionNotPermitted)
    );
    let no_decrypt = aes_key(&mut hsm, s, 32, &[t(A::Decrypt, false)]);
    let dk = hsm.generate_data_key(s, no_decrypt, 32, &[]).unwrap();
    assert_eq!(
        hsm.decrypt_data_key(s, &dk.ciphertext_blob, &[]).err(),
        Some(Error::KeyFunctionNotPermitted)
    );
}

fn external_key(
    hsm: &mut hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform>,
    s: hsmemu::SessionHandle,
) -> ObjectHandle {
    hsm.create_external_key(s, &[Attribute::ulong(A::ValueLen, 32), t(A::Token, true)])
        .unwrap()
}

#[test]
fn pending_external_key_is_unusable() {
    let (mut hsm, s) = user();
    let key = external_key(&mut hsm, s);
    assert_eq!(
        hsm.key_material_state(s, key).unwrap(),
        Some(MaterialState::PendingImport)
    );
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), key),
        Err(Error::KeyFunctionNotPermitted)
    );
    assert!(!flag(&hsm, s, key, A::Local));
}

#[test]
fn expired_imported_material_makes_the_key_unusable() {
    let (mut hsm, s) = user();
    let key = external_key(&mut hsm, s);
    let now = hsm.platform().now();
    hsm.import_key_material(s, key, &[0x42; 32], Some(now + 3600))
        .unwrap();
    let ct = encrypt(&mut hsm, s, key, b"while valid");
    hsm.platform_mut().advance(3600);
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), key),
        Err(Error::KeyFunctionNotPermitted)
    );
    assert_eq!(
        hsm.key_material_state(s, key).unwrap(),
        Some(MaterialState::Expired)
    );
    // Deleted from the store as well: a restart does not bring it back.
    hsm.restart();
    let s = relogin(&mut hsm);
    assert_eq!(
        hsm.decrypt_init(s, &gcm(7), key),
        Err(Error::KeyFunctionNotPermitted)
    );
    // The identical material brings the key back, ciphertexts and all.
    hsm.import_key_material(s, key, &[0x42; 32], None).unwrap();
    assert_eq!(decrypt(&mut hsm, s, key, &ct).unwrap(), b"while valid");
}

#[test]
fn reimport_of_different_material_is_refused() {
    let (mut hsm, s) = user();
    let key = external_key(&mut hsm, s);
    hsm.import_key_material(s, key, &[1; 32], None).unwrap();
    hsm.delete_key_material(s, key).unwrap();
    assert_eq!(
        hsm.import_key_material(s, key, &[2; 32], None),
        Err(Error::AttributeValueInvalid)
    );
    assert_eq!(
        hsm.import_key_material(s, key, &[1; 16], None),
        Err(Error::AttributeValueInvalid)
    );
    hsm.import_key_material(s, key, &[1; 32], None).unwrap();
    let ordinary = aes_key(&mut hsm, s, 32, &[]);
    assert_eq!(
        hsm.import_key_material(s, ordinary, &[1; 32], None),
        Err(Error::ActionProhibited)
    );
    let past = hsm.platform().now() - 1;
    assert_eq!(
        hsm.import_key_material(s, key, &[1; 32], Some(past)),
        Err(Error::ArgumentsBad)
    );
}

fn reopen(
    hsm: hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform>,
) -> hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform> {
    let store = hsm.into_platform().into_store();
    hsmemu::Hsm::new(
        hsmemu::platform::virt::VirtPlatform::with_store(99, store),
        config(),
    )
    .unwrap()
}

#[test]
fn a_reopened_token_is_locked_until_a_login() {
    let (mut hsm, s) = user();
    let private = aes_key(&mut hsm, s, 32, &[t(A::Token, true)]);
    let public = aes_key(&mut hsm, s, 16, &[t(A::Token, true), t(A::Private, false)]);
    let ct = encrypt(&mut hsm, s, private, b"across processes");
    let mut hsm = reopen(hsm);
    assert!(!hsm.is_unlocked());
    let s = hsm.open_session(true).unwrap();
    assert!(
        hsm.get_attribute_values(s, public, &[A::Label]).is_ok(),
        "public objects are listed before login"
    );
    assert_eq!(
        hsm.get_attribute_values(s, private, &[A::Label]).err(),
        Some(Error::ObjectHandleInvalid)
    );
    let data = [
        Attribute::class(hsmemu::attributes::ObjectClass::Data),
        t(A::Token, true),
    ];
    assert_eq!(
        hsm.create_object(s, &data),
        Err(Error::UserNotLoggedIn),
        "no token writes while locked"
    );
    assert_eq!(
        hsm.login(s, UserType::User, b"wrong-pin"),
        Err(Error::PinIncorrect)
    );
    assert!(!hsm.is_unlocked());
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    assert!(hsm.is_unlocked());
    assert_eq!(hsm.load_report().loaded, 2);
    assert_eq!(
        decrypt(&mut hsm, s, private, &ct).unwrap(),
        b"across processes"
    );
}

#[test]
fn either_pin_unlocks_and_a_pin_change_rewraps() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 32, &[t(A::Token, true)]);
    hsm.set_pin(s, USER_PIN, b"changed-pin").unwrap();
    let mut hsm = reopen(hsm);
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::SecurityOfficer, SO_PIN).unwrap();
    assert!(hsm.is_unlocked(), "the SO PIN unlocks the domain keys too");
    let mut hsm = reopen(hsm);
    let s = hsm.open_session(true).unwrap();
    assert_eq!(
        hsm.login(s, UserType::User, USER_PIN),
        Err(Error::PinIncorrect)
    );
    hsm.login(s, UserType::User, b"changed-pin").unwrap();
    assert!(hsm.get_attribute_values(s, key, &[A::Class]).is_ok());
}

#[test]
fn failed_login_counters_survive_a_reopen() {
    let mut hsm = hsm();
    let s = hsm.open_session(true).unwrap();
    for _ in 0..3 {
        assert_eq!(
            hsm.login(s, UserType::User, b"wrong-pin"),
            Err(Error::PinIncorrect)
        );
    }
    let mut hsm = reopen(hsm);
    assert!(hsm.token_info().user_pin.locked);
    let s = hsm.open_session(true).unwrap();
    assert_eq!(
        hsm.login(s, UserType::User, USER_PIN),
        Err(Error::PinLocked)
    );
}

#[test]
fn token_state_holds_no_pin() {
    let (hsm, _) = user();
    let state = hsm.platform().store_ref().get_state().unwrap().unwrap();
    for pin in [USER_PIN, SO_PIN] {
        assert!(!state.windows(pin.len()).any(|w| w == pin));
    }
}

#[test]
fn rotation_survives_a_reopen() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 32, &[t(A::Token, true)]);
    let ct = encrypt(&mut hsm, s, key, b"rotated");
    hsm.rotate_domain_key().unwrap();
    let mut hsm = reopen(hsm);
    let s = relogin(&mut hsm);
    assert_eq!(hsm.domain_key_generation(), 2);
    assert!(hsm.load_report().rejected.is_empty());
    assert_eq!(decrypt(&mut hsm, s, key, &ct).unwrap(), b"rotated");
}
