#![no_main]
// The form decoder and validator: arbitrary url-encoded bodies in, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| guichet_domain::demarche::fuzz::form(data));
