//! The attribute policy: every rule about who may set, change, read, wrap and unwrap what,
//! as one table plus a few functions that read it (PKCS#11 3.0 §4.4–§4.9 and their table
//! footnotes, §5.7 C_CopyObject / C_SetAttributeValue, §5.18 key management).
//!
//! The rest of the emulator never decides an attribute question itself: it asks this module.
//! Every rule here is listed in `docs/invariants.md` with the test that checks it.
//!
//! Invariants kept:
//! * CKA_SENSITIVE only goes false -> true; CKA_EXTRACTABLE only true -> false; CKA_WRAP_WITH_TRUSTED
//!   only false -> true; CKA_COPYABLE only true -> false (footnotes 11, 12).
//! * CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE are computed
//!   here and never accepted from a caller.
//! * CKA_VALUE of a sensitive or unextractable key is never revealed (footnote 7).
//! * Only the SO sets CKA_TRUSTED to true (footnote 10).
//! * C_CopyObject and C_SetAttributeValue go through the same change check, so a copy can
//!   never be looser than its source.

use crate::attributes::{
    Attribute, AttributeMap, AttributeType as A, AttributeValue, KeyType, ObjectClass, ValueKind,
};
use crate::error::{Error, Result};
use crate::profile::{ExtractableRule, Profile};
use alloc::vec::Vec;

/// The value PKCS#11 calls CK_UNAVAILABLE_INFORMATION (`~0`), used for CKA_KEY_GEN_MECHANISM of
/// keys that were not generated (PKCS#11 3.0 §4.7).
pub const UNAVAILABLE_INFORMATION: u64 = u64::MAX;

/// How an object comes into being; the spec's footnotes 1–6 differ by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// C_CreateObject: the caller supplies the value.
    Create,
    /// C_GenerateKey / C_GenerateKeyPair with this mechanism code.
    Generate(u64),
    /// C_UnwrapKey.
    Unwrap,
    /// C_DeriveKey from a base key with these (always-sensitive, never-extractable) flags.
    Derive {
        /// The base key's CKA_ALWAYS_SENSITIVE.
        base_always_sensitive: bool,
        /// The base key's CKA_NEVER_EXTRACTABLE.
        base_never_extractable: bool,
    },
}

/// Who is asking: the SO may do a few things a user may not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Not logged in, or logged in as the normal user.
    User,
    /// Logged in as the Security Officer.
    SecurityOfficer,
}

/// Which function is changing an existing object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// C_SetAttributeValue.
    Set,
    /// C_CopyObject's template.
    Copy,
}

// Class masks.
const DATA: u8 = 1 << 0;
const PUB: u8 = 1 << 1;
const PRIV: u8 = 1 << 2;
const SECRET: u8 = 1 << 3;
const KEYS: u8 = PUB | PRIV | SECRET;
const ALL: u8 = DATA | KEYS;

// Rule flags, named after the footnotes of PKCS#11 3.0 §4 tables.
/// Footnote 1: must be specified in C_CreateObject.
const MUST_CREATE: u16 = 1 << 0;
/// Footnote 2: must not be specified in C_CreateObject.
const NOT_CREATE: u16 = 1 << 1;
/// Footnote 3: must be specified in C_GenerateKey(Pair).
const MUST_GENERATE: u16 = 1 << 2;
/// Footnote 4: must not be specified in C_GenerateKey(Pair).
const NOT_GENERATE: u16 = 1 << 3;
/// Footnote 6: must not be specified in C_UnwrapKey (nor, here, C_DeriveKey).
const NOT_UNWRAP: u16 = 1 << 4;
/// Footnote 7: not revealed if the key is sensitive or unextractable.
const HIDDEN: u16 = 1 << 5;
/// Footnote 8: may be changed by C_SetAttributeValue and C_CopyObject.
const CHANGEABLE: u16 = 1 << 6;
/// May be changed by C_CopyObject only (CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_DESTROYABLE; §4.4).
const COPY_CHANGEABLE: u16 = 1 << 7;
/// Footnote 10: only the SO may set it to true.
const SO_SETS_TRUE: u16 = 1 << 8;
/// Footnote 11: once true, read-only.
const STICKY_TRUE: u16 = 1 << 9;
/// Footnote 12: once false, read-only.
const STICKY_FALSE: u16 = 1 << 10;
/// Computed by the token: never specified by a caller, never changed.
const COMPUTED: u16 = NOT_CREATE | NOT_GENERATE | NOT_UNWRAP;

