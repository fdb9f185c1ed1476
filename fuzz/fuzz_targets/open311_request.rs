#![no_main]
// The Open311 request reader: arbitrary POST bodies and filters in, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| guichet_domain::open311::fuzz(data));
