//! The integration tests: one binary with a module per topic, driving the library in-process
//! against real servers on loopback (helpers in `support`).

mod support;
mod transport;
