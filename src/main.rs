//! The `span-sentinel` binary: a thin shell around the library's `cli::run`, so that integration
//! tests drive exactly the same code in-process.

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    span_sentinel::cli::main_with_args(std::env::args_os())
}