struct Rule {
    ty: A,
    classes: u8,
    flags: u16,
}

const fn rule(ty: A, classes: u8, flags: u16) -> Rule {
    Rule { ty, classes, flags }
}

/// The policy table. The first row whose type and class match decides.
const RULES: &[Rule] = &[
    // Storage objects (§4.4).
    rule(A::Class, ALL, MUST_CREATE),
    rule(A::Token, ALL, COPY_CHANGEABLE),
    // Stricter than §4.4: a copy may make an object private, never public again.
    rule(A::Private, ALL, COPY_CHANGEABLE | STICKY_TRUE),
    rule(A::Modifiable, ALL, COPY_CHANGEABLE | STICKY_FALSE),
    rule(A::Copyable, ALL, CHANGEABLE | STICKY_FALSE),
    rule(A::Destroyable, ALL, COPY_CHANGEABLE),
    rule(A::Label, ALL, CHANGEABLE),
    // Data objects (§4.5).
    rule(A::Application, DATA, CHANGEABLE),
    rule(A::ObjectId, DATA, CHANGEABLE),
    rule(A::Value, DATA, CHANGEABLE),
    // Keys (§4.7).
    rule(A::KeyType, KEYS, MUST_CREATE),
    rule(A::Id, KEYS, CHANGEABLE),
    rule(A::StartDate, KEYS, CHANGEABLE),
    rule(A::EndDate, KEYS, CHANGEABLE),
    rule(A::Derive, KEYS, CHANGEABLE),
    rule(A::Local, KEYS, COMPUTED),
    rule(A::KeyGenMechanism, KEYS, COMPUTED),
    // Usage (§4.8, §4.9).
    rule(A::Encrypt, PUB | SECRET, CHANGEABLE),
    rule(A::Verify, PUB | SECRET, CHANGEABLE),
    rule(A::Wrap, PUB | SECRET, CHANGEABLE),
    rule(A::Decrypt, PRIV | SECRET, CHANGEABLE),
    rule(A::Sign, PRIV | SECRET, CHANGEABLE),
    rule(A::Unwrap, PRIV | SECRET, CHANGEABLE),
    // Protection of private and secret keys (§4.8, §4.9).
    rule(A::Sensitive, PRIV | SECRET, CHANGEABLE | STICKY_TRUE),
    rule(A::Extractable, PRIV | SECRET, CHANGEABLE | STICKY_FALSE),
    rule(A::AlwaysSensitive, PRIV | SECRET, COMPUTED),
    rule(A::NeverExtractable, PRIV | SECRET, COMPUTED),
    rule(A::WrapWithTrusted, PRIV | SECRET, CHANGEABLE | STICKY_TRUE),
    rule(A::Trusted, PUB | SECRET, CHANGEABLE | SO_SETS_TRUE),
    rule(A::WrapTemplate, PUB | SECRET, 0),
    rule(A::UnwrapTemplate, PRIV | SECRET, 0),
    // Re-authentication per use is not modelled: readable (false), and true is refused.
    rule(A::AlwaysAuthenticate, PRIV, 0),
    // Key values (§2.3.3 EC, §2.9 generic secret, §2.10 AES).
    rule(
        A::Value,
        PRIV | SECRET,
        MUST_CREATE | NOT_GENERATE | NOT_UNWRAP | HIDDEN,
    ),
    rule(A::ValueLen, SECRET, NOT_CREATE | MUST_GENERATE),
    rule(A::CheckValue, SECRET, NOT_GENERATE | NOT_UNWRAP),
    rule(A::EcParams, PUB, MUST_CREATE | MUST_GENERATE),
    rule(A::EcParams, PRIV, MUST_CREATE | NOT_GENERATE | NOT_UNWRAP),
    rule(A::EcPoint, PUB, MUST_CREATE | NOT_GENERATE),
];

