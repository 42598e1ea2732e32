//! Errors that decide the process exit code: a usage or configuration error exits 2,
//! an unreachable target exits 3, and anything else that kept a command from finishing (an
//! internal error, a report file that could not be written; an interrupted run exits with the
//! same code) exits 4 — never 1, which a CI gate reads as "the verdict is not pass".

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
/// Exit code for a command that could not finish: an internal error, an interrupted run, a
/// report file that could not be written.
pub const EXIT_UNFINISHED: u8 = 4;

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 pass; 1 the verdict is not pass (or a \
    --require or --max-rel-error gate failed, or fidelity had no allowed error to judge by); 2 usage or profile error; 3 target unreachable; 4 the \
    command could not finish (internal error, interrupted by Ctrl-C or SIGTERM, a report file \
    that could not be written).";

/// Maps an error chain to its exit code: the first `UsageError` or `UnreachableError` found in
/// the chain decides, anything else could not finish (exit 4).
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() {
            return EXIT_USAGE;
        }
        if cause.is::<UnreachableError>() {
            return EXIT_UNREACHABLE;
        }
    }
    EXIT_UNFINISHED
}
