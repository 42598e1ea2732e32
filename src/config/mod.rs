//! Configuration in two stages: a profile (TOML) and flags are parsed into plain structs with no
//! I/O (`profile`, `crate::cli`), then validated into one immutable plan that everything below
//! takes by reference (`load`).

pub mod capacity;
pub mod duration;
pub mod fidelity;
pub mod load;
pub mod peer;
pub mod profile;
pub mod run;
pub mod sentinel;
pub mod watch;

pub use profile::{LoadSection, Profile, ProfileSource};
