//! The memory store under a million distinct client keys: what each key
//! costs, measured from the process's resident memory (one test in this
//! binary, so the figure is its own), and that the bound holds past it.

use std::time::Duration;

use httpserver::middleware::{MemoryStore, Quota, RateStore};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_million_keys_cost_a_bounded_number_of_bytes_each() {
    const KEYS: u32 = 1_000_000;
    let before = rss_kib();
    let store = MemoryStore::new();
    let q = Quota::new(100, Duration::from_secs(3600));
    for i in 0..KEYS {
        // IPv4 addresses, as the default key is.
        let d = store
            .check(&i.to_be_bytes(), &q)
            .expect("memory store never fails");
        assert!(d.allowed);
    }
    let after = rss_kib();
    assert_eq!(store.len(), KEYS as usize);
    let per_key = (after.saturating_sub(before) * 1024) as f64 / f64::from(KEYS);
    println!(
        "rate limit memory store: {KEYS} keys, RSS {before} KiB -> {after} KiB, {per_key:.1} bytes per key"
    );
    assert!(per_key < 64.0, "{per_key:.1} bytes per key");

    // Past the bound (1,048,576 keys) the store stops growing.
    for i in KEYS..KEYS + 200_000 {
        store
            .check(&i.to_be_bytes(), &q)
            .expect("memory store never fails");
    }
    assert!(store.len() <= MemoryStore::DEFAULT_MAX_KEYS);
    let grown = rss_kib().saturating_sub(after);
    assert!(grown < 16 * 1024, "grew {grown} KiB past the bound");
}
