//! Layered settings: built-in defaults < CAPO files < command-line flags, each value with its
//! origin.
//!
//! A tool declares every key it reads with [`Settings::default_value`] (value plus a one-line
//! reason), then loads CAPO and applies flags in any order; the layer order, not the call order,
//! decides. CAPO files may hold any keys (they are shared with other NRAO software), and all of
//! them can be read with [`Settings::get_str`]; keys under one of the tool's own namespaces that
//! the tool did not declare are reported as probable typos by [`Settings::warnings`]. Flags may
//! only set declared keys, so a mistyped `--threshold` is an error rather than a no-op.

use crate::error::CapoError;
use crate::keys::{canonical, ROOT};
use crate::locate::{self, CandidateFile, CapoOptions, Environment, FileStatus, Profile};
use crate::properties;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The tool's built-in default.
    Default,
    /// A CAPO file and the line of the key.
    Capo {
        /// The properties file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A command-line flag, e.g. `--threshold`.
    Flag {
        /// The flag as the user typed it (or `flag` when the caller did not say).
        flag: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Capo { file, line } => write!(f, "capo: {}:{line}", file.display()),
            Origin::Flag { flag } => write!(f, "flag: {flag}"),
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One effective setting, as `--show-config` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// Lower-case key.
    pub key: String,
    /// The value in force.
    pub value: String,
    /// Where it came from, e.g. `default`, `capo: <file>:<line>`, `flag: --threshold`.
    pub origin: String,
    /// The built-in default (empty for undeclared keys).
    pub default: String,
    /// Why the default is what it is (empty for undeclared keys).
    pub why: String,
}

/// Everything `--show-config` reports; `Display` is the text form, serde the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShowConfig {
    /// Whether CAPO loading was attempted at all.
    pub capo_loaded: bool,
    /// The profile in use (`None`: CAPO not used).
    pub profile: Option<Profile>,
    /// The candidate files in reading order with what happened to each.
    pub files: Vec<CandidateFile>,
    /// Every declared key, sorted.
    pub settings: Vec<Effective>,
    /// Undeclared keys under the tool's own namespaces (probable typos).
    pub unknown_keys: Vec<Effective>,
    /// Notes for operators (unknown keys, pycapo differences).
    pub warnings: Vec<String>,
}

impl fmt::Display for ShowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.profile, self.capo_loaded) {
            (_, false) => writeln!(f, "CAPO profile: not loaded")?,
            (None, true) => writeln!(
                f,
                "CAPO profile: none (CAPO not used; give --capo-profile or set CAPO_PROFILE)"
            )?,
            (Some(profile), true) => writeln!(
                f,
                "CAPO profile: {} (from {})",
                profile.name, profile.source
            )?,
        }
        if !self.files.is_empty() {
            writeln!(f, "CAPO files (read in this order, later ones win):")?;
            let width = self
                .files
                .iter()
                .map(|c| c.path.display().to_string().len())
                .max()
                .unwrap_or(0);
            for candidate in &self.files {
                let status = match &candidate.status {
                    FileStatus::Read { properties } => format!("read ({properties} properties)"),
                    FileStatus::Missing => "missing".to_string(),
                    FileStatus::Unreadable { reason } => format!("unreadable ({reason})"),
                };
                writeln!(
                    f,
                    "  {:<width$}  {status}",
                    candidate.path.display().to_string()
                )?;
            }
        }
        writeln!(f, "settings:")?;
        write_aligned(f, &self.settings)?;
        if !self.unknown_keys.is_empty() {
            writeln!(f, "unknown keys in CAPO (not read by this tool):")?;
            write_aligned(f, &self.unknown_keys)?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}

