//! Sessions: read-only or read-write, the session state derived from the login state, and at
//! most one active operation of each kind (PKCS#11 3.0 §2.6 "Sessions", §5.6).

use crate::mechanisms::{
    aes_gcm::GcmOperation, ecdsa, hmac::MacOperation, sha256::DigestOperation,
};
use crate::object::ObjectHandle;
use crate::token::LoginState;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// CK_STATE (PKCS#11 3.0 §2.6.1): `CKS_*` codes as discriminants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum SessionState {
    /// CKS_RO_PUBLIC_SESSION.
    RoPublic = 0,
    /// CKS_RO_USER_FUNCTIONS.
    RoUser = 1,
    /// CKS_RW_PUBLIC_SESSION.
    RwPublic = 2,
    /// CKS_RW_USER_FUNCTIONS.
    RwUser = 3,
    /// CKS_RW_SO_FUNCTIONS.
    RwSo = 4,
}

impl SessionState {
    pub(crate) fn of(rw: bool, login: LoginState) -> Self {
        match (rw, login) {
            (false, LoginState::User) => SessionState::RoUser,
            (false, _) => SessionState::RoPublic,
            (true, LoginState::Public) => SessionState::RwPublic,
            (true, LoginState::User) => SessionState::RwUser,
            (true, LoginState::SecurityOfficer) => SessionState::RwSo,
        }
    }
}

/// An encryption or decryption in progress.
#[derive(Debug)]
pub(crate) enum CipherOp {
    Gcm(GcmOperation),
}

/// A signature or MAC in progress.
#[derive(Debug)]
pub(crate) enum SignOp {
    Ecdsa(ecdsa::SignOperation),
    Hmac(MacOperation),
}

/// A verification in progress.
#[derive(Debug)]
pub(crate) enum VerifyOp {
    Ecdsa(ecdsa::VerifyOperation),
    Hmac(MacOperation),
}

/// The active operations of a session, at most one per kind (CKR_OPERATION_ACTIVE otherwise).
#[derive(Debug, Default)]
pub(crate) struct Operations {
    pub(crate) encrypt: Option<CipherOp>,
    pub(crate) decrypt: Option<CipherOp>,
    pub(crate) digest: Option<DigestOperation>,
    pub(crate) sign: Option<SignOp>,
    pub(crate) verify: Option<VerifyOp>,
    /// Remaining results of C_FindObjects, in handle order.
    pub(crate) find: Option<Vec<ObjectHandle>>,
}

/// A session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) rw: bool,
    pub(crate) ops: Operations,
    /// The session objects this session created (destroyed when it closes). May hold handles
    /// already destroyed; handles are never reused.
    pub(crate) objects: BTreeSet<ObjectHandle>,
    /// The IV the token chose for this session's last AES-GCM C_WrapKey, under a profile that
    /// generates GCM IVs.
    pub(crate) wrap_iv: Option<Vec<u8>>,
}
