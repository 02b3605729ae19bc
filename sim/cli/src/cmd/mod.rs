//! One module per subcommand. Each returns the exit status or an [`crate::exit::ExpectedError`].

pub(crate) mod aae;
pub(crate) mod analyze;
pub(crate) mod check;
pub(crate) mod codes;
pub(crate) mod coverage;
pub(crate) mod matrix;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod shrink;
pub(crate) mod softphone;
