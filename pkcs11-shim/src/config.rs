//! Module configuration (docs/configuration.md): where the tokens are and how they start.
//!
//! Sources, first found wins: the `pReserved` string of C_Initialize (TOML text), the file named
//! by `HSMEMU_CONF` (TOML), or the zero-config default of one initialised in-memory token.
//! A bad configuration is an error with a message naming the problem, never a silently empty
//! slot list.

use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;

/// Label of the zero-config token.
pub const DEFAULT_LABEL: &str = "hsmemu";
/// SO PIN of the zero-config token.
pub const DEFAULT_SO_PIN: &str = "12345678";
/// User PIN of the zero-config token.
pub const DEFAULT_USER_PIN: &str = "1234";

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seed for a deterministic RNG (CI reproducibility); absent: the OS RNG seeds it.
    pub seed: Option<u64>,
    /// Append-only audit log of every call (JSON lines, no key material).
    pub audit_log: Option<PathBuf>,
    /// PBKDF2 iterations for PIN hashes of tokens created by this configuration.
    pub pin_kdf_rounds: Option<u32>,
    /// The tokens, one slot each.
    #[serde(default, rename = "token")]
    pub tokens: Vec<TokenSpec>,
}

/// One token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Fixed slot ID; default: the token's position in the list.
    pub slot: Option<u64>,
    /// Token label (at most 32 bytes).
    pub label: String,
    /// SO PIN to initialise an in-memory token with (default 12345678).
    pub so_pin: Option<String>,
    /// User PIN to initialise an in-memory token with (default 1234).
    pub user_pin: Option<String>,
    /// Directory of a persistent token; absent: the token lives in memory.
    pub path: Option<PathBuf>,
    /// Vendor profile the token behaves as: `generic` (default), `cloudhsm` or `softhsm`
    /// (docs/profiles.md).
    pub profile: Option<String>,
}

impl TokenSpec {
    /// The token's profile (checked by [`Config::parse`]; unknown names fall back to generic).
    pub fn profile(&self) -> &'static hsmemu::profile::Profile {
        self.profile
            .as_deref()
            .and_then(hsmemu::profile::by_name)
            .unwrap_or(&hsmemu::profile::GENERIC)
    }
}

impl Config {
    /// The zero-config configuration: one in-memory token, slot 0.
    pub fn zero() -> Self {
        Config {
            tokens: vec![TokenSpec {
                slot: Some(0),
                label: DEFAULT_LABEL.into(),
                so_pin: None,
                user_pin: None,
                path: None,
                profile: None,
            }],
            ..Config::default()
        }
    }

    /// Parses TOML text and checks it.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        config.check().map_err(|e| format!("{origin}: {e}"))?;
        Ok(config)
    }

    /// Loads the configuration: `reserved` (C_Initialize's pReserved), else `HSMEMU_CONF`, else
    /// zero-config.
    pub fn load(reserved: Option<&str>) -> Result<Self, String> {
        if let Some(text) = reserved {
            return Self::parse(text, "C_Initialize pReserved");
        }
        match std::env::var_os("HSMEMU_CONF") {
            Some(path) => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("HSMEMU_CONF={}: cannot read: {e}", path.display()))?;
                Self::parse(&text, &format!("HSMEMU_CONF={}", path.display()))
            }
            None => Ok(Self::zero()),
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.tokens.is_empty() {
            return Err("no [[token]] configured: the slot list would be empty".into());
        }
        let mut slots = HashSet::new();
        let mut labels = HashSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            if t.label.is_empty() || t.label.len() > 32 {
                return Err(format!(
                    "token {i}: label must be 1 to 32 bytes, got {:?}",
                    t.label
                ));
            }
            if !labels.insert(&t.label) {
                return Err(format!("token {i}: label {:?} is used twice", t.label));
            }
            if !slots.insert(self.slot_id(i)) {
                return Err(format!("token {i}: slot {} is used twice", self.slot_id(i)));
            }
            if self.slot_id(i) >= 1 << 31 {
                return Err(format!(
                    "token {i}: slot {} is too large (at most 2^31 - 1)",
                    self.slot_id(i)
                ));
            }
            if let Some(name) = &t.profile
                && hsmemu::profile::by_name(name).is_none()
            {
                let known: Vec<&str> = hsmemu::profile::ALL.iter().map(|p| p.name).collect();
                return Err(format!(
                    "token {i}: unknown profile {name:?}; the profiles are {}",
                    known.join(", ")
                ));
            }
            for (what, pin) in [("so_pin", &t.so_pin), ("user_pin", &t.user_pin)] {
                if pin.as_ref().is_some_and(|p| !(4..=255).contains(&p.len())) {
                    return Err(format!("token {i}: {what} must be 4 to 255 bytes"));
                }
            }
        }
        Ok(())
    }

    /// The slot ID of token `i`.
    pub fn slot_id(&self, i: usize) -> u64 {
        self.tokens.get(i).and_then(|t| t.slot).unwrap_or(i as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_and_rejects_mistakes_with_a_reason() {
        let c = Config::parse(
            "seed = 7\n[[token]]\nlabel = \"a\"\nslot = 5\n[[token]]\nlabel = \"b\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            (c.seed, c.tokens.len(), c.slot_id(0), c.slot_id(1)),
            (Some(7), 2, 5, 1)
        );
        for (text, needle) in [
            ("", "no [[token]]"),
            ("[[token]]\nlabel = \"\"", "label must be"),
            (
                "[[token]]\nlabel = \"a\"\n[[token]]\nlabel = \"a\"",
                "used twice",
            ),
            (
                "[[token]]\nlabel = \"a\"\nslot = 1\n[[token]]\nlabel = \"b\"\nslot = 1",
                "slot 1 is used twice",
            ),
            ("[[token]]\nlabel = \"a\"\nso_pin = \"1\"", "so_pin must be"),
            (
                "[[token]]\nlabel = \"a\"\ncolour = \"red\"",
                "unknown field",
            ),
            ("seed = \"x\"", "invalid type"),
        ] {
            let err = Config::parse(text, "t").unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
