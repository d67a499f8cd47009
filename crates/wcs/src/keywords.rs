//! Where the WCS reads its header keywords from.

use std::collections::HashMap;

/// Read access to header keywords, by upper-case FITS name.
///
/// `vlass_fits::Header` implements it; the `HashMap` implementations serve
/// tests and callers that build a WCS without a FITS file.
pub trait Keywords {
    /// The value as a number (integer or real card), `None` if absent or not numeric.
    fn real(&self, key: &str) -> Option<f64>;
    /// The value as text (a string card, without quotes and trailing blanks).
    fn text(&self, key: &str) -> Option<String>;
    /// Whether the keyword is present at all, whatever its value: a WCS
    /// keyword that is present but not a number is an error, not a default.
    fn contains(&self, key: &str) -> bool;
}

/// Keywords given as raw text values: numbers are parsed on request.
impl Keywords for HashMap<String, String> {
    fn real(&self, key: &str) -> Option<f64> {
        self.get(key)?.trim().replace(['D', 'd'], "E").parse().ok()
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.trim_end().to_string())
    }

    fn contains(&self, key: &str) -> bool {
        self.contains_key(key)
    }
}
