//! The token: its label, the SO and user PINs, the failed-login counters and the login state
//! (PKCS#11 3.0 §5.6 C_InitToken, C_InitPIN, C_SetPIN; §5.6 C_Login, C_Logout; §3.3
//! CK_TOKEN_INFO flags).
//!
//! PINs are kept only as salted PBKDF2-HMAC-SHA256 hashes (RFC 8018 §5.2) and compared in
//! constant time. Each failed login increments a counter that drives CKF_*_PIN_COUNT_LOW,
//! CKF_*_PIN_FINAL_TRY and CKF_*_PIN_LOCKED; a successful login resets it.
//!
//! Invariant: no PIN is ever stored, printed or returned.

use crate::error::{Error, Result};
use crate::provider::CryptoProvider;
use alloc::string::String;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Token settings chosen by the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    /// Shortest PIN accepted (CK_TOKEN_INFO.ulMinPinLen).
    pub pin_min_len: usize,
    /// Longest PIN accepted (CK_TOKEN_INFO.ulMaxPinLen).
    pub pin_max_len: usize,
    /// Failed logins after which a PIN is locked.
    pub max_failed_logins: u32,
    /// PBKDF2 iterations for PIN hashes.
    pub pin_kdf_rounds: u32,
    /// The vendor profile the token behaves as ([`crate::profile`]).
    pub profile: &'static crate::profile::Profile,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            pin_min_len: 4,
            pin_max_len: 255,
            max_failed_logins: 10,
            pin_kdf_rounds: 100_000,
            profile: &crate::profile::GENERIC,
        }
    }
}

/// A PKCS#11 user type (CK_USER_TYPE: CKU_SO = 0, CKU_USER = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserType {
    /// CKU_SO.
    SecurityOfficer,
    /// CKU_USER.
    User,
}

/// Who is logged in to the token (shared by all sessions, PKCS#11 3.0 §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginState {
    /// Nobody: public sessions.
    Public,
    /// The normal user.
    User,
    /// The Security Officer.
    SecurityOfficer,
}

/// The PIN-counter flags of one user (CK_TOKEN_INFO flags, PKCS#11 3.0 §3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinStatus {
    /// CKF_*_PIN_COUNT_LOW: at least one failed login since the last success.
    pub count_low: bool,
    /// CKF_*_PIN_FINAL_TRY: one more failure locks the PIN.
    pub final_try: bool,
    /// CKF_*_PIN_LOCKED.
    pub locked: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct PinHash {
    salt: [u8; 16],
    rounds: u32,
    hash: [u8; 32],
}

impl PinHash {
    fn new(provider: &CryptoProvider, rng: &mut dyn CryptoRng, pin: &[u8], rounds: u32) -> Self {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let mut hash = [0u8; 32];
        provider.sha256.pbkdf2(pin, &salt, rounds, &mut hash);
        PinHash { salt, rounds, hash }
    }

    fn verify(&self, provider: &CryptoProvider, pin: &[u8]) -> bool {
        let mut hash = [0u8; 32];
        provider
            .sha256
            .pbkdf2(pin, &self.salt, self.rounds, &mut hash);
        bool::from(hash.ct_eq(&self.hash))
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Pin {
    hash: Option<PinHash>,
    failures: u32,
}

impl Pin {
    fn status(&self, max: u32) -> PinStatus {
        PinStatus {
            count_low: self.failures > 0,
            final_try: self.failures + 1 == max,
            locked: self.failures >= max,
        }
    }
}

/// The token state.
#[derive(Clone)]
pub struct Token {
    config: TokenConfig,
    label: Option<String>,
    so: Pin,
    user: Pin,
    login: LoginState,
}

impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("user_pin_initialized", &self.user.hash.is_some())
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// The persistent part of a token: label, PIN hashes and failure counters (never a PIN).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TokenSnapshot {
    label: Option<String>,
    so: Pin,
    user: Pin,
}

impl Token {
    /// The state to persist.
    pub(crate) fn snapshot(&self) -> TokenSnapshot {
        TokenSnapshot {
            label: self.label.clone(),
            so: self.so.clone(),
            user: self.user.clone(),
        }
    }

    /// A token restored from its persisted state, nobody logged in.
    pub(crate) fn restore(config: TokenConfig, s: TokenSnapshot) -> Self {
        Token {
            config,
            label: s.label,
            so: s.so,
            user: s.user,
            login: LoginState::Public,
        }
    }

