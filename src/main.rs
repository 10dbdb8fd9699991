//! The provtrack binary: parse flags, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    tune_malloc();
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

/// Keeps freed buffers of up to 32 MiB in the heap instead of giving each back to the kernel:
/// Parquet pages are decompressed into fresh buffers of about a megabyte, and glibc's default
/// (an mmap and munmap per buffer, then zeroed pages faulted in again) cost a third of a
/// Parquet scan's time in the kernel. Freed heap memory above 64 MiB is still returned.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters (under its own lock); called first
    // thing, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
