//! Decoding speed of the wire codec on a generated full table, from memory.
//!
//! The input is the BMP stream of one router with one full-table peer
//! (`riptide::synth`: about 950k IPv4 and 200k IPv6 prefixes, several per
//! UPDATE, realistic attributes). Each iteration frames every message,
//! parses it, and reads every prefix and every attribute of every UPDATE
//! (`riptide::wire::fuzzing::decode_stream`). Throughput is in prefixes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use riptide::synth::{FULL_V4, FULL_V6, router_stream};
use riptide::wire::fuzzing::decode_stream;

fn full_table(c: &mut Criterion) {
    for (name, add_path) in [("full_table", false), ("full_table_add_path", true)] {
        let mut stream = Vec::new();
        let prefixes = router_stream(&mut stream, 1, FULL_V4, FULL_V6, 7, add_path)
            .expect("the generated table encodes");
        let mut g = c.benchmark_group("decode");
        g.throughput(Throughput::Elements(prefixes));
        g.sample_size(20);
        g.bench_function(name, |b| {
            b.iter(|| black_box(decode_stream(black_box(&stream))))
        });
        g.finish();
    }
}

criterion_group!(benches, full_table);
criterion_main!(benches);
