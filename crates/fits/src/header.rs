//! Typed access to the cards of one HDU header.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::card::{Card, Value};
use crate::FitsError;

/// The cards of one HDU, with typed look-ups whose errors name the file, the
/// HDU and the keyword. When a keyword appears more than once the first card
/// counts (as in astropy and cfitsio).
#[derive(Debug, Clone)]
pub struct Header {
    path: PathBuf,
    hdu: usize,
    cards: Vec<Card>,
    /// The 80-column card images as read, for [`Header::to_text`].
    images: Vec<String>,
    first_by_key: HashMap<String, usize>,
}

impl Header {
    /// Parses the card images (80 columns each, END excluded) of one HDU.
    pub(crate) fn from_card_images(path: &Path, hdu: usize, images: Vec<String>) -> Header {
        let cards: Vec<Card> = images.iter().map(|i| Card::parse(i.as_bytes())).collect();
        let mut first_by_key = HashMap::new();
        for (i, card) in cards.iter().enumerate() {
            if card.value.is_some() {
                first_by_key.entry(card.key.clone()).or_insert(i);
            }
        }
        Header {
            path: path.to_path_buf(),
            hdu,
            cards,
            images,
            first_by_key,
        }
    }

    /// The file this header was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The HDU number (0 = primary).
    pub fn hdu_index(&self) -> usize {
        self.hdu
    }

    /// All cards in file order, including COMMENT/HISTORY cards (without END).
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// Whether a value card with this keyword exists.
    pub fn contains(&self, key: &str) -> bool {
        self.first_by_key.contains_key(&key.to_ascii_uppercase())
    }

    fn card(&self, key: &str) -> Result<&Card, FitsError> {
        self.first_by_key
            .get(&key.to_ascii_uppercase())
            .map(|&i| &self.cards[i])
            .ok_or_else(|| self.error(key, "missing"))
    }

    fn error(&self, key: &str, problem: impl Into<String>) -> FitsError {
        FitsError::keyword(&self.path, self.hdu, &key.to_ascii_uppercase(), problem)
    }

    fn mistyped(&self, key: &str, card: &Card, expected: &str) -> FitsError {
        match card.value.as_deref() {
            Some(raw) if !raw.is_empty() => {
                self.error(key, format!("expected {expected}, found {raw}"))
            }
            _ => self.error(key, format!("expected {expected}, found an empty value")),
        }
    }

    /// A numeric value (integer or real card).
    pub fn get_f64(&self, key: &str) -> Result<f64, FitsError> {
        let card = self.card(key)?;
        match card.decoded() {
            Value::Real(v) => Ok(v),
            Value::Integer(i) => Ok(i as f64),
            _ => Err(self.mistyped(key, card, "a number")),
        }
    }

    /// An integer value.
    pub fn get_i64(&self, key: &str) -> Result<i64, FitsError> {
        let card = self.card(key)?;
        match card.decoded() {
            Value::Integer(i) => Ok(i),
            _ => Err(self.mistyped(key, card, "an integer")),
        }
    }

    /// A string value, without quotes and trailing blanks; long strings
    /// continued with the `&` / `CONTINUE` convention are joined.
    pub fn get_str(&self, key: &str) -> Result<String, FitsError> {
        let card = self.card(key)?;
        let Value::Text(mut text) = card.decoded() else {
            return Err(self.mistyped(key, card, "a string"));
        };
        let start = self.first_by_key[&key.to_ascii_uppercase()];
        for next in &self.cards[start + 1..] {
            if !text.ends_with('&') || next.key != "CONTINUE" {
                break;
            }
            let Some(body) = &next.comment else { break };
            let continued = Card::parse(format!("X       = {}", body.trim_start()).as_bytes());
            let Value::Text(more) = continued.decoded() else {
                break;
            };
            text.pop();
            text.push_str(&more);
        }
        Ok(text)
    }

    /// A logical value (T or F).
    pub fn get_bool(&self, key: &str) -> Result<bool, FitsError> {
        let card = self.card(key)?;
        match card.decoded() {
            Value::Logical(b) => Ok(b),
            _ => Err(self.mistyped(key, card, "a logical (T or F)")),
        }
    }

