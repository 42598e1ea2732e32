//! One integration-test binary with a module per topic; shared helpers live in `support`.

mod encode;
mod load;
mod support;
mod transport;
