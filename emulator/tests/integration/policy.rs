//! The attribute policy, one test per rule of docs/invariants.md (PKCS#11 3.0 §4, §5.7, §5.18).

use crate::common::*;
use hsmemu::Error;
use hsmemu::attributes::{Attribute, AttributeType as A, AttributeValue, KeyType, ObjectClass};
use hsmemu::mechanisms::{Mechanism, MechanismType, ec, ecdh};
use hsmemu::token::UserType;

#[test]
fn sensitive_cannot_be_cleared() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Sensitive, false)]);
    hsm.set_attribute_values(s, key, &[t(A::Sensitive, true)])
        .unwrap();
    assert_eq!(
        hsm.set_attribute_values(s, key, &[t(A::Sensitive, false)]),
        Err(Error::AttributeReadOnly)
    );
    assert!(flag(&hsm, s, key, A::Sensitive));
}

#[test]
fn extractable_cannot_be_set_again() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    hsm.set_attribute_values(s, key, &[t(A::Extractable, false)])
        .unwrap();
    assert_eq!(
        hsm.set_attribute_values(s, key, &[t(A::Extractable, true)]),
        Err(Error::AttributeReadOnly)
    );
    assert!(!flag(&hsm, s, key, A::Extractable));
}

#[test]
fn wrap_with_trusted_cannot_be_cleared() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    hsm.set_attribute_values(s, key, &[t(A::WrapWithTrusted, true)])
        .unwrap();
    assert_eq!(
        hsm.set_attribute_values(s, key, &[t(A::WrapWithTrusted, false)]),
        Err(Error::AttributeReadOnly)
    );
}

#[test]
fn computed_attributes_are_read_only() {
    let (mut hsm, s) = user();
    for ty in [A::Local, A::AlwaysSensitive, A::NeverExtractable] {
        let template = [Attribute::ulong(A::ValueLen, 16), t(ty, true)];
        assert_eq!(
            hsm.generate_key(s, &Mechanism::AesKeyGen, &template),
            Err(Error::AttributeReadOnly),
            "{ty}"
        );
    }
    let template = [
        Attribute::ulong(A::ValueLen, 16),
        Attribute::ulong(A::KeyGenMechanism, 0x1080),
    ];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &template),
        Err(Error::AttributeReadOnly)
    );
    let key = aes_key(&mut hsm, s, 16, &[t(A::Sensitive, false)]);
    for ty in [A::Local, A::AlwaysSensitive, A::NeverExtractable] {
        assert_eq!(
            hsm.set_attribute_values(s, key, &[t(ty, false)]),
            Err(Error::AttributeReadOnly),
            "{ty}"
        );
    }
}

#[test]
fn generated_keys_are_local_with_their_mechanism() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 32, &[]);
    assert!(flag(&hsm, s, key, A::Local));
    assert_eq!(
        read(&hsm, s, key, A::KeyGenMechanism),
        Ok(AttributeValue::Ulong(MechanismType::AesKeyGen.code()))
    );
    assert!(flag(&hsm, s, key, A::AlwaysSensitive));
    assert!(flag(&hsm, s, key, A::NeverExtractable));
    let (public, private) = ec_pair(&mut hsm, s, &[]);
    for h in [public, private] {
        assert!(flag(&hsm, s, h, A::Local));
        assert_eq!(
            read(&hsm, s, h, A::KeyGenMechanism),
            Ok(AttributeValue::Ulong(MechanismType::EcKeyPairGen.code()))
        );
    }
}

#[test]
fn always_sensitive_stays_false_once_false() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Sensitive, false)]);
    assert!(!flag(&hsm, s, key, A::AlwaysSensitive));
    hsm.set_attribute_values(s, key, &[t(A::Sensitive, true)])
        .unwrap();
    assert!(!flag(&hsm, s, key, A::AlwaysSensitive));
}

#[test]
fn never_extractable_stays_false_once_false() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    hsm.set_attribute_values(s, key, &[t(A::Extractable, false)])
        .unwrap();
    assert!(!flag(&hsm, s, key, A::NeverExtractable));
}

