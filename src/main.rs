//! The `span-sentinel` binary: a thin shell around the library's `cli::run`, so that integration
//! tests drive exactly the same code in-process.

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (its index in the `mi_option_t` enum).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// How long freed memory stays with the allocator before it goes back to the OS.
///
/// mimalloc's default (10 ms, 100 ms in its arenas) hands pages back in the middle of a steady
/// load: the pipeline frees and takes memory all the time, and every page taken back is faulted
/// in and zeroed again by the kernel, which took 59% of `serve`'s CPU at its ceiling and held it
/// near 2.5 M spans/s. A second keeps the pages through the churn and still returns them once
/// the load stops. `MIMALLOC_PURGE_DELAY` in the environment still wins (mimalloc reads it).
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

fn main() -> ExitCode {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's documented options to a documented value; options may
        // be changed at any time, and this runs before any other thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
        debug_assert_eq!(
            // SAFETY: reads the option just set.
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            PURGE_DELAY_MS
        );
    }
    span_sentinel::cli::main_with_args(std::env::args_os())
}
