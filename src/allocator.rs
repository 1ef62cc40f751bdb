//! The one setting outpost makes of the system allocator: glibc's mmap
//! threshold, fixed at its starting value.
//!
//! glibc serves an allocation of 128 KiB or more with its own mmap and gives it
//! back to the kernel when freed, but it raises that threshold to the size of
//! each such block freed (up to 32 MiB). Reading a large probes.toml, a
//! `/metrics` scrape's per-probe vectors (a few MiB at 100,000 probes) or a
//! discovery refresh each free such a block, after which blocks of that size
//! come from the heap and stay there: 100,000 probes every 60 s held 207 MiB
//! after two rounds and three scrapes with the threshold left to move, 182 MiB
//! with it fixed (docs/scaling.md). Setting it explicitly stops the adjustment.

/// What [`fix_mmap_threshold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tuning {
    /// The threshold is fixed at this many bytes.
    Fixed(usize),
    /// `GLIBC_TUNABLES` already sets the allocator's thresholds: the operator's
    /// choice stands.
    LeftToOperator,
    /// Not glibc: nothing to set.
    Unsupported,
    /// glibc refused the value.
    Refused,
}

/// glibc's own starting value.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`], unless `GLIBC_TUNABLES`
/// names a malloc threshold. Call it first thing in `main`, before any thread.
pub fn fix_mmap_threshold() -> Tuning {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.contains("malloc.mmap_threshold") || tunables.contains("malloc.trim_threshold") {
        return Tuning::LeftToOperator;
    }
    set_mmap_threshold(MMAP_THRESHOLD)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_mmap_threshold(bytes: usize) -> Tuning {
    let Ok(value) = libc::c_int::try_from(bytes) else {
        return Tuning::Refused;
    };
    // SAFETY: mallopt only sets an allocator parameter; glibc takes its own lock
    // to do so, and any value is checked (it returns 0 for one it refuses).
    #[allow(unsafe_code)]
    let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, value) };
    if accepted == 1 {
        Tuning::Fixed(bytes)
    } else {
        Tuning::Refused
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_mmap_threshold(_bytes: usize) -> Tuning {
    Tuning::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_threshold() {
        assert_eq!(
            set_mmap_threshold(MMAP_THRESHOLD),
            Tuning::Fixed(MMAP_THRESHOLD)
        );
        // More than an int holds: never handed to glibc.
        assert_eq!(set_mmap_threshold(usize::MAX), Tuning::Refused);
    }
}
