//! The `resp` store kind: Redis-protocol servers over TCP. `kind` owns
//! the config and [`RespStore`], `session` the data path as commands,
//! `conn` one connection, `codec` the RESP2 wire format and `info` the
//! server statistics, `server` a server loadline starts.

mod codec;
mod conn;
mod info;
mod kind;
mod pipeline;
mod server;
mod session;

pub use kind::{RespConfig, RespKind, RespStore};
pub use server::ServerConfig as RespServerConfig;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
