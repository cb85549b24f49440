//! The mechanisms through the HSM's command interface (PKCS#11 3.0 §5.8–§5.18, §6).

use crate::common::*;
use crate::policy::count_objects;
use hex_literal::hex;
use hsmemu::attributes::{Attribute, AttributeType as A, AttributeValue, KeyType, ObjectClass};
use hsmemu::mechanisms::aes_gcm::GcmParams;
use hsmemu::mechanisms::{Mechanism, MechanismType, ec, ecdh, flags};
use hsmemu::platform::virt::VirtPlatform;
use hsmemu::{Error, Hsm, ObjectHandle, SessionHandle};

#[test]
fn mechanism_list_and_info() {
    let (hsm, _) = user();
    let list = hsm.mechanisms();
    assert_eq!(list.len(), 11);
    let kwp = hsm.mechanism_info(MechanismType::AesKeyWrapKwp);
    assert_eq!(MechanismType::AesKeyWrapKwp.code(), 0x210B);
    assert!(
        kwp.supports(flags::WRAP) && kwp.supports(flags::UNWRAP) && !kwp.supports(flags::ENCRYPT)
    );
    assert_eq!((kwp.min_key_size, kwp.max_key_size), (16, 32));
    assert_eq!(
        hsm.mechanism_info(MechanismType::EcKeyPairGen).max_key_size,
        256
    );
    for m in list {
        assert_eq!(MechanismType::from_code(m.code()), Some(*m));
    }
}

#[test]
fn gcm_multi_part_equals_single_part() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 32, &[]);
    let data = [0x5a; 100];
    let single = encrypt(&mut hsm, s, key, &data);
    assert_eq!(single.len(), 116);
    hsm.encrypt_init(s, &gcm(7), key).unwrap();
    assert!(hsm.encrypt_update(s, &data[..30]).unwrap().is_empty());
    assert!(hsm.encrypt_update(s, &data[30..]).unwrap().is_empty());
    assert_eq!(hsm.encrypt_final(s).unwrap(), single);
    hsm.decrypt_init(s, &gcm(7), key).unwrap();
    hsm.decrypt_update(s, &single[..50]).unwrap();
    hsm.decrypt_update(s, &single[50..]).unwrap();
    assert_eq!(hsm.decrypt_final(s).unwrap(), data);
}

#[test]
fn gcm_tampering_is_opaque_and_releases_nothing() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[]);
    let mut ct = encrypt(&mut hsm, s, key, b"attack at dawn");
    ct[0] ^= 1;
    assert_eq!(
        decrypt(&mut hsm, s, key, &ct),
        Err(Error::EncryptedDataInvalid)
    );
    assert_eq!(
        decrypt(&mut hsm, s, key, &ct[..10]),
        Err(Error::EncryptedDataLenRange)
    );
    // The failed operation has ended.
    assert_eq!(hsm.decrypt(s, &ct), Err(Error::OperationNotInitialized));
}

#[test]
fn gcm_parameters_are_checked() {
    let (mut hsm, s) = user();
    let key = aes_key(&mut hsm, s, 16, &[]);
    for (iv_len, tag_bits, ok) in [
        (12, 96, true),
        (12, 104, true),
        (12, 64, false),
        (12, 129, false),
        (16, 128, false),
        (0, 128, false),
    ] {
        let m = Mechanism::AesGcm(GcmParams {
            iv: vec![1; iv_len],
            aad: vec![],
            tag_bits,
        });
        let got = hsm.encrypt_init(s, &m, key);
        assert_eq!(got.is_ok(), ok, "iv {iv_len} tag {tag_bits}");
        if ok {
            assert_eq!(
                hsm.encrypt(s, b"abc").unwrap().len(),
                3 + (tag_bits / 8) as usize
            );
        } else {
            assert_eq!(got, Err(Error::MechanismParamInvalid));
        }
    }
    // AAD is authenticated.
    let ct = encrypt(&mut hsm, s, key, b"x");
    let other_aad = Mechanism::AesGcm(GcmParams {
        iv: vec![7; 12],
        aad: b"other".to_vec(),
        tag_bits: 128,
    });
    hsm.decrypt_init(s, &other_aad, key).unwrap();
    assert_eq!(hsm.decrypt(s, &ct), Err(Error::EncryptedDataInvalid));
}

