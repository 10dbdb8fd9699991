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
                // clap's first paragraph, joined: "required arguments were not provided: <ID>".
                let text = e.to_string();
                let first = text.split("\n\n").next().unwrap_or("invalid arguments");
                let line: Vec<&str> = first
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                provtrack::output::error_line(line.join(" ").trim_start_matches("error: "));
                ExitCode::from(2)
            }
        },
    }
}
