//! How a sentinel trace reaches the target: in fragments, one per (service, depth) of its
//! shape, each sent when its spans would end in a real application — children before parents,
//! the root last — with the trace's time compressed into at most `fragment_spread`. A share of
//! traces sends one fragment late (after the root, within `late_fragment_max`), a share sends
//! one fragment twice. All of it is a pure function of the trace key, like the spans.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::shapes::{Shape, span_window};
use crate::model::ids;

/// How a trace's fragments arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Children before parents, the root last.
    InOrder,
    /// As `InOrder`, but one fragment comes after the root.
    Late,
    /// As `InOrder`, and one fragment is sent a second time after the root.
    Duplicate,
}

/// Every arrival pattern.
pub const ARRIVALS: [Arrival; 3] = [Arrival::InOrder, Arrival::Late, Arrival::Duplicate];

impl Arrival {
    /// The pattern's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Arrival::InOrder => "in_order",
            Arrival::Late => "late_fragment",
            Arrival::Duplicate => "duplicate_fragment",
        }
    }
}

/// The arrival settings of a run (from the `[sentinel]` section).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalSpec {
    /// Spans of a large trace.
    pub large_trace_spans: u32,
    /// A trace's fragments are spread over at most this long.
    pub fragment_spread: Duration,
    /// Share of traces with a late fragment.
    pub reorder_ratio: f64,
    /// A late fragment comes at most this long after the root.
    pub late_fragment_max: Duration,
    /// Share of traces that send one fragment twice.
    pub duplicate_ratio: f64,
}

impl Default for ArrivalSpec {
    fn default() -> Self {
        Self {
            large_trace_spans: 1000,
            fragment_spread: Duration::from_secs(2),
            reorder_ratio: 0.2,
            late_fragment_max: Duration::from_millis(500),
            duplicate_ratio: 0.1,
        }
    }
}

/// One request of a trace: spans of one service at one depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// `service.name` of its resource.
    pub service: &'static str,
    /// Depth of its spans.
    pub depth: u32,
    /// Its nodes, ascending.
    pub nodes: Vec<u32>,
    /// When it is sent, from the trace's first moment (the root goes at [`root_delay`]).
    pub after: Duration,
    /// A second copy of a fragment sent before.
    pub copy: bool,
}

/// A uniform number in [0, 1) from `h`.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The fragment's send time for spans ending `end` ns into a root of `d` ns: real time, or
/// compressed so the root goes out at most `spread` after the trace began.
fn compressed(end: u64, d: u64, spread: Duration) -> Duration {
    let spread = spread.as_nanos() as u64;
    if d <= spread {
        return Duration::from_nanos(end);
    }
    Duration::from_nanos((u128::from(end) * u128::from(spread) / u128::from(d.max(1))) as u64)
}

/// When the root of a `d` ns trace is sent, from the trace's first moment.
pub fn root_delay(d: u64, spread: Duration) -> Duration {
    compressed(d, d, spread)
}

impl ArrivalSpec {
    /// The arrival pattern of the trace with key `tk`.
    pub fn arrival(&self, tk: u64) -> Arrival {
        let u = unit(ids::mix64(tk ^ 0xa11e_0001));
        if u < self.reorder_ratio {
            Arrival::Late
        } else if u < self.reorder_ratio + self.duplicate_ratio {
            Arrival::Duplicate
        } else {
            Arrival::InOrder
        }
    }

    /// The fragments of trace `tk` of `shape` whose root lasts `d` ns, in sending order.
    pub fn fragments(&self, tk: u64, shape: Shape, d: u64) -> Vec<Fragment> {
        let n = shape.span_count(self.large_trace_spans);
        let levels = shape.levels(self.large_trace_spans);
        let mut groups: BTreeMap<(u32, &'static str), Vec<u32>> = BTreeMap::new();
        for i in 0..n {
            let node = shape.node(i);
            groups
                .entry((node.depth, node.service))
                .or_default()
                .push(i);
        }
        let mut out: Vec<Fragment> = groups
            .into_iter()
            .map(|((depth, service), nodes)| Fragment {
                service,
                depth,
                nodes,
                after: compressed(span_window(depth, levels, d).1, d, self.fragment_spread),
                copy: false,
            })
            .collect();
        let root_at = root_delay(d, self.fragment_spread);
        let h = ids::mix64(tk ^ 0xa11e_0002);
        // After the root, in the second half of the window (never right on its heels).
        let half = self.late_fragment_max.as_nanos() as u64 / 2;
        let late = root_at + Duration::from_nanos(half + ids::mix64(h) % (half + 1));
        match self.arrival(tk) {
            Arrival::Late if out.len() > 1 => {
                // Any fragment but the root's (depth 0, which sorts first here).
                let j = 1 + (h % (out.len() as u64 - 1)) as usize;
                out[j].after = late;
            }
            Arrival::Duplicate => {
                let j = (h % out.len() as u64) as usize;
                let copy = Fragment {
                    after: late,
                    copy: true,
                    ..out[j].clone()
                };
                out.push(copy);
            }
            Arrival::Late | Arrival::InOrder => {}
        }
        // Deeper first at equal times, so the root goes after everything on time.
        out.sort_by_key(|f| (f.after, std::cmp::Reverse(f.depth), f.copy));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::shapes::SHAPES;

    #[test]
    fn children_go_before_parents_and_the_root_last_unless_late() {
        let spec = ArrivalSpec::default();
        let d = 600_000_000_000; // ten minutes, compressed into two seconds
        for shape in SHAPES {
            for tk in 0..200u64 {
                let frags = spec.fragments(tk, shape, d);
                let root = frags.iter().position(|f| f.depth == 0).unwrap();
                let spans: usize = frags
                    .iter()
                    .filter(|f| !f.copy)
                    .map(|f| f.nodes.len())
                    .sum();
                assert_eq!(spans as u32, shape.span_count(1000));
                assert_eq!(frags[root].after, spec.fragment_spread);
                for (i, f) in frags.iter().enumerate() {
                    let after_root = i > root;
                    assert_eq!(after_root, f.after > spec.fragment_spread, "{shape:?}");
                    if after_root {
                        assert!(f.after <= spec.fragment_spread + spec.late_fragment_max);
                        assert!(spec.arrival(tk) != Arrival::InOrder);
                    }
                }
                for w in frags[..root].windows(2) {
                    assert!(w[0].depth >= w[1].depth, "{shape:?}: {frags:?}");
                }
            }
        }
        let late = (0..1000u64)
            .filter(|tk| spec.arrival(*tk) == Arrival::Late)
            .count();
        assert!((150..250).contains(&late), "{late}");
    }
}
