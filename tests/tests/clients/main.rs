//! Real PKCS#11 clients against the built `libhsmemu_pkcs11.so` (one test binary; one module per
//! client). Each test uses its own persistent token in a scratch directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs,
    unreachable_pub
)]

mod cryptoki_crate;
mod openssl_engine;
mod p11tool;
mod pkcs11_tool;
mod python;
