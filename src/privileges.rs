//! Capture rights the package grants (file capabilities) kept only by members of the
//! `framescope` group: everyone else runs the same binary without them.
//!
//! Why: the .deb's postinst puts `cap_net_raw,cap_net_admin=eip` on /usr/bin/framescope (never
//! setuid root), the way Wireshark's package treats dumpcap. Wireshark gates those rights by
//! making dumpcap executable by its group only; framescope is one binary that must stay
//! usable for reading files by everyone, so the gate is here instead: the first thing `main`
//! does is drop every capability unless the user is root or in the group. Nothing is parsed
//! before this runs, and a process without capabilities (the usual case) returns at once.
//! Where the group does not exist (no package; capabilities given by hand with setcap) the
//! capabilities stay, as before.

/// The group whose members keep capture rights (created by the package's postinst).
pub const CAPTURE_GROUP: &str = "framescope";

/// What `keep_capture_rights_for_group_only` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureRights {
    /// The process holds no capabilities: nothing to do.
    NoneHeld,
    /// Root, a member of the group, or no such group: the capabilities stay.
    Kept,
    /// The group exists and the user is not in it: every capability was dropped.
    Dropped,
}

/// Drops all capabilities unless the real user is root or belongs to [`CAPTURE_GROUP`] (or
/// that group does not exist).
/// An error means the capabilities could not be read or dropped; the caller must not go on.
#[cfg(target_os = "linux")]
pub fn keep_capture_rights_for_group_only() -> Result<CaptureRights, String> {
    let held = linux::permitted().map_err(|e| format!("cannot read the process capabilities: {e}"))?;
    if held == 0 {
        return Ok(CaptureRights::NoneHeld);
    }
    // SAFETY: getuid cannot fail and touches no memory.
    let root = unsafe { libc::getuid() } == 0;
    // No group: the package is not installed and someone ran setcap by hand (README's
    // "Capture permissions"); that grant was meant for whoever may run the binary.
    let Some(gid) = linux::group_id(CAPTURE_GROUP) else {
        return Ok(CaptureRights::Kept);
    };
    if root || linux::in_group(gid) {
        return Ok(CaptureRights::Kept);
    }
    linux::drop_all().map_err(|e| format!("cannot drop the capture capabilities: {e}"))?;
    Ok(CaptureRights::Dropped)
}

/// True if the package's capture group exists (the package is installed), so capture
/// rights come from joining it.
#[cfg(target_os = "linux")]
pub fn capture_group_exists() -> bool {
    linux::group_id(CAPTURE_GROUP).is_some()
}

/// No package creates the group elsewhere.
#[cfg(not(target_os = "linux"))]
pub fn capture_group_exists() -> bool {
    false
}

/// Elsewhere the package grants nothing, so there is nothing to gate.
#[cfg(not(target_os = "linux"))]
pub fn keep_capture_rights_for_group_only() -> Result<CaptureRights, String> {
    Ok(CaptureRights::NoneHeld)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::CString;
    use std::io;

    /// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
    const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    /// The permitted set as one 64-bit mask (0 when the process holds nothing).
    pub fn permitted() -> io::Result<u64> {
        let mut header = Header {
            version: CAPABILITY_VERSION_3,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: header and a two-element data array are what capget's version 3 expects.
        let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
    }

    /// Empties the effective, permitted and inheritable sets (the ambient set empties with them).
    pub fn drop_all() -> io::Result<()> {
        let mut header = Header {
            version: CAPABILITY_VERSION_3,
            pid: 0,
        };
        let data = [Data::default(); 2];
        // SAFETY: as in `permitted`; capset only reads the data array.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if permitted()? != 0 {
            return Err(io::Error::other("capabilities still held after capset"));
        }
        Ok(())
    }

    /// Whether the process's real, effective or supplementary groups include `gid`.
    pub fn in_group(gid: libc::gid_t) -> bool {
        // SAFETY: getgid/getegid cannot fail.
        if unsafe { libc::getgid() } == gid || unsafe { libc::getegid() } == gid {
            return true;
        }
        // SAFETY: a 0-size call only returns the count.
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let Ok(len) = usize::try_from(count) else {
            return false;
        };
        let mut groups: Vec<libc::gid_t> = vec![0; len];
        // SAFETY: the buffer holds `count` entries.
        let filled = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
        let Ok(filled) = usize::try_from(filled) else {
            return false;
        };
        groups.iter().take(filled).any(|&g| g == gid)
    }

    /// getgrnam_r with a growing buffer (group entries with many members can be large); `None`
    /// when the group does not exist or cannot be looked up.
    pub fn group_id(name: &str) -> Option<libc::gid_t> {
        let name = CString::new(name).ok()?;
        let mut size = 4096usize;
        while size <= 1 << 20 {
            let mut buffer: Vec<libc::c_char> = vec![0; size];
            // SAFETY: a zeroed `group` is a valid out-parameter for getgrnam_r.
            let mut group: libc::group = unsafe { std::mem::zeroed() };
            let mut found: *mut libc::group = std::ptr::null_mut();
            // SAFETY: every pointer is to a live local of the right type and size.
            let rc = unsafe { libc::getgrnam_r(name.as_ptr(), &mut group, buffer.as_mut_ptr(), size, &mut found) };
            if rc == libc::ERANGE {
                size *= 4;
                continue;
            }
            return (rc == 0 && !found.is_null()).then_some(group.gr_gid);
        }
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_process_without_capabilities_is_left_alone() {
        // The test runner holds no file capabilities unless run as root, where it keeps them.
        let outcome = keep_capture_rights_for_group_only().expect("capget works");
        let is_root = unsafe { libc::getuid() } == 0;
        if is_root {
            assert_ne!(outcome, CaptureRights::Dropped);
        } else {
            assert_eq!(outcome, CaptureRights::NoneHeld);
        }
    }

    #[test]
    fn a_missing_group_is_not_found() {
        assert_eq!(linux::group_id("framescope-no-such-group-for-tests"), None);
    }

    #[test]
    fn the_primary_group_counts_as_membership() {
        let output = std::process::Command::new("id").arg("-gn").output().expect("id runs");
        let primary = String::from_utf8(output.stdout).expect("utf-8");
        let gid = linux::group_id(primary.trim()).expect("the primary group resolves");
        assert_eq!(gid, unsafe { libc::getgid() });
        assert!(linux::in_group(gid), "{primary}");
    }
}
