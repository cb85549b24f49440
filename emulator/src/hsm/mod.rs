//! [`Hsm`], the one owner of all state: the token, its sessions, its objects and its domain
//! keys. It is a pure state machine: every PKCS#11 command family is a method, and everything
//! that touches the outside world (randomness, time, storage) goes through the [`Platform`].
//!
//! The methods are grouped by what they own: token and session management here, object
//! management in `objects.rs`, cryptographic operations in `crypto.rs`, key management
//! (generate, wrap, unwrap, derive) in `keys.rs`, and the KMS-style services in `kms.rs`.
//!
//! Invariants kept here:
//! * a token object is durable in the store before the call that created or changed it
//!   returns, and gone from the store before the call that destroyed it returns;
//! * private objects are invisible unless the user is logged in; a session sees its
//!   application's session objects and the token's objects;
//! * no call that fails leaves a new object behind.

mod crypto;
mod keys;
mod kms;
mod objects;

use crate::attributes::{AttributeMap, AttributeType};
use crate::error::{Error, Result};
use crate::hierarchy::imported::ImportState;
use crate::hierarchy::{self, DomainKeys, RecordError};
use crate::mechanisms::{MechanismInfo, MechanismType};
use crate::object::{Object, ObjectHandle, SessionHandle};
use crate::platform::{ObjectStore, Platform};
use crate::policy::Caller;
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use crate::session::{Session, SessionState};
use crate::token::{LoginState, PinStatus, Token, TokenConfig, UserType};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What happened when token objects were loaded from the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Records that opened and were loaded.
    pub loaded: usize,
    /// Records that were refused, with the reason; the other records still load.
    pub rejected: Vec<(ObjectHandle, RecordError)>,
}

/// A snapshot of CK_TOKEN_INFO fields the core decides (PKCS#11 3.0 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The label, if the token is initialised (CKF_TOKEN_INITIALIZED).
    pub label: Option<String>,
    /// CKF_USER_PIN_INITIALIZED.
    pub user_pin_initialized: bool,
    /// User PIN counter flags.
    pub user_pin: PinStatus,
    /// SO PIN counter flags.
    pub so_pin: PinStatus,
    /// Open sessions.
    pub session_count: usize,
    /// Open read-write sessions.
    pub rw_session_count: usize,
    /// Shortest and longest PIN.
    pub pin_len_range: (usize, usize),
}

/// CK_SESSION_INFO fields the core decides (PKCS#11 3.0 §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session state.
    pub state: SessionState,
    /// CKF_RW_SESSION.
    pub rw: bool,
}

/// An emulated HSM with one token.
pub struct Hsm<P: Platform> {
    platform: P,
    provider: CryptoProvider,
    token: Token,
    domain: DomainKeys,
    objects: BTreeMap<ObjectHandle, Object>,
    sessions: BTreeMap<SessionHandle, Session>,
    next_object: u64,
    next_session: u64,
    load_report: LoadReport,
}