#[test]
fn imported_and_unwrapped_keys_are_not_local_nor_always_sensitive() {
    let (mut hsm, s) = user();
    let created = aes_key_with_value(
        &mut hsm,
        s,
        &[1; 16],
        &[t(A::Sensitive, true), t(A::Extractable, false)],
    );
    let kek = aes_key(&mut hsm, s, 32, &[]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    let unwrapped = hsm
        .unwrap_key(
            s,
            &Mechanism::AesKeyWrap,
            kek,
            &blob,
            &[
                Attribute::class(ObjectClass::SecretKey),
                Attribute::key_type(KeyType::Aes),
                t(A::Extractable, false),
            ],
        )
        .unwrap();
    for h in [created, unwrapped] {
        assert!(!flag(&hsm, s, h, A::Local));
        assert!(!flag(&hsm, s, h, A::AlwaysSensitive));
        assert!(!flag(&hsm, s, h, A::NeverExtractable));
        assert_eq!(
            read(&hsm, s, h, A::KeyGenMechanism),
            Ok(AttributeValue::Ulong(
                hsmemu::policy::UNAVAILABLE_INFORMATION
            ))
        );
    }
}

#[test]
fn sensitive_value_is_never_read_but_other_attributes_are() {
    let (mut hsm, s) = user();
    let key = aes_key(
        &mut hsm,
        s,
        16,
        &[
            t(A::Sensitive, true),
            t(A::Extractable, true),
            Attribute::bytes(A::Label, b"k".to_vec()),
        ],
    );
    let got = hsm
        .get_attribute_values(s, key, &[A::Label, A::Value, A::Class, A::EcPoint])
        .unwrap();
    assert_eq!(got[0], Ok(AttributeValue::bytes(b"k".to_vec())));
    assert_eq!(got[1], Err(Error::AttributeSensitive));
    assert_eq!(
        got[2],
        Ok(AttributeValue::Ulong(ObjectClass::SecretKey as u64))
    );
    assert_eq!(got[3], Err(Error::AttributeTypeInvalid));
    let (_, private) = ec_pair(&mut hsm, s, &[t(A::Sensitive, true)]);
    assert_eq!(
        read(&hsm, s, private, A::Value),
        Err(Error::AttributeSensitive)
    );
}

#[test]
fn unextractable_value_is_never_read() {
    let (mut hsm, s) = user();
    let key = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Sensitive, false), t(A::Extractable, false)],
    );
    assert_eq!(read(&hsm, s, key, A::Value), Err(Error::AttributeSensitive));
}

#[test]
fn readable_value_of_plain_extractable_key() {
    let (mut hsm, s) = user();
    let key = aes_key_with_value(
        &mut hsm,
        s,
        &[9; 24],
        &[t(A::Sensitive, false), t(A::Extractable, true)],
    );
    assert_eq!(
        read(&hsm, s, key, A::Value),
        Ok(AttributeValue::bytes(vec![9; 24]))
    );
}

#[test]
fn key_value_cannot_be_changed() {
    let (mut hsm, s) = user();
    let key = aes_key_with_value(
        &mut hsm,
        s,
        &[9; 16],
        &[t(A::Sensitive, false), t(A::Extractable, true)],
    );
    assert_eq!(
        hsm.set_attribute_values(s, key, &[Attribute::bytes(A::Value, vec![1; 16])]),
        Err(Error::AttributeReadOnly)
    );
}

#[test]
fn wrap_requires_extractable_target() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, false)]);
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, target),
        Err(Error::KeyUnextractable)
    );
}

#[test]
fn wrap_requires_wrap_attribute() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[t(A::Wrap, false)]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, target),
        Err(Error::KeyFunctionNotPermitted)
    );
}

#[test]
fn wrap_with_trusted_requires_trusted_wrapping_key() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[t(A::Token, true), t(A::Private, false)]);
    let target = aes_key(
        &mut hsm,
        s,
        16,
        // A token object: logging out (below) destroys private session objects.
        &[
            t(A::Token, true),
            t(A::Extractable, true),
            t(A::WrapWithTrusted, true),
        ],
    );
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, kek, target),
        Err(Error::KeyNotWrappable)
    );
    // The SO marks the wrapping key trusted; then the wrap is allowed.
    hsm.logout(s).unwrap();
    hsm.login(s, UserType::SecurityOfficer, SO_PIN).unwrap();
    hsm.set_attribute_values(s, kek, &[t(A::Trusted, true)])
        .unwrap();
    hsm.logout(s).unwrap();
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, kek, target)
            .unwrap()
            .len(),
        24
    );
}

