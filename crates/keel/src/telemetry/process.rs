//! This process's resident memory, open file descriptors and CPU time, read
//! from `/proc/self` (Linux); elsewhere each reading is `None`.

use std::time::{SystemTime, UNIX_EPOCH};

/// One reading of the process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub start_time_seconds: Option<f64>,
}

/// Clock ticks per second of `/proc/self/stat`'s times: 100 on every
/// Linux port Keel is built for (USER_HZ, fixed by the kernel ABI).
const TICKS_PER_SECOND: f64 = 100.0;
/// The page size of `/proc/self/statm`: 4 KiB on x86_64 and on the
/// aarch64 kernels of the targets Keel is built for.
const PAGE_BYTES: u64 = 4096;

/// Reads the process's figures now.
pub fn read() -> ProcessStats {
    let statm = std::fs::read_to_string("/proc/self/statm").ok();
    let mut pages = statm.as_deref().unwrap_or("").split_whitespace();
    let virtual_bytes = pages.next().and_then(|p| p.parse::<u64>().ok()).map(|p| p * PAGE_BYTES);
    let resident_bytes = pages.next().and_then(|p| p.parse::<u64>().ok()).map(|p| p * PAGE_BYTES);
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as u64);
    let max_fds = rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft);
    let (cpu_seconds, start_time_seconds) = stat_times().unzip();
    ProcessStats {
        resident_bytes,
        virtual_bytes,
        open_fds,
        max_fds,
        cpu_seconds,
        start_time_seconds: start_time_seconds.flatten(),
    }
}

/// CPU seconds (user + system) and the start time as unix seconds.
fn stat_times() -> Option<(f64, Option<f64>)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: fields are
    // counted after the last `)`; utime is field 14, stime 15, starttime 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    let cpu = (field(14)? + field(15)?) / TICKS_PER_SECOND;
    let started = field(22).and_then(|ticks| {
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let uptime: f64 = uptime.split_whitespace().next()?.parse().ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        Some(now - uptime + ticks / TICKS_PER_SECOND)
    });
    Some((cpu, started))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_linux_process_reads_its_own_figures() {
        let during = super::read();
        assert!(during.resident_bytes.unwrap() > 1024 * 1024, "{during:?}");
        assert!(during.virtual_bytes.unwrap() >= during.resident_bytes.unwrap());
        assert!(
            during.open_fds.unwrap() >= 3,
            "stdin, stdout, stderr at least: {during:?}"
        );
        assert!(during.max_fds.unwrap() >= during.open_fds.unwrap());
        assert!(during.cpu_seconds.unwrap() >= 0.0);
        let started = during.start_time_seconds.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            started <= now + 1.0 && started > now - 86_400.0 * 365.0,
            "{started} vs {now}"
        );
    }
}
