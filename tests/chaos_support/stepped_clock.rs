//! A wall clock that steps, for one child process: libfaketime preloaded into it, with the offset
//! read from a file the test rewrites (the monotonic clock stays true, as when NTP or an operator
//! steps a host's clock). Needs Debian's `libfaketime` (`scripts/test.sh` installs it); a test that
//! cannot find it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The offset file of one stepped clock.
pub struct SteppedClock {
    file: PathBuf,
    library: PathBuf,
}

/// Where Debian puts libfaketime (the multiarch directory differs per architecture).
fn library() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("faketime/libfaketime.so.1"))
        .find(|path| path.exists());
    found.expect("libfaketime is missing: install Debian's libfaketime (scripts/test.sh does)")
}

impl SteppedClock {
    /// A clock showing the true time, its offset kept in `dir`.
    pub fn new(dir: &Path) -> Self {
        let clock = Self {
            file: dir.join("clock-offset"),
            library: library(),
        };
        clock.set_offset(0);
        clock
    }

    /// Makes `command`'s process read its wall clock from this one.
    pub fn apply(&self, command: &mut Command) {
        command
            .env("LD_PRELOAD", &self.library)
            .env("FAKETIME_TIMESTAMP_FILE", &self.file)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("FAKETIME_CACHE_DURATION", "1");
    }

    /// Sets the clock `seconds` ahead of the true time (behind when negative); the process sees the
    /// step within a second.
    pub fn set_offset(&self, seconds: i64) {
        let tmp = self.file.with_extension("new");
        std::fs::write(&tmp, format!("{seconds:+}\n")).expect("writing the clock offset");
        std::fs::rename(&tmp, &self.file).expect("replacing the clock offset");
    }
}
