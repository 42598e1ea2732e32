//! Each backend's one table of what it is documented to drop or transform in a span. The
//! content check (`verify::traces::first_difference`) compares every other field, field by
//! field; the report lists what could not be compared, so nothing is skipped silently.

use serde_json::Value;

/// What a backend does to a span between ingest and its query API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The backend, as reports name it.
    pub backend: &'static str,
    /// Fields its API does not carry: span fields by name (`flags`), fields of the resource,
    /// the scope, every event or every link as `scope.attributes`, `events.dropped_attributes_count`.
    pub not_carried: &'static [&'static str],
    /// Start, end and event times are kept to the microsecond (truncated), not the nanosecond.
    pub micros: bool,
    /// Events and links come back sorted (an adjuster), so they are compared as sets.
    pub sorted_lists: bool,
    /// Array and key-value-list attribute values come back as their JSON text (only their
    /// presence is compared), and an empty value as `""`.
    pub composites_as_text: bool,
}

/// The reference pipeline returns what it was sent.
pub static REFERENCE: Content = Content {
    backend: "reference",
    not_carried: &[],
    micros: false,
    sorted_lists: false,
    composites_as_text: false,
};

/// Jaeger's v3 API returns OTLP JSON as stored; its query adjusters sort each span's events
/// and links.
pub static JAEGER_V3: Content = Content {
    backend: "jaeger",
    not_carried: &[],
    micros: false,
    sorted_lists: true,
    composites_as_text: false,
};

/// Jaeger's v1 JSON model: microsecond times, no scope attributes, no `dropped_*` counts, no
/// OTLP span flags (its `flags` are Jaeger's sampling flags), links as bare references.
pub static JAEGER_V1: Content = Content {
    backend: "jaeger v1 API",
    not_carried: &[
        "flags",
        "dropped_attributes_count",
        "dropped_events_count",
        "dropped_links_count",
        "resource.dropped_attributes_count",
        "scope.attributes",
        "scope.dropped_attributes_count",
        "events.dropped_attributes_count",
        "links.trace_state",
        "links.attributes",
        "links.dropped_attributes_count",
        "links.flags",
    ],
    micros: true,
    sorted_lists: true,
    composites_as_text: true,
};

impl Content {
    /// Whether the span field `field` (or `object.field`) is carried.
    pub fn carries(&self, field: &str) -> bool {
        !self.not_carried.contains(&field)
    }

    /// What the content check could not compare on this backend, for the report; `None` when
    /// it compares everything.
    pub fn uncompared(&self) -> Option<String> {
        let mut parts: Vec<String> = self.not_carried.iter().map(|f| f.to_string()).collect();
        if self.micros {
            parts.push("times below the microsecond".into());
        }
        if self.sorted_lists {
            parts.push("order of events and links".into());
        }
        if self.composites_as_text {
            parts.push(
                "array and key-value-list attribute values (carried as text), empty values \
                 (carried as \"\")"
                    .into(),
            );
        }
        (!parts.is_empty())
            .then(|| format!("not carried by {}: {}", self.backend, parts.join(", ")))
    }

    /// A sent `(start, end)` as the backend keeps it.
    pub fn times(&self, start: u64, end: u64) -> (u64, u64) {
        if !self.micros {
            return (start, end);
        }
        let start_us = start / 1000;
        let duration_us = end.saturating_sub(start) / 1000;
        (start_us * 1000, (start_us + duration_us) * 1000)
    }

    /// A sent instant as the backend keeps it.
    pub fn time(&self, at: u64) -> u64 {
        if self.micros { at / 1000 * 1000 } else { at }
    }

    /// Removes from `want` and `have` (objects of kind `object`: `resource`, `scope`, `events`,
    /// `links`) the fields the backend does not carry, and composite attribute values it
    /// carries only as text.
    pub fn strip(&self, object: &str, want: &mut Value, have: &mut Value) {
        for field in self.not_carried {
            let Some(key) = field.strip_prefix(object).and_then(|f| f.strip_prefix('.')) else {
                continue;
            };
            for v in [&mut *want, &mut *have] {
                if let Some(map) = v.as_object_mut() {
                    map.remove(key);
                }
            }
        }
        if self.composites_as_text {
            let (Some(w), Some(h)) = (
                want.get_mut("attributes").and_then(Value::as_object_mut),
                have.get_mut("attributes").and_then(Value::as_object_mut),
            ) else {
                return;
            };
            strip_composites(w, h);
        }
    }

    /// [`Content::strip`] for a span's own attributes.
    pub fn strip_attributes(
        &self,
        want: &mut serde_json::Map<String, Value>,
        have: &mut serde_json::Map<String, Value>,
    ) {
        if self.composites_as_text {
            strip_composites(want, have);
        }
    }

    /// `want` and `have` in one order when the backend sorts them.
    pub fn order(&self, mut want: Vec<Value>, mut have: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
        if self.sorted_lists {
            want.sort_by_key(Value::to_string);
            have.sort_by_key(Value::to_string);
        }
        (want, have)
    }
}

/// Composite values sent are compared only as present (a text of any kind is there).
fn strip_composites(
    want: &mut serde_json::Map<String, Value>,
    have: &mut serde_json::Map<String, Value>,
) {
    for (key, w) in want.iter_mut() {
        let composite = w.is_array() || w.is_object();
        let as_text = have.get(key).is_some_and(Value::is_string);
        let empty = w.is_null() && have.get(key).and_then(Value::as_str) == Some("");
        if (composite && as_text) || empty {
            *w = Value::Null;
            have.insert(key.clone(), Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_report_lists_what_each_backend_cannot_compare() {
        assert_eq!(REFERENCE.uncompared(), None);
        let v1 = JAEGER_V1.uncompared().unwrap();
        assert!(
            v1.starts_with("not carried by jaeger v1 API: flags,"),
            "{v1}"
        );
        assert!(v1.contains("scope.attributes"), "{v1}");
        assert!(JAEGER_V3.uncompared().unwrap().contains("order of events"));
    }

    #[test]
    fn only_undeclared_fields_are_compared() {
        let mut want = json!({"name": "s", "version": "1", "attributes": {"a": 1}});
        let mut have = json!({"name": "s", "version": "1"});
        JAEGER_V1.strip("scope", &mut want, &mut have);
        assert_eq!(want, have);
        let mut want = json!({"name": "s", "attributes": {"a": 1}});
        let mut have = json!({"name": "s"});
        JAEGER_V3.strip("scope", &mut want, &mut have);
        assert_ne!(want, have, "v3 carries scope attributes: compared");
    }

    #[test]
    fn microsecond_backends_truncate_as_jaeger_does() {
        assert_eq!(JAEGER_V1.times(1_999, 5_001), (1_000, 4_000));
        assert_eq!(JAEGER_V3.times(1_999, 5_001), (1_999, 5_001));
    }
}