#[test]
fn gcm_needs_an_aes_key() {
    let (mut hsm, s) = user();
    let (_, private) = ec_pair(&mut hsm, s, &[]);
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), private),
        Err(Error::KeyFunctionNotPermitted)
    );
    let secret = generic_secret(&mut hsm, s, b"Jefe");
    assert_eq!(
        hsm.encrypt_init(s, &gcm(1), secret),
        Err(Error::KeyTypeInconsistent)
    );
    assert_eq!(
        hsm.encrypt_init(s, &Mechanism::Sha256, secret),
        Err(Error::MechanismInvalid)
    );
}

fn generic_secret(hsm: &mut Hsm<VirtPlatform>, s: SessionHandle, value: &[u8]) -> ObjectHandle {
    let template = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::GenericSecret),
        Attribute::bytes(A::Value, value.to_vec()),
        t(A::Extractable, true),
    ];
    hsm.create_object(s, &template).unwrap()
}

fn point(hsm: &Hsm<VirtPlatform>, s: SessionHandle, public: ObjectHandle) -> Vec<u8> {
    let AttributeValue::Bytes(der) = read(hsm, s, public, A::EcPoint).unwrap() else {
        panic!()
    };
    der.to_vec()
}

#[test]
fn ecdsa_sign_and_verify() {
    let (mut hsm, s) = user();
    let (public, private) = ec_pair(&mut hsm, s, &[]);
    let der = point(&hsm, s, public);
    assert_eq!(
        (der.len(), der[0], der[1], der[2]),
        (67, 0x04, 65, 0x04),
        "CKA_EC_POINT is a DER OCTET STRING"
    );
    hsm.sign_init(s, &Mechanism::EcdsaSha256, private).unwrap();
    hsm.sign_update(s, b"hello ").unwrap();
    hsm.sign_update(s, b"world").unwrap();
    let sig = hsm.sign_final(s).unwrap();
    assert_eq!(sig.len(), 64);
    hsm.verify_init(s, &Mechanism::EcdsaSha256, public).unwrap();
    hsm.verify(s, b"hello world", &sig).unwrap();
    // Raw ECDSA over the SHA-256 digest gives a signature the hashing mechanism accepts.
    hsm.digest_init(s, &Mechanism::Sha256).unwrap();
    let digest = hsm.digest(s, b"hello world").unwrap();
    hsm.sign_init(s, &Mechanism::Ecdsa, private).unwrap();
    let raw_sig = hsm.sign(s, &digest).unwrap();
    assert_eq!(raw_sig, sig, "RFC 6979 signatures are deterministic");
    hsm.verify_init(s, &Mechanism::Ecdsa, public).unwrap();
    hsm.verify(s, &digest, &raw_sig).unwrap();
    let mut bad = sig.clone();
    bad[10] ^= 1;
    hsm.verify_init(s, &Mechanism::EcdsaSha256, public).unwrap();
    assert_eq!(
        hsm.verify(s, b"hello world", &bad),
        Err(Error::SignatureInvalid)
    );
    hsm.verify_init(s, &Mechanism::EcdsaSha256, public).unwrap();
    assert_eq!(
        hsm.verify(s, b"hello world", &sig[..63]),
        Err(Error::SignatureLenRange)
    );
    // Signatures verify with an independent implementation.
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&der[2..]).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    use p256::ecdsa::signature::Verifier;
    vk.verify(b"hello world", &sig).unwrap();
}

#[test]
fn raw_ecdsa_is_single_part() {
    let (mut hsm, s) = user();
    let (_, private) = ec_pair(&mut hsm, s, &[]);
    hsm.sign_init(s, &Mechanism::Ecdsa, private).unwrap();
    assert_eq!(
        hsm.sign_update(s, &[1; 32]),
        Err(Error::FunctionNotSupported)
    );
    assert_eq!(
        hsm.sign_final(s),
        Err(Error::OperationNotInitialized),
        "the error ended the operation"
    );
    hsm.sign_init(s, &Mechanism::Ecdsa, private).unwrap();
    assert_eq!(hsm.sign(s, &[]), Err(Error::DataLenRange));
}

#[test]
fn ecdsa_needs_the_right_key_class() {
    let (mut hsm, s) = user();
    let (public, private) = ec_pair(&mut hsm, s, &[]);
    assert_eq!(
        hsm.sign_init(s, &Mechanism::Ecdsa, public),
        Err(Error::KeyFunctionNotPermitted)
    );
    assert_eq!(
        hsm.verify_init(s, &Mechanism::Ecdsa, private),
        Err(Error::KeyFunctionNotPermitted)
    );
    let aes = aes_key(&mut hsm, s, 16, &[]);
    assert_eq!(
        hsm.sign_init(s, &Mechanism::Ecdsa, aes),
        Err(Error::KeyTypeInconsistent)
    );
}

