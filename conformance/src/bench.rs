//! `hsmemu-conformance bench`: the same operations timed through the C ABI for each module,
//! side by side, with the raw RustCrypto call as the ceiling. ops/s is the median of several
//! windows; ratios are to the first module. No target is asserted anywhere: the report says
//! which are met (docs/performance.md).

use crate::loader::{Attr, Mech, Module};
use crate::runner::ModuleSpec;
use crate::scenario::{P256_PARAMS, gcm};
use cryptoki_sys::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bench settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Length of one measurement window.
    pub window: Duration,
    /// Windows per case (the median is reported).
    pub windows: usize,
    /// Threads for the data and signing cases (1: single-threaded only).
    pub threads: usize,
}

/// One measured case.
#[derive(Clone, Debug)]
pub struct Row {
    /// Case name.
    pub case: String,
    /// ops/s per module, in module order (`None`: the module cannot do it).
    pub modules: Vec<Option<f64>>,
    /// ops/s of the raw crate call, where there is one.
    pub raw: Option<f64>,
}

type Op<'a> = Box<dyn Fn(CK_SESSION_HANDLE) -> bool + Sync + 'a>;

/// Measures `op` on `threads` threads, each with its own session: ops/s, median of windows.
fn measure(m: &Module, slot: CK_SLOT_ID, s: &Settings, threads: usize, op: &Op<'_>) -> Option<f64> {
    let sessions: Vec<CK_SESSION_HANDLE> = (0..threads)
        .map(|_| m.open_session(slot, true))
        .collect::<Result<_, _>>()
        .ok()?;
    if !op(sessions[0]) {
        for h in sessions {
            let _ = m.close_session(h);
        }
        return None;
    }
    let mut rates = Vec::with_capacity(s.windows);
    for _ in 0..s.windows {
        let count = AtomicU64::new(0);
        let stop = AtomicBool::new(false);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for h in &sessions {
                let (count, stop) = (&count, &stop);
                scope.spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        if op(*h) {
                            n += 1;
                        }
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                });
            }
            std::thread::sleep(s.window);
            stop.store(true, Ordering::Relaxed);
        });
        rates.push(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64());
    }
    for h in sessions {
        let _ = m.close_session(h);
    }
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied()
}

