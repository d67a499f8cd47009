//! One 80-character FITS header card and the decoding of its value
//! (FITS standard 4.0, section 4.2).

/// One header card.
///
/// `value` is the raw value text as written (string values keep their quotes),
/// `None` for commentary cards (COMMENT, HISTORY, blank keyword) whose text is
/// in `comment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Keyword name, upper case, without trailing blanks.
    pub key: String,
    /// Raw value field, trimmed; `None` for a card without a value indicator.
    pub value: Option<String>,
    /// Comment after the `/`, or the text of a commentary card.
    pub comment: Option<String>,
}

/// A card value decoded by its FITS type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Text(String),
    Logical(bool),
    Integer(i64),
    Real(f64),
    /// Empty value, complex numbers and anything else that is not one of the above.
    Other,
}

impl Card {
    /// Parses one card image (80 bytes; shorter input is padded with blanks).
    pub(crate) fn parse(image: &[u8]) -> Card {
        let text: String = image
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '?'
                }
            })
            .collect();
        let key_field = text.get(..8.min(text.len())).unwrap_or("");
        let key = key_field.trim_end().to_ascii_uppercase();
        let rest = text.get(8..).unwrap_or("");
        if key == "HIERARCH" {
            if let Some((name, value)) = rest.split_once('=') {
                let (value, comment) = split_value_comment(value);
                return Card {
                    key: name.trim().to_ascii_uppercase(),
                    value: Some(value),
                    comment,
                };
            }
        }
        if rest.starts_with("= ") || rest == "=" {
            let (value, comment) = split_value_comment(&rest[1..]);
            Card {
                key,
                value: Some(value),
                comment,
            }
        } else {
            let body = rest.trim_end();
            Card {
                key,
                value: None,
                comment: (!body.is_empty()).then(|| body.to_string()),
            }
        }
    }

    /// The value decoded by its type.
    pub(crate) fn decoded(&self) -> Value {
        match &self.value {
            Some(raw) => decode_value(raw),
            None => Value::Other,
        }
    }
}

/// Splits a value field into the value (trimmed, quotes kept) and the comment.
fn split_value_comment(field: &str) -> (String, Option<String>) {
    let trimmed = field.trim_start();
    let (value, after) = if trimmed.starts_with('\'') {
        // A string runs to the first quote not doubled.
        let bytes = trimmed.as_bytes();
        let mut end = trimmed.len();
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                end = i + 1;
                break;
            }
            i += 1;
        }
        (&trimmed[..end], &trimmed[end..])
    } else {
        match trimmed.find('/') {
            Some(pos) => (&trimmed[..pos], &trimmed[pos..]),
            None => (trimmed, ""),
        }
    };
    let comment = after
        .trim_start()
        .strip_prefix('/')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    (value.trim().to_string(), comment)
}

/// Decodes a raw value field.
fn decode_value(raw: &str) -> Value {
    if let Some(inner) = raw.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'').unwrap_or(inner);
        // Trailing blanks are not significant in FITS strings; leading ones are.
        return Value::Text(inner.replace("''", "'").trim_end().to_string());
    }
    match raw {
        "T" => return Value::Logical(true),
        "F" => return Value::Logical(false),
        "" => return Value::Other,
        _ => {}
    }
    if let Ok(i) = raw.parse::<i64>() {
        return Value::Integer(i);
    }
    let normalised = raw.replace(['D', 'd'], "E");
    match normalised.parse::<f64>() {
        Ok(v) if looks_numeric(&normalised) => Value::Real(v),
        _ => Value::Other,
    }
}

/// Rust's float parser accepts words such as "inf" and "NaN"; FITS does not.
fn looks_numeric(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'E' | 'e'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> Card {
        Card::parse(format!("{text:<80}").as_bytes())
    }

    #[test]
    fn parses_the_value_types_casa_writes() {
        let c = card("BMAJ    =   6.583333333333E-04 /major axis");
        assert_eq!(c.key, "BMAJ");
        assert_eq!(c.decoded(), Value::Real(6.583333333333E-04));
        assert_eq!(c.comment.as_deref(), Some("major axis"));
        assert_eq!(
            card("NAXIS   =                    4").decoded(),
            Value::Integer(4)
        );
        assert_eq!(
            card("CASAMBM =                    T").decoded(),
            Value::Logical(true)
        );
        assert_eq!(
            card("BUNIT   = 'Jy/beam '           /Brightness (pixel) unit").decoded(),
            Value::Text("Jy/beam".into())
        );
        assert_eq!(
            card("OBSERVER= 'O''Neil / x'").decoded(),
            Value::Text("O'Neil / x".into())
        );
        assert_eq!(card("X       = 1.5D3").decoded(), Value::Real(1500.0));
        assert_eq!(card("X       = NaN").decoded(), Value::Other);
    }

    #[test]
    fn commentary_cards_have_no_value() {
        let c = card("HISTORY imageconcat(infiles=['a', 'b'])");
        assert_eq!(c.key, "HISTORY");
        assert_eq!(c.value, None);
        assert_eq!(
            c.comment.as_deref(),
            Some("imageconcat(infiles=['a', 'b'])")
        );
        assert_eq!(card("").key, "");
    }
}
