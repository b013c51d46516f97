//! A small tmpfs mounted over a directory: a disk that really fills up (`ENOSPC`), and is freed again
//! by deleting a filler file. Needs root, or `sudo` without a password (as `scripts/test.sh` uses for
//! installing); a test that cannot mount fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `mount`/`umount` as root: directly when the test runs as root, else through `sudo -n`.
fn as_root(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", program]);
        sudo
    }
}

/// A mounted tmpfs, unmounted when dropped.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `megabytes` over `dir` (created if missing).
    pub fn mount(dir: &Path, megabytes: u32) -> Self {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = as_root("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m,mode=1777"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs over {} failed: the disk-full trials need root",
            dir.display()
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler.bin")
    }

    /// Fills the file system to the last byte.
    pub fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).expect("filler");
        let block = vec![0x55u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let small = [0x55u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
    }

    /// Frees what [`Tmpfs::fill`] took.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("removing the filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = as_root("umount").arg("-l").arg(&self.dir).status();
    }
}
