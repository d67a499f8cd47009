//! Builders of small FITS files for the unit tests (hand-made bytes, so the
//! tests need no external tool and can make broken files on purpose).

use std::path::PathBuf;

use crate::verify::BLOCK;

/// One header card image from a keyword and a raw value text.
pub(crate) fn card(key: &str, value: &str) -> String {
    let text = format!("{key:<8}= {value:>20}");
    format!("{text:<80}").chars().take(80).collect()
}

/// A string-valued card.
pub(crate) fn text_card(key: &str, value: &str) -> String {
    card(key, &format!("{:<20}", format!("'{value:<8}'")))
}

/// Header bytes: the cards, END, padded with blanks to whole blocks.
pub(crate) fn header_bytes(cards: &[String]) -> Vec<u8> {
    let mut text: String = cards.concat();
    text.push_str(&format!("{:<80}", "END"));
    let mut bytes = text.into_bytes();
    let padded = bytes.len().div_ceil(BLOCK) * BLOCK;
    bytes.resize(padded, b' ');
    bytes
}

/// Data bytes padded with zeros to whole blocks.
pub(crate) fn data_bytes(mut data: Vec<u8>) -> Vec<u8> {
    let padded = data.len().div_ceil(BLOCK) * BLOCK;
    data.resize(padded, 0);
    data
}

/// Primary-header cards of an image with the given BITPIX and axes.
pub(crate) fn image_cards(bitpix: i32, axes: &[usize]) -> Vec<String> {
    let mut cards = vec![
        card("SIMPLE", "T"),
        card("BITPIX", &bitpix.to_string()),
        card("NAXIS", &axes.len().to_string()),
    ];
    for (i, n) in axes.iter().enumerate() {
        cards.push(card(&format!("NAXIS{}", i + 1), &n.to_string()));
    }
    cards
}

/// Celestial WCS cards for axes `lon` and `lat` (1-based), SIN, 1" pixels.
pub(crate) fn sky_cards(lon: usize, lat: usize) -> Vec<String> {
    vec![
        text_card(&format!("CTYPE{lon}"), "RA---SIN"),
        card(&format!("CRVAL{lon}"), "150.0"),
        card(&format!("CDELT{lon}"), "-2.777777777778E-04"),
        card(&format!("CRPIX{lon}"), "5.0"),
        text_card(&format!("CTYPE{lat}"), "DEC--SIN"),
        card(&format!("CRVAL{lat}"), "30.0"),
        card(&format!("CDELT{lat}"), "2.777777777778E-04"),
        card(&format!("CRPIX{lat}"), "3.0"),
    ]
}

/// Big-endian f32 bytes.
pub(crate) fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A temporary directory with a file of the given bytes; returns both.
pub(crate) fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    (dir, path)
}

/// Gzip-compresses bytes.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}
