//! CPU time used by a process (Linux `/proc`), to say where a scenario's
//! cores went: the gateway, the sandbox, or the benchmark itself.

/// CPU time (user + system) process `pid` has used, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU time (user + system) this process has used, in seconds.
pub fn own_cpu_seconds() -> f64 {
    stat_cpu_seconds("/proc/self/stat")
}

fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU used by the gateway, the sandbox and the benchmark between `start`
/// and `finish`, per unit of work.
pub struct CpuSplit {
    gateway: u32,
    sandbox: u32,
    at_start: [f64; 3],
}

impl CpuSplit {
    pub fn start(gateway: u32, sandbox: u32) -> Self {
        let at_start = [
            cpu_seconds(gateway),
            cpu_seconds(sandbox),
            own_cpu_seconds(),
        ];
        CpuSplit {
            gateway,
            sandbox,
            at_start,
        }
    }

    /// Microseconds of CPU per unit (`units` messages, say) for each process,
    /// and the cores all three kept busy over `wall_secs`.
    pub fn finish(&self, units: usize, wall_secs: f64) -> serde_json::Value {
        let now = [
            cpu_seconds(self.gateway),
            cpu_seconds(self.sandbox),
            own_cpu_seconds(),
        ];
        let used: Vec<f64> = now.iter().zip(self.at_start).map(|(b, a)| b - a).collect();
        let per = |s: f64| (s * 1e6 / units.max(1) as f64).round();
        serde_json::json!({
            "gatewayMicrosPerUnit": per(used[0]),
            "sandboxMicrosPerUnit": per(used[1]),
            "benchMicrosPerUnit": per(used[2]),
            "coresBusy": {
                "gateway": used[0] / wall_secs.max(1e-9),
                "sandbox": used[1] / wall_secs.max(1e-9),
                "bench": used[2] / wall_secs.max(1e-9),
            },
        })
    }
}