#[test]
fn ecdh_both_sides_derive_the_same_key() {
    let (mut hsm, s) = user();
    let (pub_a, priv_a) = ec_pair(&mut hsm, s, &[]);
    let (pub_b, priv_b) = ec_pair(&mut hsm, s, &[]);
    let template = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
        Attribute::ulong(A::ValueLen, 16),
    ];
    let derive = |hsm: &mut Hsm<VirtPlatform>, private, peer: Vec<u8>| {
        let params = ecdh::EcdhParams {
            kdf: ecdh::KDF_NULL,
            shared_data: vec![],
            public_data: peer,
        };
        hsm.derive_key(s, &Mechanism::Ecdh1Derive(params), private, &template)
            .unwrap()
    };
    let pa = point(&hsm, s, pub_a);
    let pb = point(&hsm, s, pub_b);
    let k_ab = derive(&mut hsm, priv_a, pb.clone());
    let k_ba = derive(&mut hsm, priv_b, pa[2..].to_vec());
    assert_eq!(
        read(&hsm, s, k_ab, A::ValueLen),
        Ok(AttributeValue::Ulong(16))
    );
    let ct = encrypt(&mut hsm, s, k_ab, b"shared");
    assert_eq!(decrypt(&mut hsm, s, k_ba, &ct).unwrap(), b"shared");
    let bad = ecdh::EcdhParams {
        kdf: 2,
        shared_data: vec![],
        public_data: pb.clone(),
    };
    assert_eq!(
        hsm.derive_key(s, &Mechanism::Ecdh1Derive(bad), priv_a, &template),
        Err(Error::MechanismParamInvalid)
    );
    let off_curve = ecdh::EcdhParams {
        kdf: ecdh::KDF_NULL,
        shared_data: vec![],
        public_data: vec![4; 65],
    };
    assert_eq!(
        hsm.derive_key(s, &Mechanism::Ecdh1Derive(off_curve), priv_a, &template),
        Err(Error::MechanismParamInvalid)
    );
    let long = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::GenericSecret),
        Attribute::ulong(A::ValueLen, 33),
    ];
    let params = ecdh::EcdhParams {
        kdf: ecdh::KDF_NULL,
        shared_data: vec![],
        public_data: pb,
    };
    assert_eq!(
        hsm.derive_key(s, &Mechanism::Ecdh1Derive(params), priv_a, &long),
        Err(Error::AttributeValueInvalid)
    );
}

#[test]
fn sha256_known_answer() {
    let (mut hsm, s) = user();
    // FIPS 180-2 Appendix B.1: SHA-256("abc").
    let want = hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hsm.digest_init(s, &Mechanism::Sha256).unwrap();
    assert_eq!(hsm.digest(s, b"abc").unwrap(), want);
    hsm.digest_init(s, &Mechanism::Sha256).unwrap();
    hsm.digest_update(s, b"a").unwrap();
    hsm.digest_update(s, b"bc").unwrap();
    assert_eq!(hsm.digest_final(s).unwrap(), want);
}

#[test]
fn hmac_sha256_known_answer() {
    let (mut hsm, s) = user();
    // RFC 4231 §4.3 (test case 2).
    let key = generic_secret(&mut hsm, s, b"Jefe");
    let want = hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    hsm.sign_init(s, &Mechanism::Sha256Hmac, key).unwrap();
    hsm.sign_update(s, b"what do ya want ").unwrap();
    hsm.sign_update(s, b"for nothing?").unwrap();
    assert_eq!(hsm.sign_final(s).unwrap(), want);
    hsm.verify_init(s, &Mechanism::Sha256Hmac, key).unwrap();
    hsm.verify(s, b"what do ya want for nothing?", &want)
        .unwrap();
    let mut bad = want;
    bad[0] ^= 1;
    hsm.verify_init(s, &Mechanism::Sha256Hmac, key).unwrap();
    assert_eq!(
        hsm.verify(s, b"what do ya want for nothing?", &bad),
        Err(Error::SignatureInvalid)
    );
}

#[test]
fn random_is_reproducible_from_the_seed() {
    let draw = |seed| {
        let mut hsm = hsm_with_seed(seed);
        let s = hsm.open_session(false).unwrap();
        hsm.generate_random(s, 32).unwrap()
    };
    assert_eq!(draw(5), draw(5));
    assert_ne!(draw(5), draw(6));
    let (mut hsm, s) = user();
    assert_eq!(
        hsm.seed_random(s, b"entropy"),
        Err(Error::RandomSeedNotSupported)
    );
}

