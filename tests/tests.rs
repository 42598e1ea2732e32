//! The integration tests: one binary, a module per topic, each driving the library in-process
//! against real servers on loopback.

mod pipeline;
