//! Vendor profiles: the behaviour PKCS#11 implementations disagree on, as data.
//!
//! A [`Profile`] is chosen per token ([`crate::token::TokenConfig::profile`]) and read by the
//! code that owns each rule: [`crate::policy`] (CKA_EXTRACTABLE mutability), the HSM's login and
//! session functions (PIN format, read-only sessions) and the AES-GCM operations and wrapping
//! (IV source, multi-part support). Mechanism codes are the C boundary's business; the profile
//! only lists the vendor codes that stand for standard ones.
//!
//! Invariant: [`GENERIC`] is PKCS#11 3.0 to the letter, and no profile ever loosens a rule of
//! the attribute policy; a profile can only remove freedoms (fix CKA_EXTRACTABLE, refuse caller
//! IVs, multi-part GCM or read-only sessions) or change encodings (codes, PIN format).

/// How CKA_EXTRACTABLE may change after creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtractableRule {
    /// true -> false only (PKCS#11 3.0 §4.8, §4.9, table footnote 12).
    OnlyToFalse,
    /// Fixed at creation: any change is CKR_ATTRIBUTE_READ_ONLY (CloudHSM: "Modifiable with
    /// key set-attribute: No"; reference/cloudhsm-kms.md §1.9).
    FixedAtCreation,
}

/// What C_Login's PIN carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFormat {
    /// The PIN itself (PKCS#11 3.0 §5.6).
    Pin,
    /// `<user name>:<password>` (CloudHSM Client SDK 5, reference/cloudhsm-kms.md §1.2). The
    /// emulator has one user per role, so the name must be present but is not checked; the
    /// password is the PIN.
    UserColonPassword,
}

/// Where an AES-GCM encryption IV comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcmIvSource {
    /// The caller's `CK_GCM_PARAMS.pIv` (PKCS#11 3.0 §2.15.4 leaves the choice open).
    Caller,
    /// The HSM: the caller passes 12 zero bytes and C_EncryptInit (or C_WrapKey) writes the
    /// generated IV into `pIv`; a non-zero IV is CKR_MECHANISM_PARAM_INVALID (CloudHSM, FIPS SP 800-38D §8.2.2;
    /// reference/cloudhsm-kms.md §1.7).
    Generated,
}

/// A vendor profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Name in configuration files.
    pub name: &'static str,
    /// (vendor code, the standard CKM_* code it stands for), accepted at the C boundary in
    /// addition to the standard codes.
    pub mechanism_aliases: &'static [(u64, u64)],
    /// CKA_EXTRACTABLE mutability.
    pub extractable: ExtractableRule,
    /// C_Login's PIN format.
    pub login: LoginFormat,
    /// AES-GCM encryption IV source.
    pub gcm_iv: GcmIvSource,
    /// Whether AES-GCM runs multi-part (C_EncryptUpdate / C_DecryptUpdate).
    pub gcm_multipart: bool,
    /// Whether C_OpenSession accepts a session without CKF_RW_SESSION.
    pub read_only_sessions: bool,
}

/// PKCS#11 3.0 to the letter.
pub const GENERIC: Profile = Profile {
    name: "generic",
    mechanism_aliases: &[],
    extractable: ExtractableRule::OnlyToFalse,
    login: LoginFormat::Pin,
    gcm_iv: GcmIvSource::Caller,
    gcm_multipart: true,
    read_only_sessions: true,
};

/// AWS CloudHSM, Client SDK 5 (reference/cloudhsm-kms.md §1.2, §1.6, §1.7, §1.9): vendor key-wrap and GCM
/// codes, fixed CKA_EXTRACTABLE, `user:password` logins, HSM-generated GCM IVs, no read-only
/// sessions and no multi-part GCM (C_EncryptUpdate with AES-GCM is CKR_MECHANISM_INVALID, known issue
/// ki-pkcs11-8).
pub const CLOUDHSM: Profile = Profile {
    name: "cloudhsm",
    mechanism_aliases: &[
        // CKM_CLOUDHSM_AES_KEY_WRAP_NO_PAD: RFC 3394.
        (0x8000_2109, 0x2109),
        // CKM_CLOUDHSM_AES_KEY_WRAP_ZERO_PAD: RFC 5649.
        (0x8000_216F, 0x210B),
    ],
    extractable: ExtractableRule::FixedAtCreation,
    login: LoginFormat::UserColonPassword,
    gcm_iv: GcmIvSource::Generated,
    gcm_multipart: false,
    // SDK 5: C_OpenSession without CKF_RW_SESSION fails with CKR_FUNCTION_FAILED (known
    // issue ki-pkcs11-13).
    read_only_sessions: false,
};

/// SoftHSMv2 2.6 compatibility: RFC 5649 also under CKM_AES_KEY_WRAP_PAD (0x210A), the code
/// SoftHSMv2 uses for it (SoftHSMv2 issue #726).
pub const SOFTHSM: Profile = Profile {
    name: "softhsm",
    mechanism_aliases: &[(0x210A, 0x210B)],
    ..GENERIC
};

/// Every profile, for lookups by name.
pub const ALL: [&Profile; 3] = [&GENERIC, &CLOUDHSM, &SOFTHSM];

/// The profile called `name`.
pub fn by_name(name: &str) -> Option<&'static Profile> {
    ALL.into_iter().find(|p| p.name == name)
}

impl Profile {
    /// The standard code a caller's mechanism code stands for under this profile.
    pub fn standard_code(&self, code: u64) -> u64 {
        self.mechanism_aliases
            .iter()
            .find(|(vendor, _)| *vendor == code)
            .map_or(code, |(_, standard)| *standard)
    }

    /// The password part of a C_Login PIN, or `None` if the PIN does not have the profile's
    /// format.
    pub fn password<'a>(&self, pin: &'a [u8]) -> Option<&'a [u8]> {
        match self.login {
            LoginFormat::Pin => Some(pin),
            LoginFormat::UserColonPassword => {
                let colon = pin.iter().position(|b| *b == b':')?;
                (colon > 0).then(|| &pin[colon + 1..])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudhsm_pins_carry_a_user_name() {
        assert_eq!(CLOUDHSM.password(b"cu1:secret:x"), Some(&b"secret:x"[..]));
        assert_eq!(CLOUDHSM.password(b"secret"), None);
        assert_eq!(CLOUDHSM.password(b":secret"), None);
        assert_eq!(GENERIC.password(b"a:b"), Some(&b"a:b"[..]));
    }

    #[test]
    fn aliases_map_vendor_codes_only() {
        assert_eq!(CLOUDHSM.standard_code(0x8000_216F), 0x210B);
        assert_eq!(CLOUDHSM.standard_code(0x2109), 0x2109);
        assert_eq!(SOFTHSM.standard_code(0x210A), 0x210B);
        assert_eq!(GENERIC.standard_code(0x210A), 0x210A);
        assert_eq!(by_name("cloudhsm"), Some(&CLOUDHSM));
        assert_eq!(by_name("luna"), None);
    }
}
