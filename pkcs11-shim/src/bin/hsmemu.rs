//! `hsmemu`, the admin CLI for persistent tokens (docs/configuration.md).
//!
//! Exit codes: 0 success; 1 the operation failed (wrong PIN, token in use, already
//! initialised, ...); 2 bad usage. Errors go to stderr as one line starting `hsmemu: `.
//! Listings never print secret values.

use clap::{Parser, Subcommand};
use hsmemu::attributes::{AttributeType as A, AttributeValue, KeyType, ObjectClass};
use hsmemu::token::{TokenConfig, UserType};
use hsmemu::{Hsm, ObjectHandle};
use hsmemu_pkcs11::config::{self, Config};
use hsmemu_pkcs11::module;
use hsmemu_pkcs11::platform::{OsPlatform, TokenStore};
use hsmemu_pkcs11::store::file::FileStore;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hsmemu", version, about = "Administer hsmemu tokens")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, list and delete tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Inspect a token's objects.
    #[command(subcommand)]
    Objects(ObjectsCommand),
    /// Check audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the hash chain of an audit log.
    Verify {
        /// The log file.
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Initialise a persistent token in a directory.
    Init {
        /// The token directory (created if missing).
        #[arg(long)]
        path: PathBuf,
        /// Token label (1 to 32 bytes).
        #[arg(long)]
        label: String,
        /// SO PIN.
        #[arg(long, default_value = config::DEFAULT_SO_PIN)]
        so_pin: String,
        /// User PIN.
        #[arg(long, default_value = config::DEFAULT_USER_PIN)]
        user_pin: String,
        /// Re-initialise an existing token (needs its SO PIN; destroys every object).
        #[arg(long)]
        force: bool,
    },
    /// List the tokens of the configuration (HSMEMU_CONF, or zero-config).
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Delete a persistent token directory and every object in it.
    Delete {
        /// The token directory.
        #[arg(long)]
        path: PathBuf,
        /// Confirm: without it nothing is deleted.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum ObjectsCommand {
    /// List objects and their attributes (never secret values).
    List {
        /// The token directory.
        #[arg(long)]
        path: PathBuf,
        /// User PIN: also lists private objects.
        #[arg(long)]
        pin: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// A failure with its exit code.
struct Failure(u8, String);

fn fail<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(1, msg.into()))
}

fn open(path: &Path) -> Result<Hsm<OsPlatform>, Failure> {
    let store = FileStore::open(path).map_err(|e| Failure(1, e))?;
    let platform = OsPlatform::new(TokenStore::File(store), None).map_err(|e| Failure(1, e))?;
    Hsm::new(platform, TokenConfig::default()).map_err(|e| {
        Failure(
            1,
            format!("{}: cannot read the token state: {e}", path.display()),
        )
    })
}

fn token_init(
    path: &Path,
    label: &str,
    so_pin: &str,
    user_pin: &str,
    force: bool,
) -> Result<(), Failure> {
    if label.is_empty() || label.len() > 32 {
        return Err(Failure(
            2,
            format!("label must be 1 to 32 bytes, got {label:?}"),
        ));
    }
    let mut hsm = open(path)?;
    if let Some(existing) = hsm.token_info().label
        && !force
    {
        return fail(format!(
            "{} already holds token {existing:?}; use --force to re-initialise it",
            path.display()
        ));
    }
    module::initialise(&mut hsm, label, so_pin, user_pin)
        .map_err(|e| Failure(1, format!("initialisation failed: {e}")))?;
    println!("initialised token {label:?} in {}", path.display());
    Ok(())
}

fn token_list(as_json: bool) -> Result<(), Failure> {
    let config = Config::load(None).map_err(|e| Failure(2, e))?;
    let rows: Vec<_> = config
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let initialised = t.path.as_ref().is_none_or(|p| p.join("token.state").exists());
            json!({
                "slot": config.slot_id(i),
                "label": t.label,
                "storage": t.path.as_ref().map_or("memory".to_string(), |p| p.display().to_string()),
                "initialised": initialised,
            })
        })
        .collect();
    if as_json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:<6} {:<32} {:<12} storage",
            "slot", "label", "initialised"
        );
        for r in &rows {
            let (slot, initialised) = (r["slot"].to_string(), r["initialised"].to_string());
            let (label, storage) = (
                r["label"].as_str().unwrap_or(""),
                r["storage"].as_str().unwrap_or(""),
            );
            println!("{slot:<6} {label:<32} {initialised:<12} {storage}");
        }
    }
    Ok(())
}

fn token_delete(path: &Path, yes: bool) -> Result<(), Failure> {
    if !yes {
        return Err(Failure(
            2,
            format!("refusing to delete {} without --yes", path.display()),
        ));
    }
    if !path.join("token.state").exists() && !path.join("objects").exists() {
        return fail(format!("{} is not a token directory", path.display()));
    }
    // Taking the lock proves no process has the token open.
    drop(FileStore::open(path).map_err(|e| Failure(1, e))?);
    std::fs::remove_dir_all(path)
        .map_err(|e| Failure(1, format!("cannot delete {}: {e}", path.display())))?;
    println!("deleted {}", path.display());
    Ok(())
}