#[test]
fn private_key_wraps_as_pkcs8_and_comes_back() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[]);
    let (public, private) = ec_pair(&mut hsm, s, &[t(A::Extractable, true)]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrapKwp, kek, private)
        .unwrap();
    let template = [
        Attribute::class(ObjectClass::PrivateKey),
        Attribute::key_type(KeyType::Ec),
        t(A::Sign, true),
    ];
    let restored = hsm
        .unwrap_key(s, &Mechanism::AesKeyWrapKwp, kek, &blob, &template)
        .unwrap();
    assert_eq!(
        read(&hsm, s, restored, A::EcParams),
        Ok(AttributeValue::bytes(ec::P256_PARAMS.to_vec()))
    );
    hsm.sign_init(s, &Mechanism::EcdsaSha256, restored).unwrap();
    let sig = hsm.sign(s, b"m").unwrap();
    hsm.verify_init(s, &Mechanism::EcdsaSha256, public).unwrap();
    hsm.verify(s, b"m", &sig).unwrap();
    // The blob is an RFC 5649 wrapping of a PKCS#8 PrivateKeyInfo: check it independently
    // with the aes-kw and p256 crates, under a KEK whose value the test knows.
    use aes_kw::KeyInit;
    use p256::pkcs8::DecodePrivateKey;
    let known_kek = aes_key_with_value(&mut hsm, s, &[3; 32], &[]);
    let blob = hsm
        .wrap_key(s, &Mechanism::AesKeyWrapKwp, known_kek, private)
        .unwrap();
    let mut buf = vec![0u8; blob.len()];
    let pkcs8 = aes_kw::KwpAes256::new(&[3u8; 32].into())
        .unwrap_key(&blob, &mut buf)
        .unwrap();
    let sk = p256::SecretKey::from_pkcs8_der(pkcs8).unwrap();
    assert_eq!(
        sk.public_key().to_sec1_bytes()[..],
        point(&hsm, s, public)[2..]
    );
}

#[test]
fn bad_blobs_are_refused_and_create_nothing() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 32, &[]);
    let other_kek = aes_key(&mut hsm, s, 32, &[]);
    let target = aes_key(&mut hsm, s, 32, &[t(A::Extractable, true)]);
    let template = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
    ];
    let before = count_objects(&mut hsm, s);
    for m in [Mechanism::AesKeyWrap, Mechanism::AesKeyWrapKwp, gcm(9)] {
        let blob = hsm.wrap_key(s, &m, kek, target).unwrap();
        let mut tampered = blob.clone();
        tampered[5] ^= 0x80;
        assert_eq!(
            hsm.unwrap_key(s, &m, kek, &tampered, &template),
            Err(Error::WrappedKeyInvalid),
            "{m:?} tampered"
        );
        assert_eq!(
            hsm.unwrap_key(s, &m, other_kek, &blob, &template),
            Err(Error::WrappedKeyInvalid),
            "{m:?} wrong key"
        );
        let truncated = &blob[..blob.len() - 3];
        let got = hsm.unwrap_key(s, &m, kek, truncated, &template);
        assert!(
            matches!(
                got,
                Err(Error::WrappedKeyLenRange | Error::WrappedKeyInvalid)
            ),
            "{m:?} truncated: {got:?}"
        );
        assert_eq!(
            hsm.unwrap_key(s, &m, ObjectHandle(9999), &blob, &template),
            Err(Error::UnwrappingKeyHandleInvalid)
        );
    }
    assert_eq!(count_objects(&mut hsm, s), before);
}

#[test]
fn wrap_checks_key_types_and_sizes() {
    let (mut hsm, s) = user();
    let kek = aes_key(&mut hsm, s, 16, &[]);
    let odd = generic_secret(&mut hsm, s, &[7; 20]);
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrap, kek, odd),
        Err(Error::KeySizeRange),
        "KW needs multiples of 8"
    );
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, kek, odd)
            .unwrap()
            .len(),
        32
    );
    let (public, private) = ec_pair(&mut hsm, s, &[t(A::Extractable, true)]);
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, private, odd),
        Err(Error::WrappingKeyTypeInconsistent)
    );
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, kek, public),
        Err(Error::KeyUnextractable)
    );
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::Sha256, kek, odd),
        Err(Error::MechanismInvalid)
    );
    assert_eq!(
        hsm.wrap_key(s, &Mechanism::AesKeyWrap, ObjectHandle(777), odd),
        Err(Error::WrappingKeyHandleInvalid)
    );
}

