//! Decoding allocates nothing: a counting global allocator watches a full
//! pass over a generated full-table stream (every message, prefix and
//! attribute), and over the real captures. Encoding the store's rows from
//! the decoded messages allocates per batch, never per route.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use riptide::session::Session;
use riptide::sink::store::{BatchSettings, StoreSink};
use riptide::synth::router_stream;
use riptide::wire::frame::{DEFAULT_MAX_MESSAGE_LEN, Frames};
use riptide::wire::fuzzing::decode_stream;

/// Counts allocations made by the current thread while `COUNTING` is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; the
// thread-local counters neither allocate nor touch the returned memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn decoding_a_full_table_allocates_nothing() {
    let mut stream = Vec::new();
    let prefixes = router_stream(&mut stream, 1, 950_000, 200_000, 3, true).unwrap();
    let mut totals = Default::default();
    let n = allocations(|| totals = decode_stream(&stream));
    assert_eq!(totals.routes, prefixes);
    assert_eq!(n, 0, "decoding {prefixes} prefixes allocated {n} times");
}

#[test]
fn decoding_real_captures_allocates_nothing() {
    for bin in [
        &include_bytes!("../../src/wire/testdata/huawei-locrib.bin")[..],
        include_bytes!("../../src/wire/testdata/cisco-rd-instance.bin"),
        include_bytes!("../../src/wire/testdata/cisco-peer-down-ipv6.bin"),
        include_bytes!("../../src/wire/testdata/frr-peer-down.bin"),
    ] {
        let mut totals = Default::default();
        let n = allocations(|| totals = decode_stream(bin));
        assert!(totals.routes > 0);
        assert_eq!(n, 0);
    }
}

#[test]
fn encoding_store_rows_allocates_per_batch_not_per_route() {
    let mut stream = Vec::new();
    let prefixes = router_stream(&mut stream, 1, 400_000, 100_000, 5, false).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1000);
    let settings = BatchSettings {
        size: 10_000,
        timeout: Duration::from_secs(3600),
    };
    let router: SocketAddr = "192.0.2.1:40000".parse().unwrap();
    let mut sink = StoreSink::new(tx, 1, 0, settings, riptide::metrics::Metrics::new(1, 1, 0));
    let mut session = Session::new(router, Duration::from_secs(300), &mut sink);
    let now = Instant::now();
    // A first pass sizes the batches; the second is the one counted.
    for pass in 0..2 {
        let n = allocations(|| {
            for f in Frames::new(&stream, DEFAULT_MAX_MESSAGE_LEN) {
                session.handle(f.unwrap(), now, &mut sink);
            }
        });
        let batches = prefixes.div_ceil(10_000);
        if pass == 1 {
            assert!(
                n <= 8 * batches + 64,
                "{n} allocations for {prefixes} routes in {batches} batches"
            );
        }
        while rx.try_recv().is_ok() {}
    }
    assert!(sink.counters().routes >= 2 * prefixes);
}
