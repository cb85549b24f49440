//! The module loader: the harness's only `unsafe` code. It loads a PKCS#11 module (or takes
//! the embedded one), finds its function table (C_GetInterface first, C_GetFunctionList as the
//! fallback, PKCS#11 3.0 §5.4) and wraps each function the scenarios use in a safe method that
//! owns every buffer it passes. Errors are the raw `CK_RV` the module returned, so scenarios can
//! check codes exactly.
#![allow(unsafe_code)]
// LP64 only (as the module): CK_ULONG and usize are both 64 bits wide.
#![allow(clippy::cast_possible_truncation)]

use cryptoki_sys::*;
use std::collections::HashMap;
use std::ffi::CString;
use std::ptr;
use std::sync::Mutex;

/// A module's return value other than CKR_OK.
pub type Rv = CK_RV;

/// Result of a PKCS#11 call.
pub type CkResult<T> = Result<T, Rv>;

/// An input buffer for a function whose C prototype takes `CK_BYTE_PTR`: PKCS#11 functions read
/// their input and never write it (PKCS#11 3.0 §5.8-§5.12), so the caller's bytes are passed as
/// they are.
fn input(data: &[u8]) -> *mut CK_BYTE {
    data.as_ptr() as *mut CK_BYTE
}

fn check(rv: CK_RV) -> CkResult<()> {
    if rv == CKR_OK { Ok(()) } else { Err(rv) }
}

/// An attribute to pass in a template: a type and its bytes, or a nested template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attr {
    /// A plain value (CK_BBOOL, CK_ULONG in native order, or bytes).
    Value(CK_ATTRIBUTE_TYPE, Vec<u8>),
    /// An array attribute (CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE).
    Nested(CK_ATTRIBUTE_TYPE, Vec<Attr>),
}

impl Attr {
    /// A CK_BBOOL attribute.
    pub fn bool(ty: CK_ATTRIBUTE_TYPE, v: bool) -> Self {
        Attr::Value(ty, vec![if v { CK_TRUE } else { CK_FALSE }])
    }

    /// A CK_ULONG attribute.
    pub fn ulong(ty: CK_ATTRIBUTE_TYPE, v: CK_ULONG) -> Self {
        Attr::Value(ty, v.to_ne_bytes().to_vec())
    }

    /// A byte-array attribute.
    pub fn bytes(ty: CK_ATTRIBUTE_TYPE, v: impl Into<Vec<u8>>) -> Self {
        Attr::Value(ty, v.into())
    }
}

/// C templates built from [`Attr`]s, with storage that outlives the call.
struct Template {
    top: Vec<CK_ATTRIBUTE>,
    _nested: Vec<Vec<CK_ATTRIBUTE>>,
}

impl Template {
    fn new(attrs: &[Attr]) -> Self {
        let mut nested = Vec::new();
        let top = attrs
            .iter()
            .map(|a| match a {
                Attr::Value(ty, v) => CK_ATTRIBUTE {
                    type_: *ty,
                    pValue: v.as_ptr() as *mut _,
                    ulValueLen: v.len() as CK_ULONG,
                },
                Attr::Nested(ty, inner) => {
                    let inner: Vec<CK_ATTRIBUTE> = inner
                        .iter()
                        .filter_map(|i| match i {
                            Attr::Value(t, v) => Some(CK_ATTRIBUTE {
                                type_: *t,
                                pValue: v.as_ptr() as *mut _,
                                ulValueLen: v.len() as CK_ULONG,
                            }),
                            Attr::Nested(..) => None,
                        })
                        .collect();
                    let a = CK_ATTRIBUTE {
                        type_: *ty,
                        pValue: inner.as_ptr() as *mut _,
                        ulValueLen: (inner.len() * std::mem::size_of::<CK_ATTRIBUTE>()) as CK_ULONG,
                    };
                    nested.push(inner);
                    a
                }
            })
            .collect();
        Template {
            top,
            _nested: nested,
        }
    }

