//! Configuration in two stages: a profile (TOML) and flags are parsed into plain structs with no
//! I/O (`profile`, `crate::cli`), then validated into one immutable plan that everything below
//! takes by reference (`load`).

pub mod duration;
pub mod load;
pub mod profile;

pub use profile::{LoadSection, Profile, ProfileSource};
