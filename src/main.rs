//! The provtrack binary: parse flags, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    provtrack::cmd::main(provtrack::cli::Cli::parse())
}
