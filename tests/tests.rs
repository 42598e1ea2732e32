//! One integration-test binary with a module per topic; shared helpers live in `support`.

mod encode;
mod support;
mod transport;
