//! OCS request parameters (query string plus a form or JSON body) and the share fields read
//! from them: path, shareType, permissions, downloadLimit, expireDate, publicUpload. Input:
//! one flags byte (bit 0: JSON body, bit 1: a query string is present), then the query
//! string, a newline and the body. Besides not panicking: errors are 4xx, and an accepted
//! expiry date is shown back as `YYYY-MM-DD 00:00:00`.

#![no_main]

#[path = "../checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::ocs_params(data));
