//! Vendor profiles (`hsmemu::profile`): the CloudHSM profile's rules, each against the generic
//! behaviour it replaces.

use crate::common::*;
use hsmemu::attributes::{Attribute, AttributeType as A, KeyType, ObjectClass};
use hsmemu::mechanisms::Mechanism;
use hsmemu::mechanisms::aes_gcm::GcmParams;
use hsmemu::platform::virt::VirtPlatform;
use hsmemu::profile::{CLOUDHSM, Profile};
use hsmemu::token::{TokenConfig, UserType};
use hsmemu::{Error, Hsm, SessionHandle};

fn with_pin(name: &str, pin: &[u8]) -> Vec<u8> {
    [name.as_bytes(), b":", pin].concat()
}

/// A token under `profile`, with a user session logged in.
fn token(profile: &'static Profile) -> (Hsm<VirtPlatform>, SessionHandle) {
    let config = TokenConfig {
        profile,
        ..config()
    };
    let mut hsm = Hsm::new(VirtPlatform::new(3), config).unwrap();
    hsm.init_token(SO_PIN, "profiled").unwrap();
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::SecurityOfficer, &with_pin("admin", SO_PIN))
        .unwrap();
    hsm.init_pin(s, USER_PIN).unwrap();
    hsm.logout(s).unwrap();
    hsm.login(s, UserType::User, &with_pin("crypto_user", USER_PIN))
        .unwrap();
    (hsm, s)
}

fn zero_iv_gcm() -> Mechanism {
    Mechanism::AesGcm(GcmParams {
        iv: vec![0; 12],
        aad: b"aad".to_vec(),
        tag_bits: 128,
    })
}

#[test]
fn cloudhsm_login_takes_user_colon_password_and_bare_pins_do_not_count() {
    let (mut hsm, s) = token(&CLOUDHSM);
    hsm.logout(s).unwrap();
    // More malformed attempts than the lockout threshold (3): none counts.
    for _ in 0..5 {
        assert_eq!(
            hsm.login(s, UserType::User, USER_PIN),
            Err(Error::PinIncorrect)
        );
        assert_eq!(
            hsm.login(s, UserType::User, &with_pin("", USER_PIN)),
            Err(Error::PinIncorrect)
        );
    }
    assert_eq!(
        hsm.login(s, UserType::User, &with_pin("cu", b"wrong")),
        Err(Error::PinIncorrect)
    );
    hsm.login(s, UserType::User, &with_pin("cu", USER_PIN))
        .unwrap();
}

#[test]
fn cloudhsm_extractable_is_fixed_at_creation() {
    let (mut hsm, s) = token(&CLOUDHSM);
    let key = aes_key(&mut hsm, s, 32, &[t(A::Extractable, true)]);
    assert_eq!(
        hsm.set_attribute_values(s, key, &[t(A::Extractable, false)]),
        Err(Error::AttributeReadOnly)
    );
    assert_eq!(
        hsm.copy_object(s, key, &[t(A::Extractable, false)]),
        Err(Error::AttributeReadOnly)
    );
    // Other changes still follow the generic rules.
    hsm.set_attribute_values(s, key, &[Attribute::bytes(A::Label, b"k".to_vec())])
        .unwrap();
    // The generic profile allows true -> false.
    let (mut generic, g) = user();
    let key = aes_key(&mut generic, g, 32, &[t(A::Extractable, true)]);
    generic
        .set_attribute_values(g, key, &[t(A::Extractable, false)])
        .unwrap();
}

