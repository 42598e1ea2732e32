//! The one-line progress report printed on stderr once per second while load runs.

use crate::engine::Tick;

use super::human_rate;

/// `[  3s] 19.85M spans/s | lag p99 0.12 ms | acked 59.6M rejected 0 failed 0 | in flight 0`.
pub fn load_line(tick: &Tick<'_>) -> String {
    let last = tick.last.total();
    let total = tick.total.total();
    let rate = last.sent as f64 / tick.last_len.as_secs_f64().max(1e-9);
    let lag = if tick.last.lag_us.is_empty() {
        0
    } else {
        tick.last.lag_us.value_at_quantile(0.99)
    };
    format!(
        "[{:>4.0}s] {} spans/s | lag p99 {:.2} ms | acked {} rejected {} failed {} | in flight {}",
        tick.elapsed.as_secs_f64(),
        human_rate(rate),
        lag as f64 / 1000.0,
        human_rate(total.acked as f64),
        total.rejected,
        total.failed,
        total.in_flight(),
    )
}
