//! `natlab codes`.

use crate::exit::{Exit, ExpectedError};
use std::io::Write;

pub(crate) fn run(
    _args: &crate::args::CodesArgs,
    _out: &mut dyn Write,
) -> Result<Exit, ExpectedError> {
    Err(ExpectedError::NothingToDo(
        "`codes` is not built yet".into(),
    ))
}
