//! The `hsmemu` admin CLI: commands, JSON output and the exit codes scripts rely on
//! (0 success, 1 operation failed, 2 bad usage).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use hsmemu::attributes::{Attribute, AttributeType as A};
use hsmemu::mechanisms::Mechanism;
use hsmemu::token::{TokenConfig, UserType};
use hsmemu_pkcs11::platform::{OsPlatform, TokenStore};
use hsmemu_pkcs11::store::file::FileStore;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hsmemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hsmemu"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hsmemu-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn add_key(path: &Path) {
    let store = FileStore::open(path).unwrap();
    let platform = OsPlatform::new(TokenStore::File(store), Some(1)).unwrap();
    let mut hsm = hsmemu::Hsm::new(platform, TokenConfig::default()).unwrap();
    let s = hsm.open_session(true).unwrap();
    hsm.login(s, UserType::User, b"1234").unwrap();
    let template = [
        Attribute::ulong(A::ValueLen, 32),
        Attribute::bool(A::Token, true),
        Attribute::bytes(A::Label, b"cli-key".to_vec()),
    ];
    hsm.generate_key(s, &Mechanism::AesKeyGen, &template)
        .unwrap();
}

#[test]
fn init_list_objects_and_delete() {
    let dir = scratch("flow");
    let path = dir.to_str().unwrap();
    let out = hsmemu(&["token", "init", "--path", path, "--label", "cli"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = hsmemu(&["token", "init", "--path", path, "--label", "cli"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).starts_with("hsmemu: ") && stderr(&again).contains("already holds token")
    );
    add_key(&dir);
    // Without the PIN the private key is not listed; with it, its attributes are, never its value.
    let public = hsmemu(&["objects", "list", "--path", path, "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&public.stdout).unwrap(),
        serde_json::json!([])
    );
    let listed = hsmemu(&["objects", "list", "--path", path, "--pin", "1234", "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows[0]["label"], "cli-key");
    assert_eq!(rows[0]["class"], "secret-key");
    assert_eq!(rows[0]["sensitive"], true);
    assert!(rows[0].get("value").is_none());
    let wrong = hsmemu(&["objects", "list", "--path", path, "--pin", "9999"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("incorrect PIN"));
    let unconfirmed = hsmemu(&["token", "delete", "--path", path]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert!(dir.exists());
    let deleted = hsmemu(&["token", "delete", "--path", path, "--yes"]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(!dir.exists());
}

#[test]
fn a_token_in_use_is_not_deleted() {
    let dir = scratch("busy");
    let path = dir.to_str().unwrap();
    assert!(
        hsmemu(&["token", "init", "--path", path, "--label", "busy"])
            .status
            .success()
    );
    let _held = FileStore::open(&dir).unwrap();
    let out = hsmemu(&["token", "delete", "--path", path, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("in use by another process"),
        "{}",
        stderr(&out)
    );
    assert!(dir.exists());
    drop(_held);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn token_list_reads_the_configuration() {
    let dir = scratch("list");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("hsmemu.toml");
    std::fs::write(
        &conf,
        format!(
            "[[token]]\nlabel = \"a\"\nslot = 7\n[[token]]\nlabel = \"b\"\npath = \"{}\"\n",
            dir.join("b").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hsmemu"))
        .args(["token", "list", "--json"])
        .env("HSMEMU_CONF", &conf)
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["slot"], 7);
    assert_eq!(rows[0]["storage"], "memory");
    assert_eq!(rows[1]["initialised"], false);
    let text = Command::new(env!("CARGO_BIN_EXE_hsmemu"))
        .args(["token", "list"])
        .env("HSMEMU_CONF", &conf)
        .output()
        .unwrap();
    assert!(stdout(&text).contains("memory"));
    let bad = hsmemu(&["token", "frobnicate"]);
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
