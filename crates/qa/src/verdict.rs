//! Verdicts: a product's status (pass / warn / fail) and the reasons that decided it,
//! each naming its rule, the measured value and the threshold it was compared with.

use serde::Serialize;
use serde_json::Value;

/// Outcome of QA for a product (or of one reason). Ordered: pass < warn < fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every rule passed.
    Pass,
    /// Something an operator should look at; the product is still usable (exit 0).
    Warn,
    /// The product failed QA (exit 1).
    Fail,
}

impl Status {
    /// Lower-case name as in the JSON (`"pass"`, `"warn"`, `"fail"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that did not pass: why, with the value and the threshold that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// Stable rule name, e.g. `noise_high`.
    pub rule: String,
    /// `warn` or `fail`.
    pub severity: Status,
    /// One sentence for a human.
    pub message: String,
    /// The measured value (number, string or null).
    pub value: Value,
    /// The threshold it was compared with (number, string or null).
    pub threshold: Value,
    /// The file the reason is about, when it is about one file of the product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Reason {
    /// A reason with numeric value and threshold (non-finite numbers become null).
    pub fn numeric(
        rule: &str,
        severity: Status,
        message: String,
        value: f64,
        threshold: f64,
    ) -> Reason {
        Reason {
            rule: rule.to_string(),
            severity,
            message,
            value: vlass_cli::json::finite_or_null(value),
            threshold: vlass_cli::json::finite_or_null(threshold),
            file: None,
        }
    }

    /// A reason without a number to show (e.g. a missing file).
    pub fn plain(rule: &str, severity: Status, message: String) -> Reason {
        Reason {
            rule: rule.to_string(),
            severity,
            message,
            value: Value::Null,
            threshold: Value::Null,
            file: None,
        }
    }

    /// The same reason, attributed to `file`.
    pub fn about(mut self, file: &str) -> Reason {
        self.file = Some(file.to_string());
        self
    }
}

/// The worst severity among `reasons` (pass when there are none).
pub fn overall(reasons: &[Reason]) -> Status {
    reasons
        .iter()
        .map(|r| r.severity)
        .max()
        .unwrap_or(Status::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_is_the_worst_reason() {
        assert_eq!(overall(&[]), Status::Pass);
        let warn = Reason::plain("a", Status::Warn, "w".into());
        let fail = Reason::numeric("b", Status::Fail, "f".into(), f64::NAN, 1.0);
        assert_eq!(overall(std::slice::from_ref(&warn)), Status::Warn);
        assert_eq!(overall(&[warn, fail.clone()]), Status::Fail);
        assert_eq!(fail.value, Value::Null);
        assert_eq!(serde_json::to_value(Status::Warn).unwrap(), "warn");
    }
}
