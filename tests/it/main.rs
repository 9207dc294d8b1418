//! The `rehearsal` package's one integration-test binary: the command
//! line's contracts and every bundled scenario (`cli`), and numbers checked
//! against values computed by hand (`numbers`), and bad input that must get
//! a clear error, never a panic (`hardening_input`).

mod cli;
mod hardening_input;
mod numbers;
mod runaways;
