//! Expectation profiles: how a vendor's module is driven and what it is expected to do
//! differently. A profile is data: mechanism aliases applied at the C boundary (scenarios keep
//! standard codes) and an expectation file.

use crate::catalogue::CKM_KWP;
use cryptoki_sys::*;

/// CKM_CLOUDHSM_AES_KEY_WRAP_NO_PAD (RFC 3394; CloudHSM vendor header).
pub const CKM_CLOUDHSM_AES_KEY_WRAP_NO_PAD: CK_MECHANISM_TYPE = 0x8000_2109;
/// CKM_CLOUDHSM_AES_KEY_WRAP_ZERO_PAD (RFC 5649; CloudHSM vendor header).
pub const CKM_CLOUDHSM_AES_KEY_WRAP_ZERO_PAD: CK_MECHANISM_TYPE = 0x8000_216F;
/// CKM_AES_KEY_WRAP_PAD (0x210A), under which SoftHSMv2 offers RFC 5649 (SoftHSMv2 #726).
pub const CKM_AES_KEY_WRAP_PAD: CK_MECHANISM_TYPE = 0x210A;

/// A profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Name on the command line.
    pub name: &'static str,
    /// (standard code, the vendor's code).
    pub aliases: &'static [(CK_MECHANISM_TYPE, CK_MECHANISM_TYPE)],
    /// An expectation file that applies to every module run under this profile; `None`: the
    /// built-in files chosen by each module's manufacturer.
    pub expectations: Option<&'static str>,
    /// The module chooses AES-GCM encryption IVs itself (a zero IV in, its IV written back).
    pub generated_gcm_ivs: bool,
}

/// PKCS#11 3.0 to the letter.
pub const GENERIC: Profile = Profile {
    name: "generic",
    aliases: &[],
    expectations: None,
    generated_gcm_ivs: false,
};

/// AWS CloudHSM (Client SDK 5): vendor key-wrap codes (../shared/reference/cloudhsm-kms.md
/// §1.6, §2.1), HSM-generated GCM IVs (§1.7) and its known differences
/// (`expectations/cloudhsm.toml`).
pub const CLOUDHSM: Profile = Profile {
    name: "cloudhsm",
    aliases: &[
        (CKM_AES_KEY_WRAP, CKM_CLOUDHSM_AES_KEY_WRAP_NO_PAD),
        (CKM_KWP, CKM_CLOUDHSM_AES_KEY_WRAP_ZERO_PAD),
    ],
    expectations: Some(include_str!("../expectations/cloudhsm.toml")),
    generated_gcm_ivs: true,
};

/// SoftHSMv2 2.6 compatibility: RFC 5649 under 0x210A.
pub const SOFTHSM: Profile = Profile {
    name: "softhsm",
    aliases: &[(CKM_KWP, CKM_AES_KEY_WRAP_PAD)],
    expectations: Some(include_str!("../expectations/softhsm2.toml")),
    generated_gcm_ivs: false,
};
