//! The module's state and the safe body of every PKCS#11 function.
//!
//! State: one [`Module`] per initialised process, in a process-wide `RwLock` (the one global a C
//! library cannot avoid). Each slot owns its token behind its own `Mutex`, so threads working on
//! different tokens never contend, and C_Finalize (which takes the write lock) waits for calls
//! in flight and then makes every later call return CKR_CRYPTOKI_NOT_INITIALIZED.
//!
//! Session handles are `(slot index + 1) << 32 | emulator session handle`, so finding a session's
//! token needs no shared table.
//!
//! Outputs follow the length-query protocol without re-running operations: a result computed
//! for a length query or a short buffer is kept per session and function until the caller
//! fetches it (or starts a new operation of that kind).

use crate::audit::AuditLog;
use crate::config::{self, Config};
use crate::convert::{self, RawAttribute, RawMechanism};
use crate::platform::{OsPlatform, TokenStore};
use crate::store::file::FileStore;
use cryptoki_sys::*;
use hsmemu::attributes::{Attribute, AttributeType};
use hsmemu::mechanisms::Mechanism;
use hsmemu::platform::virt::RamStore;
use hsmemu::profile::{LoginFormat, Profile};
use hsmemu::token::{TokenConfig, UserType};
use hsmemu::{Hsm, ObjectHandle, OperationKind, SessionHandle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

/// Result of a module function: the error is the CK_RV.
pub type Rv<T> = Result<T, CK_RV>;

fn em<T>(r: hsmemu::Result<T>) -> Rv<T> {
    r.map_err(convert::rv)
}

/// Which function produced a pending output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutKind {
    /// C_Encrypt.
    Encrypt,
    /// C_EncryptUpdate.
    EncryptUpdate,
    /// C_EncryptFinal.
    EncryptFinal,
    /// C_Decrypt.
    Decrypt,
    /// C_DecryptUpdate.
    DecryptUpdate,
    /// C_DecryptFinal.
    DecryptFinal,
    /// C_Digest.
    Digest,
    /// C_DigestFinal.
    DigestFinal,
    /// C_Sign.
    Sign,
    /// C_SignFinal.
    SignFinal,
    /// C_WrapKey.
    Wrap,
}

impl OutKind {
    fn family(self) -> u8 {
        match self {
            OutKind::Encrypt | OutKind::EncryptUpdate | OutKind::EncryptFinal => 0,
            OutKind::Decrypt | OutKind::DecryptUpdate | OutKind::DecryptFinal => 1,
            OutKind::Digest | OutKind::DigestFinal => 2,
            OutKind::Sign | OutKind::SignFinal => 3,
            OutKind::Wrap => 4,
        }
    }
}

struct Pending {
    input: Vec<u8>,
    output: Vec<u8>,
}

/// A token and the shim's per-session leftovers.
pub struct TokenCell {
    /// The emulated HSM.
    pub hsm: Hsm<OsPlatform>,
    pending: HashMap<(SessionHandle, OutKind), Pending>,
    label: String,
}

