//! Runs the catalogue against one module: loads it, finds (or initialises) the token, logs in,
//! runs each scenario in its own session, and applies the module's expectation file.

use crate::loader::Module;
use crate::scenario::{Ctx, Scenario, Stop};
use cryptoki_sys::*;
use serde::Deserialize;
use std::io::IsTerminal;

/// The outcome of one scenario on one module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Behaved as the specification says.
    Pass,
    /// Behaved otherwise, and no expectation file explains it.
    Fail(String),
    /// A mechanism or function the scenario needs is absent: not a failure.
    Unsupported(String),
    /// Behaved otherwise, as the module's expectation file says it does.
    KnownDeviation {
        /// What happened.
        detail: String,
        /// Why, per the expectation file.
        reason: String,
        /// Issue or document backing the reason.
        reference: String,
    },
}

impl Outcome {
    /// Short label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Unsupported(_) => "UNSUPPORTED",
            Outcome::KnownDeviation { .. } => "KNOWN-DEVIATION",
        }
    }
}

/// Where a module comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The emulator linked in-process.
    Embedded,
    /// A shared library.
    Path(String),
}

/// How to run against one module.
#[derive(Clone, Debug)]
pub struct ModuleSpec {
    /// Column name.
    pub name: String,
    /// The module.
    pub source: Source,
    /// The token to test (default: the first initialised token).
    pub token_label: Option<String>,
    /// User PIN.
    pub pin: String,
    /// SO PIN (for `init_token`).
    pub so_pin: String,
    /// Initialise a free slot's token (label `token_label` or "conformance") first.
    pub init_token: bool,
    /// C_Initialize's pReserved string.
    pub reserved: Option<String>,
    /// The expectation profile.
    pub profile: crate::profile::Profile,
}

impl ModuleSpec {
    /// Loads the module, applies the profile's mechanism aliases and calls C_Initialize.
    pub fn open(&self) -> Result<Module, String> {
        let mut m = match &self.source {
            #[cfg(feature = "embedded")]
            Source::Embedded => Module::embedded(),
            #[cfg(not(feature = "embedded"))]
            Source::Embedded => {
                return Err("this build has no embedded module (feature `embedded`)".into());
            }
            Source::Path(p) => Module::load(p)?,
        };
        m.set_aliases(self.profile.aliases);
        if self.profile.generated_gcm_ivs {
            m.set_generated_gcm_ivs();
        }
        m.initialize(self.reserved.as_deref())
            .map_err(|rv| format!("{}: C_Initialize: {}", self.name, crate::rv::name(rv)))?;
        Ok(m)
    }

    /// Where the module comes from, for reports.
    pub fn location(&self) -> String {
        match &self.source {
            Source::Embedded => "embedded".into(),
            Source::Path(p) => p.clone(),
        }
    }
}

/// One deviation a module is known to have.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// Scenario id.
    pub scenario: String,
    /// Why the module behaves differently.
    pub reason: String,
    /// Issue number or document.
    pub reference: String,
}

/// An expectation file (`conformance/expectations/*.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Applies to modules whose C_GetInfo manufacturer contains this text.
    #[serde(rename = "match")]
    pub manufacturer: String,
    /// The deviations.
    #[serde(default, rename = "deviation")]
    pub deviations: Vec<Deviation>,
}

/// The built-in expectation files.
pub fn builtin_expectations() -> Result<Vec<Expectations>, String> {
    [(
        "softhsm2.toml",
        include_str!("../expectations/softhsm2.toml"),
    )]
    .iter()
    .map(|(name, text)| toml::from_str(text).map_err(|e| format!("expectations/{name}: {e}")))
    .collect()
}

/// The results of one module.
#[derive(Clone, Debug)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Where it came from (path or "embedded").
    pub location: String,
    /// C_GetInfo: manufacturer, description and version.
    pub library: String,
    /// One outcome per scenario, in catalogue order.
    pub outcomes: Vec<Outcome>,
    /// Expectation entries that no longer match (the module passes, or no such scenario).
    pub stale: Vec<String>,
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).trim_end().to_string()
}

/// The slot of the first initialised token (labelled `label`, if given).
pub fn find_slot(m: &Module, label: Option<&str>) -> Result<CK_SLOT_ID, String> {
    let slots = m
        .slots()
        .map_err(|rv| format!("C_GetSlotList: {}", crate::rv::name(rv)))?;
    for slot in slots {
        let Ok(info) = m.token_info(slot) else {
            continue;
        };
        if info.flags & CKF_TOKEN_INITIALIZED == 0 {
            continue;
        }
        if label.is_none_or(|l| text(&info.label) == l) {
            return Ok(slot);
        }
    }
    Err(format!(
        "no initialised token{}",
        label
            .map(|l| format!(" labelled {l:?}"))
            .unwrap_or_default()
    ))
}

