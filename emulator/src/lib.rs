//! # hsmemu: an HSM model
//!
//! A `no_std` + `alloc` model of a hardware security module, for testing software that talks
//! to HSMs without the hardware. It owns:
//!
//! * the **attribute policy** of PKCS#11 objects ([`policy`]): sensitive and unextractable keys
//!   never leave in the clear, sticky attributes never flip back, wrapping obeys CKA_WRAP,
//!   CKA_TRUSTED / CKA_WRAP_WITH_TRUSTED and the wrap/unwrap templates;
//! * the **mechanisms** ([`mechanisms`]): AES key generation, AES-GCM, AES-KW (RFC 3394),
//!   AES-KWP (RFC 5649), P-256 key pairs, ECDSA, ECDH, SHA-256, HMAC-SHA256, with P-256 private
//!   keys wrapped as PKCS#8; all through a [`provider`] seam;
//! * the **KMS-style key hierarchy** ([`hierarchy`]): a domain key held only in memory seals
//!   every stored record; data keys are handed out wrapped under backing keys; imported
//!   material can expire;
//! * **tokens, users and sessions** ([`token`], [`Hsm`]).
//!
//! [`Hsm`] is a pure state machine: randomness, time and storage come from a [`Platform`]
//! ([`platform::virt::VirtPlatform`] makes every run reproducible from a seed). It has no
//! globals and does no I/O.
//!
//! ```
//! use hsmemu::{Hsm, attributes::{Attribute, AttributeType as A}, mechanisms::Mechanism};
//! use hsmemu::{platform::virt::VirtPlatform, token::{TokenConfig, UserType}};
//!
//! let config = TokenConfig { pin_kdf_rounds: 1_000, ..TokenConfig::default() };
//! let mut hsm = Hsm::new(VirtPlatform::new(7), config).unwrap();
//! hsm.init_token(b"so-pin-1234", "demo").unwrap();
//! let s = hsm.open_session(true).unwrap();
//! hsm.login(s, UserType::SecurityOfficer, b"so-pin-1234").unwrap();
//! hsm.init_pin(s, b"user-1234").unwrap();
//! hsm.logout(s).unwrap();
//! hsm.login(s, UserType::User, b"user-1234").unwrap();
//! let key = hsm
//!     .generate_key(s, &Mechanism::AesKeyGen, &[Attribute::ulong(A::ValueLen, 32)])
//!     .unwrap();
//! // Keys are sensitive and unextractable by default: the value never comes out.
//! let read = hsm.get_attribute_values(s, key, &[A::Value]).unwrap();
//! assert_eq!(read[0], Err(hsmemu::Error::AttributeSensitive));
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod attributes;
pub mod error;
pub mod hierarchy;
mod hsm;
pub mod mechanisms;
mod object;
pub mod platform;
pub mod policy;
pub mod profile;
pub mod provider;
pub mod secret;
mod session;
pub mod token;

pub use error::{Error, Result};
pub use hsm::{
    ActiveOperation, AttributeRef, Hsm, LoadReport, ObjectReader, OperationKind, SessionInfo,
    TokenInfo,
};
pub use object::{ObjectHandle, SessionHandle};
pub use platform::Platform;
pub use session::SessionState;
