//! Mechanisms: one module each, with a static info table (PKCS#11 3.0 §5.5 C_GetMechanismInfo)
//! and the operation it performs through the [`crate::provider`] seam.
//!
//! This module owns the mechanism vocabulary ([`MechanismType`], [`Mechanism`] with its
//! parameters) and the parameter checks; the policy checks on the keys happen before a
//! mechanism is ever reached (see [`crate::policy`]).
//!
//! Invariant: a failed decryption or unwrap returns an opaque error and no output.

pub mod aes_gcm;
pub mod aes_keygen;
pub mod aes_kw;
pub mod aes_kwp;
pub mod ec;
pub mod ecdh;
pub mod ecdsa;
pub mod generic_secret;
pub mod hmac;
pub mod sha256;

use crate::error::{Error, Result};

/// Mechanism capability flags (PKCS#11 3.0 §3.5 CK_MECHANISM_INFO `flags`, `CKF_*` values).
pub mod flags {
    /// CKF_ENCRYPT.
    pub const ENCRYPT: u64 = 0x100;
    /// CKF_DECRYPT.
    pub const DECRYPT: u64 = 0x200;
    /// CKF_DIGEST.
    pub const DIGEST: u64 = 0x400;
    /// CKF_SIGN.
    pub const SIGN: u64 = 0x800;
    /// CKF_VERIFY.
    pub const VERIFY: u64 = 0x2000;
    /// CKF_GENERATE.
    pub const GENERATE: u64 = 0x8000;
    /// CKF_GENERATE_KEY_PAIR.
    pub const GENERATE_KEY_PAIR: u64 = 0x1_0000;
    /// CKF_WRAP.
    pub const WRAP: u64 = 0x2_0000;
    /// CKF_UNWRAP.
    pub const UNWRAP: u64 = 0x4_0000;
    /// CKF_DERIVE.
    pub const DERIVE: u64 = 0x8_0000;
    /// CKF_EC_F_P: curves over prime fields.
    pub const EC_F_P: u64 = 0x10_0000;
    /// CKF_EC_NAMEDCURVE: curves given by name (OID).
    pub const EC_NAMEDCURVE: u64 = 0x80_0000;
    /// CKF_EC_UNCOMPRESS: uncompressed points.
    pub const EC_UNCOMPRESS: u64 = 0x100_0000;
}

/// What a mechanism can do and with which key sizes (CK_MECHANISM_INFO, PKCS#11 3.0 §3.5).
/// Key sizes are in bytes for AES and generic secrets and in bits for EC, as the spec says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MechanismInfo {
    /// Smallest key size.
    pub min_key_size: u64,
    /// Largest key size.
    pub max_key_size: u64,
    /// `flags::*` bits.
    pub flags: u64,
}

impl MechanismInfo {
    /// Whether the mechanism supports a function (`flags::*`).
    pub fn supports(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }
}

