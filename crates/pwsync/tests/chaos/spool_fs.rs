//! A DC's spool on a small filesystem of its own (tmpfs), so that the storm can fill it up and
//! remount it read-only under the running hook and client.
//!
//! Needs root (mount). Must never touch a filesystem it did not mount: it unmounts only its
//! own mount point, and leaves nothing mounted when dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Room for a few thousand sealed records, small enough to fill in a moment.
const SIZE: &str = "4m";

pub struct SpoolMount {
    mount_point: PathBuf,
    pub spool: PathBuf,
    ballast: PathBuf,
    read_only: bool,
}

impl SpoolMount {
    /// Mounts a tmpfs at `mount_point` with the spool directory inside; Err says why not.
    pub fn mount(mount_point: &Path) -> Result<SpoolMount, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root: cannot mount a tmpfs".into());
        }
        std::fs::create_dir_all(mount_point).map_err(|error| error.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SIZE},mode=0700"), "tmpfs"])
            .arg(mount_point)
            .output()
            .map_err(|error| format!("mount: {error}"))?;
        if !output.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        let spool = mount_point.join("spool");
        std::fs::create_dir(&spool).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o700)).unwrap();
        Ok(SpoolMount {
            mount_point: mount_point.to_path_buf(),
            ballast: mount_point.join("ballast"),
            spool,
            read_only: false,
        })
    }

    /// Fills the filesystem to the last byte; returns the bytes written.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.ballast).unwrap();
        let block = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(count) => written += count as u64,
                Err(error) if error.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(error) => panic!("filling the spool filesystem: {error}"),
            }
        }
        // The last partial block: down to single bytes, so that not even a record fits.
        loop {
            match file.write(&[0u8; 512]) {
                Ok(count) if count > 0 => written += count as u64,
                _ => break,
            }
        }
        written
    }

    pub fn free(&self) {
        let _ = std::fs::remove_file(&self.ballast);
    }

    pub fn set_read_only(&mut self, read_only: bool) {
        if self.read_only == read_only {
            return;
        }
        let option = if read_only { "remount,ro" } else { "remount,rw" };
        let status = Command::new("mount").args(["-o", option]).arg(&self.mount_point).status().unwrap();
        assert!(status.success(), "mount -o {option} failed");
        self.read_only = read_only;
    }
}

impl Drop for SpoolMount {
    fn drop(&mut self) {
        // Lazy: a process of the test may still hold a file there for a moment.
        let _ = Command::new("umount").arg("-l").arg(&self.mount_point).status();
    }
}
