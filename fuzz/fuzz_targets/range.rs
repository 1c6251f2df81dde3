//! `Range` / `If-Range` of GET, and the conditional headers (If-Match, If-None-Match,
//! If-Modified-Since, If-Unmodified-Since). Input: one flags byte, eight bytes of file size
//! (little-endian), then the header values separated by newlines in that order. Besides not
//! panicking: a range lies within the file and is not empty; errors are 4xx.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::range(data));
