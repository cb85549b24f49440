//! Known-answer test data for hsmemu, with typed, `no_std` + `alloc` accessors.
//!
//! This crate owns test data only: no cryptography. Every set names its origin here and in
//! `SOURCES.md`; tiny sets (the RFC examples) are inline, bulk sets are the upstream files
//! compiled in with `include_str!` and parsed on demand.
//!
//! | module | origin |
//! |---|---|
//! | [`rfc3394`] | RFC 3394 §4.1–§4.6 (AES Key Wrap) |
//! | [`rfc5649`] | RFC 5649 §6 (AES Key Wrap with Padding) |
//! | [`nist_sp800_38f`] | NIST CAVP SP 800-38F KW / KWP sample vectors (AE and AD, forward cipher) |
//! | [`wycheproof`] | Project Wycheproof: AES-GCM, AES-KW, AES-KWP, ECDSA P-256/SHA-256 (DER, P1363), ECDH P-256 |
//!
//! Invariant: parsing the compiled-in data never panics; malformed data is a [`VectorError`].
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod nist_sp800_38f;
pub mod rfc3394;
pub mod rfc5649;
pub mod wycheproof;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What a correct implementation must do with a case.
///
/// Wycheproof's `result` field (valid / invalid / acceptable); NIST CAVP `FAIL` entries are
/// `Invalid`; RFC examples are `Valid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The operation must succeed with exactly the expected output.
    Valid,
    /// The operation must be rejected.
    Invalid,
    /// Either outcome is allowed (Wycheproof "acceptable": legacy or edge encodings).
    Acceptable,
}

/// Which direction of a key-wrap vector is a known answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Wrapping `plaintext` under `kek` must give `wrapped`, and unwrapping gives it back.
    Both,
    /// Only authenticated decryption is specified (NIST "AD" files).
    UnwrapOnly,
}

/// One key-wrap known answer (RFC 3394 / RFC 5649 / NIST SP 800-38F / Wycheproof keywrap).
#[derive(Clone, Debug)]
pub struct KeyWrapCase {
    /// Where the case comes from, e.g. `RFC 3394 §4.1` or `KW_AD_128.txt COUNT=3 (len 128)`.
    pub source: String,
    /// The key-encryption key.
    pub kek: Vec<u8>,
    /// The key data (empty for an `Invalid` unwrap-only case).
    pub plaintext: Vec<u8>,
    /// The wrapped data.
    pub wrapped: Vec<u8>,
    /// Which directions are known answers.
    pub direction: Direction,
    /// The required outcome.
    pub expect: Expectation,
}

/// Errors decoding compiled-in vector data (a bug in this crate's data, never expected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VectorError {
    /// A JSON file did not match the expected schema.
    Json(String),
    /// A field was not valid hexadecimal.
    Hex(String),
    /// A line of a CAVP response file could not be understood.
    Cavp(String),
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VectorError::Json(m) => write!(f, "malformed JSON vector data: {m}"),
            VectorError::Hex(m) => write!(f, "malformed hex in vector data: {m}"),
            VectorError::Cavp(m) => write!(f, "malformed CAVP vector data: {m}"),
        }
    }
}

impl core::error::Error for VectorError {}

pub(crate) fn unhex(field: &str) -> Result<Vec<u8>, VectorError> {
    hex::decode(field).map_err(|e| VectorError::Hex(alloc::format!("{field:.32}: {e}")))
}

/// An inline example: (source, KEK, key data, wrapped data), valid in both directions.
pub(crate) type InlineExample = (&'static str, &'static [u8], &'static [u8], &'static [u8]);

pub(crate) fn inline_cases(examples: &[InlineExample]) -> Vec<KeyWrapCase> {
    examples
        .iter()
        .map(|(source, kek, plaintext, wrapped)| KeyWrapCase {
            source: (*source).into(),
            kek: kek.to_vec(),
            plaintext: plaintext.to_vec(),
            wrapped: wrapped.to_vec(),
            direction: Direction::Both,
            expect: Expectation::Valid,
        })
        .collect()
}