#[test]
fn only_the_so_sets_trusted() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[]);
    assert_eq!(
        hsm.set_attribute_values(s, kek, &[t(A::Trusted, true)]),
        Err(Error::AttributeReadOnly)
    );
    let template = [Attribute::ulong(A::ValueLen, 16), t(A::Trusted, true)];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &template),
        Err(Error::AttributeReadOnly)
    );
    // Clearing it is not restricted.
    hsm.set_attribute_values(s, kek, &[t(A::Trusted, false)])
        .unwrap();
}

#[test]
fn wrap_template_must_match() {
    let (mut hsm, s) = user();
    let wrap_template = Attribute::template(
        A::WrapTemplate,
        vec![
            Attribute::key_type(KeyType::Aes),
            Attribute::ulong(A::ValueLen, 16),
        ],
    );
    let kek = aes_key(&mut hsm, s, 32, &[wrap_template]);
    let wrong = aes_key(&mut hsm, s, 32, &[t(A::Extractable, true)]);
    let right = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, wrong),
        Err(Error::KeyNotWrappable)
    );
    assert!(hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, right).is_ok());
}

fn secret_aes() -> Vec<Attribute> {
    vec![
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
    ]
}

#[test]
fn unwrap_template_is_merged() {
    let (mut hsm, s) = user();
    let unwrap_template = Attribute::template(
        A::UnwrapTemplate,
        vec![t(A::Extractable, false), t(A::Encrypt, false)],
    );
    let kek = aes_key(&mut hsm, s, 32, &[unwrap_template]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    let key = hsm
        .unwrap_key(s, &Mechanism::AesKeyWrap, kek, &blob, &secret_aes())
        .unwrap();
    assert!(!flag(&hsm, s, key, A::Extractable));
    assert!(!flag(&hsm, s, key, A::Encrypt));
}

#[test]
fn unwrap_template_conflict_is_inconsistent() {
    let (mut hsm, s) = user();
    let unwrap_template = Attribute::template(A::UnwrapTemplate, vec![t(A::Extractable, false)]);
    let kek = aes_key(&mut hsm, s, 32, &[unwrap_template]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    let mut template = secret_aes();
    template.push(t(A::Extractable, true));
    let before = count_objects(&mut hsm, s);
    assert_eq!(
        hsm.unwrap_key(s, &Mechanism::AesKeyWrap, kek, &blob, &template),
        Err(Error::TemplateInconsistent)
    );
    assert_eq!(
        count_objects(&mut hsm, s),
        before,
        "no object may be created"
    );
}

pub fn count_objects(
    hsm: &mut hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform>,
    s: hsmemu::SessionHandle,
) -> usize {
    hsm.find_objects_init(s, &[]).unwrap();
    let n = hsm.find_objects(s, usize::MAX).unwrap().len();
    hsm.find_objects_final(s).unwrap();
    n
}

#[test]
fn unwrap_requires_unwrap_attribute() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[t(A::Unwrap, false)]);
    let target = aes_key(&mut hsm, s, 16, &[t(A::Extractable, true)]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrap, kek, target)
        .unwrap();
    assert_eq!(
        hsm.unwrap_key(s, &Mechanism::AesKeyWrap, kek, &blob, &secret_aes()),
        Err(Error::KeyFunctionNotPermitted)
    );
}

#[test]
fn copy_never_loosens() {
    let (mut hsm, s) = user();
    let key = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Sensitive, true), t(A::Extractable, false)],
    );
    assert_eq!(
        hsm.copy_object(s, key, &[t(A::Sensitive, false)]),
        Err(Error::AttributeReadOnly)
    );
    assert_eq!(
        hsm.copy_object(s, key, &[t(A::Extractable, true)]),
        Err(Error::AttributeReadOnly)
    );
    assert_eq!(
        hsm.copy_object(s, key, &[t(A::Private, false)]),
        Err(Error::AttributeReadOnly)
    );
    let plain = aes_key(
        &mut hsm,
        s,
        16,
        &[t(A::Sensitive, false), t(A::Extractable, true)],
    );
    let copy = hsm
        .copy_object(s, plain, &[t(A::Sensitive, true), t(A::Token, true)])
        .unwrap();
    assert!(flag(&hsm, s, copy, A::Sensitive));
    assert!(flag(&hsm, s, copy, A::Token));
    assert!(
        !flag(&hsm, s, copy, A::AlwaysSensitive),
        "a copy keeps the source's history"
    );
}

