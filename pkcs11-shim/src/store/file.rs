//! A persistent token: one directory per token.
//!
//! ```text
//! <dir>/lock                   held with an exclusive lock while a process has the token open
//! <dir>/token.state            PIN hashes and counters, wrapped token master key and domain keys
//! <dir>/objects/<id>.rec       one sealed record per token object (16 hex digits)
//! ```
//!
//! Invariants: every write is atomic and durable when it returns (write a temporary file, fsync
//! it, rename it over the old one, fsync the directory), so a kill at any moment leaves the old
//! record or the new one; a removal is durable when it returns; a second process that opens the
//! same token gets a clear error instead of a shared, diverging copy.

use hsmemu::platform::{ObjectStore, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A token directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    objects: PathBuf,
    _lock: File,
}

const STATE: &str = "token.state";
const TMP_SUFFIX: &str = ".tmp";

fn report(what: &str, path: &Path, e: &io::Error) -> StoreError {
    eprintln!("hsmemu: {what} {}: {e}", path.display());
    if e.raw_os_error() == Some(28) {
        StoreError::Full
    } else {
        StoreError::Io
    }
}

impl FileStore {
    /// Opens (creating if needed) the token directory `dir` and locks it for this process.
    pub fn open(dir: &Path) -> Result<Self, String> {
        let objects = dir.join("objects");
        fs::create_dir_all(&objects)
            .map_err(|e| format!("cannot create token directory {}: {e}", dir.display()))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        lock.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => {
                format!(
                    "token directory {} is in use by another process (it holds {})",
                    dir.display(),
                    lock_path.display()
                )
            }
            fs::TryLockError::Error(e) => format!("cannot lock {}: {e}", lock_path.display()),
        })?;
        // Temporary files are leftovers of writes that a crash interrupted before their
        // rename: the old version is still in place, so they are discarded.
        for d in [dir, objects.as_path()] {
            let entries =
                fs::read_dir(d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(FileStore {
            dir: dir.to_path_buf(),
            objects,
            _lock: lock,
        })
    }

    /// The token directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn record_path(&self, id: u64) -> PathBuf {
        self.objects.join(format!("{id:016x}.rec"))
    }

    fn sync_dir(dir: &Path) -> Result<(), StoreError> {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| report("cannot sync directory", dir, &e))
    }

    /// Writes `bytes` to `path` atomically and durably.
    fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(TMP_SUFFIX);
        let tmp = PathBuf::from(tmp);
        let write = || -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            report("cannot write", path, &e)
        })?;
        Self::sync_dir(path.parent().unwrap_or(Path::new(".")))
    }

    fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        match fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(report("cannot read", path, &e)),
        }
    }
}

impl ObjectStore for FileStore {
    fn put(&mut self, id: u64, record: &[u8]) -> Result<(), StoreError> {
        Self::write_atomic(&self.record_path(id), record)
    }

    fn get(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Self::read_optional(&self.record_path(id))
    }

    fn remove(&mut self, id: u64) -> Result<(), StoreError> {
        let path = self.record_path(id);
        match fs::remove_file(&path) {
            Ok(()) => Self::sync_dir(&self.objects),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(report("cannot remove", &path, &e)),
        }
    }

    fn ids(&self) -> Result<Vec<u64>, StoreError> {
        let entries =
            fs::read_dir(&self.objects).map_err(|e| report("cannot list", &self.objects, &e))?;
        let mut ids: Vec<u64> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                let hex = name.strip_suffix(".rec")?;
                if hex.len() != 16 {
                    return None;
                }
                u64::from_str_radix(hex, 16).ok()
            })
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn put_state(&mut self, state: &[u8]) -> Result<(), StoreError> {
        Self::write_atomic(&self.dir.join(STATE), state)
    }

    fn get_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Self::read_optional(&self.dir.join(STATE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hsmemu-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn records_round_trip_and_removals_are_durable() {
        let dir = temp_dir("roundtrip");
        let mut store = FileStore::open(&dir).unwrap();
        store.put(7, b"seven").unwrap();
        store.put(3, b"three").unwrap();
        store.put(7, b"SEVEN").unwrap();
        store.put_state(b"state").unwrap();
        assert_eq!(store.ids().unwrap(), vec![3, 7]);
        assert_eq!(store.get(7).unwrap().as_deref(), Some(&b"SEVEN"[..]));
        store.remove(3).unwrap();
        store.remove(3).unwrap();
        assert_eq!(store.ids().unwrap(), vec![7]);
        drop(store);
        let store = FileStore::open(&dir).unwrap();
        assert_eq!(store.get_state().unwrap().as_deref(), Some(&b"state"[..]));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_second_opener_gets_a_clear_error() {
        let dir = temp_dir("lock");
        let _first = FileStore::open(&dir).unwrap();
        let err = FileStore::open(&dir).unwrap_err();
        assert!(err.contains("in use by another process"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn interrupted_writes_leave_the_old_record_and_no_debris() {
        let dir = temp_dir("crash");
        let mut store = FileStore::open(&dir).unwrap();
        store.put(1, b"old").unwrap();
        // A crash between writing the temporary file and renaming it.
        fs::write(
            dir.join("objects").join(format!("{:016x}.rec.tmp", 1)),
            b"half-writ",
        )
        .unwrap();
        drop(store);
        let store = FileStore::open(&dir).unwrap();
        assert_eq!(store.get(1).unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(store.ids().unwrap(), vec![1]);
        assert_eq!(fs::read_dir(dir.join("objects")).unwrap().count(), 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