fn mask(class: ObjectClass) -> u8 {
    match class {
        ObjectClass::Data => DATA,
        ObjectClass::PublicKey => PUB,
        ObjectClass::PrivateKey => PRIV,
        ObjectClass::SecretKey => SECRET,
    }
}

fn lookup(class: ObjectClass, ty: A) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.ty == ty && r.classes & mask(class) != 0)
}

fn lookup_valid(class: ObjectClass, attr: &Attribute) -> Result<&'static Rule> {
    let rule = lookup(class, attr.ty).ok_or(Error::AttributeTypeInvalid)?;
    if attr.value.kind() != attr.ty.kind() {
        return Err(Error::AttributeValueInvalid);
    }
    Ok(rule)
}

/// Whether `ty` is an attribute of objects of `class` (else C_GetAttributeValue reports
/// CKR_ATTRIBUTE_TYPE_INVALID for it, PKCS#11 3.0 §5.7).
pub fn applies(class: ObjectClass, ty: A) -> bool {
    lookup(class, ty).is_some()
}

/// Checks a creation template (C_CreateObject, C_GenerateKey(Pair), C_UnwrapKey, C_DeriveKey)
/// against the footnote rules: unknown or misplaced attributes, wrong value kinds, attributes a
/// caller must not specify, SO-only values, and contradictory duplicates.
pub fn check_new_template(
    class: ObjectClass,
    origin: Origin,
    template: &[Attribute],
    caller: Caller,
) -> Result<()> {
    for (i, attr) in template.iter().enumerate() {
        let rule = lookup_valid(class, attr)?;
        let forbidden = match origin {
            Origin::Create => NOT_CREATE,
            Origin::Generate(_) => NOT_GENERATE,
            Origin::Unwrap | Origin::Derive { .. } => NOT_UNWRAP,
        };
        if rule.flags & forbidden != 0 {
            return Err(Error::AttributeReadOnly);
        }
        if rule.flags & SO_SETS_TRUE != 0
            && attr.value == AttributeValue::Bool(true)
            && caller != Caller::SecurityOfficer
        {
            return Err(Error::AttributeReadOnly);
        }
        if let AttributeValue::Template(inner) = &attr.value {
            check_nested_template(inner)?;
        }
        if attr.ty == A::AlwaysAuthenticate && attr.value == AttributeValue::Bool(true) {
            return Err(Error::AttributeValueInvalid);
        }
        if template[..i]
            .iter()
            .any(|a| a.ty == attr.ty && a.value != attr.value)
        {
            return Err(Error::TemplateInconsistent);
        }
    }
    Ok(())
}

/// A CKA_WRAP_TEMPLATE / CKA_UNWRAP_TEMPLATE may hold plain attributes only: no nesting, no
/// key values (PKCS#11 3.0 §4.9).
fn check_nested_template(inner: &[Attribute]) -> Result<()> {
    for a in inner {
        if a.value.kind() != a.ty.kind() || a.ty.kind() == ValueKind::Template || a.ty == A::Value {
            return Err(Error::AttributeValueInvalid);
        }
    }
    Ok(())
}

