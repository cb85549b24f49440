//! The information structures of PKCS#11 3.0 §3.1–§3.3 (CK_INFO, CK_SLOT_INFO, CK_TOKEN_INFO),
//! built from the emulator's state. Plain data, no pointers.

use crate::ffi::padded;
use cryptoki_sys::*;
use hsmemu::TokenInfo;

const MANUFACTURER: &str = "hsmemu";
const VERSION: CK_VERSION = CK_VERSION { major: 0, minor: 1 };

/// CK_INFO for the function table of `version`.
pub fn library(version: CK_VERSION) -> CK_INFO {
    CK_INFO {
        cryptokiVersion: version,
        manufacturerID: padded(MANUFACTURER),
        flags: 0,
        libraryDescription: padded("hsmemu HSM emulator"),
        libraryVersion: VERSION,
    }
}

/// CK_SLOT_INFO: every slot holds its token (CKF_TOKEN_PRESENT).
pub fn slot(label: Option<&str>) -> CK_SLOT_INFO {
    CK_SLOT_INFO {
        slotDescription: padded(&format!(
            "hsmemu slot ({})",
            label.unwrap_or("uninitialised")
        )),
        manufacturerID: padded(MANUFACTURER),
        flags: CKF_TOKEN_PRESENT,
        hardwareVersion: VERSION,
        firmwareVersion: VERSION,
    }
}

/// CK_TOKEN_INFO.
pub fn token(slot: CK_SLOT_ID, t: &TokenInfo) -> CK_TOKEN_INFO {
    let mut flags = CKF_RNG | CKF_LOGIN_REQUIRED;
    let set = |flags: &mut CK_FLAGS, on: bool, bit: CK_FLAGS| {
        if on {
            *flags |= bit;
        }
    };
    set(&mut flags, t.label.is_some(), CKF_TOKEN_INITIALIZED);
    set(&mut flags, t.user_pin_initialized, CKF_USER_PIN_INITIALIZED);
    set(&mut flags, t.user_pin.count_low, CKF_USER_PIN_COUNT_LOW);
    set(&mut flags, t.user_pin.final_try, CKF_USER_PIN_FINAL_TRY);
    set(&mut flags, t.user_pin.locked, CKF_USER_PIN_LOCKED);
    set(&mut flags, t.so_pin.count_low, CKF_SO_PIN_COUNT_LOW);
    set(&mut flags, t.so_pin.final_try, CKF_SO_PIN_FINAL_TRY);
    set(&mut flags, t.so_pin.locked, CKF_SO_PIN_LOCKED);
    CK_TOKEN_INFO {
        label: padded(t.label.as_deref().unwrap_or("")),
        manufacturerID: padded(MANUFACTURER),
        model: padded("emulator"),
        serialNumber: padded(&format!("{slot:016x}")),
        flags,
        ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
        ulSessionCount: t.session_count as CK_ULONG,
        ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
        ulRwSessionCount: t.rw_session_count as CK_ULONG,
        ulMaxPinLen: t.pin_len_range.1 as CK_ULONG,
        ulMinPinLen: t.pin_len_range.0 as CK_ULONG,
        ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
        ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
        ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
        ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
        hardwareVersion: VERSION,
        firmwareVersion: VERSION,
        utcTime: [b' '; 16],
    }
}
