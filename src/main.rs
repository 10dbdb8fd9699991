//! The provtrack binary: parse flags, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    tune_malloc();
    on_sigbus();
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

/// A file read through a memory map that another process truncates meanwhile raises SIGBUS
/// (the kernel's rule for maps): said in one line, exit 2, instead of dying on a signal.
/// Nothing was saved: files are read before the one write transaction of a scan, and a
/// transaction not committed is rolled back when the process ends.
fn on_sigbus() {
    #[cfg(unix)]
    {
        extern "C" fn handler(_: libc::c_int) {
            const MSG: &[u8] = b"provtrack: a file shrank while it was being read (SIGBUS): \
                nothing was saved; scan again once nothing is writing to it\n";
            // SAFETY: write and _exit are async-signal-safe.
            unsafe {
                libc::write(2, MSG.as_ptr().cast(), MSG.len());
                libc::_exit(2);
            }
        }
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe
        // functions; set once, before any thread exists.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    }
}