    fn ptr(&mut self) -> (*mut CK_ATTRIBUTE, CK_ULONG) {
        (
            if self.top.is_empty() {
                ptr::null_mut()
            } else {
                self.top.as_mut_ptr()
            },
            self.top.len() as CK_ULONG,
        )
    }
}

/// A mechanism with its parameters.
#[derive(Clone, Debug)]
pub enum Mech {
    /// No parameter.
    Plain(CK_MECHANISM_TYPE),
    /// CKM_AES_GCM with CK_GCM_PARAMS.
    Gcm {
        /// The IV.
        iv: Vec<u8>,
        /// Additional authenticated data.
        aad: Vec<u8>,
        /// Tag length in bits.
        tag_bits: CK_ULONG,
    },
    /// CKM_ECDH1_DERIVE with the null KDF and this peer point.
    Ecdh(Vec<u8>),
}

impl Mech {
    /// The mechanism type.
    pub fn code(&self) -> CK_MECHANISM_TYPE {
        match self {
            Mech::Plain(c) => *c,
            Mech::Gcm { .. } => CKM_AES_GCM,
            Mech::Ecdh(_) => CKM_ECDH1_DERIVE,
        }
    }

    /// The same mechanism with `iv` as its GCM IV (other mechanisms unchanged).
    fn gcm_iv(&self, iv: Vec<u8>) -> Mech {
        match self {
            Mech::Gcm { aad, tag_bits, .. } => Mech::Gcm {
                iv,
                aad: aad.clone(),
                tag_bits: *tag_bits,
            },
            other => other.clone(),
        }
    }

    /// Calls `f` with a CK_MECHANISM whose parameter storage lives for the call; the code is
    /// translated through a profile's `aliases` (standard code, the module's code).
    fn with<T>(
        &self,
        aliases: &[(CK_MECHANISM_TYPE, CK_MECHANISM_TYPE)],
        f: impl FnOnce(*mut CK_MECHANISM) -> T,
    ) -> T {
        self.with_iv(aliases, f).0
    }

    /// [`Mech::with`], also returning a GCM IV buffer as the module left it (a module that
    /// generates IVs writes its choice there).
    fn with_iv<T>(
        &self,
        aliases: &[(CK_MECHANISM_TYPE, CK_MECHANISM_TYPE)],
        f: impl FnOnce(*mut CK_MECHANISM) -> T,
    ) -> (T, Option<Vec<u8>>) {
        let code = self.code();
        let code = aliases
            .iter()
            .find(|(std, _)| *std == code)
            .map_or(code, |(_, vendor)| *vendor);
        match self {
            Mech::Plain(_) => {
                let mut m = CK_MECHANISM {
                    mechanism: code,
                    pParameter: ptr::null_mut(),
                    ulParameterLen: 0,
                };
                (f(&mut m), None)
            }
            Mech::Gcm { iv, aad, tag_bits } => {
                let mut iv = iv.clone();
                let mut aad = aad.clone();
                let mut p = CK_GCM_PARAMS {
                    pIv: iv.as_mut_ptr(),
                    ulIvLen: iv.len() as CK_ULONG,
                    ulIvBits: (iv.len() * 8) as CK_ULONG,
                    pAAD: if aad.is_empty() {
                        ptr::null_mut()
                    } else {
                        aad.as_mut_ptr()
                    },
                    ulAADLen: aad.len() as CK_ULONG,
                    ulTagBits: *tag_bits,
                };
                let mut m = CK_MECHANISM {
                    mechanism: code,
                    pParameter: (&raw mut p).cast(),
                    ulParameterLen: std::mem::size_of::<CK_GCM_PARAMS>() as CK_ULONG,
                };
                let result = f(&mut m);
                (result, Some(iv))
            }
            Mech::Ecdh(public) => {
                let mut public = public.clone();
                let mut p = CK_ECDH1_DERIVE_PARAMS {
                    kdf: CKD_NULL,
                    ulSharedDataLen: 0,
                    pSharedData: ptr::null_mut(),
                    ulPublicDataLen: public.len() as CK_ULONG,
                    pPublicData: public.as_mut_ptr(),
                };
                let mut m = CK_MECHANISM {
                    mechanism: code,
                    pParameter: (&raw mut p).cast(),
                    ulParameterLen: std::mem::size_of::<CK_ECDH1_DERIVE_PARAMS>() as CK_ULONG,
                };
                (f(&mut m), None)
            }
        }
    }
}

