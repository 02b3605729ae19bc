//! The one table of exit codes (documented in the README).

use std::path::PathBuf;
use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok,
    /// 1: a scenario expectation failed, or findings reached `--fail-on`.
    Failed,
    /// 2: usage error, or an invalid scenario or configuration.
    Invalid,
    /// 3: an input could not be read (missing, unreadable or corrupt file).
    Unreadable,
    /// 4: nothing to do (no scenario found, no SIP traffic, empty selection, unknown code).
    NothingToDo,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failed => 1,
            Self::Invalid => 2,
            Self::Unreadable => 3,
            Self::NothingToDo => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        Self::from(e.code())
    }
}

/// An error the user can act on: rendered as a message, mapped to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ExpectedError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is present but not usable (corrupt capture, bad scenario...).
    #[error("{0}")]
    Invalid(String),
    /// The input could not be decoded at all.
    #[error("{0}")]
    Unreadable(String),
    /// Nothing matched or nothing to do.
    #[error("{0}")]
    NothingToDo(String),
}

impl ExpectedError {
    /// The exit code this error maps to.
    pub const fn exit(&self) -> Exit {
        match self {
            Self::Read { .. } | Self::Unreadable(_) => Exit::Unreadable,
            Self::Write { .. } | Self::Invalid(_) => Exit::Invalid,
            Self::NothingToDo(_) => Exit::NothingToDo,
        }
    }
}
