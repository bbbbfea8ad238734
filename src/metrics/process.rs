//! The standard `process_*` metrics, read from Linux's `/proc/self`.
//! Where `/proc` cannot be read, the metric has no sample.

use std::fs;

use super::render::Out;

/// Clock ticks per second of `/proc` CPU times: Linux's `USER_HZ`, which
/// is 100 on every architecture it exports to user space.
const USER_HZ: f64 = 100.0;

pub(super) fn render(out: &mut Out) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| status_field(&status, key).map(|v| v * 1024.0);
    gauge(out, super::RESIDENT_MEMORY, kb("VmRSS:"));
    gauge(out, super::VIRTUAL_MEMORY, kb("VmSize:"));
    gauge(out, super::THREADS, status_field(&status, "Threads:"));

    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields = stat_fields(&stat);
    let field = |n: usize| fields.get(n).and_then(|v| v.parse::<f64>().ok());
    // Fields after the command name, counted from 0 at "state" (field 3
    // of proc(5)): utime is field 14, stime 15, starttime 22.
    let cpu = field(11)
        .zip(field(12))
        .map(|(user, system)| (user + system) / USER_HZ);
    gauge(out, super::CPU_SECONDS, cpu);
    let boot = fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    let start = field(19).zip(boot).map(|(ticks, b)| b + ticks / USER_HZ);
    gauge(out, super::START_TIME, start);

    let fds = fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);
    gauge(out, super::OPEN_FDS, fds);
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<f64>().ok());
    gauge(out, super::MAX_FDS, max_fds);
}

fn gauge(out: &mut Out, d: super::Desc, value: Option<f64>) {
    out.head(d);
    if let Some(v) = value {
        out.sample(d.name, &[], v);
    }
}

/// The number of a `/proc/self/status` line such as `VmRSS:   1234 kB`.
fn status_field(status: &str, key: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The fields of `/proc/self/stat` after the command name (which may hold
/// spaces and parentheses: it ends at the last `)`).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rfind(')')
        .and_then(|i| stat.get(i + 1..))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_skip_a_command_with_spaces() {
        let stat = "42 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0 1000 1 2";
        let f = stat_fields(stat);
        assert_eq!(f.first(), Some(&"S"));
        assert_eq!(f.get(11), Some(&"250"));
        assert_eq!(f.get(12), Some(&"50"));
        assert_eq!(f.get(19), Some(&"1000"));
    }

    #[test]
    fn reads_this_process() {
        let mut out = Out(String::new());
        render(&mut out);
        for name in [
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_open_fds ",
            "process_max_fds ",
            "process_start_time_seconds ",
            "process_threads ",
        ] {
            assert!(out.0.contains(&format!("\n{name}")), "{name}");
        }
    }
}
