//! RubyGems' generated gemspecs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect(
    "/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
    0o644,
    data
));
