//! Known-answer tests: the emulator's mechanisms against every vector of `hsmemu-vectors`.
//!
//! Each set asserts that every case ran and prints its tally (`cargo test known_answers --
//! --nocapture`). The rules:
//! * `Valid`: the operation succeeds with exactly the expected bytes (both directions where the
//!   vector gives both);
//! * `Invalid`: the operation is rejected;
//! * `Acceptable` (Wycheproof): either outcome, but a success must give the expected bytes.
//!   The choices, also in vectors/SOURCES.md: KW of an 8-byte key is refused (SP 800-38F §6.2
//!   requires at least two semiblocks); ECDH with a compressed peer point is accepted; SPKI
//!   encodings that are not strict DER with the named P-256 curve are refused by the client-side
//!   decoder before they reach the mechanism.
//! * AES-GCM: CKM_AES_GCM here takes only 96-bit IVs (SP 800-38D §8.2.1); cases with other IV
//!   lengths must be refused with CKR_MECHANISM_PARAM_INVALID and are counted as
//!   "outside the mechanism's domain".

use hsmemu::Error;
use hsmemu::mechanisms::{aes_gcm, aes_kw, aes_kwp, ecdh, ecdsa};
use hsmemu::provider::CryptoProvider;
use hsmemu_vectors::wycheproof::{self, PublicKeyEncoding, SignatureFormat};
use hsmemu_vectors::{Direction, Expectation, KeyWrapCase, nist_sp800_38f, rfc3394, rfc5649};

#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    outside_domain: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.valid
            + self.invalid
            + self.acceptable_accepted
            + self.acceptable_rejected
            + self.outside_domain
    }

    fn report(&self, set: &str, expected_total: usize) {
        println!(
            "{set}: {} cases ran ({} valid passed, {} invalid rejected, {} acceptable accepted, {} acceptable rejected, {} outside the mechanism's domain)",
            self.total(),
            self.valid,
            self.invalid,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.outside_domain
        );
        assert_eq!(self.total(), expected_total, "{set}: not every case ran");
    }

    /// Records an outcome: `Some(output)` for success, `None` for rejection.
    fn record<T: PartialEq + core::fmt::Debug>(
        &mut self,
        what: &str,
        expect: Expectation,
        got: Option<T>,
        want: T,
    ) {
        match (expect, got) {
            (Expectation::Valid, Some(got)) => {
                assert_eq!(got, want, "{what}: wrong output");
                self.valid += 1;
            }
            (Expectation::Valid, None) => panic!("{what}: valid case rejected"),
            (Expectation::Invalid, None) => self.invalid += 1,
            (Expectation::Invalid, Some(_)) => panic!("{what}: invalid case accepted"),
            (Expectation::Acceptable, Some(got)) => {
                assert_eq!(
                    got, want,
                    "{what}: acceptable case accepted with wrong output"
                );
                self.acceptable_accepted += 1;
            }
            (Expectation::Acceptable, None) => self.acceptable_rejected += 1,
        }
    }
}

type Wrap = fn(&CryptoProvider, &[u8], &[u8]) -> hsmemu::Result<Vec<u8>>;
type Unwrap = fn(&CryptoProvider, &[u8], &[u8]) -> hsmemu::Result<hsmemu::secret::SecretBytes>;

fn run_key_wrap(set: &str, cases: &[KeyWrapCase], wrap: Wrap, unwrap: Unwrap) {
    let p = CryptoProvider::default();
    let mut tally = Tally::default();
    for c in cases {
        let unwrapped = unwrap(&p, &c.kek, &c.wrapped)
            .ok()
            .map(|k| k.expose().to_vec());
        if c.expect == Expectation::Valid && c.direction == Direction::Both {
            let wrapped = wrap(&p, &c.kek, &c.plaintext)
                .unwrap_or_else(|e| panic!("{}: wrap failed: {e}", c.source));
            assert_eq!(wrapped, c.wrapped, "{}: wrong wrapped bytes", c.source);
        }
        tally.record(&c.source, c.expect, unwrapped, c.plaintext.clone());
    }
    tally.report(set, cases.len());
}

#[test]
fn rfc3394_examples() {
    run_key_wrap(
        "RFC 3394 §4",
        &rfc3394::cases(),
        aes_kw::wrap,
        aes_kw::unwrap,
    );
}

#[test]
fn rfc5649_examples() {
    run_key_wrap(
        "RFC 5649 §6",
        &rfc5649::cases(),
        aes_kwp::wrap,
        aes_kwp::unwrap,
    );
}

#[test]
fn nist_sp800_38f_kw() {
    run_key_wrap(
        "NIST SP 800-38F KW",
        &nist_sp800_38f::kw().unwrap(),
        aes_kw::wrap,
        aes_kw::unwrap,
    );
}

#[test]
fn nist_sp800_38f_kwp() {
    run_key_wrap(
        "NIST SP 800-38F KWP",
        &nist_sp800_38f::kwp().unwrap(),
        aes_kwp::wrap,
        aes_kwp::unwrap,
    );
}

#[test]
fn wycheproof_aes_kw() {
    let cases = wycheproof::aes_kw().unwrap();
    for c in cases.iter().filter(|c| c.expect == Expectation::Acceptable) {
        assert_eq!(
            aes_kw::wrap(&CryptoProvider::default(), &c.kek, &c.plaintext),
            Err(Error::KeySizeRange)
        );
    }
    run_key_wrap("Wycheproof aes_wrap", &cases, aes_kw::wrap, aes_kw::unwrap);
}

#[test]
fn wycheproof_aes_kwp() {
    run_key_wrap(
        "Wycheproof aes_kwp",
        &wycheproof::aes_kwp().unwrap(),
        aes_kwp::wrap,
        aes_kwp::unwrap,
    );
}

