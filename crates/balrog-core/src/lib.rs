//! balrog-core: the bridge every balrog extension stands on.
//!
//! A native I/O call is an [`Op`]: a Rust future that has not started yet. The caller's
//! Python side (`balrog._bridge.wait`) decides how to wait for it:
//!
//! * **blocking** — [`Op::wait`] drives the future on the calling thread with the GIL
//!   released, waking every 100 ms to let Ctrl-C through;
//! * **green** — `Op._start(hub, key)` spawns it on this wheel's runtime; on completion the
//!   key goes into the hub's queue (owned by the `balrog._core` module, reached through a
//!   C-ABI table in a PyCapsule) and one eventfd write wakes the asyncio loop per batch;
//! * **asyncio** — `await op`, the same completion path resolving an asyncio future.
//!
//! A dedicated-runtime op built with [`Op::on_socket`] skips the threads in green mode while
//! it only waits for its socket: the event loop watches the socket and polls it (drive.rs).
//!
//! No tokio thread ever takes the GIL: a finished future leaves a Rust value behind, and the
//! Python object is built on the caller's thread when it resumes.

pub mod capi;
mod drive;
mod eager;
mod op;
mod runtime;
mod wait;

#[cfg(feature = "extension")]
mod hub;
#[cfg(feature = "extension")]
mod module;
#[cfg(feature = "extension")]
mod watch;

pub use drive::{io_directly, note_pending, Interest};
pub use eager::{eager_read_counts, set_eager_reads};
pub use op::{Finisher, Op};
pub use runtime::{fork_generation, runtime, runtime_started, Exec};
pub use wait::{block_on, block_on_socket};
