//! # hsmemu-conformance: the same PKCS#11 scenarios against any module, side by side
//!
//! * [`loader`]: the only `unsafe` code: loads a module (C_GetInterface, then
//!   C_GetFunctionList) or takes the embedded emulator, and wraps the function table;
//! * [`scenario`]: scenarios, their context and outcome helpers;
//! * [`catalogue`]: every scenario, by area (wrap, reimport, policy, vectors, errors, crypto);
//! * [`cross`]: a key wrapped in one module and unwrapped in another, for every pair;
//! * [`runner`]: runs the catalogue against one module and applies its expectation file;
//! * [`report`]: table, JSON, JUnit XML and Markdown;
//! * [`bench`](mod@bench): the same operations timed through the C ABI, side by side;
//! * [`profile`]: vendor profiles (mechanism aliases and expectation files);
//! * [`search`]: property-based search for a call sequence that leaks a protected key;
//! * [`rv`]: CK_RV names.
//!
//! Outcomes follow rustls's conformance runner: UNSUPPORTED (a mechanism or function the module
//! lacks) is not a failure, and a KNOWN-DEVIATION is one an expectation file lists with a reason;
//! an entry that no longer matches is reported as stale.
#![deny(unsafe_code)]

pub mod bench;
pub mod catalogue;
pub mod cross;
pub mod loader;
pub mod profile;
pub mod report;
pub mod runner;
pub mod rv;
pub mod scenario;
pub mod search;