/// Initialises a free slot's token (if the module has one; a module whose tokens are all
/// initialised is used as it is) with the SO PIN, label and user PIN of `spec`.
pub fn init_token(m: &Module, spec: &ModuleSpec) -> Result<(), String> {
    fn err(what: &'static str) -> impl Fn(CK_RV) -> String {
        move |rv| format!("--init-token: {what}: {}", crate::rv::name(rv))
    }
    let label = spec
        .token_label
        .clone()
        .unwrap_or_else(|| "conformance".into());
    let slots = m.slots().map_err(err("C_GetSlotList"))?;
    let Some(free) = slots.into_iter().find(|s| {
        m.token_info(*s)
            .is_ok_and(|i| i.flags & CKF_TOKEN_INITIALIZED == 0)
    }) else {
        return Ok(());
    };
    m.init_token(free, &spec.so_pin, &label)
        .map_err(err("C_InitToken"))?;
    let slot = find_slot(m, Some(&label))?;
    let s = m.open_session(slot, true).map_err(err("C_OpenSession"))?;
    m.login(s, CKU_SO, &spec.so_pin)
        .map_err(err("C_Login(SO)"))?;
    m.init_pin(s, &spec.pin).map_err(err("C_InitPIN"))?;
    m.logout(s).map_err(err("C_Logout"))?;
    m.close_session(s).map_err(err("C_CloseSession"))
}

/// Runs `scenarios` against the module of `spec`.
pub fn run(
    spec: &ModuleSpec,
    scenarios: &[Scenario],
    expectations: &[Expectations],
) -> Result<Column, String> {
    let m = spec.open()?;
    let result = run_initialised(&m, spec, scenarios, expectations, spec.location());
    let _ = m.finalize();
    result
}

fn run_initialised(
    m: &Module,
    spec: &ModuleSpec,
    scenarios: &[Scenario],
    expectations: &[Expectations],
    location: String,
) -> Result<Column, String> {
    let info = m
        .info()
        .map_err(|rv| format!("C_GetInfo: {}", crate::rv::name(rv)))?;
    let manufacturer = text(&info.manufacturerID);
    let library = format!(
        "{manufacturer} {} {}.{}",
        text(&info.libraryDescription),
        info.libraryVersion.major,
        info.libraryVersion.minor
    );
    if spec.init_token {
        init_token(m, spec)?;
    }
    let slot = find_slot(m, spec.token_label.as_deref())?;
    let mechanisms = m
        .mechanisms(slot)
        .map_err(|rv| format!("C_GetMechanismList: {}", crate::rv::name(rv)))?;
    // One session stays logged in for the whole run; each scenario gets its own session.
    let keeper = m
        .open_session(slot, true)
        .map_err(|rv| format!("C_OpenSession: {}", crate::rv::name(rv)))?;
    m.login(keeper, CKU_USER, &spec.pin)
        .map_err(|rv| format!("C_Login: {}", crate::rv::name(rv)))?;
    // A profile with its own expectation file replaces the built-in ones (each file still
    // applies only to the manufacturers it names).
    let profile_file: Option<Expectations> = spec
        .profile
        .expectations
        .map(toml::from_str)
        .transpose()
        .map_err(|e| format!("expectations of profile {}: {e}", spec.profile.name))?;
    let files = match &profile_file {
        Some(file) => std::slice::from_ref(file),
        None => expectations,
    };
    let deviations: Vec<&Deviation> = files
        .iter()
        .filter(|e| manufacturer.contains(&e.manufacturer))
        .flat_map(|e| &e.deviations)
        .collect();
    let progress = std::io::stderr().is_terminal();
    let mut outcomes = Vec::with_capacity(scenarios.len());
    for (i, sc) in scenarios.iter().enumerate() {
        if progress {
            eprint!(
                "\r\x1b[K{} {}/{} {}",
                spec.name,
                i + 1,
                scenarios.len(),
                sc.id
            );
        }
        let outcome = match m.open_session(slot, true) {
            Err(rv) => Outcome::Fail(format!("C_OpenSession: {}", crate::rv::name(rv))),
            Ok(s) => {
                let ctx = Ctx {
                    m,
                    slot,
                    s,
                    pin: spec.pin.clone(),
                    mechanisms: mechanisms.clone(),
                };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (sc.run)(&ctx)));
                let _ = m.close_session(s);
                match r {
                    Ok(Ok(())) => Outcome::Pass,
                    Ok(Err(Stop::Unsupported(why))) => Outcome::Unsupported(why),
                    Ok(Err(Stop::Fail(why))) => Outcome::Fail(why),
                    Err(_) => Outcome::Fail("the scenario panicked".into()),
                }
            }
        };
        let outcome = match (outcome, deviations.iter().find(|d| d.scenario == sc.id)) {
            (Outcome::Fail(detail), Some(d)) => Outcome::KnownDeviation {
                detail,
                reason: d.reason.clone(),
                reference: d.reference.clone(),
            },
            (other, _) => other,
        };
        outcomes.push(outcome);
    }
    if progress {
        eprint!("\r\x1b[K");
    }
    let _ = m.logout(keeper);
    let _ = m.close_session(keeper);
    // An entry is stale when its scenario passes (or no longer exists); an unsupported scenario
    // neither confirms nor refutes it.
    let stale = deviations
        .iter()
        .filter(
            |d| match scenarios.iter().position(|s| s.id == d.scenario) {
                Some(i) => matches!(outcomes[i], Outcome::Pass),
                None => true,
            },
        )
        .map(|d| d.scenario.clone())
        .collect();
    Ok(Column {
        name: spec.name.clone(),
        location,
        library,
        outcomes,
        stale,
    })
}
