//! `span-sentinel capacity`: a baseline with the sentinel alone, then the unruly load raised step
//! by step beside it until a sentinel check degrades. The run's phase walker does the walking;
//! this module lays the steps out as phases (`plan`) and decides each step's rate from the
//! previous step's judged evidence (`search`): grow, confirm, bisect, stop — or, for a fixed
//! staircase that segments can share, runs every step and reads the capacity off them
//! afterwards (`staircase`). Both read a step through `step`: its measure, its judged checks,
//! and what the steps conclude.

pub mod search;
pub mod staircase;
pub mod step;

pub use search::Search;
pub use step::{CapacityResult, End, StepResult};
