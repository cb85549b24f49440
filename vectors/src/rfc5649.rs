//! RFC 5649 §6 (Padded Key Wrap Examples), both: "Advanced Encryption Standard (AES) Key Wrap
//! with Padding Algorithm", R. Housley and M. Dworkin, 2009. Copied from the RFC text.

use crate::KeyWrapCase;
use alloc::vec::Vec;
use hex_literal::hex;

/// (section, KEK, key data, ciphertext)
const EXAMPLES: [crate::InlineExample; 2] = [
    (
        "RFC 5649 §6 (20-octet key, 192-bit KEK)",
        &hex!("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"),
        &hex!("c37b7e6492584340bed12207808941155068f738"),
        &hex!("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
    ),
    (
        "RFC 5649 §6 (7-octet key, 192-bit KEK)",
        &hex!("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"),
        &hex!("466f7250617369"),
        &hex!("afbeb0f07dfbf5419200f2ccb50bb24f"),
    ),
];

/// The two RFC 5649 §6 examples, each valid in both directions.
pub fn cases() -> Vec<KeyWrapCase> {
    crate::inline_cases(&EXAMPLES)
}
