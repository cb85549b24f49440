//! # hsmemu-pkcs11: the emulator as a PKCS#11 module
//!
//! `libhsmemu_pkcs11.so` serves the [`hsmemu`] HSM model to unmodified PKCS#11 clients
//! (pkcs11-tool, p11tool, OpenSSL, python-pkcs11, the `cryptoki` crate, p11-kit). It exports
//! `C_GetFunctionList`, `C_GetInterfaceList` and `C_GetInterface` (PKCS#11 3.0 §5.4).
//!
//! Layout:
//! * [`ffi`]: the only `unsafe` code: exported symbols, function tables, `extern "C"` functions
//!   and the pointer helpers they use;
//! * [`convert`]: C representations to emulator types and the one `Error -> CK_RV` match;
//! * [`module`]: process state (slots, tokens) and the safe body of every function;
//! * [`config`]: zero-config and TOML configuration (docs/configuration.md);
//! * [`audit`]: the hash-chained audit log of every call;
//! * [`platform`]: the RNG, clock and store each token runs on;
//! * [`store`]: persistent token directories (`store/file.rs`);
//! * [`info`]: CK_INFO, CK_SLOT_INFO, CK_TOKEN_INFO.

pub mod audit;
pub mod config;
pub mod convert;
pub mod ffi;
pub mod info;
pub mod module;
pub mod platform;
pub mod store;

pub use ffi::tables::{
    C_GetFunctionList, C_GetInterface, C_GetInterfaceList, FUNCTION_LIST_2_40, FUNCTION_LIST_3_0,
};
