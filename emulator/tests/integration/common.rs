//! Shared set-up: an initialised token with a user PIN, on the deterministic platform.

use hsmemu::attributes::{Attribute, AttributeType as A, KeyType, ObjectClass};
use hsmemu::mechanisms::Mechanism;
use hsmemu::platform::virt::VirtPlatform;
use hsmemu::token::{TokenConfig, UserType};
use hsmemu::{Hsm, ObjectHandle, SessionHandle};

pub const SO_PIN: &[u8] = b"so-pin-1234";
pub const USER_PIN: &[u8] = b"user-pin-1234";

/// Few PBKDF2 rounds keep the tests quick; the default is 100,000.
pub fn config() -> TokenConfig {
    TokenConfig {
        pin_kdf_rounds: 100,
        max_failed_logins: 3,
        ..TokenConfig::default()
    }
}

/// An initialised token with the user PIN set, nobody logged in, no sessions.
pub fn hsm_with_seed(seed: u64) -> Hsm<VirtPlatform> {
    let mut hsm = Hsm::new(VirtPlatform::new(seed), config()).unwrap();
    hsm.init_token(SO_PIN, "test").unwrap();
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::SecurityOfficer, SO_PIN).unwrap();
    hsm.init_pin(s, USER_PIN).unwrap();
    hsm.close_session(s).unwrap();
    hsm
}

pub fn hsm() -> Hsm<VirtPlatform> {
    hsm_with_seed(1)
}

/// An initialised token and a read-write session logged in as the user.
pub fn user() -> (Hsm<VirtPlatform>, SessionHandle) {
    let mut hsm = hsm();
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::User, USER_PIN).unwrap();
    (hsm, s)
}

pub fn t(ty: A, v: bool) -> Attribute {
    Attribute::bool(ty, v)
}

/// Generates an AES key of `len` bytes with extra template attributes.
pub fn aes_key(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    len: u64,
    extra: &[Attribute],
) -> ObjectHandle {
    let mut template = vec![Attribute::ulong(A::ValueLen, len)];
    template.extend_from_slice(extra);
    hsm.generate_key(s, &Mechanism::AesKeyGen, &template)
        .unwrap()
}

/// Imports an AES key with a known value (C_CreateObject).
pub fn aes_key_with_value(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    value: &[u8],
    extra: &[Attribute],
) -> ObjectHandle {
    let mut template = vec![
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
        Attribute::bytes(A::Value, value.to_vec()),
    ];
    template.extend_from_slice(extra);
    hsm.create_object(s, &template).unwrap()
}

/// A P-256 key pair with extra private-template attributes: (public, private).
pub fn ec_pair(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    private_extra: &[Attribute],
) -> (ObjectHandle, ObjectHandle) {
    let public = [Attribute::bytes(
        A::EcParams,
        hsmemu::mechanisms::ec::P256_PARAMS.to_vec(),
    )];
    hsm.generate_key_pair(s, &Mechanism::EcKeyPairGen, &public, private_extra)
        .unwrap()
}

/// The GCM parameters used in tests.
pub fn gcm(iv_byte: u8) -> Mechanism {
    Mechanism::AesGcm(hsmemu::mechanisms::aes_gcm::GcmParams {
        iv: vec![iv_byte; 12],
        aad: b"aad".to_vec(),
        tag_bits: 128,
    })
}

/// Encrypts with AES-GCM through the session.
pub fn encrypt(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    key: ObjectHandle,
    data: &[u8],
) -> Vec<u8> {
    hsm.encrypt_init(s, &gcm(7), key).unwrap();
    hsm.encrypt(s, data).unwrap()
}

/// Decrypts with AES-GCM through the session.
pub fn decrypt(
    hsm: &mut Hsm<VirtPlatform>,
    s: SessionHandle,
    key: ObjectHandle,
    data: &[u8],
) -> hsmemu::Result<Vec<u8>> {
    hsm.decrypt_init(s, &gcm(7), key).unwrap();
    hsm.decrypt(s, data)
}

/// Reads one attribute.
pub fn read(
    hsm: &Hsm<VirtPlatform>,
    s: SessionHandle,
    h: ObjectHandle,
    ty: A,
) -> hsmemu::Result<hsmemu::attributes::AttributeValue> {
    hsm.get_attribute_values(s, h, &[ty]).unwrap().remove(0)
}

/// Reads one boolean attribute.
pub fn flag(hsm: &Hsm<VirtPlatform>, s: SessionHandle, h: ObjectHandle, ty: A) -> bool {
    read(hsm, s, h, ty).unwrap() == hsmemu::attributes::AttributeValue::Bool(true)
}