/// Whether the attributes a path must supply are present (footnotes 1 and 3).
pub fn check_required(class: ObjectClass, origin: Origin, template: &[Attribute]) -> Result<()> {
    let required = match origin {
        Origin::Create => MUST_CREATE,
        Origin::Generate(_) => MUST_GENERATE,
        Origin::Unwrap | Origin::Derive { .. } => 0,
    };
    let m = mask(class);
    let missing = RULES
        .iter()
        .filter(|r| r.classes & m != 0 && r.flags & required != 0)
        // CKA_CLASS and CKA_KEY_TYPE may come from the mechanism instead of the template.
        .filter(|r| !matches!(r.ty, A::Class | A::KeyType))
        // CKA_VALUE_LEN is fixed by the mechanism for some key types (checked by the caller).
        .filter(|r| r.ty != A::ValueLen)
        .any(|r| !template.iter().any(|a| a.ty == r.ty));
    if missing {
        Err(Error::TemplateIncomplete)
    } else {
        Ok(())
    }
}

/// Applies defaults and computed attributes to a new object's attributes (PKCS#11 3.0 §4.4,
/// §4.7–4.9), after its template has been copied in.
///
/// Defaults (the spec leaves them token-specific, footnote 9; documented in docs/invariants.md):
/// keys are private, sensitive and *not* extractable unless the template says otherwise; usage
/// flags the key type supports default to true; CKA_TRUSTED and CKA_WRAP_WITH_TRUSTED to false.
pub fn finish_new(attrs: &mut AttributeMap, class: ObjectClass, origin: Origin) {
    let default = |attrs: &mut AttributeMap, ty: A, v: bool| {
        if !attrs.contains(ty) {
            attrs.set_bool(ty, v);
        }
    };
    default(attrs, A::Token, false);
    default(
        attrs,
        A::Private,
        matches!(class, ObjectClass::PrivateKey | ObjectClass::SecretKey),
    );
    default(attrs, A::Modifiable, true);
    default(attrs, A::Copyable, true);
    default(attrs, A::Destroyable, true);
    if !attrs.contains(A::Label) {
        attrs.set(A::Label, AttributeValue::bytes(Vec::new()));
    }
    if !class.is_key() {
        return;
    }
    if !attrs.contains(A::Id) {
        attrs.set(A::Id, AttributeValue::bytes(Vec::new()));
    }
    let ec = attrs.key_type() == Some(KeyType::Ec);
    for (ty, classes) in [
        (A::Encrypt, if ec { 0 } else { PUB | SECRET }),
        (A::Decrypt, if ec { 0 } else { PRIV | SECRET }),
        (A::Wrap, if ec { 0 } else { PUB | SECRET }),
        (A::Unwrap, if ec { 0 } else { PRIV | SECRET }),
        (A::Sign, PRIV | SECRET),
        (A::Verify, PUB | SECRET),
        (A::Derive, if ec { PRIV } else { SECRET }),
    ] {
        if lookup(class, ty).is_some() {
            default(attrs, ty, classes & mask(class) != 0);
        }
    }
    if class == ObjectClass::PublicKey || class == ObjectClass::SecretKey {
        default(attrs, A::Trusted, false);
    }
    let (local, mechanism) = match origin {
        Origin::Generate(m) => (true, m),
        _ => (false, UNAVAILABLE_INFORMATION),
    };
    attrs.set_bool(A::Local, local);
    attrs.set(A::KeyGenMechanism, AttributeValue::Ulong(mechanism));
    if class == ObjectClass::PublicKey {
        return;
    }
    if class == ObjectClass::PrivateKey {
        default(attrs, A::AlwaysAuthenticate, false);
    }
    default(attrs, A::Sensitive, true);
    default(attrs, A::Extractable, false);
    default(attrs, A::WrapWithTrusted, false);
    let sensitive = attrs.flag(A::Sensitive);
    let extractable = attrs.flag(A::Extractable);
    let (always_sensitive, never_extractable) = match origin {
        Origin::Generate(_) => (sensitive, !extractable),
        Origin::Create | Origin::Unwrap => (false, false),
        Origin::Derive {
            base_always_sensitive,
            base_never_extractable,
        } => (
            base_always_sensitive && sensitive,
            base_never_extractable && !extractable,
        ),
    };
    attrs.set_bool(A::AlwaysSensitive, always_sensitive);
    attrs.set_bool(A::NeverExtractable, never_extractable);
}