/// One attribute read back by [`Module::get_attributes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// The value.
    Value(Vec<u8>),
    /// CK_UNAVAILABLE_INFORMATION was returned for it.
    Unavailable,
}

/// A loaded PKCS#11 module.
pub struct Module {
    list: *const CK_FUNCTION_LIST,
    version: CK_VERSION,
    aliases: Vec<(CK_MECHANISM_TYPE, CK_MECHANISM_TYPE)>,
    /// For modules that choose GCM IVs themselves: the IV each scenario IV was replaced with.
    gcm_ivs: Option<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
    _library: Option<libloading::Library>,
}

// SAFETY: the function table is immutable and the harness initialises every module with
// CKF_OS_LOCKING_OK, under which PKCS#11 3.0 §5.4 requires the module to accept calls from any
// thread; the bench's threads each use their own sessions.
unsafe impl Send for Module {}
// SAFETY: as above.
unsafe impl Sync for Module {}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Module(PKCS#11 {}.{})",
            self.version.major, self.version.minor
        )
    }
}

macro_rules! call {
    ($self:ident . $name:ident ( $($arg:expr),* )) => {{
        // SAFETY: `list` points to the module's function table for the module's lifetime (a
        // static of the embedded module, or inside the library this value keeps loaded).
        let function = unsafe { (*$self.list).$name };
        match function {
            // SAFETY: the arguments are built by the caller from storage that outlives the
            // call, with the types and lengths the PKCS#11 function expects.
            Some(f) => unsafe { f($($arg),*) },
            None => CKR_FUNCTION_NOT_SUPPORTED,
        }
    }};
}

impl Module {
    /// Loads the module at `path`.
    pub fn load(path: &str) -> Result<Self, String> {
        // SAFETY: loading a library runs its initialisers; a PKCS#11 module is loaded to be
        // called, which is what the user asked for.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| format!("cannot load {path}: {e}"))?;
        // SAFETY: the symbol types are those PKCS#11 3.0 §5.4 defines.
        let get_interface = unsafe { library.get::<CK_C_GetInterface>(b"C_GetInterface\0") }
            .ok()
            .and_then(|s| *s);
        let mut list: *const CK_FUNCTION_LIST = ptr::null();
        if let Some(get_interface) = get_interface {
            let mut iface: *mut CK_INTERFACE = ptr::null_mut();
            // SAFETY: NULL name and version ask for the default interface; `iface` is writable.
            let rv = unsafe { get_interface(ptr::null_mut(), ptr::null_mut(), &mut iface, 0) };
            if rv == CKR_OK && !iface.is_null() {
                // SAFETY: the module returned a valid interface pointer.
                list = unsafe { (*iface).pFunctionList } as *const CK_FUNCTION_LIST;
            }
        }
        if list.is_null() {
            // SAFETY: as above.
            let get_list =
                unsafe { library.get::<CK_C_GetFunctionList>(b"C_GetFunctionList\0") }
                    .map_err(|e| format!("{path}: no C_GetInterface or C_GetFunctionList: {e}"))?;
            let get_list =
                (*get_list).ok_or_else(|| format!("{path}: C_GetFunctionList is NULL"))?;
            let mut l: *mut CK_FUNCTION_LIST = ptr::null_mut();
            // SAFETY: `l` is writable.
            let rv = unsafe { get_list(&mut l) };
            if rv != CKR_OK || l.is_null() {
                return Err(format!(
                    "{path}: C_GetFunctionList returned {}",
                    crate::rv::name(rv)
                ));
            }
            list = l;
        }
        // SAFETY: every function table starts with its CK_VERSION.
        let version = unsafe { (*list).version };
        Ok(Module {
            list,
            version,
            aliases: Vec::new(),
            gcm_ivs: None,
            _library: Some(library),
        })
    }

