//! Tokens, users and sessions (PKCS#11 3.0 §5.5, §5.6).

use crate::common::*;
use hsmemu::attributes::{Attribute, AttributeType as A};
use hsmemu::mechanisms::Mechanism;
use hsmemu::platform::virt::VirtPlatform;
use hsmemu::token::UserType;
use hsmemu::{Error, Hsm, SessionState};

#[test]
fn uninitialised_token_has_no_sessions() {
    let mut hsm = Hsm::new(VirtPlatform::new(1), config()).unwrap();
    assert_eq!(hsm.open_session(true), Err(Error::TokenNotRecognized));
    assert_eq!(hsm.token_info().label, None);
}

#[test]
fn pin_failures_are_counted_and_lock() {
    let mut hsm = hsm();
    let s = hsm.open_session(true).unwrap();
    assert_eq!(
        hsm.login(s, UserType::User, b"wrong-pin"),
        Err(Error::PinIncorrect)
    );
    let info = hsm.token_info().user_pin;
    assert!(info.count_low && !info.final_try && !info.locked);
    assert_eq!(
        hsm.login(s, UserType::User, b"wrong-pin"),
        Err(Error::PinIncorrect)
    );
    assert!(hsm.token_info().user_pin.final_try);
    assert_eq!(
        hsm.login(s, UserType::User, b"wrong-pin"),
        Err(Error::PinIncorrect)
    );
    assert!(hsm.token_info().user_pin.locked);
    assert_eq!(
        hsm.login(s, UserType::User, USER_PIN),
        Err(Error::PinLocked),
        "even the right PIN"
    );
    // The SO re-initialises the user PIN, which unlocks it.
    hsm.login(s, UserType::SecurityOfficer, SO_PIN).unwrap();
    hsm.init_pin(s, b"new-user-pin").unwrap();
    hsm.logout(s).unwrap();
    hsm.login(s, UserType::User, b"new-user-pin").unwrap();
    assert_eq!(hsm.token_info().user_pin, Default::default());
}

#[test]
fn successful_login_resets_the_counter() {
    let mut hsm = hsm();
    let s = hsm.open_session(true).unwrap();
    assert_eq!(
        hsm.login(s, UserType::User, b"wrong-pin"),
        Err(Error::PinIncorrect)
    );
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    assert!(!hsm.token_info().user_pin.count_low);
}

#[test]
fn login_twice_or_as_the_other_user_is_refused() {
    let (mut hsm, s) = user();
    assert_eq!(
        hsm.login(s, UserType::User, USER_PIN),
        Err(Error::UserAlreadyLoggedIn)
    );
    assert_eq!(
        hsm.login(s, UserType::SecurityOfficer, SO_PIN),
        Err(Error::UserAnotherAlreadyLoggedIn)
    );
    hsm.logout(s).unwrap();
    assert_eq!(hsm.logout(s), Err(Error::UserNotLoggedIn));
}

#[test]
fn so_login_refused_while_a_read_only_session_exists() {
    let mut hsm = hsm();
    let rw = hsm.open_session(true).unwrap();
    let _ro = hsm.open_session(false).unwrap();
    assert_eq!(
        hsm.login(rw, UserType::SecurityOfficer, SO_PIN),
        Err(Error::SessionReadOnlyExists)
    );
}

#[test]
fn read_only_session_refused_while_so_logged_in() {
    let mut hsm = hsm();
    let rw = hsm.open_session(true).unwrap();
    hsm.login(rw, UserType::SecurityOfficer, SO_PIN).unwrap();
    assert_eq!(
        hsm.open_session(false),
        Err(Error::SessionReadWriteSoExists)
    );
}

#[test]
fn set_pin_changes_the_user_pin() {
    let (mut hsm, s) = user();
    assert_eq!(
        hsm.set_pin(s, b"not-the-pin", b"next-pin-5678"),
        Err(Error::PinIncorrect)
    );
    hsm.set_pin(s, USER_PIN, b"next-pin-5678").unwrap();
    hsm.logout(s).unwrap();
    assert_eq!(
        hsm.login(s, UserType::User, USER_PIN),
        Err(Error::PinIncorrect)
    );
    hsm.login(s, UserType::User, b"next-pin-5678").unwrap();
}

#[test]
fn pin_length_is_checked() {
    let (mut hsm, s) = user();
    assert_eq!(hsm.set_pin(s, USER_PIN, b"123"), Err(Error::PinLenRange));
    let mut fresh = Hsm::new(VirtPlatform::new(2), config()).unwrap();
    assert_eq!(fresh.init_token(&[b'x'; 256], "t"), Err(Error::PinLenRange));
}

#[test]
fn init_token_needs_the_so_pin_and_no_sessions_and_clears_objects() {
    let (mut hsm, s) = user();
    aes_key(&mut hsm, s, 16, &[t(A::Token, true)]);
    assert_eq!(hsm.init_token(SO_PIN, "again"), Err(Error::SessionExists));
    hsm.close_session(s).unwrap();
    assert_eq!(
        hsm.init_token(b"wrong-so-pin", "again"),
        Err(Error::PinIncorrect)
    );
    hsm.init_token(SO_PIN, "again").unwrap();
    assert!(hsm.stored_object_ids().unwrap().is_empty());
    assert!(!hsm.token_info().user_pin_initialized);
}

