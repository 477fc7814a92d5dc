//! Tile paths and entry bundles from outside (`GET /tile/...`, a static copy another party
//! serves): parsing never panics, a parsed path spells back exactly as it came (each tile has
//! one spelling), and a bundle splits into entries that rebuild it byte for byte.
#![no_main]

use aiaudit_core::tiles::{BundleWriter, Tile, parse_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(tile) = Tile::parse(text)
    {
        assert_eq!(tile.path(), text);
        assert!((1..=256).contains(&tile.width));
        assert!(tile.level() <= 63);
    }
    if let Ok(entries) = parse_bundle(data) {
        let mut again = BundleWriter::new();
        for (i, e) in entries.iter().enumerate() {
            again.push(i as u64, e).expect("an entry parsed from a bundle fits one");
        }
        assert_eq!(again.finish(), data);
    }
});
