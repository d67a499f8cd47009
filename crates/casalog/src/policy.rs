//! Policies: the tunable parts of the standard, per VLASS workflow.
//!
//! A policy is a set of CAPO settings under [`CAPO_PREFIX`], layered by
//! `vlass_capo::Settings`: the workflow's built-in defaults, then CAPO files
//! (`--profile`/`--capo-path`), then command-line flags, each value
//! remembering its origin. Expected products are per workflow
//! (`<prefix><workflow>.requiredproducts`); the other keys apply to every
//! workflow. [`PolicySettings::to_policy`] checks and converts the values; a bad
//! value is a configuration error naming key, value and origin.

use regex::bytes::Regex;
use vlass_capo::{CapoError, CapoOptions, Settings};

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
/// Key: bool, judge only the last CASA session of a log file that holds several.
pub const KEY_LAST_SESSION: &str = "lastsessiononly";
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
    /// Judge only the last CASA session of each log file.
    pub last_session_only: bool,
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

impl From<vlass_capo::CapoError> for PolicyError {
    fn from(e: vlass_capo::CapoError) -> Self {
        PolicyError(e.to_string())
    }
}

/// The layered settings of one policy.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    name: String,
    settings: Settings,
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

/// The full CAPO key of a workflow's product list.
pub fn products_key(workflow: &str) -> String {
    format!("{CAPO_PREFIX}{workflow}.{KEY_PRODUCTS}")
}

fn full(key: &str) -> String {
    format!("{CAPO_PREFIX}{key}")
}

impl PolicySettings {
    /// The built-in settings of a workflow policy; unknown names are an error listing the known ones.
    pub fn builtin(name: &str) -> Result<PolicySettings, PolicyError> {
        if products_of(name).is_none() {
            return Err(PolicyError(format!(
                "unknown policy '{name}' (known: {})",
                WORKFLOWS.join(", ")
            )));
        }
        let mut settings = Settings::new();
        for workflow in WORKFLOWS {
            let why = match workflow {
                "default" => "no products expected unless --expect names them".to_string(),
                "quicklook" | "se_continuum_imaging" | "se_coarse_cube_imaging" => format!(
                    "{workflow}: VLASS product names (notes on VLASS products); products/ is the pipeline's export folder"
                ),
                _ => format!("{workflow}: products not documented, a chosen default (see README)"),
            };
            settings.default_value(
                &products_key(workflow),
                products_of(workflow).unwrap_or(""),
                &why,
            );
        }
        settings.default_value(
            &full(KEY_ALLOWLIST),
            "leap-second",
            "ids of harmless SEVERE messages; leap-second: casacore's stale TAI_UTC notice, processing continues",
        );
        settings.default_value(
            &full(KEY_EXTRA_BENIGN),
            "",
            "more harmless SEVERE messages: 'id | message regex | reason' entries separated by ';;'",
        );
        settings.default_value(
            &full(KEY_DIVERGENCE_FAILS),
            "true",
            "tclean divergence leaves a complete but meaningless image, so it fails the run",
        );
        settings.default_value(
            &full(KEY_DIVERGENCE_RATIO),
            "10",
            "peak-residual growth between major cycles counted as divergence: an order of magnitude, \
             well above what a growing clean mask causes",
        );
        settings.default_value(
            &full(KEY_NONZERO_FATAL),
            "false",
            "false: a non-zero exit with a clean log and sound products is a false failure (a warning)",
        );
        settings.default_value(
            &full(KEY_LAST_SESSION),
            "false",
            "false: every session of a re-used log file is judged (safe; earlier failures count); \
             true: only the last one (a retry appending to the same file)",
        );
        settings.default_value(
            &full(KEY_MAX_EVIDENCE),
            "20",
            "evidence items kept per reason; the count of all of them is always given",
        );
        Ok(PolicySettings {
            name: name.to_string(),
            settings,
        })
    }

    /// Policy name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the CAPO layer (profile and search path from `options`, else the environment).
    pub fn load_capo(&mut self, options: &CapoOptions) -> Result<(), PolicyError> {
        Ok(self.settings.load_capo(options)?)
    }