/// Measures a closure with no module (the raw-crate ceiling), median of windows.
fn measure_raw(s: &Settings, f: &mut dyn FnMut()) -> f64 {
    let mut rates = Vec::with_capacity(s.windows);
    for _ in 0..s.windows {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < s.window {
            f();
            n += 1;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// The case names, in report order.
pub fn case_names(threads: usize) -> Vec<String> {
    let mut names: Vec<String> = [
        "aes_gcm_encrypt_64B",
        "aes_gcm_encrypt_4KiB",
        "aes_gcm_encrypt_16000B",
        "ecdsa_p256_sign",
        "ecdsa_p256_verify",
        "aes_keygen_session",
        "aes_keygen_token",
        "p256_keygen",
        "kw_wrap",
        "kw_unwrap",
        "kwp_wrap",
        "kwp_unwrap",
        "find_1_of_1000",
        "get_attribute_value",
        "open_close_session",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if threads > 1 {
        for c in [
            "aes_gcm_encrypt_64B",
            "aes_gcm_encrypt_4KiB",
            "aes_gcm_encrypt_16000B",
            "ecdsa_p256_sign",
            "ecdsa_p256_verify",
        ] {
            names.push(format!("{c} x{threads} threads"));
        }
    }
    names.push("initialize_finalize".into());
    names
}

fn keys(
    m: &Module,
    s: CK_SESSION_HANDLE,
) -> Option<(
    CK_OBJECT_HANDLE,
    CK_OBJECT_HANDLE,
    CK_OBJECT_HANDLE,
    CK_OBJECT_HANDLE,
    CK_OBJECT_HANDLE,
)> {
    let aes = |extractable: bool| {
        let t = [
            Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
            Attr::ulong(CKA_KEY_TYPE, CKK_AES),
            Attr::bytes(CKA_VALUE, [7u8; 32]),
            Attr::bool(CKA_TOKEN, false),
            Attr::bool(CKA_ENCRYPT, true),
            Attr::bool(CKA_DECRYPT, true),
            Attr::bool(CKA_WRAP, true),
            Attr::bool(CKA_UNWRAP, true),
            Attr::bool(CKA_EXTRACTABLE, extractable),
            Attr::bool(CKA_SENSITIVE, true),
            Attr::bytes(CKA_LABEL, *b"bench"),
        ];
        m.create_object(s, &t).ok()
    };
    let kek = aes(false)?;
    let target = aes(true)?;
    let public = [
        Attr::bytes(CKA_EC_PARAMS, P256_PARAMS),
        Attr::bool(CKA_TOKEN, false),
        Attr::bool(CKA_VERIFY, true),
    ];
    let private = [Attr::bool(CKA_TOKEN, false), Attr::bool(CKA_SIGN, true)];
    let (pubk, privk) = m
        .generate_key_pair(s, &Mech::Plain(CKM_EC_KEY_PAIR_GEN), &public, &private)
        .ok()?;
    Some((kek, target, pubk, privk, kek))
}

/// Runs every case on one module; returns ops/s per case name.
fn bench_module(
    spec: &ModuleSpec,
    settings: &Settings,
    names: &[String],
) -> Result<Vec<Option<f64>>, String> {
    let name = |rv| crate::rv::name(rv);
    let m = spec.open()?;
    if spec.init_token {
        crate::runner::init_token(&m, spec)?;
    }
    let slot = crate::runner::find_slot(&m, spec.token_label.as_deref())?;
    let setup = m
        .open_session(slot, true)
        .map_err(|rv| format!("C_OpenSession: {}", name(rv)))?;
    m.login(setup, CKU_USER, &spec.pin)
        .map_err(|rv| format!("C_Login: {}", name(rv)))?;
    let (kek, target, public, private, _) =
        keys(&m, setup).ok_or("creating the bench keys failed")?;
    for i in 0..1000 {
        let t = [
            Attr::ulong(CKA_CLASS, CKO_DATA),
            Attr::bool(CKA_TOKEN, false),
            Attr::bytes(CKA_LABEL, format!("obj-{i:04}").into_bytes()),
        ];
        m.create_object(setup, &t)
            .map_err(|rv| format!("creating objects: {}", name(rv)))?;
    }
    let kw_blob = m
        .wrap_key(setup, &Mech::Plain(CKM_AES_KEY_WRAP), kek, target)
        .unwrap_or_default();
    let kwp_blob = m
        .wrap_key(setup, &Mech::Plain(0x210B), kek, target)
        .unwrap_or_default();
    let digest = [0x5au8; 32];
    let sig = m
        .sign(setup, &Mech::Plain(CKM_ECDSA), private, &digest)
        .unwrap_or_default();
    let unwrap_t = [
        Attr::ulong(CKA_CLASS, CKO_SECRET_KEY),
        Attr::ulong(CKA_KEY_TYPE, CKK_AES),
        Attr::bool(CKA_TOKEN, false),
    ];
    let data: Vec<Vec<u8>> = [64usize, 4096, 16000]
        .iter()
        .map(|n| vec![0x42u8; *n])
        .collect();
    let keygen = |token: bool| -> Op<'_> {
        let m = &m;
        Box::new(move |s| {
            let t = [Attr::ulong(CKA_VALUE_LEN, 32), Attr::bool(CKA_TOKEN, token)];
            match m.generate_key(s, &Mech::Plain(CKM_AES_KEY_GEN), &t) {
                Ok(h) => m.destroy_object(s, h).is_ok(),
                Err(_) => false,
            }
        })
    };
    let mut results = Vec::with_capacity(names.len());
    for case in names {
        let (base, threads) = match case.split_once(" x") {
            Some((b, _)) => (b, settings.threads),
            None => (case.as_str(), 1),
        };
        let op: Op<'_> = match base {
            "aes_gcm_encrypt_64B" | "aes_gcm_encrypt_4KiB" | "aes_gcm_encrypt_16000B" => {
                let d = match base {
                    "aes_gcm_encrypt_64B" => &data[0],
                    "aes_gcm_encrypt_4KiB" => &data[1],
                    _ => &data[2],
                };
                let m = &m;
                Box::new(move |s| m.encrypt(s, &gcm(), kek, d).is_ok())
            }
            "ecdsa_p256_sign" => {
                let m = &m;
                Box::new(move |s| m.sign(s, &Mech::Plain(CKM_ECDSA), private, &digest).is_ok())
            }
            "ecdsa_p256_verify" => {
                let (m, sig) = (&m, &sig);
                Box::new(move |s| {
                    m.verify(s, &Mech::Plain(CKM_ECDSA), public, &digest, sig)
                        .is_ok()
                })
            }
            "aes_keygen_session" => keygen(false),
            "aes_keygen_token" => keygen(true),
            "p256_keygen" => {
                let m = &m;
                Box::new(move |s| {
                    let public = [
                        Attr::bytes(CKA_EC_PARAMS, P256_PARAMS),
                        Attr::bool(CKA_TOKEN, false),
                    ];
                    match m.generate_key_pair(
                        s,
                        &Mech::Plain(CKM_EC_KEY_PAIR_GEN),
                        &public,
                        &[Attr::bool(CKA_TOKEN, false)],
                    ) {
                        Ok((a, b)) => {
                            m.destroy_object(s, a).is_ok() && m.destroy_object(s, b).is_ok()
                        }
                        Err(_) => false,
                    }
                })
            }
            "kw_wrap" | "kwp_wrap" => {
                let code = if base == "kw_wrap" {
                    CKM_AES_KEY_WRAP
                } else {
                    0x210B
                };
                let m = &m;
                Box::new(move |s| m.wrap_key(s, &Mech::Plain(code), kek, target).is_ok())
            }
            "kw_unwrap" | "kwp_unwrap" => {
                let (code, blob) = if base == "kw_unwrap" {
                    (CKM_AES_KEY_WRAP, &kw_blob)
                } else {
                    (0x210B, &kwp_blob)
                };
                let (m, t) = (&m, &unwrap_t);
                Box::new(
                    move |s| match m.unwrap_key(s, &Mech::Plain(code), kek, blob, t) {
                        Ok(h) => m.destroy_object(s, h).is_ok(),
                        Err(_) => false,
                    },
                )
            }
            "find_1_of_1000" => {
                let m = &m;
                Box::new(move |s| {
                    m.find(s, &[Attr::bytes(CKA_LABEL, *b"obj-0500")])
                        .is_ok_and(|v| v.len() == 1)
                })
            }
            "get_attribute_value" => {
                let m = &m;
                Box::new(move |s| m.get_attributes(s, kek, &[CKA_LABEL]).0 == CKR_OK)
            }
            "open_close_session" => {
                let m = &m;
                Box::new(move |_| {
                    m.open_session(slot, false)
                        .is_ok_and(|h| m.close_session(h).is_ok())
                })
            }
            _ => {
                results.push(None);
                continue;
            }
        };
        results.push(measure(&m, slot, settings, threads, &op));
    }
    let _ = m.logout(setup);
    let _ = m.close_session(setup);
    let _ = m.finalize();
    // C_Initialize + C_Finalize, last: the module is reinitialised each time.
    if let (Some(last), Some("initialize_finalize")) =
        (results.last_mut(), names.last().map(String::as_str))
    {
        *last = Some(measure_raw(settings, &mut || {
            if m.initialize(spec.reserved.as_deref()).is_ok() {
                let _ = m.finalize();
            }
        }));
    }
    Ok(results)
}

/// The raw RustCrypto call for a case, where one exists: the ceiling column.
fn raw(case: &str, settings: &Settings) -> Option<f64> {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
    let cipher = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
    let nonce = [0x24u8; 12].into();
    let gcm_case = |n: usize| {
        let mut buf = vec![0x42u8; n];
        measure_raw(settings, &mut || {
            let _ = cipher.encrypt_inout_detached(&nonce, b"hsmemu", buf.as_mut_slice().into());
        })
    };
    let sk = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).ok()?;
    let digest = [0x5au8; 32];
    let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).ok()?;
    let kek = aes_kw::KwAes256::new(&[7u8; 32].into());
    let kwp = aes_kw::KwpAes256::new(&[7u8; 32].into());
    let base = case.split_once(" x").map_or(case, |(b, _)| b);
    if base != case {
        return None;
    }
    Some(match case {
        "aes_gcm_encrypt_64B" => gcm_case(64),
        "aes_gcm_encrypt_4KiB" => gcm_case(4096),
        "aes_gcm_encrypt_16000B" => gcm_case(16000),
        "ecdsa_p256_sign" => measure_raw(settings, &mut || {
            let _: Result<p256::ecdsa::Signature, _> = sk.sign_prehash(&digest);
        }),
        "ecdsa_p256_verify" => measure_raw(settings, &mut || {
            let _ = sk.verifying_key().verify_prehash(&digest, &sig);
        }),
        "kw_wrap" => measure_raw(settings, &mut || {
            let mut out = [0u8; 40];
            let _ = kek.wrap_key(&[9u8; 32], &mut out);
        }),
        "kwp_wrap" => measure_raw(settings, &mut || {
            let mut out = [0u8; 40];
            let _ = kwp.wrap_key(&[9u8; 32], &mut out);
        }),
        _ => return None,
    })
}

