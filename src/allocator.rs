//! glibc malloc settings for scan-heavy work.
//!
//! Lake scans decode Parquet into Arrow buffers of a few megabytes per batch and free them right away.
//! glibc serves blocks above its mmap threshold with fresh `mmap`s and gives freed heap tops back to the
//! kernel, so every batch paid for zeroed pages again: in a 290-million-interval billing run the kernel's
//! page clearing was a third of the CPU time (`benches/RESULTS.md`). Raising both thresholds keeps those
//! blocks in the heap for reuse.

/// Blocks up to this size come from the heap, not from their own `mmap` (32 MiB is the most glibc takes
/// on 64-bit targets).
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Free memory at the heap's top is returned to the kernel only above this (the most `mallopt` takes).
pub const TRIM_THRESHOLD_BYTES: i32 = i32::MAX;

/// Applies [`MMAP_THRESHOLD_BYTES`] and [`TRIM_THRESHOLD_BYTES`]; call it first thing in `main`. Does
/// nothing on other C libraries. Returns whether both settings took.
pub fn tune_for_scans() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called before any other thread runs.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn glibc_takes_the_settings() {
        assert!(super::tune_for_scans());
    }
}
