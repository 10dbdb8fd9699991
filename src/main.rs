//! The provtrack binary: parse flags, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    match provtrack::cli::Cli::try_parse() {
        Ok(cli) => provtrack::cmd::main(cli),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            // Usage errors are printed like every other error: once, on one line, exit 2.
            _ => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                eprintln!("provtrack: {}", first.trim_start_matches("error: "));
                ExitCode::from(2)
            }
        },
    }
}