/// Checks that `template` may be applied to an existing object (C_SetAttributeValue or the
/// template of C_CopyObject), so that no change loosens a rule (PKCS#11 3.0 §5.7). Under a
/// profile with [`ExtractableRule::FixedAtCreation`], CKA_EXTRACTABLE does not change at all.
pub fn check_change(
    attrs: &AttributeMap,
    class: ObjectClass,
    template: &[Attribute],
    change: Change,
    caller: Caller,
    profile: &Profile,
) -> Result<()> {
    if change == Change::Set && !attrs.flag(A::Modifiable) {
        return Err(Error::ActionProhibited);
    }
    if change == Change::Copy && !attrs.flag(A::Copyable) {
        return Err(Error::ActionProhibited);
    }
    for (i, attr) in template.iter().enumerate() {
        let rule = lookup_valid(class, attr)?;
        if template[..i]
            .iter()
            .any(|a| a.ty == attr.ty && a.value != attr.value)
        {
            return Err(Error::TemplateInconsistent);
        }
        if rule.flags & HIDDEN != 0 {
            // A key value never changes, and re-stating it would confirm a guess.
            return Err(Error::AttributeReadOnly);
        }
        let changeable = rule.flags & CHANGEABLE != 0
            || (change == Change::Copy && rule.flags & COPY_CHANGEABLE != 0);
        if !changeable {
            return Err(Error::AttributeReadOnly);
        }
        let current = attrs.get(attr.ty);
        if current == Some(&attr.value) {
            continue;
        }
        let was_true = current == Some(&AttributeValue::Bool(true));
        let now_true = attr.value == AttributeValue::Bool(true);
        if rule.flags & STICKY_TRUE != 0 && was_true && !now_true {
            return Err(Error::AttributeReadOnly);
        }
        if rule.flags & STICKY_FALSE != 0 && !was_true && now_true {
            return Err(Error::AttributeReadOnly);
        }
        if rule.flags & SO_SETS_TRUE != 0 && now_true && caller != Caller::SecurityOfficer {
            return Err(Error::AttributeReadOnly);
        }
        if attr.ty == A::Extractable && profile.extractable == ExtractableRule::FixedAtCreation {
            return Err(Error::AttributeReadOnly);
        }
    }
    Ok(())
}

/// Applies a checked change; computed attributes follow the spec's "always" / "never" meaning:
/// CKA_ALWAYS_SENSITIVE never becomes true again, CKA_NEVER_EXTRACTABLE never becomes true again.
pub fn apply_change(attrs: &mut AttributeMap, template: &[Attribute]) {
    for a in template {
        attrs.set(a.ty, a.value.clone());
    }
}

/// Whether attribute `ty` of an object may be revealed by C_GetAttributeValue (PKCS#11 3.0
/// §5.7, footnote 7): `Err(AttributeTypeInvalid)` if the object has no such attribute,
/// `Err(AttributeSensitive)` if it is a hidden value of a sensitive or unextractable key.
pub fn check_readable(attrs: &AttributeMap, class: ObjectClass, ty: A) -> Result<()> {
    let rule = lookup(class, ty).ok_or(Error::AttributeTypeInvalid)?;
    if rule.flags & HIDDEN != 0 && (attrs.flag(A::Sensitive) || !attrs.flag(A::Extractable)) {
        return Err(Error::AttributeSensitive);
    }
    Ok(())
}

/// Checks that a key may use a function, by its usage attribute (CKA_ENCRYPT, CKA_SIGN, ...;
/// PKCS#11 3.0 §4.8, §4.9): CKR_KEY_FUNCTION_NOT_PERMITTED otherwise.
pub fn check_usage(attrs: &AttributeMap, usage: A) -> Result<()> {
    if attrs.flag(usage) {
        Ok(())
    } else {
        Err(Error::KeyFunctionNotPermitted)
    }
}