/// Runs the bench over `specs`: every case, or those whose name contains one of `only`.
pub fn run(specs: &[ModuleSpec], settings: &Settings, only: &[String]) -> Result<Vec<Row>, String> {
    let names: Vec<String> = case_names(settings.threads)
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| c.contains(o.as_str())))
        .collect();
    if names.is_empty() {
        return Err(format!(
            "no bench case matches {only:?}; the cases are: {}",
            case_names(settings.threads).join(", ")
        ));
    }
    let mut per_module = Vec::new();
    for spec in specs {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprintln!("benchmarking {} ...", spec.name);
        }
        per_module.push(bench_module(spec, settings, &names)?);
    }
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, case)| Row {
            case: case.clone(),
            modules: per_module.iter().map(|r| r[i]).collect(),
            raw: raw(case, settings),
        })
        .collect())
}

fn fmt_rate(r: Option<f64>) -> String {
    match r {
        None => "-".into(),
        Some(r) if r >= 1e6 => format!("{:.2}M", r / 1e6),
        Some(r) if r >= 1e3 => format!("{:.1}k", r / 1e3),
        Some(r) => format!("{r:.0}"),
    }
}

/// The side-by-side table: ops/s per module, ratio to the first module, raw ceiling.
pub fn table(specs: &[ModuleSpec], rows: &[Row]) -> String {
    let mut out = format!("{:<34}", "case (ops/s)");
    for s in specs {
        out.push_str(&format!(" {:>12}", s.name));
    }
    for s in specs.iter().skip(1) {
        out.push_str(&format!(" {:>14}", format!("{}/{}", specs[0].name, s.name)));
    }
    out.push_str(&format!(" {:>10} {:>12}\n", "raw crate", "first/raw"));
    for r in rows {
        out.push_str(&format!("{:<34}", r.case));
        for v in &r.modules {
            out.push_str(&format!(" {:>12}", fmt_rate(*v)));
        }
        for v in r.modules.iter().skip(1) {
            let ratio = match (r.modules[0], v) {
                (Some(a), Some(b)) if *b > 0.0 => format!("{:.2}x", a / b),
                _ => "-".into(),
            };
            out.push_str(&format!(" {ratio:>14}"));
        }
        let to_raw = match (r.modules[0], r.raw) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        out.push_str(&format!(" {:>10} {:>12}\n", fmt_rate(r.raw), to_raw));
    }
    out
}

/// The JSON form.
pub fn json(specs: &[ModuleSpec], rows: &[Row], settings: &Settings) -> serde_json::Value {
    json!({
        "schema": "hsmemu-bench/1",
        "settings": {"window_ms": u64::try_from(settings.window.as_millis()).unwrap_or(u64::MAX), "windows": settings.windows, "threads": settings.threads},
        "modules": specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "cases": rows.iter().map(|r| json!({"case": r.case, "ops_per_s": r.modules, "raw_ops_per_s": r.raw})).collect::<Vec<_>>(),
    })
}