    /// The emulator linked in-process (its PKCS#11 3.0 table).
    #[cfg(feature = "embedded")]
    pub fn embedded() -> Self {
        let list = &raw const hsmemu_pkcs11::FUNCTION_LIST_3_0 as *const CK_FUNCTION_LIST;
        Module {
            list,
            version: CK_VERSION { major: 3, minor: 0 },
            aliases: Vec::new(),
            gcm_ivs: None,
            _library: None,
        }
    }

    /// Mechanism aliases of a vendor profile: (standard code, the module's code). Scenarios
    /// keep using standard codes; the module sees its own.
    pub fn set_aliases(&mut self, aliases: &[(CK_MECHANISM_TYPE, CK_MECHANISM_TYPE)]) {
        self.aliases = aliases.to_vec();
    }

    /// Drives a module that generates AES-GCM encryption IVs (CloudHSM): encryptions and
    /// GCM wraps pass a zero IV and remember the IV the module wrote back, and decryptions and
    /// unwraps that name the scenario's IV use the remembered one. Scenarios stay unchanged.
    pub fn set_generated_gcm_ivs(&mut self) {
        self.gcm_ivs = Some(Mutex::new(HashMap::new()));
    }

    /// Whether [`Module::set_generated_gcm_ivs`] is in effect.
    pub fn generates_gcm_ivs(&self) -> bool {
        self.gcm_ivs.is_some()
    }

    /// Forgets the IVs remembered under [`Module::set_generated_gcm_ivs`], so that the next
    /// decryptions use their IVs as given.
    pub fn forget_gcm_ivs(&self) {
        if let Some(ivs) = &self.gcm_ivs {
            ivs.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        }
    }

    /// Runs an encrypt-direction call (C_EncryptInit, C_WrapKey) with `m`, under
    /// [`Module::set_generated_gcm_ivs`] if set.
    fn call_out(&self, m: &Mech, f: impl FnOnce(*mut CK_MECHANISM) -> CK_RV) -> CK_RV {
        let (Some(ivs), Mech::Gcm { iv, .. }) = (&self.gcm_ivs, m) else {
            return m.with(&self.aliases, f);
        };
        let (rv, chosen) = m.gcm_iv(vec![0; iv.len()]).with_iv(&self.aliases, f);
        if let (CKR_OK, Some(chosen)) = (rv, chosen) {
            ivs.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(iv.clone(), chosen);
        }
        rv
    }

    /// Runs a decrypt-direction call (C_DecryptInit, C_UnwrapKey) with `m`, substituting the
    /// IV a generating module chose for the scenario's IV.
    fn call_in(&self, m: &Mech, f: impl FnOnce(*mut CK_MECHANISM) -> CK_RV) -> CK_RV {
        let (Some(ivs), Mech::Gcm { iv, .. }) = (&self.gcm_ivs, m) else {
            return m.with(&self.aliases, f);
        };
        let chosen = ivs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(iv)
            .cloned();
        match chosen {
            Some(iv) => m.gcm_iv(iv).with(&self.aliases, f),
            None => m.with(&self.aliases, f),
        }
    }

    /// The version of the function table in use.
    pub fn table_version(&self) -> CK_VERSION {
        self.version
    }

