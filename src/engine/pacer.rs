//! Open-loop pacing (wrk2's lesson): every batch has an intended send time computed from the rate
//! profile alone, never from when the previous batch finished. Lag (actual minus intended send
//! time) and latency are measured from the intended time, so falling behind is visible.

use std::f64::consts::TAU;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::duration as dur;

/// One step of a `steps` profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    /// Rate during the step, in spans per second.
    #[serde(deserialize_with = "crate::units::rate::de")]
    pub spans_per_sec: f64,
    /// How long the step lasts.
    #[serde(with = "dur")]
    pub duration: Duration,
}

/// How the offered rate varies over a run, in spans per second across all workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "profile", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateProfile {
    /// A constant rate.
    Constant {
        /// Spans per second.
        #[serde(deserialize_with = "crate::units::rate::de")]
        spans_per_sec: f64,
    },
    /// A linear ramp from `from` to `to` over `over`, then `to`.
    Ramp {
        /// Rate at the start.
        #[serde(deserialize_with = "crate::units::rate::de")]
        from: f64,
        /// Rate at the end of the ramp and after.
        #[serde(deserialize_with = "crate::units::rate::de")]
        to: f64,
        /// Length of the ramp.
        #[serde(with = "dur")]
        over: Duration,
    },
    /// A sequence of constant steps; the last rate holds after the last step.
    Steps {
        /// The steps, in order.
        steps: Vec<RateStep>,
    },
    /// `mean + amplitude * sin(2π t / period)`.
    Sine {
        /// Mean rate.
        #[serde(deserialize_with = "crate::units::rate::de")]
        mean: f64,
        /// Amplitude (at most the mean, so the rate never goes negative).
        #[serde(deserialize_with = "crate::units::rate::de")]
        amplitude: f64,
        /// Period of one cycle.
        #[serde(with = "dur")]
        period: Duration,
    },
    /// On/off bursts: `on_spans_per_sec` for `on`, then `off_spans_per_sec` for `off`, repeated.
    Bursts {
        /// Rate inside a burst.
        #[serde(deserialize_with = "crate::units::rate::de")]
        on_spans_per_sec: f64,
        /// Rate between bursts (may be 0).
        #[serde(deserialize_with = "crate::units::rate::de")]
        off_spans_per_sec: f64,
        /// Length of a burst.
        #[serde(with = "dur")]
        on: Duration,
        /// Length of the pause between bursts.
        #[serde(with = "dur")]
        off: Duration,
    },
    /// Unthrottled: send as fast as possible.
    Max,
}

impl Default for RateProfile {
    fn default() -> Self {
        RateProfile::Constant {
            spans_per_sec: 100_000.0,
        }
    }
}

fn check(name: &str, v: f64, allow_zero: bool) -> Result<(), String> {
    let ok = v.is_finite() && (v > 0.0 || (allow_zero && v == 0.0));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be {}",
            if allow_zero {
                "zero or more"
            } else {
                "positive"
            }
        ))
    }
}

