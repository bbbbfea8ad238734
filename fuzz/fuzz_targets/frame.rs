#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| riptide::wire::fuzzing::frame(data));
