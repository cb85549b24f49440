//! GnuTLS p11tool (clients.md §2.2): key generation and `--test-sign`.

use hsmemu_tests::*;
use std::process::Command;

#[test]
fn p11tool_generates_and_test_signs() {
    if !have("p11tool", "p11tool") {
        return;
    }
    let dir = scratch("p11tool");
    let conf = token_conf(&dir, "t");
    let module = module_path();
    let p11 = |args: &[&str]| {
        let mut c = Command::new("p11tool");
        c.env("HSMEMU_CONF", &conf)
            .env("GNUTLS_PIN", "1234")
            .arg("--provider")
            .arg(&module)
            .args(args);
        run(&mut c)
    };
    let tokens = text(&p11(&["--list-tokens"]));
    assert!(tokens.contains("Label: t"), "{tokens}");
    p11(&[
        "--login",
        "--generate-privkey=ecdsa",
        "--curve=secp256r1",
        "--label",
        "ec2",
        "pkcs11:token=t",
    ]);
    let out = text(&p11(&[
        "--login",
        "--test-sign",
        "pkcs11:token=t;object=ec2;type=private",
    ]));
    assert!(
        out.contains("Verifying against public key in the token... ok"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
