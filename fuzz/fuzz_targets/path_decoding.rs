//! Request URL paths (`/remote.php/dav/files/{user}/…`, `/remote.php/webdav/…`,
//! `/public.php/dav/files/{token}/…`), `Destination` headers and tree path validation.
//! Besides not panicking: every error is a 4xx (or 502 for a foreign Destination), and a
//! decoded path written back as an href decodes to the same path.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::path_decoding(data));
