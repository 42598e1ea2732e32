//! The shapes of sentinel traces: a single span, a chain, a wide fan-out, a trace across eight
//! services and a large trace. A shape says, for every node, its parent, its depth, the service
//! that emits it and its operation; all of it is arithmetic on the node index, so a trace of any
//! size is generated and verified without tables.
//!
//! Nodes are nested by depth: a node at depth `k` of a shape with `D` levels runs from
//! `k·d/2D` to `d − k·d/2D` of the root's duration `d`, so every child lies inside its parent
//! and ends strictly before it (for durations of at least `2D` ns). The sender uses the same
//! end times to send children before parents and the root last.

use serde::{Deserialize, Serialize};

/// A shape of sentinel trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// One span.
    Single,
    /// A chain of [`CHAIN_DEPTH`] spans, each the parent of the next.
    Chain,
    /// One parent with [`FAN_OUT`] children.
    FanOut,
    /// Eight spans, each from its own service (a binary tree).
    Services,
    /// `large_trace_spans` spans in a tree of fan-out ten.
    Large,
}

/// Every shape, in the order the ambient stream cycles through them.
pub const SHAPES: [Shape; 5] = [
    Shape::Single,
    Shape::Chain,
    Shape::FanOut,
    Shape::Services,
    Shape::Large,
];

/// Spans of a chain.
pub const CHAIN_DEPTH: u32 = 10;
/// Children of the fan-out's parent.
pub const FAN_OUT: u32 = 100;
/// Children per node of the large trace.
const LARGE_FAN_OUT: u32 = 10;

const FRONTEND: &str = "sentinel-frontend";
const CHAIN_SERVICES: [&str; 3] = [FRONTEND, "sentinel-api", "sentinel-db"];
const WORKERS: [&str; 2] = ["sentinel-worker-a", "sentinel-worker-b"];
const EIGHT_SERVICES: [&str; 8] = [
    FRONTEND,
    "sentinel-auth",
    "sentinel-cart",
    "sentinel-pricing",
    "sentinel-stock",
    "sentinel-payments",
    "sentinel-shipping",
    "sentinel-mail",
];
const LARGE_SERVICES: [&str; 4] = [
    FRONTEND,
    "sentinel-search",
    "sentinel-index",
    "sentinel-cache",
];

/// One node of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Index of the parent node; `None` for the root (node 0).
    pub parent: Option<u32>,
    /// Distance from the root.
    pub depth: u32,
    /// `service.name` of the resource that emits it.
    pub service: &'static str,
    /// Operation; the span name is `{phase}/{operation}`.
    pub operation: &'static str,
}

/// Depth of node `i` of a tree where node `j > 0` has parent `(j − 1) / fan_out`.
fn tree_depth(mut i: u32, fan_out: u32) -> u32 {
    let mut depth = 0;
    while i > 0 {
        i = (i - 1) / fan_out;
        depth += 1;
    }
    depth
}

impl Shape {
    /// The shape's name in reports and profiles.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Single => "single",
            Shape::Chain => "chain",
            Shape::FanOut => "fan_out",
            Shape::Services => "services",
            Shape::Large => "large",
        }
    }

    /// Spans of a trace of this shape (`large` spans for [`Shape::Large`]).
    pub fn span_count(self, large: u32) -> u32 {
        match self {
            Shape::Single => 1,
            Shape::Chain => CHAIN_DEPTH,
            Shape::FanOut => FAN_OUT + 1,
            Shape::Services => EIGHT_SERVICES.len() as u32,
            Shape::Large => large.max(1),
        }
    }

    /// Depth levels of a trace of this shape (the deepest node's depth plus one).
    pub fn levels(self, large: u32) -> u32 {
        self.node(self.span_count(large) - 1).depth + 1
    }

    /// Node `i` (below [`Shape::span_count`]).
    pub fn node(self, i: u32) -> Node {
        let (parent, depth, service, operation) = match self {
            Shape::Single => (None, 0, FRONTEND, "single"),
            Shape::Chain => {
                let op = if i == 0 { "chain-root" } else { "chain-link" };
                (i.checked_sub(1), i, CHAIN_SERVICES[i as usize % 3], op)
            }
            Shape::FanOut if i == 0 => (None, 0, FRONTEND, "fan-out-root"),
            Shape::FanOut => (Some(0), 1, WORKERS[i as usize % 2], "fan-out-child"),
            Shape::Services => {
                let op = if i == 0 {
                    "services-root"
                } else {
                    "services-hop"
                };
                let parent = i.checked_sub(1).map(|p| p / 2);
                (parent, tree_depth(i, 2), EIGHT_SERVICES[i as usize % 8], op)
            }
            Shape::Large => {
                let op = if i == 0 { "large-root" } else { "large-node" };
                let parent = i.checked_sub(1).map(|p| p / LARGE_FAN_OUT);
                let depth = tree_depth(i, LARGE_FAN_OUT);
                (parent, depth, LARGE_SERVICES[i as usize % 4], op)
            }
        };
        Node {
            parent,
            depth,
            service,
            operation,
        }
    }
}

/// Start offset and end offset from the root's start of a node at `depth` of a trace with
/// `levels` levels whose root lasts `d` ns.
pub fn span_window(depth: u32, levels: u32, d: u64) -> (u64, u64) {
    let inset = (u128::from(d) * u128::from(depth) / (2 * u128::from(levels.max(1)))) as u64;
    (inset, d - inset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_is_a_tree_with_children_inside_their_parents() {
        for shape in SHAPES {
            let n = shape.span_count(1000);
            let levels = shape.levels(1000);
            assert_eq!(shape.node(0).parent, None);
            for i in 1..n {
                let node = shape.node(i);
                let parent = shape.node(node.parent.unwrap());
                assert!(node.parent.unwrap() < i);
                assert_eq!(node.depth, parent.depth + 1, "{shape:?} {i}");
                let (s, e) = span_window(node.depth, levels, 1_000_000);
                let (ps, pe) = span_window(parent.depth, levels, 1_000_000);
                assert!(ps < s && e < pe, "{shape:?} {i}");
            }
        }
        assert_eq!(Shape::Chain.levels(0), CHAIN_DEPTH);
        assert_eq!(Shape::Large.span_count(1000), 1000);
        assert_eq!(Shape::Large.levels(1000), 4);
        let services: std::collections::HashSet<_> =
            (0..8).map(|i| Shape::Services.node(i).service).collect();
        assert_eq!(services.len(), 8);
    }
}
