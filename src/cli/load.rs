//! `span-sentinel load`: the load engine on its own.

use std::process::ExitCode;

use clap::Args;

/// Flags of `span-sentinel load`.
#[derive(Debug, Args)]
pub struct LoadArgs {}

/// Runs `span-sentinel load`.
pub fn run(_args: LoadArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("load: not wired yet")
}