#[test]
fn copyable_false_forbids_copy() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Copyable, false)]);
    assert_eq!(hsm.copy_object(s, key, &[]), Err(Error::ActionProhibited));
    assert_eq!(
        hsm.set_attribute_values(s, key, &[t(A::Copyable, true)]),
        Err(Error::AttributeReadOnly)
    );
}

#[test]
fn modifiable_false_forbids_set() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Modifiable, false)]);
    assert_eq!(
        hsm.set_attribute_values(s, key, &[Attribute::bytes(A::Label, b"x".to_vec())]),
        Err(Error::ActionProhibited)
    );
}

#[test]
fn destroyable_false_forbids_destroy() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Destroyable, false)]);
    assert_eq!(hsm.destroy_object(s, key), Err(Error::ActionProhibited));
    let other = aes_key(&mut hsm, s, 16, &[]);
    hsm.destroy_object(s, other).unwrap();
    assert_eq!(
        hsm.get_attribute_values(s, other, &[A::Class]).err(),
        Some(Error::ObjectHandleInvalid)
    );
}

fn derive(
    hsm: &mut hsmemu::Hsm<hsmemu::platform::virt::VirtPlatform>,
    s: hsmemu::SessionHandle,
    base: hsmemu::ObjectHandle,
    extra: &[Attribute],
) -> hsmemu::ObjectHandle {
    let (peer, _) = ec_pair(hsm, s, &[]);
    let AttributeValue::Bytes(point) = read(hsm, s, peer, A::EcPoint).unwrap() else {
        panic!()
    };
    let params = ecdh::EcdhParams {
        kdf: ecdh::KDF_NULL,
        shared_data: vec![],
        public_data: point.to_vec(),
    };
    let mut template = secret_aes();
    template.extend_from_slice(extra);
    hsm.derive_key(s, &Mechanism::Ecdh1Derive(params), base, &template)
        .unwrap()
}

#[test]
fn derive_propagates_sensitivity() {
    let (mut hsm, s) = user();
    let (_, base) = ec_pair(
        &mut hsm,
        s,
        &[t(A::Sensitive, true), t(A::Extractable, false)],
    );
    let strict = derive(
        &mut hsm,
        s,
        base,
        &[t(A::Sensitive, true), t(A::Extractable, false)],
    );
    assert!(flag(&hsm, s, strict, A::AlwaysSensitive));
    assert!(flag(&hsm, s, strict, A::NeverExtractable));
    assert!(!flag(&hsm, s, strict, A::Local));
    let loose = derive(
        &mut hsm,
        s,
        base,
        &[t(A::Sensitive, false), t(A::Extractable, true)],
    );
    assert!(!flag(&hsm, s, loose, A::AlwaysSensitive));
    assert!(!flag(&hsm, s, loose, A::NeverExtractable));
    // A base that was once extractable never gives a never-extractable key.
    let (_, base2) = ec_pair(&mut hsm, s, &[t(A::Extractable, true)]);
    let derived = derive(&mut hsm, s, base2, &[t(A::Extractable, false)]);
    assert!(!flag(&hsm, s, derived, A::NeverExtractable));
}

#[test]
fn key_usage_is_enforced() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[t(A::Encrypt, false)]);
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), key),
        Err(Error::KeyFunctionNotPermitted)
    );
    let (_, private) = ec_pair(&mut hsm, s, &[t(A::Sign, false)]);
    assert_eq!(
        hsm.sign_init(s, &Mechanism::Ecdsa, private),
        Err(Error::KeyFunctionNotPermitted)
    );
}

