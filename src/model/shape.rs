//! The shape of a stream's traces: a tree of spans spread over services and operations.

use serde::{Deserialize, Serialize};

/// How every trace of a stream is built. A full tree: the root at depth 0, and every span above
/// the last level has `fan_out` children, so a trace has 1 + f + f² + … (depth levels) spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraceShape {
    /// Number of distinct services (`service.name` = `svc-0`, `svc-1`, …); span `i` of a trace
    /// belongs to service `i mod services`.
    pub services: u16,
    /// Number of distinct operations (span names `op-0`, `op-1`, …); span `i` is operation
    /// `i mod operations`.
    pub operations: u16,
    /// Levels in the span tree (1 = a single root span).
    pub depth: u16,
    /// Children of each span above the last level.
    pub fan_out: u16,
    /// String attributes per span (`attr.0`, `attr.1`, …), each an 8-hex-digit value.
    pub attributes: u16,
    /// Distinct values each attribute takes (1 to 2³²).
    pub attribute_cardinality: u64,
    /// Extra bytes per span, carried in a `payload` attribute.
    pub payload_bytes: u32,
}

impl Default for TraceShape {
    fn default() -> Self {
        Self {
            services: 3,
            operations: 6,
            depth: 3,
            fan_out: 2,
            attributes: 2,
            attribute_cardinality: 100,
            payload_bytes: 0,
        }
    }
}

/// Largest number of spans one trace may have.
pub const MAX_SPANS_PER_TRACE: usize = 4096;

/// One span of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Index of the parent span, `None` for the root.
    pub parent: Option<u16>,
    /// Depth in the tree, 0 for the root.
    pub depth: u16,
    /// Index of its service.
    pub service: u16,
    /// Index of its operation.
    pub operation: u16,
}

impl TraceShape {
    /// Checks the shape, naming the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("services", self.services),
            ("operations", self.operations),
            ("depth", self.depth),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("`{name}` must be at least 1"));
            }
        }
        if self.depth > 1 && self.fan_out == 0 {
            return Err("`fan_out` must be at least 1 when `depth` is above 1".into());
        }
        if !(1..=1 << 32).contains(&self.attribute_cardinality) {
            return Err("`attribute_cardinality` must be between 1 and 4294967296".into());
        }
        if self.span_count() > MAX_SPANS_PER_TRACE {
            return Err(format!(
                "`depth` and `fan_out` give {} spans per trace; at most {MAX_SPANS_PER_TRACE}",
                self.span_count()
            ));
        }
        Ok(())
    }

    /// Spans per trace (saturating, so a huge tree is caught by `validate`).
    pub fn span_count(&self) -> usize {
        let mut total = 0usize;
        let mut level = 1usize;
        for _ in 0..self.depth {
            total = total.saturating_add(level);
            level = level.saturating_mul(usize::from(self.fan_out));
        }
        total
    }

    /// The tree in breadth-first order; node 0 is the root. Call after `validate`.
    pub fn nodes(&self) -> Vec<Node> {
        let mut nodes = vec![Node {
            parent: None,
            depth: 0,
            service: 0,
            operation: 0,
        }];
        let mut level_start = 0;
        for depth in 1..self.depth {
            let level_end = nodes.len();
            for parent in level_start..level_end {
                for _ in 0..self.fan_out {
                    let i = nodes.len();
                    nodes.push(Node {
                        parent: Some(parent as u16),
                        depth,
                        service: (i % usize::from(self.services)) as u16,
                        operation: (i % usize::from(self.operations)) as u16,
                    });
                }
            }
            level_start = level_end;
        }
        nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tree_has_seven_spans_with_consistent_parents() {
        let shape = TraceShape::default();
        let nodes = shape.nodes();
        assert_eq!(nodes.len(), 7);
        assert_eq!(shape.span_count(), 7);
        for (i, n) in nodes.iter().enumerate().skip(1) {
            let p = n.parent.unwrap() as usize;
            assert!(p < i);
            assert_eq!(nodes[p].depth + 1, n.depth);
        }
    }

    #[test]
    fn oversized_trees_are_refused() {
        let shape = TraceShape {
            depth: 20,
            fan_out: 10,
            ..TraceShape::default()
        };
        assert!(shape.validate().unwrap_err().contains("fan_out"));
    }
}
