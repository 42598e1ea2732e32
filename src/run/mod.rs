//! `span-sentinel run`: phases of sentinel plus load against a target, then checks, a verdict
//! and reports.

pub mod evidence;
pub mod execute;
pub mod load_only;
pub mod timeline;
pub mod verdict;
pub mod walk;