    /// Like [`Header::get_f64`], `None` when missing or mistyped.
    pub fn opt_f64(&self, key: &str) -> Option<f64> {
        self.get_f64(key).ok()
    }

    /// Like [`Header::get_i64`], `None` when missing or mistyped.
    pub fn opt_i64(&self, key: &str) -> Option<i64> {
        self.get_i64(key).ok()
    }

    /// Like [`Header::get_str`], `None` when missing or mistyped.
    pub fn opt_str(&self, key: &str) -> Option<String> {
        self.get_str(key).ok()
    }

    /// Like [`Header::get_bool`], `None` when missing or mistyped.
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.get_bool(key).ok()
    }

    /// The header as text: every card image as read (80 columns), one per
    /// line, END excluded; the same text astropy prints for a `Header`.
    pub fn to_text(&self) -> String {
        self.images
            .iter()
            .map(|image| format!("{image}\n"))
            .collect()
    }
}

impl vlass_wcs::Keywords for Header {
    fn real(&self, key: &str) -> Option<f64> {
        self.opt_f64(key)
    }

    fn text(&self, key: &str) -> Option<String> {
        self.opt_str(key)
    }

    fn contains(&self, key: &str) -> bool {
        Header::contains(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lines: &[&str]) -> Header {
        let images = lines.iter().map(|l| format!("{l:<80}")).collect();
        Header::from_card_images(Path::new("x.fits"), 0, images)
    }

    #[test]
    fn a_wcs_card_that_is_not_a_number_fails_the_wcs() {
        // PC1_2 written as NAN (not a FITS number): before, the WCS took the
        // default 0 and gave positions without the header's rotation.
        let cards = |pc12: &str| {
            header(&[
                "NAXIS   =                    2",
                "CTYPE1  = 'RA---SIN'",
                "CTYPE2  = 'DEC--SIN'",
                "CRVAL1  =   1.500000000000E+02",
                "CRVAL2  =   3.000000000000E+01",
                "CRPIX1  =   1.000000000000E+02",
                "CRPIX2  =   1.000000000000E+02",
                "CDELT1  =  -1.666666666667E-04",
                "CDELT2  =   1.666666666667E-04",
                "PC1_1   =   1.000000000000E+00",
                &format!("PC1_2   = {pc12:>20}"),
                "PC2_1   =   0.000000000000E+00",
                "PC2_2   =   1.000000000000E+00",
            ])
        };
        assert!(vlass_wcs::Wcs::from_keywords(&cards("0.0")).is_ok());
        for bad in ["NAN", "1.0E+0X", "'0.5'"] {
            let err = vlass_wcs::Wcs::from_keywords(&cards(bad)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "keyword PC1_2: value is not a finite number",
                "{bad}"
            );
        }
    }

    #[test]
    fn typed_access_and_errors_name_file_hdu_keyword() {
        let h = header(&[
            "NAXIS   =                    2",
            "CDELT1  =  -2.777777777778E-04",
            "BUNIT   = 'Jy/beam '",
            "CASAMBM =                    T",
        ]);
        assert_eq!(h.get_i64("NAXIS").unwrap(), 2);
        assert_eq!(h.get_f64("naxis").unwrap(), 2.0);
        assert_eq!(h.get_str("BUNIT").unwrap(), "Jy/beam");
        assert!(h.get_bool("CASAMBM").unwrap());
        assert_eq!(
            h.get_f64("CDELT2").unwrap_err().to_string(),
            "x.fits: HDU 0: keyword CDELT2: missing"
        );
        assert_eq!(
            h.get_f64("BUNIT").unwrap_err().to_string(),
            "x.fits: HDU 0: keyword BUNIT: expected a number, found 'Jy/beam '"
        );
        assert!(h.get_i64("CDELT1").is_err());
        assert_eq!(h.opt_bool("NAXIS"), None);
    }

    #[test]
    fn long_strings_are_continued() {
        let h = header(&["LONG    = 'abc&'", "CONTINUE  'def&'", "CONTINUE  'gh'"]);
        assert_eq!(h.get_str("LONG").unwrap(), "abcdefgh");
    }
}