#[test]
fn session_state_follows_login() {
    let mut hsm = hsm();
    let rw = hsm.open_session(true).unwrap();
    let ro = hsm.open_session(false).unwrap();
    assert_eq!(hsm.session_info(ro).unwrap().state, SessionState::RoPublic);
    assert_eq!(hsm.session_info(rw).unwrap().state, SessionState::RwPublic);
    hsm.login(ro, UserType::User, USER_PIN).unwrap();
    assert_eq!(hsm.session_info(ro).unwrap().state, SessionState::RoUser);
    assert_eq!(hsm.session_info(rw).unwrap().state, SessionState::RwUser);
}

#[test]
fn session_objects_die_with_their_session() {
    let (mut hsm, s) = user();
    let other = hsm.open_session(true).unwrap();
    let key = aes_key(&mut hsm, other, 16, &[]);
    let copy = hsm.copy_object(other, key, &[]).unwrap();
    let (public, private) = ec_pair(&mut hsm, other, &[]);
    let destroyed = aes_key(&mut hsm, other, 16, &[]);
    hsm.destroy_object(other, destroyed).unwrap();
    let kept = aes_key(&mut hsm, s, 16, &[]);
    let copied_to_token = hsm.copy_object(other, key, &[t(A::Token, true)]).unwrap();
    assert!(
        hsm.get_attribute_values(s, key, &[A::Class]).is_ok(),
        "visible to the application's other sessions"
    );
    hsm.close_session(other).unwrap();
    for gone in [key, copy, public, private, destroyed] {
        assert_eq!(
            hsm.get_attribute_values(s, gone, &[A::Class]).err(),
            Some(Error::ObjectHandleInvalid)
        );
    }
    for survivor in [kept, copied_to_token] {
        assert!(hsm.get_attribute_values(s, survivor, &[A::Class]).is_ok());
    }
    assert_eq!(
        hsm.session_info(other).err(),
        Some(Error::SessionHandleInvalid)
    );
}

#[test]
fn logout_destroys_private_session_objects() {
    let (mut hsm, s) = user();
    let private = aes_key(&mut hsm, s, 16, &[]);
    let public = aes_key(&mut hsm, s, 16, &[t(A::Private, false)]);
    hsm.logout(s).unwrap();
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    assert_eq!(
        hsm.get_attribute_values(s, private, &[A::Class]).err(),
        Some(Error::ObjectHandleInvalid)
    );
    assert!(hsm.get_attribute_values(s, public, &[A::Class]).is_ok());
}

#[test]
fn closing_the_last_session_logs_out() {
    let (mut hsm, s) = user();
    hsm.close_session(s).unwrap();
    let s = hsm.open_session(true).unwrap();
    assert_eq!(hsm.session_info(s).unwrap().state, SessionState::RwPublic);
}

#[test]
fn one_active_operation_per_kind() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[]);
    hsm.encrypt_init(s, &gcm(1), key).unwrap();
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), key),
        Err(Error::OperationActive)
    );
    // Other kinds may run at the same time.
    hsm.decrypt_init(s, &gcm(1), key).unwrap();
    hsm.digest_init(s, &Mechanism::Sha256).unwrap();
    assert_eq!(
        hsm.digest_init(s, &Mechanism::Sha256),
        Err(Error::OperationActive)
    );
    hsm.find_objects_init(s, &[]).unwrap();
    assert_eq!(hsm.find_objects_init(s, &[]), Err(Error::OperationActive));
    hsm.encrypt(s, b"x").unwrap();
    hsm.encrypt_init(s, &gcm(1), key).unwrap();
    assert_eq!(hsm.sign(s, b"x"), Err(Error::OperationNotInitialized));
}

#[test]
fn find_objects_by_template_in_batches() {
    let (mut hsm, s) = user();
    let mut labelled = Vec::new();
    for i in 0..5 {
        labelled.push(aes_key(
            &mut hsm,
            s,
            16,
            &[
                Attribute::bytes(A::Label, b"batch".to_vec()),
                Attribute::bytes(A::Id, vec![i]),
            ],
        ));
    }
    aes_key(
        &mut hsm,
        s,
        16,
        &[Attribute::bytes(A::Label, b"other".to_vec())],
    );
    hsm.find_objects_init(s, &[Attribute::bytes(A::Label, b"batch".to_vec())])
        .unwrap();
    let mut found = hsm.find_objects(s, 2).unwrap();
    assert_eq!(found.len(), 2);
    found.extend(hsm.find_objects(s, 10).unwrap());
    assert!(hsm.find_objects(s, 10).unwrap().is_empty());
    hsm.find_objects_final(s).unwrap();
    assert_eq!(found, labelled);
    assert_eq!(hsm.find_objects(s, 1), Err(Error::OperationNotInitialized));
}

#[test]
fn invalid_session_handle_is_refused_everywhere() {
    let (mut hsm, _) = user();
    let bogus = hsmemu::SessionHandle(999);
    assert_eq!(
        hsm.generate_random(bogus, 4),
        Err(Error::SessionHandleInvalid)
    );
    assert_eq!(
        hsm.find_objects_init(bogus, &[]),
        Err(Error::SessionHandleInvalid)
    );
    assert_eq!(hsm.close_session(bogus), Err(Error::SessionHandleInvalid));
    assert_eq!(
        hsm.generate_key(bogus, &Mechanism::AesKeyGen, &[]),
        Err(Error::SessionHandleInvalid)
    );
}
