//! The OpenSSL pkcs11 engine (libp11; clients.md §2.3) signs with a token key; OpenSSL verifies.

use hsmemu_tests::*;
use std::process::Command;

const ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";

#[test]
fn openssl_engine_signs_and_openssl_verifies() {
    if !have("openssl", "openssl_engine") || !have("pkcs11-tool", "openssl_engine") {
        return;
    }
    if !have_file(std::path::Path::new(ENGINE), "openssl_engine") {
        return;
    }
    let dir = scratch("openssl-engine");
    let conf = token_conf(&dir, "t");
    let module = module_path();
    run(pkcs11_tool(&conf, &dir).args([
        "--token-label",
        "t",
        "--login",
        "--pin",
        "1234",
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "ec1",
        "--id",
        "02",
    ]));
    run(pkcs11_tool(&conf, &dir).args([
        "--token-label",
        "t",
        "--read-object",
        "--type",
        "pubkey",
        "--id",
        "02",
        "-o",
        "pub.der",
    ]));
    run(Command::new("openssl").current_dir(&dir).args([
        "pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem",
    ]));
    std::fs::write(dir.join("data.txt"), b"engine data\n").unwrap();
    run(Command::new("openssl")
        .env("HSMEMU_CONF", &conf)
        .env("PKCS11_MODULE_PATH", &module)
        .current_dir(&dir)
        .args([
            "dgst",
            "-sha256",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-sign",
            "pkcs11:token=t;object=ec1;type=private;pin-value=1234",
            "-out",
            "sig.bin",
            "data.txt",
        ]));
    let out = run(Command::new("openssl").current_dir(&dir).args([
        "dgst",
        "-sha256",
        "-verify",
        "pub.pem",
        "-signature",
        "sig.bin",
        "data.txt",
    ]));
    assert!(text(&out).contains("Verified OK"));
    let _ = std::fs::remove_dir_all(&dir);
}