    /// An uninitialised token.
    pub fn new(config: TokenConfig) -> Self {
        Token {
            config,
            label: None,
            so: Pin::default(),
            user: Pin::default(),
            login: LoginState::Public,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// The label, if initialised (CK_TOKEN_INFO.label).
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Who is logged in.
    pub fn login_state(&self) -> LoginState {
        self.login
    }

    /// Whether the user PIN has been set (CKF_USER_PIN_INITIALIZED).
    pub fn user_pin_initialized(&self) -> bool {
        self.user.hash.is_some()
    }

    /// The user PIN's counter flags.
    pub fn user_pin_status(&self) -> PinStatus {
        self.user.status(self.config.max_failed_logins)
    }

    /// The SO PIN's counter flags.
    pub fn so_pin_status(&self) -> PinStatus {
        self.so.status(self.config.max_failed_logins)
    }

    fn check_len(&self, pin: &[u8]) -> Result<()> {
        if (self.config.pin_min_len..=self.config.pin_max_len).contains(&pin.len()) {
            Ok(())
        } else {
            Err(Error::PinLenRange)
        }
    }

    /// C_InitToken: (re)initialises with an SO PIN and label. A token that already has an SO
    /// PIN requires it; the user PIN is cleared.
    pub(crate) fn init(
        &mut self,
        provider: &CryptoProvider,
        rng: &mut dyn CryptoRng,
        so_pin: &[u8],
        label: &str,
    ) -> Result<()> {
        self.check_len(so_pin)?;
        if self.so.hash.is_some() {
            self.verify(provider, UserType::SecurityOfficer, so_pin)?;
        }
        self.so = Pin {
            hash: Some(PinHash::new(
                provider,
                rng,
                so_pin,
                self.config.pin_kdf_rounds,
            )),
            failures: 0,
        };
        self.user = Pin::default();
        self.label = Some(label.into());
        self.login = LoginState::Public;
        Ok(())
    }

    fn pin_mut(&mut self, who: UserType) -> &mut Pin {
        match who {
            UserType::SecurityOfficer => &mut self.so,
            UserType::User => &mut self.user,
        }
    }

    /// Checks a PIN, counting failures and refusing a locked PIN.
    fn verify(&mut self, provider: &CryptoProvider, who: UserType, pin: &[u8]) -> Result<()> {
        let max = self.config.max_failed_logins;
        let entry = self.pin_mut(who);
        let Some(hash) = &entry.hash else {
            return Err(match who {
                UserType::User => Error::UserPinNotInitialized,
                UserType::SecurityOfficer => Error::TokenNotRecognized,
            });
        };
        if entry.failures >= max {
            return Err(Error::PinLocked);
        }
        if hash.verify(provider, pin) {
            entry.failures = 0;
            Ok(())
        } else {
            // The attempt that reaches the limit is still "incorrect"; the next one is "locked".
            entry.failures += 1;
            Err(Error::PinIncorrect)
        }
    }

    /// C_Login's PIN check and state change (session rules are checked by the caller).
    pub(crate) fn login(
        &mut self,
        provider: &CryptoProvider,
        who: UserType,
        pin: &[u8],
    ) -> Result<()> {
        match (self.login, who) {
            (LoginState::User, UserType::User)
            | (LoginState::SecurityOfficer, UserType::SecurityOfficer) => {
                return Err(Error::UserAlreadyLoggedIn);
            }
            (LoginState::User, _) | (LoginState::SecurityOfficer, _) => {
                return Err(Error::UserAnotherAlreadyLoggedIn);
            }
            (LoginState::Public, _) => {}
        }
        self.verify(provider, who, pin)?;
        self.login = match who {
            UserType::User => LoginState::User,
            UserType::SecurityOfficer => LoginState::SecurityOfficer,
        };
        Ok(())
    }

    /// C_Logout.
    pub(crate) fn logout(&mut self) -> Result<()> {
        if self.login == LoginState::Public {
            return Err(Error::UserNotLoggedIn);
        }
        self.login = LoginState::Public;
        Ok(())
    }

    /// Returns to the public state without error (last session closed).
    pub(crate) fn reset_login(&mut self) {
        self.login = LoginState::Public;
    }

    /// C_InitPIN: the SO sets the user PIN (and unlocks it).
    pub(crate) fn init_user_pin(
        &mut self,
        provider: &CryptoProvider,
        rng: &mut dyn CryptoRng,
        pin: &[u8],
    ) -> Result<()> {
        if self.login != LoginState::SecurityOfficer {
            return Err(Error::UserNotLoggedIn);
        }
        self.check_len(pin)?;
        self.user = Pin {
            hash: Some(PinHash::new(provider, rng, pin, self.config.pin_kdf_rounds)),
            failures: 0,
        };
        Ok(())
    }

    /// C_SetPIN: changes the PIN of whoever is logged in (the user's in a public session),
    /// after checking the old one.
    pub(crate) fn set_pin(
        &mut self,
        provider: &CryptoProvider,
        rng: &mut dyn CryptoRng,
        old: &[u8],
        new: &[u8],
    ) -> Result<()> {
        let who = match self.login {
            LoginState::SecurityOfficer => UserType::SecurityOfficer,
            LoginState::User | LoginState::Public => UserType::User,
        };
        self.check_len(new)?;
        self.verify(provider, who, old)?;
        let rounds = self.config.pin_kdf_rounds;
        self.pin_mut(who).hash = Some(PinHash::new(provider, rng, new, rounds));
        Ok(())
    }
}
