//! A tour of hsmemu in plain words: `cargo run -p hsmemu --example tour`.
//!
//! It walks the seed scenario: a backing key hands out a data key; an extractable key leaves the
//! HSM by wrapping and comes back by unwrapping (proved equal by encrypting with one and
//! decrypting with the other); a non-extractable key is refused, with the reason.

use hsmemu::attributes::{Attribute, AttributeType as A, KeyType, ObjectClass};
use hsmemu::mechanisms::Mechanism;
use hsmemu::mechanisms::aes_gcm::GcmParams;
use hsmemu::platform::virt::VirtPlatform;
use hsmemu::token::{TokenConfig, UserType};
use hsmemu::{Error, Hsm};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<(), Error> {
    let seed = 2026;
    let mut hsm = Hsm::new(VirtPlatform::new(seed), TokenConfig::default())?;
    println!("A fresh emulated HSM (deterministic platform, seed {seed}).");

    hsm.init_token(b"so-pin-1234", "tour")?;
    let s = hsm.open_session(true)?;
    hsm.login(s, UserType::SecurityOfficer, b"so-pin-1234")?;
    hsm.init_pin(s, b"user-pin-1234")?;
    hsm.logout(s)?;
    hsm.login(s, UserType::User, b"user-pin-1234")?;
    println!(
        "1. Token \"tour\" initialised; the security officer set a user PIN; the user logged in."
    );

    let backing = hsm.generate_key(
        s,
        &Mechanism::AesKeyGen,
        &[
            Attribute::ulong(A::ValueLen, 32),
            Attribute::bool(A::Token, true),
            Attribute::bytes(A::Label, b"backing".to_vec()),
        ],
    )?;
    println!(
        "2. Generated backing key {} (AES-256, token object). Its record in the store is sealed under the domain key, which exists only in memory.",
        backing.0
    );

    let context = [("tenant", "acme"), ("purpose", "tour")];
    let data_key = hsm.generate_data_key(s, backing, 32, &context)?;
    let again = hsm.decrypt_data_key(s, &data_key.ciphertext_blob, &context)?;
    println!(
        "3. Handed out a 32-byte data key with a {}-byte ciphertext blob; decrypting the blob gives the same key: {}.",
        data_key.ciphertext_blob.len(),
        again == data_key.plaintext
    );
    let wrong_context = hsm.decrypt_data_key(s, &data_key.ciphertext_blob, &[("tenant", "other")]);
    println!(
        "   With another encryption context the blob does not open: {:?}.",
        wrong_context.err()
    );

    let wrapping_key = hsm.generate_key(
        s,
        &Mechanism::AesKeyGen,
        &[Attribute::ulong(A::ValueLen, 32)],
    )?;
    let exportable = hsm.generate_key(
        s,
        &Mechanism::AesKeyGen,
        &[
            Attribute::ulong(A::ValueLen, 16),
            Attribute::bool(A::Extractable, true),
        ],
    )?;
    let locked = hsm.generate_key(
        s,
        &Mechanism::AesKeyGen,
        &[
            Attribute::ulong(A::ValueLen, 16),
            Attribute::bool(A::Extractable, false),
        ],
    )?;
    println!(
        "4. Created key {} (extractable) and key {} (not extractable), both sensitive.",
        exportable.0, locked.0
    );

    let blob = hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, wrapping_key, exportable)?;
    println!(
        "5. Exported key {} by wrapping it with AES-KWP (RFC 5649): {} bytes, {}.",
        exportable.0,
        blob.len(),
        hex(&blob)
    );
    let template = [
        Attribute::class(ObjectClass::SecretKey),
        Attribute::key_type(KeyType::Aes),
    ];
    let reimported =
        hsm.unwrap_key(s, &Mechanism::AesKeyWrapKwp, wrapping_key, &blob, &template)?;
    let gcm = Mechanism::AesGcm(GcmParams {
        iv: vec![0x24; 12],
        aad: b"tour".to_vec(),
        tag_bits: 128,
    });
    hsm.encrypt_init(s, &gcm, exportable)?;
    let ciphertext = hsm.encrypt(s, b"the same key, twice")?;
    hsm.decrypt_init(s, &gcm, reimported)?;
    let plaintext = hsm.decrypt(s, &ciphertext)?;
    println!(
        "   Re-imported it as key {}; what the original encrypted, the re-imported key decrypts: \"{}\".",
        reimported.0,
        String::from_utf8_lossy(&plaintext)
    );

    match hsm.wrap_key(s, &Mechanism::AesKeyWrapKwp, wrapping_key, locked) {
        Err(e) => println!("6. Exporting key {} is refused: {e:?} ({e}).", locked.0),
        Ok(_) => println!("6. Unexpected: the non-extractable key was exported."),
    }
    let value = hsm.get_attribute_values(s, locked, &[A::Value, A::Label])?;
    println!(
        "   Reading its value directly is refused too: {:?}.",
        value[0].as_ref().err()
    );
    Ok(())
}
