//! The `rehearsal` package's one integration-test binary: the command
//! line's contracts and every bundled scenario (`cli`), numbers checked
//! against values computed by hand (`numbers`), dispatch strategies
//! against queueing theory (Erlang C, `dispatch`), bad input that must get
//! a clear error, never a panic (`hardening_input`), and output that must
//! never be destroyed or lost: output paths, report sets, interrupts and
//! `--resume`, caps, escaping (`hardening_io`); the JSON Schema of
//! scenario files against the loader (`schema`); the HTML page, opened by a
//! headless browser where one is installed (`html_report`); a run exported
//! for Perfetto (`perfetto`).

mod arrivals;
mod capacity;
mod cli;
mod cli_ergonomics;
mod common;
mod dispatch;
mod gate;
mod hardening_input;
mod hardening_io;
mod html_report;
mod numbers;
mod own_system;
mod perfetto;
mod resilience;
mod runaways;
mod schema;
mod virtual_agents;
mod workflows;
