//! The conventional `process_*` series, read from `/proc/self` on Linux. Other
//! platforms report none rather than wrong values.

use std::time::{SystemTime, UNIX_EPOCH};

/// One reading of the process' resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
    pub virtual_bytes: f64,
    pub start_time_seconds: f64,
    pub open_fds: f64,
    pub max_fds: Option<f64>,
    pub threads: f64,
}

/// Reads the current figures; `None` where `/proc` is not available.
pub fn read() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields = parse_stat(&stat)?;
    let ticks = clock_ticks();
    let boot = boot_time()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| parse_max_open_files(&l));
    Some(ProcessStats {
        cpu_seconds: (fields.utime + fields.stime) / ticks,
        resident_bytes: resident_bytes()?,
        virtual_bytes: fields.vsize,
        start_time_seconds: boot + fields.starttime / ticks,
        open_fds,
        max_fds,
        threads: fields.threads,
    })
}

#[derive(Debug, PartialEq)]
struct StatFields {
    utime: f64,
    stime: f64,
    threads: f64,
    starttime: f64,
    vsize: f64,
}

/// Fields of `/proc/self/stat` after the `(comm)` field, which may hold spaces.
fn parse_stat(stat: &str) -> Option<StatFields> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); field N is at index N - 3.
    let num = |n: usize| f.get(n - 3).and_then(|s| s.parse::<f64>().ok());
    Some(StatFields {
        utime: num(14)?,
        stime: num(15)?,
        threads: num(20)?,
        starttime: num(22)?,
        vsize: num(23)?,
    })
}

/// Resident memory in bytes. `/proc/self/stat` counts it in pages, whose size
/// varies (4 KiB, 16 KiB on some arm64 kernels, 64 KiB on ppc64le); `VmRSS` in
/// `/proc/self/status` is in kB whatever the page size.
fn resident_bytes() -> Option<f64> {
    parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

fn parse_vm_rss(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.get(6..)?.split_whitespace();
    let kib: f64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(kib * 1024.0)
}

fn parse_max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Linux reports CPU times in clock ticks; USER_HZ is 100 on every architecture
/// Linux supports for userspace ABI purposes.
fn clock_ticks() -> f64 {
    100.0
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.get(6..)?.trim().parse().ok()
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_comm() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 5000 104857600 2560 18446744073709551615";
        let f = parse_stat(stat);
        assert_eq!(
            f,
            Some(StatFields {
                utime: 250.0,
                stime: 50.0,
                threads: 7.0,
                starttime: 5000.0,
                vsize: 104857600.0,
            })
        );
    }

    #[test]
    fn parses_max_open_files() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_max_open_files(limits), Some(1024.0));
    }

    #[test]
    fn parses_vm_rss_in_kib() {
        let status = "Name:\toutpost\nVmHWM:\t   20000 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n";
        assert_eq!(parse_vm_rss(status), Some(12345.0 * 1024.0));
        assert_eq!(parse_vm_rss("VmRSS:\t12 pages\n"), None);
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    /// The figure is this process' VmRSS (which moves a little between two reads).
    #[test]
    fn resident_bytes_match_vm_rss() {
        let ours = read().map(|s| s.resident_bytes).unwrap_or_default();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_default();
        let theirs = kib * 1024.0;
        assert!(theirs > 0.0, "{status}");
        assert!(
            (ours - theirs).abs() <= theirs * 0.05,
            "resident_bytes {ours} vs VmRSS {theirs}"
        );
    }

    #[test]
    fn reads_this_process() {
        let s = read();
        assert!(
            s.as_ref()
                .is_some_and(|s| s.resident_bytes > 0.0 && s.open_fds > 0.0 && s.threads >= 1.0),
            "{s:?}"
        );
    }
}
