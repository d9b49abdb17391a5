//! End-to-end tests and benchmarks that need both the phones' core and the server:
//! a demo server in-process on a real port, cores on temporary folders. Nothing
//! here ships: the core does not name the server, the server does not name the
//! core; only this crate names both.
