//! The library's error type. Every variant prints as one line naming the file, line or
//! field at fault; all of them mean "could not evaluate" (exit status 2).

use std::path::PathBuf;

use crate::registry::RegistryError;

/// Anything that stops a command from completing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A policy file problem, located at a line.
    #[error("{path}:{line}: {msg}")]
    Policy {
        /// The file as the user named it.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Bad input in a named place (file, flag, dataset).
    #[error("{place}: {msg}")]
    Input {
        /// Where: a path, a flag or a name.
        place: String,
        /// What is wrong.
        msg: String,
    },
    /// The registry failed or refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Error {
    /// Shorthand for [`Error::Input`].
    pub fn input(place: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Input {
            place: place.into(),
            msg: msg.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
