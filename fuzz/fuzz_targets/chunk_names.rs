//! URLs of chunked uploads (`/remote.php/dav/uploads/{user}/{transfer}/{chunk}`) and the
//! name checks for new transfers and chunks. Besides not panicking: every error is a 4xx and
//! accepted names are plain names.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::chunk_names(data));
