//! hsmemu's integration tests: one binary (STYLE.md convention 6), one module per area.
//! Test names match docs/invariants.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod common;
mod hierarchy;
mod known_answers;
mod mechanisms;
mod policy;
mod profiles;
mod roundtrips;
mod tokens;
