//! The cache conformance suite, on both caches.

mod memory {
    im_sdk::cache_conformance_tests!(im_sdk::MemoryCache::new());
}

mod disk {
    im_sdk::cache_conformance_tests!({
        let dir = tempfile::Builder::new()
            .prefix("cache-conformance")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        im_sdk::DiskCache::open(dir.join("cache.sqlite3")).unwrap()
    });
}
