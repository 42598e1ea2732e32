//! OTLP/HTTP export through hyper.
