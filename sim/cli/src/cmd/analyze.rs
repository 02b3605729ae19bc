//! `natlab analyze`.

use crate::exit::{Exit, ExpectedError};
use std::io::Write;

pub(crate) fn run(
    _args: &crate::args::AnalyzeArgs,
    _out: &mut dyn Write,
) -> Result<Exit, ExpectedError> {
    Err(ExpectedError::NothingToDo(
        "`analyze` is not built yet".into(),
    ))
}