#[test]
fn key_generation_checks_sizes() {
    let (mut hsm, s) = user();
    for len in [16, 24, 32] {
        aes_key(&mut hsm, s, len, &[]);
    }
    let bad = [Attribute::ulong(A::ValueLen, 20)];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &bad),
        Err(Error::AttributeValueInvalid)
    );
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &[]),
        Err(Error::TemplateIncomplete)
    );
    let generic = [Attribute::ulong(A::ValueLen, 48)];
    let h = hsm
        .generate_key(s, &Mechanism::GenericSecretKeyGen, &generic)
        .unwrap();
    assert_eq!(
        read(&hsm, s, h, A::KeyType),
        Ok(AttributeValue::Ulong(KeyType::GenericSecret as u64))
    );
    let wrong_type = [
        Attribute::ulong(A::ValueLen, 16),
        Attribute::key_type(KeyType::GenericSecret),
    ];
    assert_eq!(
        hsm.generate_key(s, &Mechanism::AesKeyGen, &wrong_type),
        Err(Error::TemplateInconsistent)
    );
    let other_curve = [Attribute::bytes(
        A::EcParams,
        vec![0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
    )];
    assert_eq!(
        hsm.generate_key_pair(s, &Mechanism::EcKeyPairGen, &other_curve, &[]),
        Err(Error::AttributeValueInvalid)
    );
    let named = [Attribute::bytes(
        A::EcParams,
        [&[0x13, 10][..], b"prime256v1"].concat(),
    )];
    assert!(
        hsm.generate_key_pair(s, &Mechanism::EcKeyPairGen, &named, &[])
            .is_ok()
    );
}

#[test]
fn ec_keys_import_through_create_object() {
    let (mut hsm, s) = user();
    let sk = p256::SecretKey::from_slice(&[0x11; 32]).unwrap();
    let point = sk.public_key().to_sec1_bytes();
    let private = hsm
        .create_object(
            s,
            &[
                Attribute::class(ObjectClass::PrivateKey),
                Attribute::key_type(KeyType::Ec),
                Attribute::bytes(A::EcParams, ec::P256_PARAMS.to_vec()),
                Attribute::bytes(A::Value, vec![0x11; 32]),
            ],
        )
        .unwrap();
    // A bare point is accepted and stored as DER.
    let public = hsm
        .create_object(
            s,
            &[
                Attribute::class(ObjectClass::PublicKey),
                Attribute::key_type(KeyType::Ec),
                Attribute::bytes(A::EcParams, ec::P256_PARAMS.to_vec()),
                Attribute::bytes(A::EcPoint, point.to_vec()),
            ],
        )
        .unwrap();
    assert_eq!(point_of(&hsm, s, public)[2..], point[..]);
    hsm.sign_init(s, &Mechanism::EcdsaSha256, private).unwrap();
    let sig = hsm.sign(s, b"imported").unwrap();
    hsm.verify_init(s, &Mechanism::EcdsaSha256, public).unwrap();
    hsm.verify(s, b"imported", &sig).unwrap();
    let bad_point = [
        Attribute::class(ObjectClass::PublicKey),
        Attribute::key_type(KeyType::Ec),
        Attribute::bytes(A::EcParams, ec::P256_PARAMS.to_vec()),
        Attribute::bytes(A::EcPoint, vec![4; 65]),
    ];
    assert_eq!(
        hsm.create_object(s, &bad_point),
        Err(Error::AttributeValueInvalid)
    );
}

fn point_of(hsm: &Hsm<VirtPlatform>, s: SessionHandle, h: ObjectHandle) -> Vec<u8> {
    point(hsm, s, h)
}

#[test]
fn data_objects_hold_values() {
    let (mut hsm, s) = user();
    let data = hsm
        .create_object(
            s,
            &[
                Attribute::class(ObjectClass::Data),
                Attribute::bytes(A::Application, b"app".to_vec()),
                Attribute::bytes(A::Value, b"payload".to_vec()),
            ],
        )
        .unwrap();
    assert_eq!(
        read(&hsm, s, data, A::Value),
        Ok(AttributeValue::bytes(b"payload".to_vec()))
    );
    assert_eq!(
        read(&hsm, s, data, A::Private),
        Ok(AttributeValue::Bool(false))
    );
    hsm.set_attribute_values(s, data, &[Attribute::bytes(A::Value, b"changed".to_vec())])
        .unwrap();
    assert_eq!(
        hsm.get_attribute_values(s, data, &[A::Sensitive]).unwrap()[0],
        Err(Error::AttributeTypeInvalid)
    );
}