impl RateProfile {
    /// Checks parameters; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            RateProfile::Constant { spans_per_sec } => {
                check("spans_per_sec", *spans_per_sec, false)
            }
            RateProfile::Ramp { from, to, over } => {
                check("from", *from, true)?;
                check("to", *to, true)?;
                if *from + *to <= 0.0 || over.is_zero() {
                    return Err(
                        "a ramp needs a positive `from` or `to` and a non-zero `over`".into(),
                    );
                }
                Ok(())
            }
            RateProfile::Steps { steps } => {
                if steps.is_empty() {
                    return Err("`steps` must not be empty".into());
                }
                steps
                    .iter()
                    .try_for_each(|s| check("spans_per_sec", s.spans_per_sec, true))?;
                if steps.last().is_some_and(|s| s.spans_per_sec == 0.0) {
                    return Err("the last step's `spans_per_sec` must be positive".into());
                }
                Ok(())
            }
            RateProfile::Sine {
                mean,
                amplitude,
                period,
            } => {
                check("mean", *mean, false)?;
                check("amplitude", *amplitude, true)?;
                if amplitude > mean || period.is_zero() {
                    return Err(
                        "`amplitude` must not exceed `mean` and `period` must be non-zero".into(),
                    );
                }
                Ok(())
            }
            RateProfile::Bursts {
                on_spans_per_sec,
                off_spans_per_sec,
                on,
                off,
            } => {
                check("on_spans_per_sec", *on_spans_per_sec, false)?;
                check("off_spans_per_sec", *off_spans_per_sec, true)?;
                if on.is_zero() {
                    return Err("`on` must be non-zero".into());
                }
                let _ = off;
                Ok(())
            }
            RateProfile::Max => Ok(()),
        }
    }

    /// Spans offered from the start up to `t` seconds; `None` for `max`.
    pub fn cumulative(&self, t: f64) -> Option<f64> {
        let t = t.max(0.0);
        Some(match self {
            RateProfile::Constant { spans_per_sec } => spans_per_sec * t,
            RateProfile::Ramp { from, to, over } => {
                let len = over.as_secs_f64();
                let slope = (to - from) / len;
                let ramp_t = t.min(len);
                from * ramp_t + slope * ramp_t * ramp_t / 2.0 + to * (t - len).max(0.0)
            }
            RateProfile::Steps { steps } => steps_cumulative(steps, t),
            RateProfile::Sine {
                mean,
                amplitude,
                period,
            } => {
                let p = period.as_secs_f64();
                mean * t + amplitude * p / TAU * (1.0 - (TAU * t / p).cos())
            }
            RateProfile::Bursts {
                on_spans_per_sec,
                off_spans_per_sec,
                on,
                off,
            } => {
                let (on, off) = (on.as_secs_f64(), off.as_secs_f64());
                let period = on + off;
                let cycles = (t / period).floor();
                let rest = t - cycles * period;
                let per_cycle = on_spans_per_sec * on + off_spans_per_sec * off;
                cycles * per_cycle
                    + on_spans_per_sec * rest.min(on)
                    + off_spans_per_sec * (rest - on).max(0.0)
            }
            RateProfile::Max => return None,
        })
    }

    /// Average offered rate over `duration`; `None` for `max`.
    pub fn mean_rate(&self, duration: Duration) -> Option<f64> {
        let secs = duration.as_secs_f64();
        self.cumulative(secs)
            .map(|c| if secs > 0.0 { c / secs } else { 0.0 })
    }
}

fn steps_cumulative(steps: &[RateStep], t: f64) -> f64 {
    let mut total = 0.0;
    let mut at = 0.0;
    for step in steps {
        let len = step.duration.as_secs_f64();
        if t <= at + len {
            return total + step.spans_per_sec * (t - at);
        }
        total += step.spans_per_sec * len;
        at += len;
    }
    total + steps.last().map_or(0.0, |s| s.spans_per_sec) * (t - at)
}

/// Hands out the intended send time of the batches of the global sequence (see
/// [`super::schedule`]): a batch is due when the profile has offered the spans of all the
/// batches before it, whichever process or thread sends it.
#[derive(Debug, Clone)]
pub struct Pacer {
    profile: RateProfile,
    /// Intended time of the previous batch, in seconds since the start.
    last: f64,
    end: f64,
}

impl Pacer {
    /// A pacer for a run of length `end`.
    pub fn new(profile: RateProfile, end: Duration) -> Self {
        Self {
            profile,
            last: 0.0,
            end: end.as_secs_f64(),
        }
    }

    /// True when batches are sent as fast as possible.
    pub fn is_max(&self) -> bool {
        matches!(self.profile, RateProfile::Max)
    }

    /// The intended send time, since the start, of a batch that follows `spans_before` spans
    /// of the sequence; `None` once it would fall after the end of the run. Batches are asked
    /// for in order. For `max` it returns zero (send now).
    pub fn due(&mut self, spans_before: u64) -> Option<Duration> {
        if self.is_max() {
            return Some(Duration::ZERO);
        }
        let t = self.solve(spans_before as f64)?;
        self.last = t;
        Some(Duration::from_secs_f64(t))
    }

