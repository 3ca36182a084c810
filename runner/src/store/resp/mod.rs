//! The `resp` store kind: Redis-protocol servers over TCP. `kind` owns
//! the config and [`RespStore`], `session` the data path as commands,
//! `conn` one connection, `codec` the RESP2 wire format and `info` the
//! server statistics.

mod codec;
mod conn;
mod info;
mod kind;
mod session;

pub use kind::{RespConfig, RespKind, RespStore};
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