#[test]
fn wycheproof_aes_gcm() {
    let p = CryptoProvider::default();
    let cases = wycheproof::aes_gcm().unwrap();
    let mut tally = Tally::default();
    for c in &cases {
        let what = format!("aes_gcm tcId {}", c.id.tc_id);
        let params = aes_gcm::GcmParams {
            iv: c.iv.clone(),
            aad: c.aad.clone(),
            tag_bits: (c.tag.len() * 8) as u64,
        };
        let mut sealed = c.ct.clone();
        sealed.extend_from_slice(&c.tag);
        if c.iv.len() != 12 {
            assert_eq!(
                aes_gcm::encrypt(&p, &c.key, &params, &c.msg),
                Err(Error::MechanismParamInvalid),
                "{what}"
            );
            assert_eq!(
                aes_gcm::decrypt(&p, &c.key, &params, &sealed).err(),
                Some(Error::MechanismParamInvalid),
                "{what}"
            );
            tally.outside_domain += 1;
            continue;
        }
        if c.expect == Expectation::Valid {
            assert_eq!(
                aes_gcm::encrypt(&p, &c.key, &params, &c.msg).unwrap(),
                sealed,
                "{what}: ciphertext"
            );
            // The zero-copy path (C_Encrypt into the caller's buffer) gives the same bytes.
            let mut out = vec![0u8; sealed.len() + 1];
            let n = aes_gcm::encrypt_into(&p, &c.key, &params, &c.msg, &mut out).unwrap();
            assert_eq!(&out[..n], &sealed[..], "{what}: ciphertext into a buffer");
        }
        let opened = aes_gcm::decrypt(&p, &c.key, &params, &sealed)
            .ok()
            .map(|m| m.expose().to_vec());
        tally.record(&what, c.expect, opened, c.msg.clone());
    }
    tally.report("Wycheproof aes_gcm", cases.len());
    // 96-bit IVs: 116 valid, 81 invalid. Other IV lengths: 113 valid and 6 invalid (empty IV)
    // cases, all refused as outside CKM_AES_GCM's parameter domain here.
    assert_eq!(
        (tally.valid, tally.invalid, tally.outside_domain),
        (116, 81, 119)
    );
}

fn verify_ecdsa(point: &[u8], msg: &[u8], sig_p1363: &[u8]) -> bool {
    let p = CryptoProvider::default();
    ecdsa::VerifyOperation::new(&p, point.to_vec(), true)
        .finish(&p, msg, sig_p1363)
        .is_ok()
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let cases = wycheproof::ecdsa_p256_sha256(SignatureFormat::P1363).unwrap();
    let mut tally = Tally::default();
    for c in &cases {
        let ok = verify_ecdsa(&c.public_point, &c.msg, &c.sig);
        tally.record(
            &format!("ecdsa p1363 tcId {}", c.id.tc_id),
            c.expect,
            ok.then_some(()),
            (),
        );
    }
    tally.report("Wycheproof ecdsa_secp256r1_sha256_p1363", cases.len());
}

#[test]
fn wycheproof_ecdsa_p256_sha256_der() {
    // PKCS#11 signatures are r || s; a client decodes DER first. The decoder is p256's strict
    // DER parser, so BER and malleated encodings are refused there.
    let cases = wycheproof::ecdsa_p256_sha256(SignatureFormat::Der).unwrap();
    let mut tally = Tally::default();
    for c in &cases {
        let raw = p256::ecdsa::DerSignature::from_bytes(&c.sig)
            .ok()
            .and_then(|der| p256::ecdsa::Signature::try_from(der).ok())
            .map(|sig| sig.to_bytes().to_vec());
        let ok = raw.is_some_and(|raw| verify_ecdsa(&c.public_point, &c.msg, &raw));
        tally.record(
            &format!("ecdsa der tcId {}", c.id.tc_id),
            c.expect,
            ok.then_some(()),
            (),
        );
    }
    tally.report("Wycheproof ecdsa_secp256r1_sha256 (DER)", cases.len());
}

fn scalar32(private: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = private.iter().copied().skip_while(|b| *b == 0).collect();
    let mut out = vec![0u8; 32usize.saturating_sub(trimmed.len())];
    out.extend_from_slice(&trimmed);
    out
}

fn run_ecdh(encoding: PublicKeyEncoding, set: &str) {
    use p256::pkcs8::DecodePublicKey;
    let p = CryptoProvider::default();
    let cases = wycheproof::ecdh_p256(encoding).unwrap();
    let mut tally = Tally::default();
    for c in &cases {
        let point = match encoding {
            PublicKeyEncoding::EcPoint => Some(c.public.clone()),
            PublicKeyEncoding::Spki => p256::PublicKey::from_public_key_der(&c.public)
                .ok()
                .map(|k| k.to_sec1_bytes().into_vec()),
        };
        let shared = point.and_then(|point| {
            let params = ecdh::EcdhParams {
                kdf: ecdh::KDF_NULL,
                shared_data: vec![],
                public_data: point,
            };
            ecdh::shared_secret(&p, &scalar32(&c.private), &params)
                .ok()
                .map(|s| s.expose().to_vec())
        });
        tally.record(
            &format!("{set} tcId {}", c.id.tc_id),
            c.expect,
            shared,
            c.shared.clone(),
        );
    }
    tally.report(set, cases.len());
}

#[test]
fn wycheproof_ecdh_p256_ecpoint() {
    run_ecdh(
        PublicKeyEncoding::EcPoint,
        "Wycheproof ecdh_secp256r1_ecpoint",
    );
}

#[test]
fn wycheproof_ecdh_p256_spki() {
    run_ecdh(PublicKeyEncoding::Spki, "Wycheproof ecdh_secp256r1 (SPKI)");
}