    fn area(&self, t: f64) -> f64 {
        self.profile.cumulative(t).unwrap_or(0.0)
    }

    /// The earliest t ≥ last with area(t) ≥ target, by bisection; `None` past the end.
    fn solve(&self, target: f64) -> Option<f64> {
        if let RateProfile::Constant { spans_per_sec } = self.profile {
            let t = target / spans_per_sec;
            return (t < self.end).then_some(t);
        }
        if self.area(self.end) < target {
            return None;
        }
        let (mut lo, mut hi) = (self.last, self.end);
        if self.area(lo) >= target {
            return Some(lo);
        }
        while hi - lo > 1e-9 {
            let mid = (lo + hi) / 2.0;
            if self.area(mid) >= target {
                hi = mid
            } else {
                lo = mid
            }
        }
        Some(hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of 100 spans due within `secs`.
    fn due_times(profile: RateProfile, secs: u64) -> Vec<Duration> {
        let mut p = Pacer::new(profile, Duration::from_secs(secs));
        (0..).map_while(|b| p.due(b * 100)).collect()
    }

    fn count(profile: RateProfile, secs: u64) -> usize {
        due_times(profile, secs).len()
    }

    #[test]
    fn every_profile_offers_its_integral() {
        let s = Duration::from_secs(1);
        let cases = [
            (
                RateProfile::Constant {
                    spans_per_sec: 10_000.0,
                },
                1000,
            ),
            (
                RateProfile::Ramp {
                    from: 0.0,
                    to: 20_000.0,
                    over: Duration::from_secs(10),
                },
                1000,
            ),
            (
                RateProfile::Steps {
                    steps: vec![
                        RateStep {
                            spans_per_sec: 5_000.0,
                            duration: Duration::from_secs(5),
                        },
                        RateStep {
                            spans_per_sec: 15_000.0,
                            duration: s,
                        },
                    ],
                },
                1000,
            ),
            (
                RateProfile::Sine {
                    mean: 10_000.0,
                    amplitude: 5_000.0,
                    period: Duration::from_secs(5),
                },
                1000,
            ),
            (
                RateProfile::Bursts {
                    on_spans_per_sec: 40_000.0,
                    off_spans_per_sec: 0.0,
                    on: s,
                    off: Duration::from_secs(3),
                },
                1200,
            ),
        ];
        for (profile, batches) in cases {
            profile.validate().unwrap();
            let n = count(profile.clone(), 10) as i64;
            assert!((n - batches).abs() <= 1, "{profile:?}: {n}");
        }
    }

    #[test]
    fn times_increase_and_bursts_leave_gaps() {
        let profile = RateProfile::Bursts {
            on_spans_per_sec: 1000.0,
            off_spans_per_sec: 0.0,
            on: Duration::from_secs(1),
            off: Duration::from_secs(1),
        };
        let times: Vec<f64> = due_times(profile, 4)
            .iter()
            .map(|d| d.as_secs_f64())
            .collect();
        assert!(times.windows(2).all(|w| w[1] >= w[0]));
        assert!(times.iter().all(|t| (t % 2.0) < 1.0 + 1e-6), "{times:?}");
    }

    #[test]
    fn a_batch_is_due_when_the_spans_before_it_were_offered() {
        let profile = RateProfile::Constant {
            spans_per_sec: 1000.0,
        };
        let times = due_times(profile, 1);
        assert_eq!(times.len(), 10);
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[3], Duration::from_millis(300));
    }

    #[test]
    fn invalid_profiles_name_the_field() {
        assert!(
            RateProfile::Constant {
                spans_per_sec: -1.0
            }
            .validate()
            .unwrap_err()
            .contains("spans_per_sec")
        );
        assert!(
            RateProfile::Constant { spans_per_sec: 0.0 }
                .validate()
                .is_err()
        );
        let sine = RateProfile::Sine {
            mean: 1.0,
            amplitude: 2.0,
            period: Duration::from_secs(1),
        };
        assert!(sine.validate().unwrap_err().contains("amplitude"));
    }
}
