//! The WebDAV `If` header (RFC 4918 §10.4), and the resource URLs of its tagged lists.
//! Besides not panicking: every error is a 4xx and every list has a condition.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::if_header(data));