impl<P: Platform> core::fmt::Debug for Hsm<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hsm")
            .field("token", &self.token)
            .field("objects", &self.objects.len())
            .field("sessions", &self.sessions.len())
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Hsm<P> {
    /// A new HSM with an uninitialised token, a fresh domain key and the default
    /// (RustCrypto) provider.
    pub fn new(platform: P, config: TokenConfig) -> Self {
        Self::with_provider(platform, config, CryptoProvider::default())
    }

    /// A new HSM with a chosen crypto provider.
    pub fn with_provider(mut platform: P, config: TokenConfig, provider: CryptoProvider) -> Self {
        let domain = DomainKeys::generate(platform.rng());
        let mut hsm = Hsm {
            platform,
            provider,
            token: Token::new(config),
            domain,
            objects: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_object: 1,
            next_session: 1,
            load_report: LoadReport::default(),
        };
        hsm.load_token_objects();
        hsm
    }

    /// Simulates a power cycle of a device whose protected memory (domain keys, PINs) survives:
    /// sessions, session objects and the login state are gone, and every token object is
    /// reloaded from the store and re-authenticated. Records that fail are reported, not loaded.
    pub fn restart(&mut self) -> &LoadReport {
        self.sessions.clear();
        self.objects.clear();
        self.token.reset_login();
        self.load_token_objects();
        &self.load_report
    }

    fn load_token_objects(&mut self) {
        let mut report = LoadReport::default();
        let ids = self.platform.store_ref().ids().unwrap_or_default();
        for id in ids {
            self.next_object = self.next_object.max(id.saturating_add(1));
            let handle = ObjectHandle(id);
            let bytes = match self.platform.store_ref().get(id) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(_) => {
                    report.rejected.push((handle, RecordError::Malformed));
                    continue;
                }
            };
            match hierarchy::open_record(&self.provider, &self.domain, id, &bytes) {
                Ok(rec) => {
                    let object = Object {
                        attrs: rec.header.attrs,
                        value: rec.value.map(Arc::new),
                        session: None,
                        import: rec.header.import,
                    };
                    self.objects.insert(handle, object);
                    report.loaded += 1;
                }
                Err(e) => report.rejected.push((handle, e)),
            }
        }
        self.load_report = report;
    }

    /// The result of the last load of token objects.
    pub fn load_report(&self) -> &LoadReport {
        &self.load_report
    }

    /// The platform.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The platform, mutably (to move a virtual clock, or reach a test store).
    pub fn platform_mut(&mut self) -> &mut P {
        &mut self.platform
    }

    /// The crypto provider.
    pub fn provider(&self) -> &CryptoProvider {
        &self.provider
    }

    /// The mechanisms this HSM implements (C_GetMechanismList, PKCS#11 3.0 §5.5).
    pub fn mechanisms(&self) -> &'static [MechanismType] {
        MechanismType::ALL
    }

    /// A mechanism's info (C_GetMechanismInfo, PKCS#11 3.0 §5.5).
    pub fn mechanism_info(&self, mechanism: MechanismType) -> MechanismInfo {
        mechanism.info()
    }

    // ---- Token (PKCS#11 3.0 §5.5, §5.6) ----

    /// C_GetTokenInfo.
    pub fn token_info(&self) -> TokenInfo {
        let config = self.token.config();
        TokenInfo {
            label: self.token.label().map(String::from),
            user_pin_initialized: self.token.user_pin_initialized(),
            user_pin: self.token.user_pin_status(),
            so_pin: self.token.so_pin_status(),
            session_count: self.sessions.len(),
            rw_session_count: self.sessions.values().filter(|s| s.rw).count(),
            pin_len_range: (config.pin_min_len, config.pin_max_len),
        }
    }

    /// C_InitToken: (re)initialises the token with an SO PIN and a label, destroying every
    /// object. Refused while sessions are open (CKR_SESSION_EXISTS).
    pub fn init_token(&mut self, so_pin: &[u8], label: &str) -> Result<()> {
        if !self.sessions.is_empty() {
            return Err(Error::SessionExists);
        }
        self.token
            .init(&self.provider, self.platform.rng(), so_pin, label)?;
        self.objects.clear();
        for id in self.platform.store_ref().ids()? {
            self.platform.store().remove(id)?;
        }
        Ok(())
    }

    /// C_InitPIN: the SO, in a read-write session, sets the user PIN.
    pub fn init_pin(&mut self, session: SessionHandle, pin: &[u8]) -> Result<()> {
        if !self.session(session)?.rw {
            return Err(Error::SessionReadOnly);
        }
        self.token
            .init_user_pin(&self.provider, self.platform.rng(), pin)
    }

    /// C_SetPIN: changes the logged-in user's PIN (the user's in a public session).
    pub fn set_pin(&mut self, session: SessionHandle, old: &[u8], new: &[u8]) -> Result<()> {
        if !self.session(session)?.rw {
            return Err(Error::SessionReadOnly);
        }
        self.token
            .set_pin(&self.provider, self.platform.rng(), old, new)
    }

    /// C_Login. The SO cannot log in while a read-only session exists.
    pub fn login(&mut self, session: SessionHandle, user: UserType, pin: &[u8]) -> Result<()> {
        self.session(session)?;
        if user == UserType::SecurityOfficer && self.sessions.values().any(|s| !s.rw) {
            return Err(Error::SessionReadOnlyExists);
        }
        self.token.login(&self.provider, user, pin)
    }

    /// C_Logout.
    pub fn logout(&mut self, session: SessionHandle) -> Result<()> {
        self.session(session)?;
        self.token.logout()
    }

    // ---- Sessions (PKCS#11 3.0 §5.6) ----

    /// C_OpenSession. Read-only sessions are refused while the SO is logged in.
    pub fn open_session(&mut self, rw: bool) -> Result<SessionHandle> {
        if self.token.label().is_none() {
            return Err(Error::TokenNotRecognized);
        }
        if !rw && self.token.login_state() == LoginState::SecurityOfficer {
            return Err(Error::SessionReadWriteSoExists);
        }
        let handle = SessionHandle(self.next_session);
        self.next_session += 1;
        self.sessions.insert(
            handle,
            Session {
                rw,
                ops: Default::default(),
            },
        );
        Ok(handle)
    }

    /// C_CloseSession: ends the session's operations and destroys its session objects; closing
    /// the last session logs the token out.
    pub fn close_session(&mut self, session: SessionHandle) -> Result<()> {
        self.sessions
            .remove(&session)
            .ok_or(Error::SessionHandleInvalid)?;
        self.objects.retain(|_, o| o.session != Some(session));
        if self.sessions.is_empty() {
            self.token.reset_login();
        }
        Ok(())
    }

    /// C_CloseAllSessions.
    pub fn close_all_sessions(&mut self) {
        self.sessions.clear();
        self.objects.retain(|_, o| o.session.is_none());
        self.token.reset_login();
    }

    /// C_GetSessionInfo.
    pub fn session_info(&self, session: SessionHandle) -> Result<SessionInfo> {
        let s = self.session(session)?;
        Ok(SessionInfo {
            state: SessionState::of(s.rw, self.token.login_state()),
            rw: s.rw,
        })
    }

    // ---- Helpers shared by the command modules ----

    fn session(&self, session: SessionHandle) -> Result<&Session> {
        self.sessions
            .get(&session)
            .ok_or(Error::SessionHandleInvalid)
    }

    fn session_mut(&mut self, session: SessionHandle) -> Result<&mut Session> {
        self.sessions
            .get_mut(&session)
            .ok_or(Error::SessionHandleInvalid)
    }

    fn caller(&self) -> Caller {
        match self.token.login_state() {
            LoginState::SecurityOfficer => Caller::SecurityOfficer,
            _ => Caller::User,
        }
    }

    fn visible(&self, object: &Object) -> bool {
        !object.is_private() || self.token.login_state() == LoginState::User
    }

    /// An object the session may see, or `missing`.
    fn object(
        &self,
        session: SessionHandle,
        handle: ObjectHandle,
        missing: Error,
    ) -> Result<&Object> {
        self.session(session)?;
        self.objects
            .get(&handle)
            .filter(|o| self.visible(o))
            .ok_or(missing)
    }

    /// A key object the session may see, or `missing`.
    fn key(&self, session: SessionHandle, handle: ObjectHandle, missing: Error) -> Result<&Object> {
        self.object(session, handle, missing).and_then(|o| {
            if o.class().is_key() {
                Ok(o)
            } else {
                Err(missing)
            }
        })
    }

    /// The session may create or change an object with these CKA_TOKEN / CKA_PRIVATE values.
    fn check_writable(&self, session: SessionHandle, token: bool, private: bool) -> Result<()> {
        if token && !self.session(session)?.rw {
            return Err(Error::SessionReadOnly);
        }
        if private && self.token.login_state() != LoginState::User {
            return Err(Error::UserNotLoggedIn);
        }
        Ok(())
    }

    /// A key's value for use, after applying the expiry of imported material.
    fn key_material(&mut self, handle: ObjectHandle) -> Result<Arc<SecretBytes>> {
        let now = self.platform.now();
        let object = self
            .objects
            .get_mut(&handle)
            .ok_or(Error::KeyHandleInvalid)?;
        if let Some(import) = object.import.as_mut()
            && import.expire_if_due(now)
        {
            object.value = None;
            self.persist(handle)?;
        }
        let object = self.objects.get(&handle).ok_or(Error::KeyHandleInvalid)?;
        object.value.clone().ok_or(Error::KeyFunctionNotPermitted)
    }

    /// Writes a token object's sealed record (no-op for session objects).
    fn persist(&mut self, handle: ObjectHandle) -> Result<()> {
        let Some(object) = self.objects.get(&handle) else {
            return Ok(());
        };
        if object.session.is_some() {
            return Ok(());
        }
        let record = hierarchy::seal_record(
            &self.provider,
            &self.domain,
            self.platform.rng(),
            handle.0,
            &object.attrs,
            object.import.as_ref(),
            object.value.as_deref(),
        )?;
        self.platform.store().put(handle.0, &record)?;
        Ok(())
    }

    /// Adds a fully built object: the store first (for token objects), then memory, so that a
    /// failed write leaves nothing behind.
    fn insert_object(
        &mut self,
        session: SessionHandle,
        attrs: AttributeMap,
        value: Option<SecretBytes>,
        import: Option<ImportState>,
    ) -> Result<ObjectHandle> {
        let token = attrs.flag(AttributeType::Token);
        self.check_writable(session, token, attrs.flag(AttributeType::Private))?;
        let handle = ObjectHandle(self.next_object);
        self.next_object += 1;
        let object = Object {
            attrs,
            value: value.map(Arc::new),
            session: (!token).then_some(session),
            import,
        };
        self.objects.insert(handle, object);
        if let Err(e) = self.persist(handle) {
            self.objects.remove(&handle);
            return Err(e);
        }
        Ok(handle)
    }

    /// Removes an object from the store and memory (used to roll back half-made key pairs).
    fn remove_object(&mut self, handle: ObjectHandle) -> Result<()> {
        if self
            .objects
            .get(&handle)
            .is_some_and(|o| o.session.is_none())
        {
            self.platform.store().remove(handle.0)?;
        }
        self.objects.remove(&handle);
        Ok(())
    }
}
