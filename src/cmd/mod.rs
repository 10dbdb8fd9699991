//! Subcommands: each turns validated arguments into library calls and hands the results to
//! the output layer. [`main`] maps the outcome to the exit status: 0 success, 1 blocking
//! findings, 2 could not evaluate.

mod apply;
mod audit;
mod bench_registry;
mod card;
mod dataset;
mod demo;
mod export;
mod gate;
mod html;
mod init;
mod key;
mod licence;
mod lineage;
mod log;
mod matching;
mod registry;
pub(crate) mod report;
mod scan;
mod source;
mod train;
mod verify;

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{Cli, Color, Command, DatasetCommand, KeyCommand, ListOnly, RegistryCommand};
use crate::error::{Error, Result};
use crate::output::{self, OutputFormat, Table, Ui};
use crate::registry::Registry;
use crate::training;

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success or pass.
    Success,
    /// Findings that block (gate, verify).
    Blocked,
}

/// What every subcommand gets: where the registry is, how to print, who acts.
pub struct Context {
    /// Registry location.
    pub registry: String,
    /// Result format.
    pub format: OutputFormat,
    /// Colour in tables.
    pub color: bool,
    /// stderr messages.
    pub ui: Ui,
    /// Actor for events.
    pub actor: String,
}

impl Context {
    /// Opens the registry a reading (or updating) command needs: one that does not exist is
    /// an error that creates nothing — a mistyped `--registry` must not answer "0 findings".
    pub fn open(&self) -> Result<Box<dyn Registry>> {
        Ok(crate::registry::open_existing(&self.registry)?)
    }

    /// Opens the registry, creating and migrating it when it does not exist (`init`,
    /// `apply` and `scan`).
    pub fn create(&self) -> Result<Box<dyn Registry>> {
        Ok(crate::registry::open(&self.registry)?)
    }

    /// Prints text that is already the result (a bill of materials).
    pub fn emit_text(&self, text: &str) -> Result<()> {
        output::to_stdout(|w| w.write_all(text.as_bytes())).map_err(|e| Error::io("<stdout>", e))
    }

    /// Prints a result of several sections on stdout in the chosen format.
    pub fn emit_sections<T: Serialize + ?Sized>(
        &self,
        json: &T,
        sections: &[(&str, Table)],
    ) -> Result<()> {
        output::to_stdout(|w| output::emit_sections(w, self.format, self.color, json, sections))
            .map_err(|e| Error::io("<stdout>", e))
    }

    /// Prints a result on stdout in the chosen format.
    pub fn emit<T: Serialize + ?Sized>(&self, json: &T, table: &Table) -> Result<()> {
        output::to_stdout(|w| output::emit(w, self.format, self.color, json, table))
            .map_err(|e| Error::io("<stdout>", e))
    }
}

/// A wrong part of a training run, pointed at by the flag that gave it.
fn invalid_run((part, msg): training::Invalid) -> Error {
    let place = match part {
        training::Part::Model => "MODEL",
        training::Part::Org => "--org",
        training::Part::Use => "--use",
    };
    Error::input(place, msg)
}

fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit> {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // Refused before any work, so that a `scan --format dot` registers nothing.
    if cli.format.is_graph() && !matches!(cli.command, Command::Lineage { .. }) {
        return Err(Error::input(
            "--format",
            "tree, dot and mermaid are for `lineage`; use table, json, csv or md",
        ));
    }
    if cli.format.is_export() && !matches!(cli.command, Command::Export { .. }) {
        return Err(Error::input(
            "--format",
            "spdx3 and cyclonedx are for `export`; use table, json, csv or md",
        ));
    }
    let ctx = Context {
        registry: cli.registry.clone(),
        format: cli.format,
        color,
        ui: Ui {
            quiet: cli.quiet,
            verbose: cli.verbose,
        },
        actor: actor(&cli),
    };
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::Apply { file } => apply::run(&ctx, &file),
        Command::Scan(args) => scan::run(&ctx, args),
        Command::Source {
            command: ListOnly::List,
        } => source::list(&ctx),
        Command::Licence {
            command: ListOnly::List,
        } => licence::list(&ctx),
        Command::Registry {
            command: RegistryCommand::Copy { from, to },
        } => registry::copy(&ctx, &from, &to),
        Command::Dataset {
            command: DatasetCommand::List,
        } => dataset::list(&ctx),
        Command::Dataset {
            command: DatasetCommand::Show { dataset },
        } => dataset::show(&ctx, &dataset),
        Command::Dataset {
            command: DatasetCommand::Seal { dataset },
        } => dataset::seal(&ctx, &dataset),
        Command::Dataset {
            command: DatasetCommand::Retract { dataset, reason },
        } => dataset::retract(&ctx, &dataset, &reason),
        Command::Train(args) => train::run(&ctx, args),
        Command::Report(args) => report::run(&ctx, args),
        Command::Audit(args) => audit::run(&ctx, args),
        Command::Lineage { id, direction } => lineage::run(&ctx, &id, direction),
        Command::Gate(args) => gate::run(&ctx, args),
        Command::Match(args) => matching::run(&ctx, args),
        Command::Verify(args) => verify::run(&ctx, args),
        Command::Log(args) => log::run(&ctx, args),
        Command::Key {
            command: KeyCommand::New { out },
        } => key::new(&ctx, &out),
        Command::Export { dataset, out } => export::run(&ctx, &dataset, out.as_deref()),
        Command::ImportCard(args) => card::run(&ctx, args),
        Command::HtmlReport { out } => html::run(&ctx, &out),
        Command::Demo => demo::run(&ctx),
        Command::BenchRegistry {
            sources,
            datasets,
            shards_per_dataset,
            runs,
            events,
        } => bench_registry::run(
            &ctx,
            crate::synth::Sizes {
                sources,
                datasets,
                shards_per_dataset,
                runs,
                events,
            },
        ),
    }
}

/// Runs and maps the outcome to an exit status; an error is printed once, on one line.
pub fn main(cli: Cli) -> ExitCode {
    let ui = Ui {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    match run(cli) {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Blocked) => ExitCode::from(1),
        // A closed pipe (`provtrack report | head`) is a quiet success.
        Err(Error::Io { source, .. }) if output::is_closed_pipe(&source) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(e);
            ExitCode::from(2)
        }
    }
}