/// The C_WrapKey rules (PKCS#11 3.0 §5.18.6, §4.9): the wrapping key has CKA_WRAP; the target
/// is extractable; a CKA_WRAP_WITH_TRUSTED target needs a CKA_TRUSTED wrapping key; the target
/// matches the wrapping key's CKA_WRAP_TEMPLATE.
pub fn check_wrap(wrapping_key: &AttributeMap, target: &AttributeMap) -> Result<()> {
    check_usage(wrapping_key, A::Wrap)?;
    if !target.flag(A::Extractable) {
        return Err(Error::KeyUnextractable);
    }
    if target.flag(A::WrapWithTrusted) && !wrapping_key.flag(A::Trusted) {
        return Err(Error::KeyNotWrappable);
    }
    if let Some(template) = wrapping_key.template(A::WrapTemplate)
        && !target.matches(template)
    {
        return Err(Error::KeyNotWrappable);
    }
    Ok(())
}

/// Merges the unwrapping key's CKA_UNWRAP_TEMPLATE into the caller's C_UnwrapKey template
/// (PKCS#11 3.0 §4.9): attributes the caller omitted are added; a caller value that differs
/// from the template's is CKR_TEMPLATE_INCONSISTENT.
pub fn merge_unwrap_template(
    unwrapping_key: &AttributeMap,
    template: &[Attribute],
) -> Result<Vec<Attribute>> {
    let mut merged = template.to_vec();
    for forced in unwrapping_key
        .template(A::UnwrapTemplate)
        .unwrap_or_default()
    {
        match template.iter().find(|a| a.ty == forced.ty) {
            Some(given) if given.value != forced.value => return Err(Error::TemplateInconsistent),
            Some(_) => {}
            None => merged.push(forced.clone()),
        }
    }
    Ok(merged)
}

/// Marks a generated public key as local and records its generation mechanism (PKCS#11 3.0
/// §4.7). Its CKA_EC_POINT is computed by the token, so it is assembled through the create path
/// and corrected here.
pub fn finish_generated_public(attrs: &mut AttributeMap, mechanism: u64) {
    attrs.set_bool(A::Local, true);
    attrs.set(A::KeyGenMechanism, AttributeValue::Ulong(mechanism));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_type_has_a_rule() {
        for ty in A::ALL {
            assert!(RULES.iter().any(|r| r.ty == *ty), "{ty}");
        }
    }

    #[test]
    fn sticky_rules_are_changeable_booleans() {
        for r in RULES
            .iter()
            .filter(|r| r.flags & (STICKY_TRUE | STICKY_FALSE | SO_SETS_TRUE) != 0)
        {
            assert_eq!(r.ty.kind(), ValueKind::Bool, "{}", r.ty);
            assert!(r.flags & (CHANGEABLE | COPY_CHANGEABLE) != 0, "{}", r.ty);
        }
    }

    #[test]
    fn computed_and_hidden_rules_are_never_changeable() {
        for r in RULES
            .iter()
            .filter(|r| r.flags & COMPUTED == COMPUTED || r.flags & HIDDEN != 0)
        {
            assert_eq!(r.flags & (CHANGEABLE | COPY_CHANGEABLE), 0, "{}", r.ty);
        }
    }

    #[test]
    fn unwrap_template_merge_adds_and_detects_conflicts() {
        let mut kek = AttributeMap::new();
        kek.set(
            A::UnwrapTemplate,
            AttributeValue::Template(alloc::vec![Attribute::bool(A::Extractable, false)]),
        );
        let merged =
            merge_unwrap_template(&kek, &[Attribute::bool(A::Sign, true)]).unwrap_or_default();
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merge_unwrap_template(&kek, &[Attribute::bool(A::Extractable, true)]),
            Err(Error::TemplateInconsistent)
        );
        assert!(merge_unwrap_template(&kek, &[Attribute::bool(A::Extractable, false)]).is_ok());
    }
}
