//! `natlab check`.

use crate::exit::{Exit, ExpectedError};
use std::io::Write;

pub(crate) fn run(
    _args: &crate::args::CheckArgs,
    _out: &mut dyn Write,
) -> Result<Exit, ExpectedError> {
    Err(ExpectedError::NothingToDo(
        "`check` is not built yet".into(),
    ))
}

pub(crate) fn schema(_out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    Err(ExpectedError::NothingToDo(
        "`schema` is not built yet".into(),
    ))
}
