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

pub use crypto::{ActiveOperation, OperationKind};
pub use objects::{AttributeRef, ObjectReader};
mod keys;
mod kms;
mod objects;

use crate::attributes::{AttributeMap, AttributeType};
use crate::error::{Error, Result};
use crate::hierarchy::imported::ImportState;
use crate::hierarchy::token_state::{self, PinWrap, TokenState, Wraps};
use crate::hierarchy::{self, DomainKeys, RecordError};
use crate::mechanisms::aes_kwp;
use crate::mechanisms::{MechanismInfo, MechanismType};
use crate::object::{Object, ObjectHandle, SessionHandle};
use crate::platform::{ObjectStore, Platform};
use crate::policy::Caller;
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use crate::session::{Session, SessionState};
use crate::token::{LoginState, PinStatus, Token, TokenConfig, UserType};
use alloc::boxed::Box;
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
    /// The domain keys; `None` while a reopened token is locked (before its first login).
    domain: Option<DomainKeys>,
    /// The token master key that wraps the domain keys in the token state; `None` while locked.
    tmk: Option<SecretBytes>,
    /// The TMK wrapped under each user's PIN-derived key.
    wraps: Wraps,
    /// The domain keys as last stored, wrapped under the TMK.
    sealed_domain: Vec<u8>,
    objects: BTreeMap<ObjectHandle, Object>,
    /// Boxed: a session carries its operation states (hash and MAC contexts, a few KiB), and
    /// the map should move pointers, not those.
    sessions: BTreeMap<SessionHandle, Box<Session>>,
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
    /// An HSM over the platform's store with the default (RustCrypto) provider: a store that
    /// holds a token state reopens that token, locked until the first login; an empty store
    /// gives an uninitialised token with a fresh domain key.
    pub fn new(platform: P, config: TokenConfig) -> Result<Self> {
        Self::with_provider(platform, config, CryptoProvider::default())
    }

    /// [`Hsm::new`] with a chosen crypto provider. A token state that cannot be read or decoded
    /// is CKR_DEVICE_ERROR.
    pub fn with_provider(
        mut platform: P,
        config: TokenConfig,
        provider: CryptoProvider,
    ) -> Result<Self> {
        let state = platform
            .store_ref()
            .get_state()?
            .map(|b| TokenState::decode(&b))
            .transpose()?;
        let (token, domain, wraps, sealed_domain) = match state {
            Some(s) => (Token::restore(config, s.token), None, s.wraps, s.domain),
            None => (
                Token::new(config),
                Some(DomainKeys::generate(platform.rng())),
                Wraps::default(),
                Vec::new(),
            ),
        };
        let mut hsm = Hsm {
            platform,
            provider,
            token,
            domain,
            tmk: None,
            wraps,
            sealed_domain,
            objects: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_object: 1,
            next_session: 1,
            load_report: LoadReport::default(),
        };
        hsm.load_token_objects();
        Ok(hsm)
    }

    /// Gives the platform back (its store holds the token).
    pub fn into_platform(self) -> P {
        self.platform
    }

    /// Whether the domain keys are available (always, except for a reopened token before its
    /// first login).
    pub fn is_unlocked(&self) -> bool {
        self.domain.is_some()
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
            let opened = match &self.domain {
                Some(domain) => hierarchy::open_record(&self.provider, domain, id, &bytes)
                    .map(|r| (r.header, r.value)),
                // Locked: public objects are listed from their headers and authenticated at
                // the first login; private ones wait for it.
                None => match hierarchy::peek_header(id, &bytes) {
                    Ok(h) if h.attrs.flag(AttributeType::Private) => continue,
                    other => other.map(|h| (h, None)),
                },
            };
            match opened {
                Ok((header, value)) => {
                    let object = Object {
                        attrs: header.attrs,
                        value: value.map(Arc::new),
                        session: None,
                        import: header.import,
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
        let checked = self
            .token
            .init(&self.provider, self.platform.rng(), so_pin, label);
        self.save_state_after(checked)?;
        self.objects.clear();
        for id in self.platform.store_ref().ids()? {
            self.platform.store().remove(id)?;
        }
        // Every object is gone: start again with fresh keys.
        let tmk = token_state::new_tmk(self.platform.rng())?;
        let rounds = self.token.config().pin_kdf_rounds;
        self.wraps = Wraps {
            so: Some(PinWrap::new(
                &self.provider,
                self.platform.rng(),
                so_pin,
                rounds,
                &tmk,
            )?),
            user: None,
        };
        self.domain = Some(DomainKeys::generate(self.platform.rng()));
        self.tmk = Some(tmk);
        self.save_state()
    }

    /// Writes the token state (PIN hashes and counters, TMK wraps, wrapped domain keys).
    fn save_state(&mut self) -> Result<()> {
        if let (Some(tmk), Some(domain)) = (&self.tmk, &self.domain) {
            self.sealed_domain =
                aes_kwp::wrap(&self.provider, tmk.expose(), domain.encode()?.expose())?;
        }
        let state = TokenState::new(
            self.token.snapshot(),
            self.wraps.clone(),
            self.sealed_domain.clone(),
        );
        self.platform.store().put_state(&state.encode()?)?;
        Ok(())
    }

    /// Saves the state after a PIN check (whose counters changed either way), then returns the
    /// check's result. Nothing is saved for a token that was never initialised.
    fn save_state_after<T>(&mut self, checked: Result<T>) -> Result<T> {
        if self.token.label().is_some() {
            self.save_state()?;
        }
        checked
    }

    /// Unlocks a reopened token with a PIN that was just verified: unwraps the TMK and the
    /// domain keys, then authenticates and loads every token object.
    fn unlock(&mut self, who: UserType, pin: &[u8]) -> Result<()> {
        if self.domain.is_some() && self.tmk.is_some() {
            return Ok(());
        }
        let wrap = match who {
            UserType::SecurityOfficer => self.wraps.so.as_ref(),
            UserType::User => self.wraps.user.as_ref(),
        };
        let tmk = wrap.ok_or(Error::DeviceError)?.open(&self.provider, pin)?;
        let encoded = aes_kwp::unwrap(&self.provider, tmk.expose(), &self.sealed_domain)
            .map_err(|_| Error::DeviceError)?;
        self.domain = Some(DomainKeys::decode(encoded.expose())?);
        self.tmk = Some(tmk);
        self.objects.retain(|_, o| o.session.is_some());
        self.load_token_objects();
        Ok(())
    }

    /// C_InitPIN: the SO, in a read-write session, sets the user PIN.
    pub fn init_pin(&mut self, session: SessionHandle, pin: &[u8]) -> Result<()> {
        if !self.session(session)?.rw {
            return Err(Error::SessionReadOnly);
        }
        self.token
            .init_user_pin(&self.provider, self.platform.rng(), pin)?;
        let tmk = self.tmk.as_ref().ok_or(Error::UserNotLoggedIn)?;
        let rounds = self.token.config().pin_kdf_rounds;
        self.wraps.user = Some(PinWrap::new(
            &self.provider,
            self.platform.rng(),
            pin,
            rounds,
            tmk,
        )?);
        self.save_state()
    }

    /// C_SetPIN: changes the logged-in user's PIN (the user's in a public session).
    pub fn set_pin(&mut self, session: SessionHandle, old: &[u8], new: &[u8]) -> Result<()> {
        if !self.session(session)?.rw {
            return Err(Error::SessionReadOnly);
        }
        let who = match self.token.login_state() {
            LoginState::SecurityOfficer => UserType::SecurityOfficer,
            _ => UserType::User,
        };
        let checked = self
            .token
            .set_pin(&self.provider, self.platform.rng(), old, new);
        self.save_state_after(checked)?;
        self.unlock(who, old)?;
        let tmk = self.tmk.as_ref().ok_or(Error::DeviceError)?;
        let wrap = PinWrap::new(
            &self.provider,
            self.platform.rng(),
            new,
            self.token.config().pin_kdf_rounds,
            tmk,
        )?;
        match who {
            UserType::SecurityOfficer => self.wraps.so = Some(wrap),
            UserType::User => self.wraps.user = Some(wrap),
        }
        self.save_state()
    }

    /// C_Login. The SO cannot log in while a read-only session exists. Under a profile with
    /// [`crate::profile::LoginFormat::UserColonPassword`] the PIN is `user:password`.
    pub fn login(&mut self, session: SessionHandle, user: UserType, pin: &[u8]) -> Result<()> {
        self.session(session)?;
        if user == UserType::SecurityOfficer && self.sessions.values().any(|s| !s.rw) {
            return Err(Error::SessionReadOnlyExists);
        }
        // A PIN without the profile's `user:` prefix cannot name anyone: refused without
        // counting as a failed attempt.
        let pin = self.profile().password(pin).ok_or(Error::PinIncorrect)?;
        let checked = self.token.login(&self.provider, user, pin);
        self.save_state_after(checked)?;
        self.unlock(user, pin)
    }

    /// C_Logout.
    ///
    /// As PKCS#11 3.0 §5.6 requires, the application's private session objects are destroyed;
    /// private token objects become invisible until the next login.
    pub fn logout(&mut self, session: SessionHandle) -> Result<()> {
        self.session(session)?;
        self.token.logout()?;
        self.objects
            .retain(|_, o| o.session.is_none() || !o.is_private());
        Ok(())
    }

    // ---- Sessions (PKCS#11 3.0 §5.6) ----

    /// C_OpenSession. Read-only sessions are refused while the SO is logged in, and always under
    /// a profile without them (CloudHSM: CKR_FUNCTION_FAILED).
    pub fn open_session(&mut self, rw: bool) -> Result<SessionHandle> {
        if self.token.label().is_none() {
            return Err(Error::TokenNotRecognized);
        }
        if !rw && !self.profile().read_only_sessions {
            return Err(Error::FunctionFailed);
        }
        if !rw && self.token.login_state() == LoginState::SecurityOfficer {
            return Err(Error::SessionReadWriteSoExists);
        }
        let handle = SessionHandle(self.next_session);
        self.next_session += 1;
        self.sessions.insert(
            handle,
            Box::new(Session {
                rw,
                ops: Default::default(),
                objects: Default::default(),
                wrap_iv: None,
            }),
        );
        Ok(handle)
    }

    /// C_CloseSession: ends the session's operations and destroys its session objects; closing
    /// the last session logs the token out.
    pub fn close_session(&mut self, session: SessionHandle) -> Result<()> {
        let closed = self
            .sessions
            .remove(&session)
            .ok_or(Error::SessionHandleInvalid)?;
        for handle in closed.objects {
            if self
                .objects
                .get(&handle)
                .is_some_and(|o| o.session == Some(session))
            {
                self.objects.remove(&handle);
            }
        }
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

    /// The token's vendor profile.
    pub fn profile(&self) -> &'static crate::profile::Profile {
        self.token.config().profile
    }

    fn session(&self, session: SessionHandle) -> Result<&Session> {
        self.sessions
            .get(&session)
            .map(|s| &**s)
            .ok_or(Error::SessionHandleInvalid)
    }

    fn session_mut(&mut self, session: SessionHandle) -> Result<&mut Session> {
        self.sessions
            .get_mut(&session)
            .map(|s| &mut **s)
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
        // A reopened token writes nothing before a login has unlocked its domain keys.
        let domain = self.domain.as_ref().ok_or(Error::UserNotLoggedIn)?;
        let record = hierarchy::seal_record(
            &self.provider,
            domain,
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
        if !token && let Some(s) = self.sessions.get_mut(&session) {
            s.objects.insert(handle);
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
        if let Some(owner) = self.objects.remove(&handle).and_then(|o| o.session)
            && let Some(s) = self.sessions.get_mut(&owner)
        {
            s.objects.remove(&handle);
        }
        Ok(())
    }
}
