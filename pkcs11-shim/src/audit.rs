//! The audit log: one JSON line per PKCS#11 call, hash-chained so that a removed, reordered or
//! edited line is detectable (`prev` is the SHA-256 of the previous line; the first line chains
//! to 64 zeros). Records carry the function, the return value and the time, never an argument:
//! no key material, PIN or data can reach the log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// An open audit log.
pub struct AuditLog {
    inner: Mutex<Chain>,
}

struct Chain {
    file: File,
    seq: u64,
    prev: String,
}

fn sha256_hex(line: &[u8]) -> String {
    let mut h = hsmemu::provider::CryptoProvider::default().sha256.digest();
    h.update(line);
    h.finish()
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AuditLog {
    /// Opens `path` for appending, continuing the chain of an existing log.
    pub fn open(path: &Path) -> Result<Self, String> {
        let existing = std::fs::read_to_string(path).unwrap_or_default();
        let last = existing.lines().last();
        let seq = existing.lines().count() as u64;
        let prev = last.map_or_else(|| "0".repeat(64), |l| sha256_hex(l.as_bytes()));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("audit log {}: {e}", path.display()))?;
        Ok(AuditLog {
            inner: Mutex::new(Chain { file, seq, prev }),
        })
    }

    /// Appends one record. A write failure is reported on stderr; the call itself is unaffected.
    pub fn record(&self, function: &str, rv: u64) {
        let mut chain = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let line = format!(
            "{{\"seq\":{},\"time\":{time},\"pid\":{},\"fn\":\"{function}\",\"rv\":\"0x{rv:x}\",\"prev\":\"{}\"}}",
            chain.seq,
            std::process::id(),
            chain.prev
        );
        if let Err(e) = writeln!(chain.file, "{line}") {
            eprintln!("hsmemu: audit log write failed: {e}");
            return;
        }
        chain.prev = sha256_hex(line.as_bytes());
        chain.seq += 1;
    }
}

/// Checks a log's chain: the number of records, or the first broken line (1-based).
pub fn verify(text: &str) -> Result<usize, usize> {
    let mut prev = "0".repeat(64);
    for (i, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|_| i + 1)?;
        if value.get("prev").and_then(|p| p.as_str()) != Some(prev.as_str()) {
            return Err(i + 1);
        }
        prev = sha256_hex(line.as_bytes());
    }
    Ok(text.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_detects_edits_and_removals() {
        let path = std::env::temp_dir().join(format!("hsmemu-audit-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path).unwrap();
        log.record("C_Initialize", 0);
        log.record("C_Login", 0xa0);
        drop(log);
        // Reopening continues the chain.
        AuditLog::open(&path).unwrap().record("C_Finalize", 0);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify(&text), Ok(3));
        assert_eq!(verify(&text.replacen("0xa0", "0x0", 1)), Err(3));
        let without_first: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert_eq!(verify(&without_first), Err(1));
        let _ = std::fs::remove_file(&path);
    }
}
