//! Process limits a collector with thousands of bus connections needs.

/// Raises the soft open-files limit to the hard limit (or to `wanted`, if lower) and returns the new
/// soft limit. Each TCP bus holds one descriptor, so 2,000 DTUs need more than the usual 1,024.
pub fn raise_open_files_limit(wanted: u64) -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let target = wanted.min(limit.rlim_max);
    if limit.rlim_cur < target {
        limit.rlim_cur = target;
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_reaches_the_wanted_value_within_the_hard_limit() {
        let read = || {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into the struct we own.
            assert_eq!(
                unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
                0
            );
            limit
        };
        let set = |soft: u64, hard: u64| {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            // SAFETY: setrlimit reads the struct we own.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        };
        let before = read();
        // Start low (as on a machine with the usual 1,024 or less), so the raise must happen.
        set(before.rlim_cur.min(256), before.rlim_max);
        let wanted = 4096;
        let got = super::raise_open_files_limit(wanted).unwrap();
        let after = read();
        set(before.rlim_cur, before.rlim_max);
        assert_eq!(
            got, after.rlim_cur,
            "the returned limit is the one in force"
        );
        assert_eq!(
            after.rlim_cur,
            wanted.min(before.rlim_max),
            "raised to what was asked"
        );
        assert_eq!(
            after.rlim_max, before.rlim_max,
            "the hard limit is not touched"
        );
    }
}
