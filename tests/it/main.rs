//! The `rehearsal` package's one integration-test binary: the command
//! line's contracts and every bundled scenario (`cli`), numbers checked
//! against values computed by hand (`numbers`), dispatch strategies
//! against queueing theory (Erlang C, `dispatch`), bad input that must get
//! a clear error, never a panic (`hardening_input`), and output that must
//! never be destroyed or lost: output paths, report sets, interrupts and
//! `--resume`, caps, escaping (`hardening_io`), and a run exported for
//! Perfetto (`perfetto`).

mod arrivals;
mod cli;
mod dispatch;
mod hardening_input;
mod hardening_io;
mod numbers;
mod own_system;
mod perfetto;
mod runaways;
mod workflows;
