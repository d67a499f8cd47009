//! Policies: the tunable parts of the standard, per VLASS workflow.
//!
//! A policy is a set of named settings (the CAPO key suffixes under
//! [`CAPO_PREFIX`]), each with a value and where that value came from:
//! built-in defaults for the workflow, then CAPO files, then command-line
//! flags. [`PolicySettings::to_policy`] turns the strings into a checked
//! [`Policy`]; a bad value is a configuration error naming key, value and origin.

use regex::bytes::Regex;
use std::collections::BTreeMap;

/// Namespace of casa-judge's CAPO keys.
pub const CAPO_PREFIX: &str = "edu.nrao.vlass.casajudge.";

/// Key: comma-separated globs of the products a run must leave (relative to the work directory).
pub const KEY_PRODUCTS: &str = "requiredproducts";
/// Key: comma-separated ids of benign SEVERE messages (see [`benign_catalogue`]).
pub const KEY_ALLOWLIST: &str = "severeallowlist";
/// Key: extra benign SEVERE patterns, `id | message regex | reason` entries separated by `;;`.
pub const KEY_EXTRA_BENIGN: &str = "extrabenignsevere";
/// Key: bool, whether tclean divergence fails the run.
pub const KEY_DIVERGENCE_FAILS: &str = "divergenceisfailure";
/// Key: float, the peak-residual growth between major cycles that counts as divergence.
pub const KEY_DIVERGENCE_RATIO: &str = "divergenceratio";
/// Key: bool, whether a positive non-zero exit status always fails the run.
pub const KEY_NONZERO_FATAL: &str = "nonzeroexitisfatal";
/// Key: integer, the most evidence items kept per reason or warning.
pub const KEY_MAX_EVIDENCE: &str = "maxevidence";

/// The built-in workflow policies (names as the Workspaces workflows are called).
pub const WORKFLOWS: [&str; 8] = [
    "default",
    "quicklook",
    "calibration",
    "se_calibration",
    "se_continuum_imaging",
    "se_coarse_cube_imaging",
    "seci_split_measurement_sets",
    "image-caching",
];

/// A SEVERE message that does not fail a run, and why.
#[derive(Debug, Clone)]
pub struct BenignPattern {
    /// Identifier used in the allow list.
    pub id: String,
    /// Matched against the record origin (continuation marker removed); `None` matches any.
    pub origin: Option<Regex>,
    /// Matched against the first line of the message.
    pub message: Regex,
    /// Why it is harmless (shown in the warning).
    pub reason: String,
}

/// The built-in catalogue of known-harmless SEVERE messages.
pub fn benign_catalogue() -> Vec<BenignPattern> {
    vec![BenignPattern {
        id: "leap-second".to_string(),
        // Fixed patterns: they always compile.
        origin: Some(Regex::new(r"MeasTable::dUTC").expect("fixed regex")),
        message: Regex::new(
            r"^(Leap second table TAI_UTC seems out-of-date\.|Until the table is updated \(see the CASA documentation or your system admin\),|times and coordinates derived from UTC could be wrong by 1s or more\.)\s*$",
        )
        .expect("fixed regex"),
        reason: "casacore's stale leap-second table notice: the TAI_UTC table's date is over 180 days old; \
                 processing goes on and no leap second has been added since 2017"
            .to_string(),
    }]
}

/// The checked policy the rules use.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Policy name.
    pub name: String,
    /// Globs of products that must exist and be sound.
    pub expected_products: Vec<String>,
    /// SEVERE messages that are only warnings (never applied to flagmanager).
    pub benign: Vec<BenignPattern>,
    /// Whether divergence fails the run (otherwise it is a warning).
    pub divergence_is_failure: bool,
    /// `[WARN] Peak residual ... increased from A to B` counts as divergence when `B >= ratio * A`.
    pub divergence_ratio: f64,
    /// Whether a positive non-zero exit status fails the run even when all else is sound.
    pub nonzero_exit_is_fatal: bool,
    /// Evidence items kept per finding.
    pub max_evidence: usize,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as text.
    pub value: String,
    /// `default`, `policy <name>`, `capo: <file>:<line>`, `flag --x`.
    pub origin: String,
    /// One line on what the setting means and why the default is what it is.
    pub why: &'static str,
}

/// A configuration problem: `key = value (origin): problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

/// The layered settings of one policy.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    name: String,
    values: BTreeMap<&'static str, Setting>,
}

const QL_PRODUCTS: &str = "products/*.ql.*.I.iter1.image.pbcor.tt0.subim.fits,\
products/*.ql.*.I.iter1.image.pbcor.tt0.rms.subim.fits";
const SE_PRODUCTS: &str = "products/*.se.*.I.iter3.image.pbcor.tt0.subim.fits,\
products/*.se.*.I.iter3.image.pbcor.tt0.rms.subim.fits,\
products/*.se.*.I.iter3.image.pbcor.tt1.subim.fits,\
products/*.se.*.I.iter3.image.pbcor.tt1.rms.subim.fits,\
products/*.se.*.I.iter3.alpha.subim.fits,\
products/*.se.*.I.iter3.alpha.error.subim.fits";
const CC_PRODUCTS: &str = "products/*.cc.*.spw*.IQU.iter3.image.pbcor.tt0.subim.fits,\
products/*.cc.*.spw*.IQU.iter3.image.pbcor.tt0.rms.subim.fits";
const CAL_PRODUCTS: &str = "products/*.caltables.tgz,products/*weblog.tgz";
const SPLIT_PRODUCTS: &str = "products/*.ms";
const CACHE_PRODUCTS: &str = "products/*.fits";