fn write_aligned(f: &mut fmt::Formatter<'_>, rows: &[Effective]) -> fmt::Result {
    let shown: Vec<String> = rows.iter().map(|e| e.value.replace('\n', "\\n")).collect();
    let key_width = rows.iter().map(|e| e.key.len()).max().unwrap_or(0);
    let value_width = shown.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    for (row, value) in rows.iter().zip(&shown) {
        writeln!(
            f,
            "  {:<key_width$} = {value:<value_width$}  [{}]",
            row.key, row.origin
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct Declared {
    default: String,
    why: String,
}

/// The settings of one tool run; see the module documentation for the layering rules.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    declared: BTreeMap<String, Declared>,
    capo: BTreeMap<String, (String, Origin)>,
    flags: BTreeMap<String, (String, Origin)>,
    capo_loaded: bool,
    profile: Option<Profile>,
    files: Vec<CandidateFile>,
    pycapo_differences: Vec<String>,
}

impl Settings {
    /// Empty settings: no keys declared, CAPO not loaded.
    pub fn new() -> Settings {
        Settings::default()
    }

    /// Declares `key` with its built-in default and a one-line justification. Declaring a key
    /// again replaces its default.
    pub fn default_value(&mut self, key: &str, value: &str, why: &str) {
        self.declared.insert(
            canonical(key),
            Declared {
                default: value.to_string(),
                why: why.to_string(),
            },
        );
    }

    /// Reads the CAPO files selected by `opts` and the process environment (`CAPO_PROFILE`,
    /// `CAPO_PATH`, `HOME`, and variables named by `${env:NAME}`).
    pub fn load_capo(&mut self, opts: &CapoOptions) -> Result<(), CapoError> {
        self.load_capo_with(opts, &locate::ProcessEnvironment)
    }

    /// [`Settings::load_capo`] with an explicit environment. Replaces any earlier CAPO layer.
    /// Missing or unreadable files are skipped and reported by [`Settings::show_config`]; a
    /// syntax error in a file that was read is an error.
    pub fn load_capo_with(
        &mut self,
        opts: &CapoOptions,
        env: &dyn Environment,
    ) -> Result<(), CapoError> {
        self.capo.clear();
        self.files.clear();
        self.pycapo_differences.clear();
        self.capo_loaded = true;
        self.profile = locate::profile(opts, env).map_err(CapoError::Profile)?;
        let Some(profile) = self.profile.clone() else {
            return Ok(());
        };
        for dir in locate::search_directories(opts, env) {
            let path = dir.join(format!("{}.properties", profile.name));
            let status = match properties::read(&path, env) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileStatus::Missing,
                Err(e) => FileStatus::Unreadable {
                    reason: e.to_string(),
                },
                Ok(parsed) => {
                    let parsed = parsed?;
                    for property in &parsed {
                        if property.several_env_references {
                            self.pycapo_differences.push(format!(
                                "{} ({}:{}) has several ${{env:...}} references; pycapo would give all of them the first variable's value",
                                property.key,
                                path.display(),
                                property.line
                            ));
                        }
                        let origin = Origin::Capo {
                            file: path.clone(),
                            line: property.line,
                        };
                        self.capo
                            .insert(property.key.clone(), (property.value.clone(), origin));
                    }
                    FileStatus::Read {
                        properties: parsed.len(),
                    }
                }
            };
            self.files.push(CandidateFile { path, status });
        }
        Ok(())
    }

    /// Sets a declared key from a command line; see [`Settings::set_flag_from`].
    pub fn set_flag(&mut self, key: &str, value: &str) -> Result<(), CapoError> {
        self.set_flag_from(key, value, "flag")
    }

    /// Sets a declared key from the command-line flag `flag` (recorded as the origin). `key` is
    /// a full key or, when unique among the declared keys, its last component
    /// (`rmsmaxjy` for `edu.nrao.vlass.qa.rmsmaxjy`); case does not matter.
    pub fn set_flag_from(&mut self, key: &str, value: &str, flag: &str) -> Result<(), CapoError> {
        let resolved = self.resolve_declared(key, flag)?;
        self.flags.insert(
            resolved,
            (
                value.to_string(),
                Origin::Flag {
                    flag: flag.to_string(),
                },
            ),
        );
        Ok(())
    }

    /// Applies a `KEY=VALUE` flag argument such as `--threshold rmsmaxjy=0.0002`.
    pub fn apply_assignment(&mut self, assignment: &str, flag: &str) -> Result<(), CapoError> {
        match assignment.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                self.set_flag_from(key.trim(), value.trim(), flag)
            }
            _ => Err(CapoError::NotAnAssignment {
                text: assignment.to_string(),
                origin: format!("flag: {flag}"),
            }),
        }
    }

    /// The value in force for `key` (any key, declared or not), compared case-insensitively.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.lookup(&canonical(key)).map(|(value, _)| value)
    }

    /// Where the value in force for `key` came from.
    pub fn origin(&self, key: &str) -> Option<Origin> {
        self.lookup(&canonical(key)).map(|(_, origin)| origin)
    }

    /// The value as a finite floating-point number.
    pub fn get_f64(&self, key: &str) -> Result<f64, CapoError> {
        self.typed(key, "a finite number", |v| {
            v.parse::<f64>().ok().filter(|x| x.is_finite())
        })
    }

    /// The value as a non-negative integer.
    pub fn get_usize(&self, key: &str) -> Result<usize, CapoError> {
        self.typed(key, "a non-negative integer", |v| v.parse::<usize>().ok())
    }

    /// The value as a signed integer.
    pub fn get_i64(&self, key: &str) -> Result<i64, CapoError> {
        self.typed(key, "an integer", |v| v.parse::<i64>().ok())
    }

    /// The value as a boolean, with pycapo's words: `1/on/yes/true`, `0/off/no/false`
    /// (any case).
    pub fn get_bool(&self, key: &str) -> Result<bool, CapoError> {
        self.typed(key, "true/false, yes/no, on/off or 1/0", |v| {
            match v.to_ascii_lowercase().as_str() {
                "1" | "on" | "yes" | "true" => Some(true),
                "0" | "off" | "no" | "false" => Some(false),
                _ => None,
            }
        })
    }

    /// The value as a comma-separated list; items are trimmed and empty items dropped.
    pub fn get_list(&self, key: &str) -> Result<Vec<String>, CapoError> {
        self.typed(key, "a comma-separated list", |v| {
            Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        })
    }

    /// The error for a value in force that is not `expected` (e.g. `a finite number`), naming
    /// key, value and origin (`FILE:LINE` for a CAPO value). For callers that convert values
    /// themselves, so their errors read like those of the typed getters.
    pub fn invalid(&self, key: &str, expected: &str) -> CapoError {
        let key = canonical(key);
        let (value, origin) = match self.lookup(&key) {
            Some((value, origin)) => (value.to_string(), origin),
            None => (String::new(), Origin::Default),
        };
        CapoError::Invalid {
            key,
            value,
            origin,
            expected: expected.to_string(),
        }
    }

    /// Every declared key with its value in force, sorted by key.
    pub fn describe(&self) -> Vec<Effective> {
        self.declared
            .iter()
            .map(|(key, declared)| {
                let (value, origin) = self
                    .lookup(key)
                    .unwrap_or((declared.default.as_str(), Origin::Default));
                Effective {
                    key: key.clone(),
                    value: value.to_string(),
                    origin: origin.to_string(),
                    default: declared.default.clone(),
                    why: declared.why.clone(),
                }
            })
            .collect()
    }

    /// CAPO keys under one of the tool's namespaces (`edu.nrao.vlass.<ns>.` of a declared key,
    /// e.g. `edu.nrao.vlass.qa.`) that the tool does not declare: probably typos.
    pub fn unknown_keys(&self) -> Vec<Effective> {
        let namespaces: Vec<&str> = self
            .declared
            .keys()
            .filter_map(|key| {
                let rest = key.strip_prefix(ROOT)?;
                let dot = rest.find('.')?;
                Some(&key[..ROOT.len() + dot + 1])
            })
            .collect();
        self.capo
            .iter()
            .filter(|(key, _)| !self.declared.contains_key(*key))
            .filter(|(key, _)| namespaces.iter().any(|ns| key.starts_with(ns)))
            .map(|(key, (value, origin))| Effective {
                key: key.clone(),
                value: value.clone(),
                origin: origin.to_string(),
                default: String::new(),
                why: String::new(),
            })
            .collect()
    }

    /// Warnings worth printing at start-up: unknown keys in the tool's namespaces and values
    /// where pycapo would read the file differently.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .unknown_keys()
            .iter()
            .map(|e| {
                format!(
                    "unknown setting {} ({}) is ignored; a typo?",
                    e.key, e.origin
                )
            })
            .collect();
        warnings.extend(self.pycapo_differences.iter().cloned());
        warnings
    }

    /// The full `--show-config` report.
    pub fn show_config(&self) -> ShowConfig {
        ShowConfig {
            capo_loaded: self.capo_loaded,
            profile: self.profile.clone(),
            files: self.files.clone(),
            settings: self.describe(),
            unknown_keys: self.unknown_keys(),
            warnings: self.warnings(),
        }
    }

    fn lookup(&self, key: &str) -> Option<(&str, Origin)> {
        if let Some((value, origin)) = self.flags.get(key).or_else(|| self.capo.get(key)) {
            return Some((value.as_str(), origin.clone()));
        }
        self.declared
            .get(key)
            .map(|d| (d.default.as_str(), Origin::Default))
    }

    fn typed<T>(
        &self,
        key: &str,
        expected: &str,
        convert: impl Fn(&str) -> Option<T>,
    ) -> Result<T, CapoError> {
        let key = canonical(key);
        let (value, _) = self
            .lookup(&key)
            .ok_or_else(|| CapoError::Missing { key: key.clone() })?;
        convert(value.trim()).ok_or_else(|| self.invalid(&key, expected))
    }

    fn resolve_declared(&self, key: &str, flag: &str) -> Result<String, CapoError> {
        let wanted = canonical(key);
        if self.declared.contains_key(&wanted) {
            return Ok(wanted);
        }
        let suffix = format!(".{wanted}");
        let candidates: Vec<String> = self
            .declared
            .keys()
            .filter(|k| k.ends_with(&suffix))
            .cloned()
            .collect();
        match candidates.len() {
            1 => Ok(candidates.into_iter().next().unwrap_or_default()),
            0 => Err(CapoError::UnknownKey {
                key: key.to_string(),
                origin: format!("flag: {flag}"),
            }),
            _ => Err(CapoError::AmbiguousKey {
                key: key.to_string(),
                candidates,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
