//! `span-sentinel completions SHELL`: a shell completion script for every subcommand and flag,
//! generated from the same clap definitions the parser uses, so it cannot drift from them.
//!
//! ```sh
//! span-sentinel completions bash > ~/.local/share/bash-completion/completions/span-sentinel
//! span-sentinel completions zsh > ~/.zfunc/_span-sentinel
//! span-sentinel completions fish > ~/.config/fish/completions/span-sentinel.fish
//! ```

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// Flags of `span-sentinel completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "span-sentinel", &mut out);
    match shell {
        Shell::Bash => bash_arms_match_their_states(&out),
        _ => out,
    }
}

/// clap_complete's bash script names the state of `span-sentinel load` `span__sentinel__subcmd__load`
/// while walking the words, but labels the case arm that completes it
/// `span__subcmd__sentinel__subcmd__load` (the hyphen of the binary name is escaped twice), so
/// nothing completed after a subcommand. The arms are relabelled to the states' spelling.
fn bash_arms_match_their_states(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("span__subcmd__sentinel", "span__sentinel")
        .into_bytes()
}

/// Runs `span-sentinel completions`: the script on stdout (a closed pipe is not an error).
pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(&script(args.shell))
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
