//! Errors that decide the process exit code: a usage or configuration error exits 2,
//! an unreachable target exits 3. Everything else bubbles up as `anyhow::Error` with context.

use thiserror::Error;

/// A mistake in flags or in a profile file. The message names the flag, or the file, line and
/// field, and what would have been accepted.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// Builds a usage error from anything printable.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// The target could not be reached at all (connection refused, DNS failure).
#[derive(Debug, Error)]
#[error("target {target} is unreachable: {reason}")]
pub struct UnreachableError {
    /// The target as the user wrote it.
    pub target: String,
    /// What went wrong, from the transport.
    pub reason: String,
}

/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for an unreachable target.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit code for a verdict other than pass.
pub const EXIT_VERDICT: u8 = 1;

/// Maps an error chain to its exit code: the first `UsageError` or `UnreachableError` found in
/// the chain decides, anything else is a generic failure (exit 1).
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        if cause.is::<UnreachableError>() {
            return EXIT_UNREACHABLE;
        }
    }
    1
}