#[test]
fn cloudhsm_chooses_gcm_ivs_and_refuses_the_callers() {
    let (mut hsm, s) = token(&CLOUDHSM);
    let key = aes_key(&mut hsm, s, 32, &[]);
    assert_eq!(
        hsm.encrypt_init(s, &gcm(7), key),
        Err(Error::MechanismParamInvalid)
    );
    let mut ivs = Vec::new();
    for _ in 0..2 {
        hsm.encrypt_init(s, &zero_iv_gcm(), key).unwrap();
        let iv = hsm.generated_iv(s).unwrap().to_vec();
        assert_eq!(iv.len(), 12);
        assert_ne!(iv, [0; 12]);
        let sealed = hsm.encrypt(s, b"payload").unwrap();
        // Decryption takes the IV from the caller, as usual.
        let mechanism = Mechanism::AesGcm(GcmParams {
            iv: iv.clone(),
            aad: b"aad".to_vec(),
            tag_bits: 128,
        });
        hsm.decrypt_init(s, &mechanism, key).unwrap();
        assert_eq!(hsm.decrypt(s, &sealed).unwrap(), b"payload");
        ivs.push(iv);
    }
    assert_ne!(ivs[0], ivs[1], "a fresh IV per operation");
    // The generic profile uses the caller's IV and reports none.
    let (mut generic, g) = user();
    let key = aes_key(&mut generic, g, 32, &[]);
    generic.encrypt_init(g, &gcm(7), key).unwrap();
    assert_eq!(generic.generated_iv(g), None);
}

#[test]
fn cloudhsm_gcm_is_single_part_only() {
    let (mut hsm, s) = token(&CLOUDHSM);
    let key = aes_key(&mut hsm, s, 32, &[]);
    hsm.encrypt_init(s, &zero_iv_gcm(), key).unwrap();
    assert_eq!(hsm.encrypt_update(s, b"part"), Err(Error::MechanismInvalid));
    // The failed update ended the operation.
    assert_eq!(hsm.encrypt(s, b"part"), Err(Error::OperationNotInitialized));
    let (mut generic, g) = user();
    let key = aes_key(&mut generic, g, 32, &[]);
    generic.encrypt_init(g, &gcm(7), key).unwrap();
    assert!(generic.encrypt_update(g, b"part").is_ok());
}

#[test]
fn cloudhsm_has_no_read_only_sessions() {
    let (mut cloudhsm, _) = token(&CLOUDHSM);
    assert_eq!(cloudhsm.open_session(false), Err(Error::FunctionFailed));
    assert!(cloudhsm.open_session(true).is_ok());
    let mut generic = hsm();
    assert!(generic.open_session(false).is_ok());
}

#[test]
fn cloudhsm_chooses_gcm_wrapping_ivs_too() {
    let (mut hsm, s) = token(&CLOUDHSM);
    let kek = aes_key(&mut hsm, s, 32, &[]);
    let target = aes_key(&mut hsm, s, 32, &[t(A::Extractable, true)]);
    assert_eq!(
        hsm.wrap_key(s, &gcm(9), kek, target),
        Err(Error::MechanismParamInvalid)
    );
    let blob = hsm.wrap_key(s, &zero_iv_gcm(), kek, target).unwrap();
    let iv = hsm.generated_wrap_iv(s).unwrap().to_vec();
    assert_ne!(iv, [0; 12]);
    let blob_again = hsm.wrap_key(s, &zero_iv_gcm(), kek, target).unwrap();
    assert_ne!(blob, blob_again, "a fresh IV per wrap");
    // A KW wrap clears the reported IV.
    hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    assert_eq!(hsm.generated_wrap_iv(s), None);
    let template = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
    ];
    let with_iv = Mechanism::AesGcm(GcmParams {
        iv,
        aad: b"aad".to_vec(),
        tag_bits: 128,
    });
    let restored = hsm.unwrap_key(s, &with_iv, kek, &blob, &template).unwrap();
    let sealed = encrypt_with_zero_iv(&mut hsm, s, target);
    hsm.decrypt_init(s, &sealed.0, restored).unwrap();
    assert_eq!(hsm.decrypt(s, &sealed.1).unwrap(), b"same key");
}

/// Encrypts under the CloudHSM profile: the mechanism to decrypt with, and the ciphertext.
fn encrypt_with_zero_iv(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    key: hsmemu::ObjectHandle,
) -> (Mechanism, Vec<u8>) {
    hsm.encrypt_init(s, &zero_iv_gcm(), key).unwrap();
    let iv = hsm.generated_iv(s).unwrap().to_vec();
    let sealed = hsm.encrypt(s, b"same key").unwrap();
    let m = Mechanism::AesGcm(GcmParams {
        iv,
        aad: b"aad".to_vec(),
        tag_bits: 128,
    });
    (m, sealed)
}
