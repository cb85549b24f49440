//! Token stores: where a token's sealed records and state live. `file` is the persistent
//! one; in-memory tokens use the emulator's `RamStore`.

pub mod file;
