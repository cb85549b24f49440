//! CKM_EC_KEY_PAIR_GEN (PKCS#11 3.0 §6.3.5) on NIST P-256, and the encodings of CKA_EC_PARAMS
//! and CKA_EC_POINT (§2.3.3).
//!
//! CKA_EC_PARAMS is accepted as the DER `namedCurve` OID 1.2.840.10045.3.1.7 or as a DER
//! PrintableString curve name (`prime256v1`, `secp256r1`, `P-256`; PKCS#11 3.0 §2.3.3
//! "curveName"). CKA_EC_POINT is stored and returned as a DER OCTET STRING wrapping the
//! uncompressed SEC1 point.

use super::{MechanismInfo, flags};
use crate::error::{Error, Result};
use alloc::vec::Vec;

/// P-256 (256-bit keys) key-pair generation.
pub const INFO: MechanismInfo = MechanismInfo {
    min_key_size: 256,
    max_key_size: 256,
    flags: flags::GENERATE_KEY_PAIR | flags::EC_F_P | flags::EC_NAMEDCURVE | flags::EC_UNCOMPRESS,
};

/// DER of the P-256 OID 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1 `secp256r1`).
pub const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Checks that CKA_EC_PARAMS names P-256: CKR_ATTRIBUTE_VALUE_INVALID for other curves or
/// malformed DER.
pub fn check_params(params: &[u8]) -> Result<()> {
    if params == P256_PARAMS {
        return Ok(());
    }
    match params {
        [0x13, len, name @ ..] if usize::from(*len) == name.len() => match name {
            b"prime256v1" | b"secp256r1" | b"P-256" => Ok(()),
            _ => Err(Error::AttributeValueInvalid),
        },
        _ => Err(Error::AttributeValueInvalid),
    }
}

/// DER OCTET STRING around a SEC1 point (CKA_EC_POINT encoding).
pub fn encode_point(point: &[u8]) -> Result<Vec<u8>> {
    let len = u8::try_from(point.len())
        .ok()
        .filter(|l| *l < 0x80)
        .ok_or(Error::AttributeValueInvalid)?;
    let mut der = Vec::with_capacity(point.len() + 2);
    der.extend_from_slice(&[0x04, len]);
    der.extend_from_slice(point);
    Ok(der)
}

/// The SEC1 point inside a CKA_EC_POINT value. Accepts the DER OCTET STRING form and, for
/// interoperability with clients that send it, the bare point (a bare uncompressed P-256 point
/// is 65 bytes starting 0x04 and cannot be confused with the 67-byte DER form).
pub fn decode_point(value: &[u8]) -> Result<&[u8]> {
    match value {
        [0x04, len, point @ ..]
            if usize::from(*len) == point.len() && matches!(point.len(), 33 | 65) =>
        {
            Ok(point)
        }
        [0x02..=0x04, ..] => Ok(value),
        _ => Err(Error::AttributeValueInvalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_point_whose_x_starts_like_a_der_length_is_not_mistaken_for_der() {
        // 04 | x (x[0] = 63) | y: reading it as DER would claim a 63-byte payload.
        let mut point = alloc::vec![0x04u8; 65];
        point[1] = 63;
        assert_eq!(decode_point(&point), Ok(point.as_slice()));
        let der = encode_point(&point).unwrap_or_default();
        assert_eq!(decode_point(&der), Ok(point.as_slice()));
    }

    #[test]
    fn params_accept_the_oid_and_the_curve_names_only() {
        assert_eq!(check_params(&P256_PARAMS), Ok(()));
        for name in [&b"prime256v1"[..], b"secp256r1", b"P-256"] {
            let mut der = alloc::vec![0x13, u8::try_from(name.len()).unwrap()];
            der.extend_from_slice(name);
            assert_eq!(check_params(&der), Ok(()));
        }
        assert_eq!(
            check_params(b"\x13\x09secp384r1"),
            Err(Error::AttributeValueInvalid)
        );
        assert_eq!(check_params(&[]), Err(Error::AttributeValueInvalid));
    }
}
