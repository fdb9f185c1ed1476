#![no_main]
// The démarche definition parser: arbitrary text in, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| guichet_domain::demarche::fuzz::definition(data));
