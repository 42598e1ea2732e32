//! The integration tests: one binary, a module per topic, each driving the library in-process
//! against real servers on loopback; shared helpers live in `support`.

mod backends;
mod capacity;
mod encode;
mod fidelity;
mod fuzz;
mod kubernetes;
mod load;
mod otlp_env;
mod peers;
mod pipeline;
mod placement;
mod report;
mod run;
mod segments;
mod soak;
mod support;
mod tls;
mod transport;
mod verdict;
mod watch;