#[test]
fn attribute_of_another_class_is_type_invalid() {
    let (mut hsm, s) = user();
    let mut template = secret_aes();
    template.push(Attribute::bytes(A::Value, vec![0; 16]));
    template.push(Attribute::bytes(A::EcParams, ec::P256_PARAMS.to_vec()));
    assert_eq!(
        hsm.create_object(s, &template),
        Err(Error::AttributeTypeInvalid)
    );
}

#[test]
fn contradictory_template_is_inconsistent() {
    let (mut hsm, s) = user();
    let template = [
        Attribute::ulong(A::ValueLen, 16),
        t(A::Sensitive, true),
        t(A::Sensitive, false),
    ];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &template),
        Err(Error::TemplateInconsistent)
    );
}

#[test]
fn check_value_is_computed_and_verified() {
    let (mut hsm, s) = user();
    // FIPS 197 C.1 key 000102..0f encrypts the zero block to c6a13b37...: KCV c6a13b.
    let key: Vec<u8> = (0u8..16).collect();
    let h = aes_key_with_value(&mut hsm, s, &key, &[]);
    let AttributeValue::Bytes(kcv) = read(&hsm, s, h, A::CheckValue).unwrap() else {
        panic!()
    };
    assert_eq!(kcv.as_slice(), &[0xc6, 0xa1, 0x3b]);
    let mut template = secret_aes();
    template.push(Attribute::bytes(A::Value, key));
    template.push(Attribute::bytes(A::CheckValue, vec![0, 0, 0]));
    assert_eq!(
        hsm.create_object(s, &template),
        Err(Error::AttributeValueInvalid)
    );
}

#[test]
fn find_never_matches_a_hidden_value() {
    let (mut hsm, s) = user();
    let hidden = aes_key_with_value(&mut hsm, s, &[5; 16], &[t(A::Sensitive, true)]);
    let plain = aes_key_with_value(
        &mut hsm,
        s,
        &[6; 16],
        &[t(A::Sensitive, false), t(A::Extractable, true)],
    );
    for (value, want) in [([5u8; 16], vec![]), ([6u8; 16], vec![plain])] {
        hsm.find_objects_init(s, &[Attribute::bytes(A::Value, value.to_vec())])
            .unwrap();
        assert_eq!(hsm.find_objects(s, 10).unwrap(), want);
        hsm.find_objects_final(s).unwrap();
    }
    let _ = hidden;
}

#[test]
fn private_objects_are_hidden_without_login() {
    let (mut hsm, s) = user();
    let private = aes_key(&mut hsm, s, 16, &[t(A::Token, true)]);
    let public = aes_key(&mut hsm, s, 16, &[t(A::Token, true), t(A::Private, false)]);
    hsm.logout(s).unwrap();
    assert_eq!(
        hsm.get_attribute_values(s, private, &[A::Label]).err(),
        Some(Error::ObjectHandleInvalid)
    );
    assert!(hsm.get_attribute_values(s, public, &[A::Label]).is_ok());
    hsm.find_objects_init(s, &[]).unwrap();
    assert_eq!(hsm.find_objects(s, 10).unwrap(), vec![public]);
    hsm.find_objects_final(s).unwrap();
    let template = [Attribute::ulong(A::ValueLen, 16), t(A::Private, true)];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &template),
        Err(Error::UserNotLoggedIn)
    );
}

#[test]
fn read_only_session_cannot_write_token_objects() {
    let (mut hsm, rw) = user();
    let token_key = aes_key(&mut hsm, rw, 16, &[t(A::Token, true)]);
    let ro = hsm.open_session(false).unwrap();
    let template = [Attribute::ulong(A::ValueLen, 16), t(A::Token, true)];
    assert_eq!(
        hsm.generate_key(ro, &Mechanism::AesKeyGen, &template),
        Err(Error::SessionReadOnly)
    );
    assert_eq!(
        hsm.destroy_object(ro, token_key),
        Err(Error::SessionReadOnly)
    );
    assert_eq!(
        hsm.set_attribute_values(ro, token_key, &[Attribute::bytes(A::Label, vec![])]),
        Err(Error::SessionReadOnly)
    );
    // Session objects are allowed in a read-only session.
    assert!(
        hsm.generate_key(
            ro,
            &Mechanism::AesKeyGen,
            &[Attribute::ulong(A::ValueLen, 16)]
        )
        .is_ok()
    );
}