    /// Sets a value from a command-line flag; `key` is a full key, a key
    /// without the prefix (`divergenceisfailure`, `quicklook.requiredproducts`),
    /// or `requiredproducts` for the active workflow's list. Unknown keys are an error.
    pub fn set(&mut self, key: &str, value: &str, flag: &str) -> Result<(), PolicyError> {
        let key = key.trim().to_ascii_lowercase();
        let key = if key == KEY_PRODUCTS {
            products_key(&self.name)
        } else if key.starts_with(CAPO_PREFIX) {
            key
        } else {
            full(&key)
        };
        match self.settings.set_flag_from(&key, value, flag) {
            // casa-judge lists its keys with --show-policy, not --show-config.
            Err(CapoError::UnknownKey { key, origin }) => Err(PolicyError(format!(
                "unknown setting '{key}' ({origin}); --show-policy {} lists the known keys",
                self.name
            ))),
            other => Ok(other?),
        }
    }

    /// The value in force and its origin.
    pub fn get(&self, key: &str) -> Option<(String, String)> {
        let key = if key == KEY_PRODUCTS {
            products_key(&self.name)
        } else {
            full(key)
        };
        let value = self.settings.get_str(&key)?.to_string();
        Some((value, self.settings.origin(&key)?.to_string()))
    }

    /// Warnings about the configuration (unknown keys in casa-judge's CAPO namespace, pycapo differences).
    pub fn warnings(&self) -> Vec<String> {
        self.settings.warnings()
    }

    /// The effective policy: CAPO profile and files, then each setting of this
    /// policy with its value, origin and meaning (other workflows' product
    /// lists are left out).
    pub fn describe(&self) -> String {
        let report = self.settings.show_config();
        let mut out = format!("policy {}\n", self.name);
        match &report.profile {
            None => out.push_str("CAPO: not used (no --profile and no CAPO_PROFILE)\n"),
            Some(p) => out.push_str(&format!("CAPO profile: {} (from {})\n", p.name, p.source)),
        }
        for file in &report.files {
            let status = match &file.status {
                vlass_capo::FileStatus::Read { properties } => {
                    format!("read ({properties} properties)")
                }
                vlass_capo::FileStatus::Missing => "missing".to_string(),
                vlass_capo::FileStatus::Unreadable { reason } => format!("unreadable ({reason})"),
            };
            out.push_str(&format!("  {}  {status}\n", file.path.display()));
        }
        let own_products = products_key(&self.name);
        for e in report
            .settings
            .iter()
            .filter(|e| !e.key.ends_with(&format!(".{KEY_PRODUCTS}")) || e.key == own_products)
        {
            out.push_str(&format!(
                "{} = {}    [{}]\n    {}\n",
                e.key, e.value, e.origin, e.why
            ));
        }
        for warning in &report.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out
    }

