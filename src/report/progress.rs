//! What is shown on stderr while a command goes: for `load`, one line per second; for `run`,
//! `capacity` and `fidelity`, a progress bar per phase when stderr is a terminal (indicatif),
//! else the same facts as one plain line per second (logs and CI keep a stable, greppable
//! format), and nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::human_rate;
use crate::engine::Tick;
use crate::progress::Progress;

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

/// The per-second line of a run, when stderr is not a terminal:
/// `[load  12/30s] sentinel sent 700 verified 650 missing 0 | load 1.20M spans/s | alert ok | lag p99 0.4 ms`.
/// Fields are only ever appended, so scripts reading the line keep working.
pub fn run_line(p: &Progress) -> String {
    let mut line = format!(
        "[{} {:>3.0}/{:.0}s] sentinel sent {} verified {} missing {} | load {} spans/s | alert {}",
        p.phase,
        p.elapsed.as_secs_f64(),
        p.length.as_secs_f64(),
        p.sent,
        p.verified,
        p.missing,
        human_rate(p.load_rate),
        p.alert
    );
    if let Some(lag) = p.lag_p99_ms {
        line.push_str(&format!(" | lag p99 {lag:.1} ms"));
    }
    line
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (`--quiet`).
    Quiet,
    /// One plain line per second (stderr is not a terminal).
    Lines,
    /// A live bar per phase (stderr is a terminal).
    Bars,
}

impl ProgressMode {
    /// The mode for `--quiet` and the current stderr.
    pub fn detect(quiet: bool) -> Self {
        match (quiet, std::io::stderr().is_terminal()) {
            (true, _) => Self::Quiet,
            (false, true) => Self::Bars,
            (false, false) => Self::Lines,
        }
    }
}

/// Prints a line above the current bar (or plainly), from any thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct Printer {
    mode: ProgressMode,
    /// The bar being drawn, if any: lines are printed with it suspended.
    current: Arc<Mutex<Option<ProgressBar>>>,
}

impl Printer {
    /// Prints `line` unless quiet.
    pub fn println(&self, line: &str) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Lines => eprintln!("{line}"),
            ProgressMode::Bars => {
                let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
                match &*current {
                    Some(bar) => bar.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
        }
    }
}

/// The progress display of a run: fed every per-second [`Progress`].
#[derive(Debug)]
pub struct RunProgress {
    printer: Printer,
    bar: Option<(usize, ProgressBar)>,
}

impl RunProgress {
    /// A display in `mode`.
    pub fn new(mode: ProgressMode) -> Self {
        Self {
            printer: Printer {
                mode,
                current: Arc::default(),
            },
            bar: None,
        }
    }

    /// A handle that prints lines without breaking the bars.
    pub fn printer(&self) -> Printer {
        self.printer.clone()
    }

    /// Shows one second of progress.
    pub fn update(&mut self, p: &Progress) {
        match self.printer.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Lines => eprintln!("{}", run_line(p)),
            ProgressMode::Bars => self.bar_for(p).set_message(bar_message(p)),
        }
    }

    fn bar_for(&mut self, p: &Progress) -> &ProgressBar {
        if self.bar.as_ref().is_none_or(|(i, _)| *i != p.index) {
            // A finished bar stays on screen as the phase's summary; the next one starts below.
            if let Some((_, old)) = self.bar.take() {
                old.finish();
            }
            let bar = ProgressBar::new(p.length.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10} [{bar:24}] {pos:>3}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(p.phase.clone());
            bar.enable_steady_tick(Duration::from_millis(250));
            *self
                .printer
                .current
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            self.bar = Some((p.index, bar));
        }
        let (_, bar) = self.bar.as_ref().expect("just set");
        bar.set_position(p.elapsed.as_secs().min(p.length.as_secs()));
        bar
    }

    /// Leaves the last bar drawn as it ended.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish();
        }
        self.printer
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

fn bar_message(p: &Progress) -> String {
    let load = if p.load_rate > 0.0 || p.lag_p99_ms.is_some() {
        format!(
            "load {}/s lag {:.1} ms | ",
            human_rate(p.load_rate),
            p.lag_p99_ms.unwrap_or(0.0)
        )
    } else {
        String::new()
    };
    format!(
        "{load}traces verified {} missing {} | alert {}",
        p.verified, p.missing, p.alert
    )
}