macro_rules! mechanism_types {
    ($($(#[$doc:meta])* $name:ident = $code:literal => $info:path,)*) => {
        /// A mechanism type (PKCS#11 3.0 §6; the discriminant is the spec's `CKM_*` value).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u64)]
        pub enum MechanismType {
            $($(#[$doc])* $name = $code,)*
        }

        impl MechanismType {
            /// Every mechanism the emulator implements, in `CKM_*` order.
            pub const ALL: &'static [MechanismType] = &[$(MechanismType::$name),*];

            /// The type with this `CKM_*` code, if implemented.
            pub fn from_code(code: u64) -> Option<Self> {
                match code {
                    $($code => Some(MechanismType::$name),)*
                    _ => None,
                }
            }

            /// The `CKM_*` code.
            pub fn code(self) -> u64 {
                self as u64
            }

            /// The mechanism's static info.
            pub fn info(self) -> MechanismInfo {
                match self {
                    $(MechanismType::$name => $info,)*
                }
            }
        }
    };
}

mechanism_types! {
    /// CKM_SHA256 (§6.22).
    Sha256 = 0x0250 => sha256::INFO,
    /// CKM_SHA256_HMAC (§6.22): full-length (32-byte) HMAC-SHA256.
    Sha256Hmac = 0x0251 => hmac::INFO,
    /// CKM_GENERIC_SECRET_KEY_GEN (§6.55).
    GenericSecretKeyGen = 0x0350 => generic_secret::INFO,
    /// CKM_EC_KEY_PAIR_GEN (§6.3.5): P-256 only.
    EcKeyPairGen = 0x1040 => ec::INFO,
    /// CKM_ECDSA (§6.3.6): signs a caller-supplied digest, single-part.
    Ecdsa = 0x1041 => ecdsa::INFO_RAW,
    /// CKM_ECDSA_SHA256 (§6.3.7): hashes with SHA-256, single- and multi-part.
    EcdsaSha256 = 0x1044 => ecdsa::INFO_SHA256,
    /// CKM_ECDH1_DERIVE (§6.3.11): null KDF only.
    Ecdh1Derive = 0x1050 => ecdh::INFO,
    /// CKM_AES_KEY_GEN (§6.12.3).
    AesKeyGen = 0x1080 => aes_keygen::INFO,
    /// CKM_AES_GCM (§6.12.x, NIST SP 800-38D): encrypt, decrypt, wrap, unwrap.
    AesGcm = 0x1087 => aes_gcm::INFO,
    /// CKM_AES_KEY_WRAP (§6.12.x, RFC 3394).
    AesKeyWrap = 0x2109 => aes_kw::INFO,
    /// CKM_AES_KEY_WRAP_KWP (§6.12.x, RFC 5649).
    AesKeyWrapKwp = 0x210B => aes_kwp::INFO,
}

/// A mechanism with its parameters (CK_MECHANISM, PKCS#11 3.0 §3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// CKM_SHA256.
    Sha256,
    /// CKM_SHA256_HMAC.
    Sha256Hmac,
    /// CKM_GENERIC_SECRET_KEY_GEN.
    GenericSecretKeyGen,
    /// CKM_EC_KEY_PAIR_GEN.
    EcKeyPairGen,
    /// CKM_ECDSA.
    Ecdsa,
    /// CKM_ECDSA_SHA256.
    EcdsaSha256,
    /// CKM_ECDH1_DERIVE with CK_ECDH1_DERIVE_PARAMS.
    Ecdh1Derive(ecdh::EcdhParams),
    /// CKM_AES_KEY_GEN.
    AesKeyGen,
    /// CKM_AES_GCM with CK_GCM_PARAMS.
    AesGcm(aes_gcm::GcmParams),
    /// CKM_AES_KEY_WRAP with the default IV (no parameter).
    AesKeyWrap,
    /// CKM_AES_KEY_WRAP_KWP with the default AIV (no parameter).
    AesKeyWrapKwp,
}

impl Mechanism {
    /// The mechanism's type.
    pub fn mechanism_type(&self) -> MechanismType {
        match self {
            Mechanism::Sha256 => MechanismType::Sha256,
            Mechanism::Sha256Hmac => MechanismType::Sha256Hmac,
            Mechanism::GenericSecretKeyGen => MechanismType::GenericSecretKeyGen,
            Mechanism::EcKeyPairGen => MechanismType::EcKeyPairGen,
            Mechanism::Ecdsa => MechanismType::Ecdsa,
            Mechanism::EcdsaSha256 => MechanismType::EcdsaSha256,
            Mechanism::Ecdh1Derive(_) => MechanismType::Ecdh1Derive,
            Mechanism::AesKeyGen => MechanismType::AesKeyGen,
            Mechanism::AesGcm(_) => MechanismType::AesGcm,
            Mechanism::AesKeyWrap => MechanismType::AesKeyWrap,
            Mechanism::AesKeyWrapKwp => MechanismType::AesKeyWrapKwp,
        }
    }

    /// `Ok` if the mechanism supports the function `flag`, else CKR_MECHANISM_INVALID.
    pub fn require(&self, flag: u64) -> Result<()> {
        if self.mechanism_type().info().supports(flag) {
            Ok(())
        } else {
            Err(Error::MechanismInvalid)
        }
    }
}
