//! NIST CAVP sample vectors for SP 800-38F key wrapping (CAVS 17.4, "kwtestvectors"), as shipped
//! in the `cryptography-vectors` distribution. Only the forward-cipher files are included
//! (`*_inv.txt` use the AES inverse cipher as the wrapping function, which PKCS#11's
//! CKM_AES_KEY_WRAP / CKM_AES_KEY_WRAP_KWP do not).
//!
//! * `KW_AE_*` / `KWP_AE_*`: authenticated encryption: K, P -> C (valid both ways).
//! * `KW_AD_*` / `KWP_AD_*`: authenticated decryption: K, C -> P, or `FAIL` (20 per 100 trials).

use crate::{Direction, Expectation, KeyWrapCase, VectorError, unhex};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

macro_rules! files {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../data/nist-sp800-38f/", $name)))),*]
    };
}

const KW_FILES: [(&str, &str); 6] = files!(
    "KW_AE_128.txt",
    "KW_AE_192.txt",
    "KW_AE_256.txt",
    "KW_AD_128.txt",
    "KW_AD_192.txt",
    "KW_AD_256.txt",
);

const KWP_FILES: [(&str, &str); 6] = files!(
    "KWP_AE_128.txt",
    "KWP_AE_192.txt",
    "KWP_AE_256.txt",
    "KWP_AD_128.txt",
    "KWP_AD_192.txt",
    "KWP_AD_256.txt",
);

/// Every SP 800-38F KW (RFC 3394) sample vector: 3,000 cases, 300 of them `Invalid`.
pub fn kw() -> Result<Vec<KeyWrapCase>, VectorError> {
    parse_files(&KW_FILES)
}

/// Every SP 800-38F KWP (RFC 5649) sample vector: 3,000 cases, 300 of them `Invalid`.
pub fn kwp() -> Result<Vec<KeyWrapCase>, VectorError> {
    parse_files(&KWP_FILES)
}

fn parse_files(files: &[(&str, &str)]) -> Result<Vec<KeyWrapCase>, VectorError> {
    let mut out = Vec::new();
    for (name, text) in files {
        let direction = if name.contains("_AD_") {
            Direction::UnwrapOnly
        } else {
            Direction::Both
        };
        parse_response_file(name, text, direction, &mut out)?;
    }
    Ok(out)
}

/// A CAVP `.rsp`-style file: `[PLAINTEXT LENGTH = n]` sections of blank-line separated
/// `COUNT = i` / `K = ..` / `P = ..` / `C = ..` records, where `FAIL` replaces `P` on a case
/// that must be rejected.
fn parse_response_file(
    name: &str,
    text: &str,
    direction: Direction,
    out: &mut Vec<KeyWrapCase>,
) -> Result<(), VectorError> {
    let mut section = String::new();
    let mut record = Record::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            record.finish(name, &section, direction, out)?;
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = inner.into();
            continue;
        }
        if line == "FAIL" {
            record.fail = true;
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| VectorError::Cavp(format!("{name}: unexpected line {line:.40}")))?;
        let value = value.trim();
        match key.trim() {
            "COUNT" => record.count = Some(value.into()),
            "K" => record.k = Some(unhex(value)?),
            "P" => record.p = Some(unhex(value)?),
            "C" => record.c = Some(unhex(value)?),
            other => return Err(VectorError::Cavp(format!("{name}: unknown field {other}"))),
        }
    }
    record.finish(name, &section, direction, out)
}

#[derive(Default)]
struct Record {
    count: Option<String>,
    k: Option<Vec<u8>>,
    p: Option<Vec<u8>>,
    c: Option<Vec<u8>>,
    fail: bool,
}

impl Record {
    fn finish(
        &mut self,
        name: &str,
        section: &str,
        direction: Direction,
        out: &mut Vec<KeyWrapCase>,
    ) -> Result<(), VectorError> {
        let record = core::mem::take(self);
        let Some(count) = record.count else {
            return Ok(());
        };
        let missing = || VectorError::Cavp(format!("{name}: COUNT {count} is incomplete"));
        let kek = record.k.ok_or_else(missing)?;
        let wrapped = record.c.ok_or_else(missing)?;
        let (plaintext, expect) = match (record.p, record.fail) {
            (Some(p), false) => (p, Expectation::Valid),
            (None, true) => (Vec::new(), Expectation::Invalid),
            _ => return Err(missing()),
        };
        out.push(KeyWrapCase {
            source: format!("{name} [{section}] COUNT={count}"),
            kek,
            plaintext,
            wrapped,
            direction,
            expect,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_to_500_cases_with_100_failures_per_ad_file() {
        for set in [kw().unwrap(), kwp().unwrap()] {
            assert_eq!(set.len(), 3000);
            let invalid = set
                .iter()
                .filter(|c| c.expect == Expectation::Invalid)
                .count();
            assert_eq!(invalid, 300);
            assert!(set.iter().all(|c| c.expect == Expectation::Valid
                || c.direction == Direction::UnwrapOnly));
        }
    }
}
