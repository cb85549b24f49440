//! OpenSC pkcs11-tool (clients.md §2.1), checked against OpenSSL.

use hsmemu_tests::*;
use std::process::Command;

#[test]
fn pkcs11_tool_keys_signatures_wrapping_and_ecdh() {
    if !have("pkcs11-tool", "pkcs11_tool") || !have("openssl", "pkcs11_tool") {
        return;
    }
    let dir = scratch("pkcs11-tool");
    let conf = token_conf(&dir, "t");
    let tool = |args: &[&str]| run(pkcs11_tool(&conf, &dir).args(args));
    let login = ["--token-label", "t", "--login", "--pin", "1234"];
    let with_login = |extra: &[&str]| tool(&[&login[..], extra].concat());

    let slots = text(&tool(&["-L"]));
    assert!(slots.contains("token label        : t"), "{slots}");
    let mechs = text(&tool(&["-M"]));
    for m in [
        "AES-KEY-WRAP",
        "ECDSA-SHA256",
        "ECDH1-DERIVE",
        "AES-GCM",
        "mechtype-0x210B",
    ] {
        assert!(mechs.contains(m), "{m} missing from:\n{mechs}");
    }
    with_login(&[
        "--keygen",
        "--key-type",
        "AES:32",
        "--label",
        "aes1",
        "--id",
        "01",
    ]);
    with_login(&[
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "ec1",
        "--id",
        "02",
    ]);

    // ECDSA: sign a SHA-256 digest on the token, verify with OpenSSL.
    std::fs::write(dir.join("data.txt"), b"signed by the emulator\n").unwrap();
    run(Command::new("openssl").current_dir(&dir).args([
        "dgst",
        "-sha256",
        "-binary",
        "-out",
        "data.sha256",
        "data.txt",
    ]));
    with_login(&[
        "--sign",
        "-m",
        "ECDSA",
        "--id",
        "02",
        "-i",
        "data.sha256",
        "-o",
        "sig.bin",
        "--signature-format",
        "openssl",
    ]);
    tool(&[
        "--token-label",
        "t",
        "--read-object",
        "--type",
        "pubkey",
        "--id",
        "02",
        "-o",
        "pub.der",
    ]);
    run(Command::new("openssl").current_dir(&dir).args([
        "pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem",
    ]));
    let verified = run(Command::new("openssl").current_dir(&dir).args([
        "dgst",
        "-sha256",
        "-verify",
        "pub.pem",
        "-signature",
        "sig.bin",
        "data.txt",
    ]));
    assert!(text(&verified).contains("Verified OK"));

    // AES key wrap and unwrap.
    with_login(&[
        "--keygen",
        "--key-type",
        "AES:32",
        "--label",
        "aesw",
        "--id",
        "05",
        "--extractable",
    ]);
    with_login(&[
        "--keygen",
        "--key-type",
        "AES:16",
        "--label",
        "tgt",
        "--id",
        "06",
        "--extractable",
    ]);
    with_login(&[
        "--wrap",
        "-m",
        "AES-KEY-WRAP",
        "--id",
        "05",
        "--application-id",
        "06",
        "-o",
        "wrapped.bin",
    ]);
    assert_eq!(
        std::fs::metadata(dir.join("wrapped.bin")).unwrap().len(),
        24
    );
    with_login(&[
        "--unwrap",
        "-m",
        "AES-KEY-WRAP",
        "--id",
        "05",
        "-i",
        "wrapped.bin",
        "--key-type",
        "AES:",
        "--application-label",
        "unwrapped",
        "--application-id",
        "07",
    ]);
    let objects = text(&with_login(&["-O"]));
    assert!(objects.contains("unwrapped"), "{objects}");

    // A non-extractable key is refused.
    let refused = pkcs11_tool(&conf, &dir)
        .args(login)
        .args([
            "--wrap",
            "-m",
            "AES-KEY-WRAP",
            "--id",
            "05",
            "--application-id",
            "01",
            "-o",
            "refused.bin",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("CKR_KEY_UNEXTRACTABLE"),
        "{}",
        text(&refused)
    );

    // ECDH with a peer key made by OpenSSL: both sides agree.
    run(Command::new("openssl").current_dir(&dir).args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "peer.pem",
    ]));
    run(Command::new("openssl").current_dir(&dir).args([
        "pkey",
        "-in",
        "peer.pem",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "peer_pub.der",
    ]));
    with_login(&[
        "--derive",
        "-m",
        "ECDH1-DERIVE",
        "--id",
        "02",
        "-i",
        "peer_pub.der",
        "-o",
        "shared.bin",
    ]);
    run(Command::new("openssl").current_dir(&dir).args([
        "pkeyutl",
        "-derive",
        "-inkey",
        "peer.pem",
        "-peerkey",
        "pub.pem",
        "-out",
        "shared_ossl.bin",
    ]));
    let ours = std::fs::read(dir.join("shared.bin")).unwrap();
    assert_eq!(ours.len(), 32);
    assert_eq!(ours, std::fs::read(dir.join("shared_ossl.bin")).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_configuration_fails_initialisation_with_the_reason() {
    if !have("pkcs11-tool", "pkcs11_tool_bad_config") {
        return;
    }
    let dir = scratch("bad-config");
    let conf = dir.join("bad.toml");
    std::fs::write(&conf, "[[token]]\nlabel = \"a\"\ncolour = \"red\"\n").unwrap();
    let out = pkcs11_tool(&conf, &dir).arg("-L").output().unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("hsmemu: configuration error") && t.contains("unknown field"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_audit_log_records_every_call_in_an_intact_chain() {
    if !have("pkcs11-tool", "pkcs11_tool_audit") {
        return;
    }
    let dir = scratch("audit");
    let conf = dir.join("hsmemu.toml");
    let log = dir.join("audit.log");
    std::fs::write(
        &conf,
        format!(
            "audit_log = \"{}\"\n[[token]]\nlabel = \"t\"\n",
            log.display()
        ),
    )
    .unwrap();
    run(pkcs11_tool(&conf, &dir).args([
        "--token-label",
        "t",
        "--login",
        "--pin",
        "1234",
        "--generate-random",
        "16",
    ]));
    let text = std::fs::read_to_string(&log).unwrap();
    for f in ["C_Initialize", "C_Login", "C_GenerateRandom", "C_Finalize"] {
        assert!(
            text.contains(&format!("\"fn\":\"{f}\"")),
            "{f} missing from:\n{text}"
        );
    }
    assert!(!text.contains("1234"), "the PIN must not be logged");
    assert_eq!(
        hsmemu_pkcs11::audit::verify(&text),
        Ok(text.lines().count())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pkcs11_tool_self_tests_and_fork() {
    if !have("pkcs11-tool", "pkcs11_tool_self_tests") {
        return;
    }
    let dir = scratch("pkcs11-tool-self-test");
    let conf = token_conf(&dir, "t");
    let tool = |args: &[&str]| text(&run(pkcs11_tool(&conf, &dir).args(args)));
    // RNG and digests (pkcs11-tool's signature tests are RSA-only).
    let out = tool(&[
        "--token-label",
        "t",
        "--login",
        "--pin",
        "1234",
        "--test",
        "--allow-sw",
    ]);
    assert!(out.contains("No errors"), "{out}");
    // A forked child calls C_Initialize again and gets a working module (zero-config, in
    // memory: a persistent token stays with the process that opened it).
    let out = text(&run(Command::new("pkcs11-tool")
        .env_remove("HSMEMU_CONF")
        .arg("--module")
        .arg(module_path())
        .arg("--test-fork")));
    assert!(
        out.contains("Calling C_Initialize in forked child process"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