fn products_of(workflow: &str) -> Option<&'static str> {
    Some(match workflow {
        "default" => "",
        "quicklook" => QL_PRODUCTS,
        "calibration" | "se_calibration" => CAL_PRODUCTS,
        "se_continuum_imaging" => SE_PRODUCTS,
        "se_coarse_cube_imaging" => CC_PRODUCTS,
        "seci_split_measurement_sets" => SPLIT_PRODUCTS,
        "image-caching" => CACHE_PRODUCTS,
        _ => return None,
    })
}

impl PolicySettings {
    /// The built-in settings of a workflow policy; unknown names are an error listing the known ones.
    pub fn builtin(name: &str) -> Result<PolicySettings, PolicyError> {
        let products = products_of(name).ok_or_else(|| {
            PolicyError(format!(
                "unknown policy '{name}' (known: {})",
                WORKFLOWS.join(", ")
            ))
        })?;
        let mut values = BTreeMap::new();
        let mut put = |key: &'static str, value: &str, origin: &str, why: &'static str| {
            values.insert(
                key,
                Setting {
                    value: value.to_string(),
                    origin: origin.to_string(),
                    why,
                },
            );
        };
        let policy_origin = if name == "default" {
            "default".to_string()
        } else {
            format!("policy {name}")
        };
        put(
            KEY_PRODUCTS,
            products,
            &policy_origin,
            "globs of the products the workflow must leave, relative to --workdir",
        );
        put(
            KEY_ALLOWLIST,
            "leap-second",
            "default",
            "ids of harmless SEVERE messages; leap-second: casacore's stale TAI_UTC notice, processing continues",
        );
        put(
            KEY_EXTRA_BENIGN,
            "",
            "default",
            "more harmless SEVERE messages: 'id | message regex | reason' entries separated by ';;'",
        );
        put(
            KEY_DIVERGENCE_FAILS,
            "true",
            "default",
            "tclean divergence leaves a complete but meaningless image, so it fails the run",
        );
        put(
            KEY_DIVERGENCE_RATIO,
            "10",
            "default",
            "peak-residual growth between major cycles counted as divergence: an order of magnitude, \
             well above what a growing clean mask causes",
        );
        put(
            KEY_NONZERO_FATAL,
            "false",
            "default",
            "false: a non-zero exit with a clean log and sound products is a false failure (a warning)",
        );
        put(
            KEY_MAX_EVIDENCE,
            "20",
            "default",
            "evidence items kept per reason; the count of all of them is always given",
        );
        Ok(PolicySettings {
            name: name.to_string(),
            values,
        })
    }

