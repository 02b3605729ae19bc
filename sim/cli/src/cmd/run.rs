//! `natlab run`.

use crate::exit::{Exit, ExpectedError};
use std::io::Write;

pub(crate) fn run(
    _args: &crate::args::RunArgs,
    _out: &mut dyn Write,
) -> Result<Exit, ExpectedError> {
    Err(ExpectedError::NothingToDo("`run` is not built yet".into()))
}