    /// C_Initialize with OS locking, and `reserved` as the pReserved string if given.
    pub fn initialize(&self, reserved: Option<&str>) -> CkResult<()> {
        let reserved = reserved.map(|r| CString::new(r).unwrap_or_default());
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: CKF_OS_LOCKING_OK,
            pReserved: reserved
                .as_ref()
                .map_or(ptr::null_mut(), |r| r.as_ptr() as *mut _),
        };
        check(call!(self.C_Initialize((&raw mut args).cast())))
    }

    /// C_Finalize.
    pub fn finalize(&self) -> CkResult<()> {
        check(call!(self.C_Finalize(ptr::null_mut())))
    }

    /// C_GetInfo.
    pub fn info(&self) -> CkResult<CK_INFO> {
        // SAFETY: CK_INFO is plain data; all-zero is a valid value to be overwritten.
        let mut info: CK_INFO = unsafe { std::mem::zeroed() };
        check(call!(self.C_GetInfo(&mut info)))?;
        Ok(info)
    }

    /// C_GetSlotList(CK_TRUE).
    pub fn slots(&self) -> CkResult<Vec<CK_SLOT_ID>> {
        let mut n: CK_ULONG = 0;
        check(call!(self.C_GetSlotList(CK_TRUE, ptr::null_mut(), &mut n)))?;
        let mut slots = vec![0; n as usize];
        check(call!(self.C_GetSlotList(
            CK_TRUE,
            slots.as_mut_ptr(),
            &mut n
        )))?;
        slots.truncate(n as usize);
        Ok(slots)
    }

    /// C_GetTokenInfo.
    pub fn token_info(&self, slot: CK_SLOT_ID) -> CkResult<CK_TOKEN_INFO> {
        // SAFETY: plain data, overwritten by the call.
        let mut info: CK_TOKEN_INFO = unsafe { std::mem::zeroed() };
        check(call!(self.C_GetTokenInfo(slot, &mut info)))?;
        Ok(info)
    }

    /// C_GetMechanismList.
    pub fn mechanisms(&self, slot: CK_SLOT_ID) -> CkResult<Vec<CK_MECHANISM_TYPE>> {
        let mut n: CK_ULONG = 0;
        check(call!(self.C_GetMechanismList(
            slot,
            ptr::null_mut(),
            &mut n
        )))?;
        let mut list = vec![0; n as usize];
        check(call!(self.C_GetMechanismList(
            slot,
            list.as_mut_ptr(),
            &mut n
        )))?;
        list.truncate(n as usize);
        for code in &mut list {
            if let Some((std, _)) = self.aliases.iter().find(|(_, vendor)| vendor == code) {
                *code = *std;
            }
        }
        Ok(list)
    }

    /// C_InitToken with a blank-padded label.
    pub fn init_token(&self, slot: CK_SLOT_ID, so_pin: &str, label: &str) -> CkResult<()> {
        let mut padded = [b' '; 32];
        let n = label.len().min(32);
        padded[..n].copy_from_slice(&label.as_bytes()[..n]);
        let mut pin = so_pin.as_bytes().to_vec();
        check(call!(self.C_InitToken(
            slot,
            pin.as_mut_ptr(),
            pin.len() as CK_ULONG,
            padded.as_mut_ptr()
        )))
    }

    /// C_OpenSession.
    pub fn open_session(&self, slot: CK_SLOT_ID, rw: bool) -> CkResult<CK_SESSION_HANDLE> {
        let mut h = 0;
        let flags = CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 };
        check(call!(self.C_OpenSession(
            slot,
            flags,
            ptr::null_mut(),
            None,
            &mut h
        )))?;
        Ok(h)
    }

    /// C_CloseSession.
    pub fn close_session(&self, s: CK_SESSION_HANDLE) -> CkResult<()> {
        check(call!(self.C_CloseSession(s)))
    }

    /// C_Login.
    pub fn login(&self, s: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: &str) -> CkResult<()> {
        let mut pin = pin.as_bytes().to_vec();
        check(call!(self.C_Login(
            s,
            user,
            pin.as_mut_ptr(),
            pin.len() as CK_ULONG
        )))
    }

    /// C_Logout.
    pub fn logout(&self, s: CK_SESSION_HANDLE) -> CkResult<()> {
        check(call!(self.C_Logout(s)))
    }

    /// C_InitPIN.
    pub fn init_pin(&self, s: CK_SESSION_HANDLE, pin: &str) -> CkResult<()> {
        let mut pin = pin.as_bytes().to_vec();
        check(call!(self.C_InitPIN(
            s,
            pin.as_mut_ptr(),
            pin.len() as CK_ULONG
        )))
    }

    /// C_CreateObject.
    pub fn create_object(
        &self,
        s: CK_SESSION_HANDLE,
        attrs: &[Attr],
    ) -> CkResult<CK_OBJECT_HANDLE> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        let mut h = 0;
        check(call!(self.C_CreateObject(s, p, n, &mut h)))?;
        Ok(h)
    }

    /// C_CopyObject.
    pub fn copy_object(
        &self,
        s: CK_SESSION_HANDLE,
        o: CK_OBJECT_HANDLE,
        attrs: &[Attr],
    ) -> CkResult<CK_OBJECT_HANDLE> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        let mut h = 0;
        check(call!(self.C_CopyObject(s, o, p, n, &mut h)))?;
        Ok(h)
    }

    /// C_DestroyObject.
    pub fn destroy_object(&self, s: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE) -> CkResult<()> {
        check(call!(self.C_DestroyObject(s, o)))
    }

    /// C_GetAttributeValue for `types`: the call's CK_RV and, per attribute, its value or
    /// CK_UNAVAILABLE_INFORMATION (lengths are queried first, as clients do).
    pub fn get_attributes(
        &self,
        s: CK_SESSION_HANDLE,
        o: CK_OBJECT_HANDLE,
        types: &[CK_ATTRIBUTE_TYPE],
    ) -> (CK_RV, Vec<Read>) {
        let mut t: Vec<CK_ATTRIBUTE> = types
            .iter()
            .map(|ty| CK_ATTRIBUTE {
                type_: *ty,
                pValue: ptr::null_mut(),
                ulValueLen: 0,
            })
            .collect();
        let first = call!(self.C_GetAttributeValue(s, o, t.as_mut_ptr(), t.len() as CK_ULONG));
        if !matches!(
            first,
            CKR_OK | CKR_ATTRIBUTE_SENSITIVE | CKR_ATTRIBUTE_TYPE_INVALID
        ) {
            return (first, vec![Read::Unavailable; types.len()]);
        }
        let mut buffers: Vec<Vec<u8>> = t
            .iter()
            .map(|a| {
                if a.ulValueLen == CK_UNAVAILABLE_INFORMATION {
                    Vec::new()
                } else {
                    vec![0u8; a.ulValueLen as usize]
                }
            })
            .collect();
        for (a, b) in t.iter_mut().zip(buffers.iter_mut()) {
            if a.ulValueLen != CK_UNAVAILABLE_INFORMATION {
                a.pValue = b.as_mut_ptr().cast();
            }
        }
        let rv = call!(self.C_GetAttributeValue(s, o, t.as_mut_ptr(), t.len() as CK_ULONG));
        let reads = t
            .iter()
            .zip(buffers)
            .map(|(a, mut b)| {
                if a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.pValue.is_null() {
                    Read::Unavailable
                } else {
                    b.truncate(a.ulValueLen as usize);
                    Read::Value(b)
                }
            })
            .collect();
        (rv, reads)
    }

    /// C_SetAttributeValue.
    pub fn set_attributes(
        &self,
        s: CK_SESSION_HANDLE,
        o: CK_OBJECT_HANDLE,
        attrs: &[Attr],
    ) -> CkResult<()> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        check(call!(self.C_SetAttributeValue(s, o, p, n)))
    }

    /// C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal.
    pub fn find(&self, s: CK_SESSION_HANDLE, attrs: &[Attr]) -> CkResult<Vec<CK_OBJECT_HANDLE>> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        check(call!(self.C_FindObjectsInit(s, p, n)))?;
        let mut found = Vec::new();
        loop {
            let mut batch = [0 as CK_OBJECT_HANDLE; 64];
            let mut count = 0;
            let rv = call!(self.C_FindObjects(
                s,
                batch.as_mut_ptr(),
                batch.len() as CK_ULONG,
                &mut count
            ));
            if rv != CKR_OK {
                let _ = call!(self.C_FindObjectsFinal(s));
                return Err(rv);
            }
            found.extend_from_slice(&batch[..count as usize]);
            if count == 0 {
                break;
            }
        }
        check(call!(self.C_FindObjectsFinal(s)))?;
        Ok(found)
    }

    /// C_GenerateKey.
    pub fn generate_key(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        attrs: &[Attr],
    ) -> CkResult<CK_OBJECT_HANDLE> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        let mut h = 0;
        check(m.with(&self.aliases, |mp| {
            call!(self.C_GenerateKey(s, mp, p, n, &mut h))
        }))?;
        Ok(h)
    }

    /// C_GenerateKeyPair: (public, private).
    pub fn generate_key_pair(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        public: &[Attr],
        private: &[Attr],
    ) -> CkResult<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
        let (mut tp, mut tk) = (Template::new(public), Template::new(private));
        let ((pp, pn), (kp, kn)) = (tp.ptr(), tk.ptr());
        let (mut hp, mut hk) = (0, 0);
        check(m.with(&self.aliases, |mp| {
            call!(self.C_GenerateKeyPair(s, mp, pp, pn, kp, kn, &mut hp, &mut hk))
        }))?;
        Ok((hp, hk))
    }

    /// C_WrapKey, with a length query first.
    pub fn wrap_key(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        wrapping: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
    ) -> CkResult<Vec<u8>> {
        let mut n: CK_ULONG = 0;
        check(self.call_out(m, |mp| {
            call!(self.C_WrapKey(s, mp, wrapping, key, ptr::null_mut(), &mut n))
        }))?;
        let mut out = vec![0u8; n as usize];
        check(self.call_out(m, |mp| {
            call!(self.C_WrapKey(s, mp, wrapping, key, out.as_mut_ptr(), &mut n))
        }))?;
        out.truncate(n as usize);
        Ok(out)
    }

    /// C_UnwrapKey.
    pub fn unwrap_key(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        unwrapping: CK_OBJECT_HANDLE,
        blob: &[u8],
        attrs: &[Attr],
    ) -> CkResult<CK_OBJECT_HANDLE> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        let mut blob = blob.to_vec();
        let mut h = 0;
        check(self.call_in(m, |mp| {
            call!(self.C_UnwrapKey(
                s,
                mp,
                unwrapping,
                blob.as_mut_ptr(),
                blob.len() as CK_ULONG,
                p,
                n,
                &mut h
            ))
        }))?;
        Ok(h)
    }

    /// C_DeriveKey.
    pub fn derive_key(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        base: CK_OBJECT_HANDLE,
        attrs: &[Attr],
    ) -> CkResult<CK_OBJECT_HANDLE> {
        let mut t = Template::new(attrs);
        let (p, n) = t.ptr();
        let mut h = 0;
        check(m.with(&self.aliases, |mp| {
            call!(self.C_DeriveKey(s, mp, base, p, n, &mut h))
        }))?;
        Ok(h)
    }

    /// C_EncryptInit + C_Encrypt (length query first).
    pub fn encrypt(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        key: CK_OBJECT_HANDLE,
        data: &[u8],
    ) -> CkResult<Vec<u8>> {
        check(self.call_out(m, |mp| call!(self.C_EncryptInit(s, mp, key))))?;
        self.output(|out, n| call!(self.C_Encrypt(s, input(data), data.len() as CK_ULONG, out, n)))
    }

    /// C_DecryptInit + C_Decrypt (length query first).
    pub fn decrypt(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        key: CK_OBJECT_HANDLE,
        data: &[u8],
    ) -> CkResult<Vec<u8>> {
        check(self.call_in(m, |mp| call!(self.C_DecryptInit(s, mp, key))))?;
        self.output(|out, n| call!(self.C_Decrypt(s, input(data), data.len() as CK_ULONG, out, n)))
    }

    /// C_SignInit + C_Sign (length query first).
    pub fn sign(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        key: CK_OBJECT_HANDLE,
        data: &[u8],
    ) -> CkResult<Vec<u8>> {
        check(m.with(&self.aliases, |mp| call!(self.C_SignInit(s, mp, key))))?;
        self.output(|out, n| call!(self.C_Sign(s, input(data), data.len() as CK_ULONG, out, n)))
    }

    /// C_VerifyInit + C_Verify.
    pub fn verify(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        key: CK_OBJECT_HANDLE,
        data: &[u8],
        sig: &[u8],
    ) -> CkResult<()> {
        check(m.with(&self.aliases, |mp| call!(self.C_VerifyInit(s, mp, key))))?;
        check(call!(self.C_Verify(
            s,
            input(data),
            data.len() as CK_ULONG,
            input(sig),
            sig.len() as CK_ULONG
        )))
    }

    /// C_DigestInit + C_Digest (length query first).
    pub fn digest(&self, s: CK_SESSION_HANDLE, m: &Mech, data: &[u8]) -> CkResult<Vec<u8>> {
        check(m.with(&self.aliases, |mp| call!(self.C_DigestInit(s, mp))))?;
        self.output(|out, n| call!(self.C_Digest(s, input(data), data.len() as CK_ULONG, out, n)))
    }

    /// C_EncryptInit alone (for operation-state scenarios).
    pub fn encrypt_init(
        &self,
        s: CK_SESSION_HANDLE,
        m: &Mech,
        key: CK_OBJECT_HANDLE,
    ) -> CkResult<()> {
        check(self.call_out(m, |mp| call!(self.C_EncryptInit(s, mp, key))))
    }

    /// C_Encrypt into a buffer of `capacity` bytes (`None`: a NULL buffer): the CK_RV, the length
    /// the module reported, and the bytes written.
    pub fn encrypt_raw(
        &self,
        s: CK_SESSION_HANDLE,
        data: &[u8],
        capacity: Option<usize>,
    ) -> (CK_RV, CK_ULONG, Vec<u8>) {
        let mut data = data.to_vec();
        let mut out = vec![0u8; capacity.unwrap_or(0)];
        let mut n = out.len() as CK_ULONG;
        let p = if capacity.is_some() {
            out.as_mut_ptr()
        } else {
            ptr::null_mut()
        };
        let rv = call!(self.C_Encrypt(s, data.as_mut_ptr(), data.len() as CK_ULONG, p, &mut n));
        out.truncate((n as usize).min(out.len()));
        (rv, n, out)
    }

    /// C_EncryptFinal with a NULL buffer (for operation-state scenarios).
    pub fn encrypt_final_len(&self, s: CK_SESSION_HANDLE) -> CK_RV {
        let mut n: CK_ULONG = 0;
        call!(self.C_EncryptFinal(s, ptr::null_mut(), &mut n))
    }

    /// C_GenerateRandom.
    pub fn random(&self, s: CK_SESSION_HANDLE, len: usize) -> CkResult<Vec<u8>> {
        let mut out = vec![0u8; len];
        check(call!(self.C_GenerateRandom(
            s,
            out.as_mut_ptr(),
            len as CK_ULONG
        )))?;
        Ok(out)
    }

    /// C_GetSessionInfo.
    pub fn session_info(&self, s: CK_SESSION_HANDLE) -> CkResult<CK_SESSION_INFO> {
        // SAFETY: plain data, overwritten by the call.
        let mut info: CK_SESSION_INFO = unsafe { std::mem::zeroed() };
        check(call!(self.C_GetSessionInfo(s, &mut info)))?;
        Ok(info)
    }

    /// Runs a single-part call with the length-query protocol: NULL first, then a buffer.
    fn output(&self, mut f: impl FnMut(*mut CK_BYTE, *mut CK_ULONG) -> CK_RV) -> CkResult<Vec<u8>> {
        let mut n: CK_ULONG = 0;
        check(f(ptr::null_mut(), &mut n))?;
        let mut out = vec![0u8; n as usize];
        check(f(out.as_mut_ptr(), &mut n))?;
        out.truncate(n as usize);
        Ok(out)
    }
}

/// Sets an environment variable for modules that read their configuration from it (SoftHSMv2's
/// `SOFTHSM2_CONF`), before they are loaded.
pub fn set_env(key: &str, value: &std::ffi::OsStr) {
    // SAFETY: called by the CLI before any module is loaded and before the harness starts any
    // thread, so no other thread reads the environment concurrently.
    unsafe { std::env::set_var(key, value) };
}