fn describe(v: &AttributeValue) -> serde_json::Value {
    match v {
        AttributeValue::Bool(b) => json!(b),
        AttributeValue::Ulong(u) => json!(u),
        AttributeValue::Bytes(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        AttributeValue::Template(t) => json!(t.len()),
    }
}

fn objects_list(path: &Path, pin: Option<&str>, as_json: bool) -> Result<(), Failure> {
    let mut hsm = open(path)?;
    if hsm.token_info().label.is_none() {
        return fail(format!("{} holds no initialised token", path.display()));
    }
    let s = hsm
        .open_session(false)
        .map_err(|e| Failure(1, e.to_string()))?;
    if let Some(pin) = pin {
        hsm.login(s, UserType::User, pin.as_bytes())
            .map_err(|e| Failure(1, format!("login failed: {e}")))?;
    }
    hsm.find_objects_init(s, &[])
        .map_err(|e| Failure(1, e.to_string()))?;
    let handles = hsm
        .find_objects(s, usize::MAX)
        .map_err(|e| Failure(1, e.to_string()))?;
    const SHOWN: [A; 12] = [
        A::Class,
        A::KeyType,
        A::Label,
        A::Id,
        A::Token,
        A::Private,
        A::Sensitive,
        A::Extractable,
        A::Local,
        A::AlwaysSensitive,
        A::NeverExtractable,
        A::ValueLen,
    ];
    let mut rows = Vec::new();
    for ObjectHandle(h) in handles {
        let values = hsm
            .get_attribute_values(s, ObjectHandle(h), &SHOWN)
            .map_err(|e| Failure(1, e.to_string()))?;
        let mut row = serde_json::Map::new();
        row.insert("handle".into(), json!(h));
        for (ty, v) in SHOWN.iter().zip(values) {
            if let Ok(v) = v {
                let value = match (ty, &v) {
                    (A::Class, AttributeValue::Ulong(c)) => json!(class_name(*c)),
                    (A::KeyType, AttributeValue::Ulong(k)) => json!(key_type_name(*k)),
                    (A::Label, AttributeValue::Bytes(b)) => json!(String::from_utf8_lossy(b)),
                    _ => describe(&v),
                };
                row.insert(format!("{ty:?}").to_lowercase(), value);
            }
        }
        rows.push(serde_json::Value::Object(row));
    }
    if as_json {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for r in &rows {
            let field = |k: &str| {
                r.get(k).map_or("-".to_string(), |v| {
                    v.as_str().map_or(v.to_string(), str::to_string)
                })
            };
            println!(
                "{:>6}  {:<12} {:<15} label={:<20} id={} token={} private={} sensitive={} extractable={}",
                field("handle"),
                field("class"),
                field("keytype"),
                field("label"),
                field("id"),
                field("token"),
                field("private"),
                field("sensitive"),
                field("extractable")
            );
        }
        eprintln!(
            "{} object(s){}",
            rows.len(),
            if pin.is_none() {
                " (public only; --pin lists private objects)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn audit_verify(file: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure(1, format!("cannot read {}: {e}", file.display())))?;
    match hsmemu_pkcs11::audit::verify(&text) {
        Ok(n) => {
            println!("{}: {n} records, chain intact", file.display());
            Ok(())
        }
        Err(line) => fail(format!(
            "{}: the chain breaks at line {line}",
            file.display()
        )),
    }
}

fn class_name(c: u64) -> &'static str {
    match ObjectClass::from_code(c) {
        Some(ObjectClass::Data) => "data",
        Some(ObjectClass::PublicKey) => "public-key",
        Some(ObjectClass::PrivateKey) => "private-key",
        Some(ObjectClass::SecretKey) => "secret-key",
        None => "unknown",
    }
}

fn key_type_name(k: u64) -> &'static str {
    match KeyType::from_code(k) {
        Some(KeyType::Aes) => "aes",
        Some(KeyType::Ec) => "ec-p256",
        Some(KeyType::GenericSecret) => "generic-secret",
        None => "unknown",
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Token(TokenCommand::Init {
            path,
            label,
            so_pin,
            user_pin,
            force,
        }) => token_init(path, label, so_pin, user_pin, *force),
        Command::Token(TokenCommand::List { json }) => token_list(*json),
        Command::Token(TokenCommand::Delete { path, yes }) => token_delete(path, *yes),
        Command::Objects(ObjectsCommand::List { path, pin, json }) => {
            objects_list(path, pin.as_deref(), *json)
        }
        Command::Audit(AuditCommand::Verify { file }) => audit_verify(file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("hsmemu: {msg}");
            ExitCode::from(code)
        }
    }
}