    /// Policy name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every known key (without the CAPO prefix).
    pub fn keys(&self) -> Vec<&'static str> {
        self.values.keys().copied().collect()
    }

    /// Replaces a value; unknown keys are an error (they would be silently ignored otherwise).
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<(), PolicyError> {
        let key = key
            .strip_prefix(CAPO_PREFIX)
            .unwrap_or(key)
            .to_ascii_lowercase();
        let known = self.keys().join(", ");
        let setting = self.values.get_mut(key.as_str()).ok_or_else(|| {
            PolicyError(format!(
                "unknown casa-judge setting '{key}' from {origin} (known: {known})"
            ))
        })?;
        setting.value = value.to_string();
        setting.origin = origin.to_string();
        Ok(())
    }

    /// The current setting of a key.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.values.get(key)
    }

    /// One line per setting: `key = value    [origin]`, then its meaning.
    pub fn describe(&self) -> String {
        let mut out = format!("policy {}\n", self.name);
        for (key, s) in &self.values {
            out.push_str(&format!(
                "{CAPO_PREFIX}{key} = {}    [{}]\n    {}\n",
                s.value, s.origin, s.why
            ));
        }
        out
    }

    /// Checks and converts the settings.
    pub fn to_policy(&self) -> Result<Policy, PolicyError> {
        let bad = |key: &str, problem: &str| {
            let s = &self.values[key];
            PolicyError(format!(
                "{CAPO_PREFIX}{key} = '{}' ({}): {problem}",
                s.value, s.origin
            ))
        };
        let text = |key: &str| self.values[key].value.trim().to_string();
        let boolean = |key: &str| match text(key).to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => Ok(true),
            "0" | "off" | "no" | "false" => Ok(false),
            _ => Err(bad(key, "not a boolean (true/false, yes/no, on/off, 1/0)")),
        };
        let list = |key: &str| -> Vec<String> {
            text(key)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let expected_products = list(KEY_PRODUCTS);
        for glob in &expected_products {
            globset::Glob::new(glob)
                .map_err(|e| bad(KEY_PRODUCTS, &format!("bad glob '{glob}': {e}")))?;
        }
        let mut catalogue = benign_catalogue();
        for entry in text(KEY_EXTRA_BENIGN)
            .split(";;")
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let parts: Vec<&str> = entry.split(" | ").map(str::trim).collect();
            let [id, message, reason] = parts[..] else {
                return Err(bad(
                    KEY_EXTRA_BENIGN,
                    &format!("entry '{entry}' is not 'id | message regex | reason'"),
                ));
            };
            if id.is_empty() || reason.is_empty() {
                return Err(bad(
                    KEY_EXTRA_BENIGN,
                    &format!("entry '{entry}' needs an id and a reason"),
                ));
            }
            let message = Regex::new(message)
                .map_err(|e| bad(KEY_EXTRA_BENIGN, &format!("bad regex in '{entry}': {e}")))?;
            catalogue.push(BenignPattern {
                id: id.to_string(),
                origin: None,
                message,
                reason: reason.to_string(),
            });
        }
        let mut benign = Vec::new();
        for id in list(KEY_ALLOWLIST) {
            let pattern = catalogue
                .iter()
                .find(|p| p.id == id)
                .ok_or_else(|| bad(KEY_ALLOWLIST, &format!("unknown benign message id '{id}'")))?;
            benign.push(pattern.clone());
        }
        // Entries defined in extrabenignsevere are active without being listed again.
        for p in catalogue.into_iter().skip(benign_catalogue().len()) {
            if !benign.iter().any(|b| b.id == p.id) {
                benign.push(p);
            }
        }
        let divergence_ratio: f64 = text(KEY_DIVERGENCE_RATIO)
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 1.0)
            .ok_or_else(|| bad(KEY_DIVERGENCE_RATIO, "not a number greater than 1"))?;
        let max_evidence: usize = text(KEY_MAX_EVIDENCE)
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| bad(KEY_MAX_EVIDENCE, "not a positive integer"))?;
        Ok(Policy {
            name: self.name.clone(),
            expected_products,
            benign,
            divergence_is_failure: boolean(KEY_DIVERGENCE_FAILS)?,
            divergence_ratio,
            nonzero_exit_is_fatal: boolean(KEY_NONZERO_FATAL)?,
            max_evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workflow_builds_a_valid_policy() {
        for name in WORKFLOWS {
            let p = PolicySettings::builtin(name).unwrap().to_policy().unwrap();
            assert_eq!(p.name, name);
            assert_eq!(p.benign.len(), 1);
            assert_eq!(p.expected_products.is_empty(), name == "default");
        }
        assert!(PolicySettings::builtin("nope").is_err());
    }

    #[test]
    fn later_layers_win_and_remember_their_origin() {
        let mut s = PolicySettings::builtin("quicklook").unwrap();
        assert_eq!(s.get(KEY_PRODUCTS).unwrap().origin, "policy quicklook");
        s.set(
            "edu.nrao.vlass.casajudge.divergenceisfailure",
            "no",
            "capo: x.properties:3",
        )
        .unwrap();
        s.set(KEY_PRODUCTS, "a.fits", "flag --expect").unwrap();
        let p = s.to_policy().unwrap();
        assert!(!p.divergence_is_failure);
        assert_eq!(p.expected_products, vec!["a.fits"]);
        assert!(s
            .describe()
            .contains("divergenceisfailure = no    [capo: x.properties:3]"));
        assert!(s.set("nosuchkey", "1", "flag").is_err());
    }

    #[test]
    fn bad_values_name_key_value_and_origin() {
        let mut s = PolicySettings::builtin("default").unwrap();
        s.set(KEY_DIVERGENCE_RATIO, "lots", "capo: p:1").unwrap();
        let e = s.to_policy().unwrap_err().to_string();
        assert!(e.contains("divergenceratio = 'lots' (capo: p:1)"), "{e}");
        let mut s = PolicySettings::builtin("default").unwrap();
        s.set(KEY_ALLOWLIST, "leap-second,bogus", "flag").unwrap();
        assert!(s.to_policy().is_err());
        let mut s = PolicySettings::builtin("default").unwrap();
        s.set(KEY_EXTRA_BENIGN, "only-two | parts", "flag").unwrap();
        assert!(s.to_policy().is_err());
    }

    #[test]
    fn extra_benign_patterns_are_added_with_their_reason() {
        let mut s = PolicySettings::builtin("default").unwrap();
        s.set(
            KEY_EXTRA_BENIGN,
            "iers | ^IERS table .* old | known at site X ;; other | ^foo | bar",
            "flag",
        )
        .unwrap();
        let p = s.to_policy().unwrap();
        let ids: Vec<&str> = p.benign.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, vec!["leap-second", "iers", "other"]);
        assert_eq!(p.benign[1].reason, "known at site X");
    }
}
