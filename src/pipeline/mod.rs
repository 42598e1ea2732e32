//! The reference pipeline (DESIGN §4): the embedded, multi-tenant tracing backend that
//! `span-sentinel serve` runs and `span-sentinel run` starts in-process when no target is given.
