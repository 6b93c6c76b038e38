//! What a running rootlog process needs besides the pure core
//! (`rootlog-tlog`), shared by the log server and the witness so that
//! neither reaches into the other:
//!
//! - [`durable`]: real `fsync`s of files and directories, and the sled
//!   flush that is durable (sled's own is not);
//! - [`private_file`]: secret files (keys, tokens), owner-only;
//! - [`listener`]: the accept loop with header timeouts and a connection cap;
//! - [`drain`]: reading request bodies within limits;
//! - [`logging`]: the `ROOTLOG_LOG` / `--log-format` scheme;
//! - [`stdio`]: printing that ends quietly on a closed pipe (`outln!`…);
//! - [`tile_client`]: reading a log's tiles over HTTP or from a mirror
//!   directory, and building proofs from them.

pub mod drain;
pub mod durable;
pub mod listener;
pub mod logging;
pub mod private_file;
pub mod stdio;
pub mod tile_client;