    /// Checks and converts the settings.
    pub fn to_policy(&self) -> Result<Policy, PolicyError> {
        let s = &self.settings;
        let bad = |key: &str, problem: &str| {
            let value = s.get_str(key).unwrap_or("");
            let origin = s
                .origin(key)
                .map_or("default".to_string(), |o| o.to_string());
            PolicyError(format!("{key} = '{value}' ({origin}): {problem}"))
        };
        let products = products_key(&self.name);
        let expected_products = s.get_list(&products)?;
        for glob in &expected_products {
            globset::Glob::new(glob)
                .map_err(|e| bad(&products, &format!("bad glob '{glob}': {e}")))?;
        }
        let extra_key = full(KEY_EXTRA_BENIGN);
        let mut catalogue = benign_catalogue();
        let builtin_count = catalogue.len();
        let extra = s.get_str(&extra_key).unwrap_or("").to_string();
        for entry in extra.split(";;").map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.split(" | ").map(str::trim).collect();
            let [id, message, reason] = parts[..] else {
                return Err(bad(
                    &extra_key,
                    &format!("entry '{entry}' is not 'id | message regex | reason'"),
                ));
            };
            if id.is_empty() || reason.is_empty() {
                return Err(bad(
                    &extra_key,
                    &format!("entry '{entry}' needs an id and a reason"),
                ));
            }
            let message = Regex::new(message)
                .map_err(|e| bad(&extra_key, &format!("bad regex in '{entry}': {e}")))?;
            catalogue.push(BenignPattern {
                id: id.to_string(),
                origin: None,
                message,
                reason: reason.to_string(),
            });
        }
        let allow_key = full(KEY_ALLOWLIST);
        let mut benign = Vec::new();
        for id in s.get_list(&allow_key)? {
            let pattern = catalogue
                .iter()
                .find(|p| p.id == id)
                .ok_or_else(|| bad(&allow_key, &format!("unknown benign message id '{id}'")))?;
            benign.push(pattern.clone());
        }
        // Entries defined in extrabenignsevere are active without being listed again.
        for p in catalogue.into_iter().skip(builtin_count) {
            if !benign.iter().any(|b| b.id == p.id) {
                benign.push(p);
            }
        }
        let ratio_key = full(KEY_DIVERGENCE_RATIO);
        let divergence_ratio = s.get_f64(&ratio_key)?;
        if divergence_ratio <= 1.0 {
            return Err(bad(&ratio_key, "must be greater than 1"));
        }
        let evidence_key = full(KEY_MAX_EVIDENCE);
        let max_evidence = s.get_usize(&evidence_key)?;
        if max_evidence == 0 {
            return Err(bad(&evidence_key, "must be at least 1"));
        }
        Ok(Policy {
            name: self.name.clone(),
            expected_products,
            benign,
            divergence_is_failure: s.get_bool(&full(KEY_DIVERGENCE_FAILS))?,
            divergence_ratio,
            nonzero_exit_is_fatal: s.get_bool(&full(KEY_NONZERO_FATAL))?,
            max_evidence,
            last_session_only: s.get_bool(&full(KEY_LAST_SESSION))?,
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
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("test.properties"),
            "edu.nrao.vlass.casajudge.divergenceisfailure = no\n\
             edu.nrao.vlass.casajudge.quicklook.requiredproducts = x.fits, y.fits\n",
        )
        .unwrap();
        let mut s = PolicySettings::builtin("quicklook").unwrap();
        assert_eq!(s.get(KEY_PRODUCTS).unwrap().1, "default");
        s.load_capo(&CapoOptions {
            profile: Some("test".to_string()),
            path: Some(dir.path().display().to_string()),
        })
        .unwrap();
        let p = s.to_policy().unwrap();
        assert!(!p.divergence_is_failure);
        assert_eq!(p.expected_products, vec!["x.fits", "y.fits"]);
        assert!(s.get(KEY_DIVERGENCE_FAILS).unwrap().1.starts_with("capo: "));
        s.set(KEY_PRODUCTS, "a.fits", "--expect").unwrap();
        s.set(KEY_DIVERGENCE_FAILS, "true", "--set").unwrap();
        let p = s.to_policy().unwrap();
        assert!(p.divergence_is_failure);
        assert_eq!(p.expected_products, vec!["a.fits"]);
        assert_eq!(s.get(KEY_PRODUCTS).unwrap().1, "flag: --expect");
        assert!(s
            .describe()
            .contains("quicklook.requiredproducts = a.fits    [flag: --expect]"));
        assert!(!s.describe().contains("se_calibration.requiredproducts"));
        assert_eq!(
            s.set("nosuchkey", "1", "--set").unwrap_err().to_string(),
            "unknown setting 'edu.nrao.vlass.casajudge.nosuchkey' (flag: --set); \
             --show-policy quicklook lists the known keys"
        );
    }

    #[test]
    fn bad_values_name_key_value_and_origin() {
        let mut s = PolicySettings::builtin("default").unwrap();
        s.set(KEY_DIVERGENCE_RATIO, "lots", "--set").unwrap();
        let e = s.to_policy().unwrap_err().to_string();
        assert!(e.contains("divergenceratio") && e.contains("lots"), "{e}");
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
