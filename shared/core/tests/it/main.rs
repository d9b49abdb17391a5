//! The core's own suite (no server): capture of camera files. The core against a
//! real server is `testing/e2e`.

mod capture;
