//! WebDAV request bodies: PROPFIND, PROPPATCH and LOCK. Besides not panicking: every error
//! is a 4xx, and the XML kept from a body (dead property values, the lock owner) is
//! well-formed and stable: embedded in a new PROPPATCH it parses back to itself.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::dav_xml(data));
