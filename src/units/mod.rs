//! Units every layer shares: human-readable durations and rates as profiles and flags spell
//! them, and the form the output prints them in. A leaf module, so `config` (which parses
//! profiles) and the domains (which hold the parsed values) both import it, and neither imports
//! the other for it.

pub mod duration;
pub mod rate;
