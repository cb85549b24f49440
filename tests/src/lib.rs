//! Helpers for the real-client tests in `tests/clients/`: where the built module is, scratch
//! token directories, and the rule for missing peer tools (a visible SKIP on a developer
//! machine, a failure when `HSMEMU_REQUIRE_PEERS=1`, as CI sets).
//!
//! Test support only: a helper that cannot do its job panics, which fails the calling test.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `libhsmemu_pkcs11.so` of this profile. Building this package builds the module as
/// a dependency, which leaves the cdylib in `target/<profile>/deps/`; `cargo build` also copies
/// it to `target/<profile>/`.
pub fn module_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf);
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let profile = target.join(if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    });
    let candidates = [
        profile.join("deps").join("libhsmemu_pkcs11.so"),
        profile.join("libhsmemu_pkcs11.so"),
    ];
    let found = candidates.iter().find(|p| p.exists());
    found.cloned().unwrap_or_else(|| {
        panic!(
            "libhsmemu_pkcs11.so is missing under {}: build it with `cargo build -p hsmemu-pkcs11`",
            profile.display()
        )
    })
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hsmemu-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Writes an `HSMEMU_CONF` file for one persistent token labelled `label` (SO PIN 12345678,
/// user PIN 1234) in `dir/token`, and returns the file's path.
pub fn token_conf(dir: &Path, label: &str) -> PathBuf {
    let conf = dir.join("hsmemu.toml");
    let text = format!(
        "[[token]]\nlabel = \"{label}\"\nso_pin = \"12345678\"\nuser_pin = \"1234\"\npath = \"{}\"\n",
        dir.join("token").display()
    );
    std::fs::write(&conf, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
    conf
}

/// Whether peer tools are required (CI) rather than optional (developer machines).
pub fn peers_required() -> bool {
    std::env::var("HSMEMU_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Whether `program` is on the `PATH`. If not: with `HSMEMU_REQUIRE_PEERS=1` the test fails;
/// otherwise it prints a visible SKIP line and the caller returns.
pub fn have(program: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    require(found, test, &format!("{program} is not installed"))
}

/// Whether `python3` can import `module`, under the same rule as [`have`].
pub fn have_python_module(module: &str, test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    require(ok, test, &format!("python3 cannot import {module}"))
}

/// Whether a file a test needs exists, under the same rule as [`have`].
pub fn have_file(path: &Path, test: &str) -> bool {
    require(
        path.exists(),
        test,
        &format!("{} is not installed", path.display()),
    )
}

fn require(ok: bool, test: &str, missing: &str) -> bool {
    if !ok {
        assert!(
            !peers_required(),
            "{test}: {missing}, and HSMEMU_REQUIRE_PEERS=1 requires it"
        );
        eprintln!("SKIP {test}: {missing}");
    }
    ok
}

/// Runs a command, panicking with its output if it fails.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Text of a command's stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A `pkcs11-tool` command on the built module, configured by `conf`, running in `dir`.
pub fn pkcs11_tool(conf: &Path, dir: &Path) -> Command {
    let mut c = Command::new("pkcs11-tool");
    c.env("HSMEMU_CONF", conf)
        .current_dir(dir)
        .arg("--module")
        .arg(module_path());
    c
}
