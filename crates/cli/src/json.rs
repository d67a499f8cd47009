//! JSON helpers: numbers that may be NaN/Inf become `null` (JSON has no NaN),
//! and documents are written pretty-printed with a trailing newline, to a
//! file atomically or to stdout for `-`.

use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// A finite float as a JSON number, anything else as `null`.
pub fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// Serialises `value` pretty-printed with a trailing newline.
pub fn to_pretty_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value)?;
    v.push(b'\n');
    Ok(v)
}

/// Writes `value` as JSON to `dest`: `-` is stdout, anything else a file
/// written atomically.
pub fn write_json<T: Serialize + ?Sized>(dest: &Path, value: &T) -> std::io::Result<()> {
    let bytes = to_pretty_bytes(value).map_err(std::io::Error::other)?;
    if dest.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()
    } else {
        crate::write_atomic(dest, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_inf_become_null() {
        assert_eq!(finite_or_null(f64::NAN), serde_json::Value::Null);
        assert_eq!(finite_or_null(f64::INFINITY), serde_json::Value::Null);
        assert_eq!(finite_or_null(1.5), serde_json::json!(1.5));
    }
}
