//! CPU counting: the service's and PostgreSQL's CPU seconds over a run, from
//! /proc.

use super::*;

/// CPU seconds (user + system) a process has used so far, with its start
/// time (which tells a reused pid from the process it had before).
pub(super) fn cpu_and_start(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime, stime and
    // starttime are the 14th, 15th and 22nd fields of the line, in clock
    // ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(((ticks(11)? + ticks(12)?) as f64 / 100.0, ticks(19)?))
}

pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    cpu_and_start(pid).map_or(0.0, |(cpu, _)| cpu)
}

/// Every PostgreSQL process of the machine: pid → (CPU seconds, start time).
pub(crate) fn postgres_processes() -> HashMap<u32, (f64, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| Some((pid, cpu_and_start(pid)?)))
        .collect()
}

/// The CPU PostgreSQL spent between two snapshots: each process's own
/// growth, and the whole of those started in between. A process that ended
/// in between is not seen (the service's pooled backends live on); a sum of
/// all processes at each end would instead subtract the CPU of every
/// backend that ended, such as the previous run's pgbench clients.
pub(crate) fn postgres_cpu_between(
    before: &HashMap<u32, (f64, u64)>,
    after: &HashMap<u32, (f64, u64)>,
) -> f64 {
    after
        .iter()
        .map(|(pid, &(cpu, start))| match before.get(pid) {
            Some(&(earlier, same_start)) if same_start == start => cpu - earlier,
            _ => cpu,
        })
        .sum()
}

/// Where the CPU time of one run went, per call.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CpuSplit {
    pub(super) service_ms: f64,
    pub(super) postgres_ms: f64,
    pub(super) load_generator_ms: f64,
}

/// Runs `f` and splits the CPU it cost among the service, PostgreSQL and
/// this process, per OK call.
pub(super) async fn with_cpu<F: std::future::Future<Output = anyhow::Result<Outcome>>>(
    service_pid: u32,
    f: F,
) -> anyhow::Result<(Outcome, CpuSplit)> {
    let me = std::process::id();
    let postgres_before = postgres_processes();
    let before = (cpu_seconds(service_pid), cpu_seconds(me));
    let o = f.await?;
    let after = (cpu_seconds(service_pid), cpu_seconds(me));
    let postgres = postgres_cpu_between(&postgres_before, &postgres_processes());
    // The run's one-second warm-up is not in `o.ok`; count its calls too.
    let calls = (o.ok as f64 * (o.spec.seconds + 1.0) / o.spec.seconds).max(1.0);
    let per_call = |a: f64, b: f64| ((b - a) * 1000.0 / calls * 1000.0).round() / 1000.0;
    Ok((
        o,
        CpuSplit {
            service_ms: per_call(before.0, after.0),
            postgres_ms: per_call(0.0, postgres),
            load_generator_ms: per_call(before.1, after.1),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_cpu_counts_growth_and_new_backends_not_ended_ones() {
        // 1: a pooled backend that lives on; 2: a pgbench backend that ends
        // during the run; 3: a pid reused by a new backend; 4: a new backend.
        let before = HashMap::from([(1, (5.0, 10)), (2, (9.0, 11)), (3, (4.0, 12))]);
        let after = HashMap::from([(1, (7.5, 10)), (3, (0.5, 40)), (4, (1.0, 41))]);
        assert_eq!(postgres_cpu_between(&before, &after), 2.5 + 0.5 + 1.0);
    }
}
