//! The sim crate's integration tests, in one binary: the kernel end to end,
//! pinned trace hashes, supervision in the real kernel, the network fault
//! model, remote liveness through the failure detector, cancelled service
//! calls, and the LLM models against real data.

mod cancel;
mod data_fit;
mod kernel;
mod liveness;
mod network;
mod pinned;
mod supervision;
