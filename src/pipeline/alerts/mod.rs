//! Error-rate alerts: per-tenant rules created through the API (`rules`), error
//! counts per time slot fed by the workers (`window`), a periodic evaluator with hysteresis that
//! records transitions (`evaluator`), and webhook notifications of each transition (`webhook`).

pub mod allow;
pub mod evaluator;
pub mod rules;
pub mod webhook;
pub mod window;

pub use evaluator::{AlertRegistry, Transition};
pub use rules::AlertRule;
