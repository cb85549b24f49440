//! python-pkcs11 (clients.md §2.4): AES-GCM, AES-KW, AES-KWP (0x210B), a sensitive read, and an
//! unwrap round trip.

use hsmemu_tests::*;
use std::process::Command;

const SCRIPT: &str = r#"
import os, sys, pkcs11
from pkcs11 import Mechanism, KeyType, Attribute, ObjectClass, GCMParams
from pkcs11.exceptions import AttributeSensitive
lib = pkcs11.lib(os.environ["PKCS11_MODULE"])
tok = lib.get_token(token_label="t")
with tok.open(rw=True, user_pin="1234") as s:
    kek = s.generate_key(KeyType.AES, 256, store=False, template={Attribute.WRAP: True, Attribute.UNWRAP: True, Attribute.SENSITIVE: True})
    tgt = s.generate_key(KeyType.AES, 128, store=False, template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: True})
    iv = os.urandom(12)
    ct = tgt.encrypt(b"round trip", mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, b"aad", 128))
    for name, mech in (("KW", Mechanism.AES_KEY_WRAP), ("KWP", Mechanism(0x210B))):
        blob = kek.wrap_key(tgt, mechanism=mech)
        assert len(blob) == 24, (name, len(blob))
        un = kek.unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, blob, mechanism=mech, store=False,
                            template={Attribute.ENCRYPT: True, Attribute.DECRYPT: True})
        assert un.decrypt(ct, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, b"aad", 128)) == b"round trip", name
        print(name, "unwrap round trip OK")
    p = GCMParams(os.urandom(12), b"aad", 128)
    ct = kek.encrypt(b"hello gcm", mechanism=Mechanism.AES_GCM, mechanism_param=p)
    assert len(ct) == 9 + 16
    assert kek.decrypt(ct, mechanism=Mechanism.AES_GCM, mechanism_param=p) == b"hello gcm"
    print("GCM OK")
    try:
        kek[Attribute.VALUE]
        sys.exit("sensitive value was readable")
    except AttributeSensitive:
        print("AttributeSensitive OK")
"#;

#[test]
fn python_pkcs11_gcm_kw_kwp_and_sensitive_reads() {
    if !have_python_module("pkcs11", "python_pkcs11") {
        return;
    }
    let dir = scratch("python-pkcs11");
    let conf = token_conf(&dir, "t");
    let out = run(Command::new("python3")
        .env("HSMEMU_CONF", &conf)
        .env("PKCS11_MODULE", module_path())
        .args(["-c", SCRIPT]));
    let out = text(&out);
    for line in [
        "KW unwrap round trip OK",
        "KWP unwrap round trip OK",
        "GCM OK",
        "AttributeSensitive OK",
    ] {
        assert!(out.contains(line), "{line} missing from:\n{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
