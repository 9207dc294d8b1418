//! The `rehearsal` package's one integration-test binary: the command
//! line's contracts and every bundled scenario (`cli`), and numbers checked
//! against values computed by hand (`numbers`).

mod cli;
mod numbers;
mod runaways;
