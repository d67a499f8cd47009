//! Which CAPO files a run reads: the profile, the search path and `~/.capo`.
//!
//! Profile: the `--capo-profile` flag, else `CAPO_PROFILE`; with neither, CAPO is not used (a
//! deliberate difference from pycapo, which fails, so that tools also run on laptops and in
//! tests). Path: the `--capo-path` flag, else `CAPO_PATH`, else `/home/casa/capo:/home/ssa/capo`,
//! colon-separated with empty parts ignored, and `$HOME/.capo` always appended last (skipped
//! when `HOME` is unset, as can happen under HTCondor). In each directory only
//! `<profile>.properties` is read; later files override earlier ones. An empty flag or an empty
//! `CAPO_PROFILE` counts as not given; an empty `CAPO_PATH` leaves only `~/.capo`, as in pycapo.

use serde::Serialize;
use std::path::PathBuf;

/// pycapo's built-in search path.
pub const DEFAULT_PATH: &str = "/home/casa/capo:/home/ssa/capo";

/// Command-line choices that locate CAPO files (`--capo-profile`, `--capo-path`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapoOptions {
    /// Profile from the command line; overrides `CAPO_PROFILE`.
    pub profile: Option<String>,
    /// Colon-separated directories from the command line; overrides `CAPO_PATH`.
    pub path: Option<String>,
}

/// Where environment variables come from (the process, or a fixed map in tests).
pub trait Environment {
    /// The variable's value, `None` when unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl Environment for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The profile in use and where it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Profile name, e.g. `production`.
    pub name: String,
    /// `flag --capo-profile` or `CAPO_PROFILE`.
    pub source: String,
}

/// What happened to one candidate file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum FileStatus {
    /// Read; the number of properties it held.
    Read {
        /// Properties in the file.
        properties: usize,
    },
    /// No such file.
    Missing,
    /// Present but could not be read.
    Unreadable {
        /// The operating system's reason.
        reason: String,
    },
}

/// One candidate file of the search path, in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateFile {
    /// `<directory>/<profile>.properties`.
    pub path: PathBuf,
    /// Filled in when the file is read.
    #[serde(flatten)]
    pub status: FileStatus,
}

/// Resolves the profile from flag or environment; `Ok(None)` means CAPO is not used.
pub fn profile(opts: &CapoOptions, env: &dyn Environment) -> Result<Option<Profile>, String> {
    let chosen = match non_empty(opts.profile.clone()) {
        Some(name) => Some((name, "flag --capo-profile")),
        None => non_empty(env.var("CAPO_PROFILE")).map(|name| (name, "CAPO_PROFILE")),
    };
    match chosen {
        None => Ok(None),
        Some((name, source)) if name.contains('/') || name.contains('\0') => Err(format!(
            "CAPO profile '{name}' (from {source}) must be a plain name, not a path"
        )),
        Some((name, source)) => Ok(Some(Profile {
            name,
            source: source.to_string(),
        })),
    }
}

/// The candidate directories in reading order (last wins), `~/.capo` included.
pub fn search_directories(opts: &CapoOptions, env: &dyn Environment) -> Vec<PathBuf> {
    let path = non_empty(opts.path.clone())
        .or_else(|| env.var("CAPO_PATH"))
        .unwrap_or_else(|| DEFAULT_PATH.to_string());
    let mut dirs: Vec<PathBuf> = path
        .split(':')
        .filter(|part| !part.is_empty())
        .map(PathBuf::from)
        .collect();
    if let Some(home) = non_empty(env.var("HOME")) {
        dirs.push(PathBuf::from(home).join(".capo"));
    }
    dirs
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn profile_flag_beats_environment() {
        let e = env(&[("CAPO_PROFILE", "test")]);
        let flag = CapoOptions {
            profile: Some("production".into()),
            path: None,
        };
        assert_eq!(
            profile(&flag, &e).ok().flatten().map(|p| p.name),
            Some("production".into())
        );
        let from_env = profile(&CapoOptions::default(), &e).ok().flatten();
        assert_eq!(from_env.map(|p| p.source), Some("CAPO_PROFILE".into()));
        assert_eq!(
            profile(&CapoOptions::default(), &env(&[("CAPO_PROFILE", "")])),
            Ok(None)
        );
        assert!(profile(
            &CapoOptions {
                profile: Some("../x".into()),
                path: None
            },
            &e
        )
        .is_err());
    }

    #[test]
    fn search_path_order() {
        let e = env(&[("CAPO_PATH", "/a::/b"), ("HOME", "/home/me")]);
        assert_eq!(
            search_directories(&CapoOptions::default(), &e),
            vec![
                PathBuf::from("/a"),
                PathBuf::from("/b"),
                PathBuf::from("/home/me/.capo")
            ]
        );
        let flag = CapoOptions {
            profile: None,
            path: Some("/c".into()),
        };
        assert_eq!(
            search_directories(&flag, &e),
            vec![PathBuf::from("/c"), PathBuf::from("/home/me/.capo")]
        );
        // Empty CAPO_PATH: only ~/.capo (pycapo does the same).
        assert_eq!(
            search_directories(
                &CapoOptions::default(),
                &env(&[("CAPO_PATH", ""), ("HOME", "/h")])
            ),
            vec![PathBuf::from("/h/.capo")]
        );
        // Default path; no HOME (HTCondor): no ~/.capo.
        assert_eq!(
            search_directories(&CapoOptions::default(), &env(&[])),
            vec![
                PathBuf::from("/home/casa/capo"),
                PathBuf::from("/home/ssa/capo")
            ]
        );
    }
}
