//! Property tests: wrap/unwrap round trips for every wrapping mechanism and key type, data-key
//! generate/decrypt, and record seal/open (with any single-byte change refused).

use crate::common::*;
use hsmemu::attributes::{
    Attribute, AttributeMap, AttributeType as A, AttributeValue, KeyType, ObjectClass,
};
use hsmemu::hierarchy::{self, DomainKeys};
use hsmemu::mechanisms::Mechanism;
use hsmemu::mechanisms::aes_gcm::GcmParams;
use hsmemu::provider::CryptoProvider;
use hsmemu::secret::SecretBytes;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[derive(Clone, Debug)]
enum Target {
    Aes(u64),
    Generic(Vec<u8>),
    EcPrivate,
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        prop::sample::select(vec![16u64, 24, 32]).prop_map(Target::Aes),
        prop::collection::vec(any::<u8>(), 1..80).prop_map(Target::Generic),
        Just(Target::EcPrivate),
    ]
}

fn wrapping_mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::AesKeyWrap),
        Just(Mechanism::AesKeyWrapKwp),
        (
            any::<[u8; 12]>(),
            prop::collection::vec(any::<u8>(), 0..16),
            prop::sample::select(vec![96u64, 104, 112, 120, 128])
        )
            .prop_map(|(iv, aad, tag_bits)| Mechanism::AesGcm(GcmParams {
                iv: iv.to_vec(),
                aad,
                tag_bits
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Wrap then unwrap gives a key that behaves like the original (AES: decrypts what the
    /// original encrypted; generic secret: same HMAC; EC: signs what the public key verifies).
    #[test]
    fn wrap_unwrap_round_trip(kek_len in prop::sample::select(vec![16u64, 24, 32]), target in target(), mechanism in wrapping_mechanism()) {
        let (mut hsm, s) = user();
        let kek = aes_key(&mut hsm, s, kek_len, &[]);
        let extractable = t(A::Extractable, true);
        let (original, class, key_type, public) = match &target {
            Target::Aes(len) => (aes_key(&mut hsm, s, *len, &[extractable]), ObjectClass::SecretKey, KeyType::Aes, None),
            Target::Generic(value) => {
                let template = [Attribute::class(ObjectClass::SecretKey), Attribute::key_type(KeyType::GenericSecret), Attribute::bytes(A::Value, value.clone()), extractable];
                (hsm.create_object(s, &template).unwrap(), ObjectClass::SecretKey, KeyType::GenericSecret, None)
            }
            Target::EcPrivate => {
                let (public, private) = ec_pair(&mut hsm, s, &[extractable]);
                (private, ObjectClass::PrivateKey, KeyType::Ec, Some(public))
            }
        };
        let wrapped = hsm.wrap_key(s, &mechanism, kek, original);
        // RFC 3394 takes multiples of 8 bytes, at least 16: short or odd generic secrets and the
        // 138-byte PKCS#8 of a P-256 key need KWP or GCM.
        let kw_refuses = matches!(mechanism, Mechanism::AesKeyWrap)
            && match &target {
                Target::Generic(v) => v.len() < 16 || v.len() % 8 != 0,
                Target::EcPrivate => true,
                Target::Aes(_) => false,
            };
        if kw_refuses {
            prop_assert_eq!(wrapped, Err(hsmemu::Error::KeySizeRange));
            return Ok(());
        }
        let wrapped = wrapped.unwrap();
        let restored = hsm.unwrap_key(s, &mechanism, kek, &wrapped, &[Attribute::class(class), Attribute::key_type(key_type)]).unwrap();
        match target {
            Target::Aes(_) => {
                let ct = encrypt(&mut hsm, s, original, b"payload");
                prop_assert_eq!(decrypt(&mut hsm, s, restored, &ct).unwrap(), b"payload".to_vec());
            }
            Target::Generic(_) => {
                let mac = |hsm: &mut hsmemu::Hsm<_>, k| { hsm.sign_init(s, &Mechanism::Sha256Hmac, k).unwrap(); hsm.sign(s, b"m").unwrap() };
                prop_assert_eq!(mac(&mut hsm, original), mac(&mut hsm, restored));
            }
            Target::EcPrivate => {
                hsm.sign_init(s, &Mechanism::EcdsaSha256, restored).unwrap();
                let sig = hsm.sign(s, b"m").unwrap();
                hsm.verify_init(s, &Mechanism::EcdsaSha256, public.unwrap()).unwrap();
                prop_assert!(hsm.verify(s, b"m", &sig).is_ok());
            }
        }
    }

    #[test]
    fn data_key_generate_decrypt(len in 1usize..64, pairs in prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9]{0,8}", 0..4)) {
        let (mut hsm, s) = user();
        let backing = aes_key(&mut hsm, s, 32, &[]);
        let context: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let dk = hsm.generate_data_key(s, backing, len, &context).unwrap();
        prop_assert_eq!(dk.plaintext.len(), len);
        prop_assert_eq!(hsm.decrypt_data_key(s, &dk.ciphertext_blob, &context).unwrap(), dk.plaintext);
    }

    /// A sealed record opens to exactly what was sealed, only under its own id, and not after
    /// any single-byte change.
    #[test]
    fn seal_open_round_trip(
        id in 1u64..1000,
        label in prop::collection::vec(any::<u8>(), 0..32),
        extractable in any::<bool>(),
        value in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        flip in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let provider = CryptoProvider::default();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let domain = DomainKeys::generate(&mut rng);
        let mut attrs = AttributeMap::new();
        attrs.set(A::Label, AttributeValue::bytes(label));
        attrs.set_bool(A::Extractable, extractable);
        let value = value.map(SecretBytes::new);
        let record = hierarchy::seal_record(&provider, &domain, &mut rng, id, &attrs, None, value.as_ref()).unwrap();
        let opened = hierarchy::open_record(&provider, &domain, id, &record).unwrap();
        prop_assert_eq!(&opened.header.attrs, &attrs);
        prop_assert_eq!(opened.value, value);
        prop_assert!(hierarchy::open_record(&provider, &domain, id + 1, &record).is_err());
        let mut edited = record.clone();
        let i = flip.index(edited.len());
        edited[i] ^= 0x01;
        prop_assert!(hierarchy::open_record(&provider, &domain, id, &edited).is_err(), "byte {} changed yet the record opened", i);
    }
}