/// One slot with its token.
pub struct Slot {
    /// The slot ID.
    pub id: CK_SLOT_ID,
    /// The token's vendor profile (fixed for the life of the module).
    pub profile: &'static Profile,
    token: Mutex<TokenCell>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, TokenCell> {
        // A panic while holding the lock was already reported as CKR_GENERAL_ERROR; the token's
        // state is still a consistent value, so later calls may go on.
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The initialised module.
pub struct Module {
    /// The process generation it was initialised in ([`crate::ffi::fork`]).
    generation: u64,
    /// The slots, in slot-list order.
    pub slots: Vec<Slot>,
    audit: Option<AuditLog>,
}

static STATE: RwLock<Option<Module>> = RwLock::new(None);
/// Whether the initialised module keeps an audit log: lets [`audit`] skip the lock otherwise.
static AUDITING: AtomicBool = AtomicBool::new(false);

fn pin_str(pin: &[u8]) -> Rv<String> {
    String::from_utf8(pin.to_vec()).map_err(|_| CKR_ARGUMENTS_BAD)
}

/// Opens the token of `config.tokens[index]`: a persistent token is read from its directory
/// (and initialised with the configured PINs on first use); an in-memory token is created and
/// initialised.
pub fn open_token(config: &Config, index: usize) -> Result<Hsm<OsPlatform>, String> {
    let spec = &config.tokens[index];
    let label = &spec.label;
    let seed = config.seed.map(|s| s.wrapping_add(index as u64));
    let store = match &spec.path {
        Some(dir) => {
            TokenStore::File(FileStore::open(dir).map_err(|e| format!("token {label:?}: {e}"))?)
        }
        None => TokenStore::Memory(RamStore::default()),
    };
    // In-memory tokens hash PINs with fewer rounds: nothing they protect outlives the process.
    let default_rounds = if spec.path.is_some() {
        TokenConfig::default().pin_kdf_rounds
    } else {
        10_000
    };
    let token_config = TokenConfig {
        pin_kdf_rounds: config.pin_kdf_rounds.unwrap_or(default_rounds),
        profile: spec.profile(),
        ..TokenConfig::default()
    };
    let platform = OsPlatform::new(store, seed)?;
    let mut hsm = Hsm::new(platform, token_config)
        .map_err(|e| format!("token {label:?}: cannot read its state: {e}"))?;
    match hsm.token_info().label {
        Some(stored) if stored == *label => {}
        Some(stored) => {
            return Err(format!(
                "token {label:?}: its directory holds the token labelled {stored:?}; fix the label or the path"
            ));
        }
        None => {
            let so_pin = spec.so_pin.as_deref().unwrap_or(config::DEFAULT_SO_PIN);
            let user_pin = spec.user_pin.as_deref().unwrap_or(config::DEFAULT_USER_PIN);
            initialise(&mut hsm, label, so_pin, user_pin)
                .map_err(|e| format!("token {label:?}: initialisation failed: {e}"))?;
        }
    }
    report_rejected(label, &hsm);
    Ok(hsm)
}

/// C_InitToken + C_InitPIN in one step.
pub fn initialise(
    hsm: &mut Hsm<OsPlatform>,
    label: &str,
    so_pin: &str,
    user_pin: &str,
) -> hsmemu::Result<()> {
    hsm.init_token(so_pin.as_bytes(), label)?;
    let s = hsm.open_session(true)?;
    let login = match hsm.profile().login {
        LoginFormat::Pin => so_pin.to_string(),
        LoginFormat::UserColonPassword => format!("admin:{so_pin}"),
    };
    hsm.login(s, UserType::SecurityOfficer, login.as_bytes())?;
    hsm.init_pin(s, user_pin.as_bytes())?;
    hsm.close_session(s)
}

/// Tells the operator about stored records that failed authentication (they are not loaded;
/// the other records are).
fn report_rejected(label: &str, hsm: &Hsm<OsPlatform>) {
    for (id, why) in &hsm.load_report().rejected {
        eprintln!(
            "hsmemu: token {label:?}: stored object {} refused: {why}",
            id.0
        );
    }
}

/// C_Initialize (after argument decoding): builds the module from the configuration.
pub fn initialize(reserved: Option<&str>) -> Rv<()> {
    let mut state = STATE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    crate::ffi::fork::watch();
    let generation = crate::ffi::fork::generation();
    if let Some(module) = state.as_ref() {
        if module.generation == generation {
            return Err(CKR_CRYPTOKI_ALREADY_INITIALIZED);
        }
        // A forked child inherits the parent's state; it starts afresh (with a new RNG seed).
        *state = None;
    }
    let config = Config::load(reserved).map_err(|msg| {
        eprintln!("hsmemu: configuration error: {msg}");
        CKR_GENERAL_ERROR
    })?;
    let mut slots = Vec::with_capacity(config.tokens.len());
    for i in 0..config.tokens.len() {
        let hsm = open_token(&config, i).map_err(|msg| {
            eprintln!("hsmemu: {msg}");
            CKR_GENERAL_ERROR
        })?;
        let cell = TokenCell {
            hsm,
            pending: HashMap::new(),
            label: config.tokens[i].label.clone(),
        };
        slots.push(Slot {
            id: config.slot_id(i),
            profile: config.tokens[i].profile(),
            token: Mutex::new(cell),
        });
    }
    let audit = config
        .audit_log
        .as_deref()
        .map(AuditLog::open)
        .transpose()
        .map_err(|msg| {
            eprintln!("hsmemu: {msg}");
            CKR_GENERAL_ERROR
        })?;
    AUDITING.store(audit.is_some(), Ordering::Relaxed);
    *state = Some(Module {
        generation,
        slots,
        audit,
    });
    Ok(())
}

/// C_Finalize: waits for calls in flight, then drops every token.
pub fn finalize() -> Rv<()> {
    let mut state = STATE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match state.take() {
        Some(m) if m.generation == crate::ffi::fork::generation() => {
            AUDITING.store(false, Ordering::Relaxed);
            if let Some(log) = &m.audit {
                log.record("C_Finalize", CKR_OK);
            }
            Ok(())
        }
        _ => Err(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

/// Records a call in the audit log, if the module is initialised and has one.
pub fn audit(function: &str, rv: CK_RV) {
    if !AUDITING.load(Ordering::Relaxed) {
        return;
    }
    let state = STATE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(log) = state.as_ref().and_then(|m| m.audit.as_ref()) {
        log.record(function, rv);
    }
}

/// Runs `f` with the initialised module.
pub fn with_module<T>(f: impl FnOnce(&Module) -> Rv<T>) -> Rv<T> {
    let state = STATE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match state.as_ref() {
        Some(m) if m.generation == crate::ffi::fork::generation() => f(m),
        _ => Err(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

fn slot_by_id(m: &Module, id: CK_SLOT_ID) -> Rv<(usize, &Slot)> {
    m.slots
        .iter()
        .enumerate()
        .find(|(_, s)| s.id == id)
        .ok_or(CKR_SLOT_ID_INVALID)
}

fn session_handle(slot_index: usize, s: SessionHandle) -> Rv<CK_SESSION_HANDLE> {
    if s.0 > u64::from(u32::MAX) {
        return Err(CKR_SESSION_COUNT);
    }
    Ok(((slot_index as u64 + 1) << 32) | s.0)
}

/// Runs `f` on the token of session `h` with the emulator's session handle.
pub fn with_session<T>(
    h: CK_SESSION_HANDLE,
    f: impl FnOnce(&mut TokenCell, SessionHandle) -> Rv<T>,
) -> Rv<T> {
    with_module(|m| {
        let (slot, s) = resolve(m, h)?;
        f(&mut slot.lock(), s)
    })
}

/// C_GetSessionInfo: the session's slot and state.
pub fn session_info(h: CK_SESSION_HANDLE) -> Rv<(CK_SLOT_ID, hsmemu::SessionInfo)> {
    with_module(|m| {
        let (slot, s) = resolve(m, h)?;
        let info = em(slot.lock().hsm.session_info(s))?;
        Ok((slot.id, info))
    })
}

// ---- Slots and tokens ----

/// C_GetSlotList.
pub fn slot_list() -> Rv<Vec<CK_SLOT_ID>> {
    with_module(|m| Ok(m.slots.iter().map(|s| s.id).collect()))
}

/// Runs `f` on the token in slot `id`.
pub fn with_slot<T>(id: CK_SLOT_ID, f: impl FnOnce(&mut TokenCell) -> Rv<T>) -> Rv<T> {
    with_module(|m| {
        let (_, slot) = slot_by_id(m, id)?;
        f(&mut slot.lock())
    })
}

/// C_InitToken.
pub fn init_token(slot: CK_SLOT_ID, so_pin: &[u8], label: &[u8]) -> Rv<()> {
    let label = std::str::from_utf8(label)
        .map_err(|_| CKR_ARGUMENTS_BAD)?
        .trim_end_matches(' ')
        .to_string();
    with_slot(slot, |t| em(t.hsm.init_token(so_pin, &label)))
}

/// C_OpenSession.
pub fn open_session(slot: CK_SLOT_ID, flags: CK_FLAGS) -> Rv<CK_SESSION_HANDLE> {
    if flags & CKF_SERIAL_SESSION == 0 {
        return Err(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    }
    with_module(|m| {
        let (index, slot) = slot_by_id(m, slot)?;
        let s = em(slot.lock().hsm.open_session(flags & CKF_RW_SESSION != 0))?;
        session_handle(index, s)
    })
}

/// C_CloseSession.
pub fn close_session(h: CK_SESSION_HANDLE) -> Rv<()> {
    with_session(h, |t, s| {
        t.pending.retain(|(owner, _), _| *owner != s);
        em(t.hsm.close_session(s))
    })
}

/// C_CloseAllSessions.
pub fn close_all_sessions(slot: CK_SLOT_ID) -> Rv<()> {
    with_slot(slot, |t| {
        t.pending.clear();
        t.hsm.close_all_sessions();
        Ok(())
    })
}

/// C_Login.
pub fn login(h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: &[u8]) -> Rv<()> {
    let user = match user {
        CKU_SO => UserType::SecurityOfficer,
        CKU_USER => UserType::User,
        CKU_CONTEXT_SPECIFIC => return Err(CKR_OPERATION_NOT_INITIALIZED),
        _ => return Err(CKR_USER_TYPE_INVALID),
    };
    with_session(h, |t, s| {
        let unlocking = !t.hsm.is_unlocked();
        em(t.hsm.login(s, user, pin))?;
        if unlocking {
            report_rejected(&t.label, &t.hsm);
        }
        Ok(())
    })
}

/// C_InitPIN.
pub fn init_pin(h: CK_SESSION_HANDLE, pin: &[u8]) -> Rv<()> {
    pin_str(pin)?;
    with_session(h, |t, s| em(t.hsm.init_pin(s, pin)))
}

// ---- Objects ----

/// C_CreateObject.
pub fn create_object(h: CK_SESSION_HANDLE, template: Vec<RawAttribute>) -> Rv<CK_OBJECT_HANDLE> {
    let template = convert::template(template)?;
    with_session(h, |t, s| em(t.hsm.create_object(s, &template)).map(|o| o.0))
}

/// C_CopyObject.
pub fn copy_object(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    template: Vec<RawAttribute>,
) -> Rv<CK_OBJECT_HANDLE> {
    let template = convert::template(template)?;
    with_session(h, |t, s| {
        em(t.hsm.copy_object(s, ObjectHandle(o), &template)).map(|o| o.0)
    })
}

/// A visible object's attributes, looked up by PKCS#11 type code (C_GetAttributeValue).
pub struct ObjectAttributes<'a>(hsmemu::ObjectReader<'a>);

impl<'a> ObjectAttributes<'a> {
    /// The value of attribute `code`, or the per-attribute CK_RV (CKR_ATTRIBUTE_SENSITIVE,
    /// CKR_ATTRIBUTE_TYPE_INVALID) that PKCS#11 3.0 §5.7 reports for it.
    pub fn get(&self, code: CK_ATTRIBUTE_TYPE) -> Result<hsmemu::AttributeRef<'a>, CK_RV> {
        let ty = AttributeType::from_code(code).ok_or(CKR_ATTRIBUTE_TYPE_INVALID)?;
        self.0.get(ty).map_err(convert::rv)
    }
}

/// C_GetAttributeValue: runs `read` over object `o` under the token's lock, so values are
/// copied once, straight into the caller's buffers.
pub fn read_object<T>(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    read: impl FnOnce(&ObjectAttributes<'_>) -> T,
) -> Rv<T> {
    with_session(h, |t, s| {
        let reader = em(t.hsm.read_object(s, ObjectHandle(o)))?;
        Ok(read(&ObjectAttributes(reader)))
    })
}

/// C_SetAttributeValue.
pub fn set_attributes(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    template: Vec<RawAttribute>,
) -> Rv<()> {
    let template = convert::template(template)?;
    with_session(h, |t, s| {
        em(t.hsm.set_attribute_values(s, ObjectHandle(o), &template))
    })
}

/// C_DestroyObject.
pub fn destroy_object(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> Rv<()> {
    with_session(h, |t, s| em(t.hsm.destroy_object(s, ObjectHandle(o))))
}

/// C_GetObjectSize: checks the handle; the size is CK_UNAVAILABLE_INFORMATION (PKCS#11 3.0
/// §5.7 allows it).
pub fn object_size(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> Rv<CK_ULONG> {
    with_session(h, |t, s| {
        em(t.hsm.read_object(s, ObjectHandle(o)).map(|_| ()))
    })?;
    Ok(CK_UNAVAILABLE_INFORMATION)
}

/// C_FindObjectsInit.
pub fn find_init(h: CK_SESSION_HANDLE, template: Vec<RawAttribute>) -> Rv<()> {
    let template = match convert::template(template) {
        Ok(t) => t,
        // An attribute the emulator does not know matches no object (PKCS#11 3.0 §5.7).
        Err(CKR_ATTRIBUTE_TYPE_INVALID) => vec![Attribute::ulong(AttributeType::Class, u64::MAX)],
        Err(e) => return Err(e),
    };
    with_session(h, |t, s| em(t.hsm.find_objects_init(s, &template)))
}

/// C_FindObjects.
pub fn find(h: CK_SESSION_HANDLE, max: usize) -> Rv<Vec<CK_OBJECT_HANDLE>> {
    with_session(h, |t, s| {
        em(t.hsm.find_objects(s, max)).map(|v| v.into_iter().map(|o| o.0).collect())
    })
}

/// C_FindObjectsFinal.
pub fn find_final(h: CK_SESSION_HANDLE) -> Rv<()> {
    with_session(h, |t, s| em(t.hsm.find_objects_final(s)))
}

// ---- Operations ----

/// Decodes a mechanism for session `h`, translating the token profile's vendor codes.
pub fn mechanism(h: CK_SESSION_HANDLE, mut raw: RawMechanism) -> Rv<Mechanism> {
    raw.code = with_module(|m| Ok(resolve(m, h)?.0.profile.standard_code(raw.code)))?;
    convert::mechanism(raw)
}

/// The IV the token chose for session `h`'s last AES-GCM C_WrapKey (profiles that generate
/// GCM IVs).
pub fn generated_wrap_iv(h: CK_SESSION_HANDLE) -> Rv<Option<Vec<u8>>> {
    with_session(h, |t, s| Ok(t.hsm.generated_wrap_iv(s).map(<[u8]>::to_vec)))
}

/// The standard code that `code` stands for on the token in `slot` (C_GetMechanismInfo).
pub fn standard_code(slot: CK_SLOT_ID, code: CK_MECHANISM_TYPE) -> Rv<CK_MECHANISM_TYPE> {
    with_module(|m| Ok(slot_by_id(m, slot)?.1.profile.standard_code(code)))
}

/// C_GetMechanismList: the emulator's mechanisms, then the profile's vendor codes for them.
pub fn mechanism_list(slot: CK_SLOT_ID) -> Rv<Vec<CK_MECHANISM_TYPE>> {
    with_module(|m| {
        let (_, slot) = slot_by_id(m, slot)?;
        let mut list: Vec<CK_MECHANISM_TYPE> = slot
            .lock()
            .hsm
            .mechanisms()
            .iter()
            .map(|m| m.code())
            .collect();
        for (vendor, standard) in slot.profile.mechanism_aliases {
            if list.contains(standard) {
                list.push(*vendor);
            }
        }
        Ok(list)
    })
}

/// Starts an operation of `kind`'s family: clears a pending output of that family, then runs
/// `init`.
pub fn start<T>(
    h: CK_SESSION_HANDLE,
    kind: OutKind,
    init: impl FnOnce(&mut Hsm<OsPlatform>, SessionHandle) -> hsmemu::Result<T>,
) -> Rv<T> {
    with_session(h, |t, s| {
        t.pending
            .retain(|(owner, k), _| *owner != s || k.family() != kind.family());
        em(init(&mut t.hsm, s))
    })
}

/// Produces an output under the length-query protocol. `capacity` is `None` for a NULL buffer,
/// else the caller's buffer size. A result that cannot be delivered now is kept for the next
/// call of the same function with the same input, so the operation is not run twice.
pub fn produce(
    h: CK_SESSION_HANDLE,
    kind: OutKind,
    input: &[u8],
    capacity: Option<usize>,
    run: impl FnOnce(&mut Hsm<OsPlatform>, SessionHandle) -> hsmemu::Result<Vec<u8>>,
) -> Rv<Vec<u8>> {
    with_session(h, |t, s| {
        let key = (s, kind);
        let output = match t.pending.remove(&key) {
            Some(p) if p.input == input => p.output,
            _ => em(run(&mut t.hsm, s))?,
        };
        if capacity.is_none_or(|c| c < output.len()) {
            t.pending.insert(
                key,
                Pending {
                    input: input.to_vec(),
                    output: output.clone(),
                },
            );
        }
        Ok(output)
    })
}

fn resolve(m: &Module, h: CK_SESSION_HANDLE) -> Rv<(&Slot, SessionHandle)> {
    let index = usize::try_from(h >> 32)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .ok_or(CKR_SESSION_HANDLE_INVALID)?;
    let slot = m.slots.get(index).ok_or(CKR_SESSION_HANDLE_INVALID)?;
    Ok((slot, SessionHandle(h & 0xFFFF_FFFF)))
}

/// A single-part call (C_Encrypt, C_Decrypt, C_Digest, C_Sign) under the length-query
/// protocol. With no buffer, or one shorter than the output, it returns `Err(needed)` without
/// running the operation (which stays active). Otherwise the operation is taken out of its
/// session under the token lock and finished without it, writing straight into `out`, so other
/// sessions of the token proceed while the crypto runs; it returns `Ok(written)`.
pub fn produce_detached(
    h: CK_SESSION_HANDLE,
    op: OperationKind,
    input: &[u8],
    out: Option<&mut [u8]>,
) -> Rv<Result<usize, usize>> {
    with_module(|m| {
        let (slot, s) = resolve(m, h)?;
        let (operation, provider, out) = {
            let mut cell = slot.lock();
            let needed = em(cell.hsm.output_len(s, op, input.len()))?;
            match out {
                Some(out) if out.len() >= needed => (
                    em(cell.hsm.take_operation(s, op))?,
                    *cell.hsm.provider(),
                    out,
                ),
                _ => return Ok(Err(needed)),
            }
        };
        em(operation.finish_into(&provider, input, out)).map(Ok)
    })
}

/// C_Verify, finished without the token lock like [`produce_detached`].
pub fn verify_detached(h: CK_SESSION_HANDLE, data: &[u8], signature: &[u8]) -> Rv<()> {
    with_module(|m| {
        let (slot, s) = resolve(m, h)?;
        let (operation, provider) = {
            let mut cell = slot.lock();
            (
                em(cell.hsm.take_operation(s, OperationKind::Verify))?,
                *cell.hsm.provider(),
            )
        };
        em(operation.verify(&provider, data, signature))
    })
}

/// Runs an operation that returns nothing.
pub fn run(
    h: CK_SESSION_HANDLE,
    f: impl FnOnce(&mut Hsm<OsPlatform>, SessionHandle) -> hsmemu::Result<()>,
) -> Rv<()> {
    with_session(h, |t, s| em(f(&mut t.hsm, s)))
}

/// Runs an operation that creates objects.
pub fn create<T>(
    h: CK_SESSION_HANDLE,
    f: impl FnOnce(&mut Hsm<OsPlatform>, SessionHandle) -> hsmemu::Result<T>,
) -> Rv<T> {
    with_session(h, |t, s| em(f(&mut t.hsm, s)))
}
