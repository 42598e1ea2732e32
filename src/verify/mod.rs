//! The verifier: looks up what the sentinel should have caused on the target and compares it
//! with what the sentinel regenerates — traces by ID and by search, histogram quantiles, alert
//! transitions — then turns the evidence into checks and a verdict.

pub mod alertmanager;
pub mod alerts;
pub mod api;
pub mod backend;
pub mod checks;
pub mod evidence;
pub mod histograms;
mod measures;
pub mod poller;
pub mod power;
pub mod prometheus;
pub mod refusals;
pub mod spanmetrics;
pub mod stats;
pub mod status;
pub mod traces;
