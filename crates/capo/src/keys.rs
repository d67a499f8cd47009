//! The toolkit's CAPO key namespace: one prefix per tool plus a shared one.
//!
//! Every key lives under `edu.nrao.vlass.`. The key for a command-line flag `--foo-bar` is the
//! tool's prefix followed by the flag name without dashes, lower-case (`foobar`), so the mapping
//! between flags and CAPO keys is mechanical. Keys compare case-insensitively.

/// Root of every key this toolkit reads.
pub const ROOT: &str = "edu.nrao.vlass.";
/// Keys shared by all tools (e.g. `threads`, `logformat`).
pub const COMMON: &str = "edu.nrao.vlass.common.";
/// casa-judge policy keys (e.g. `severeallowlist`, `divergenceisfailure`).
pub const CASA_JUDGE: &str = "edu.nrao.vlass.casajudge.";
/// annotate-qa thresholds (e.g. `rmsmaxjy`, `beammaxarcsec`, `nanfractionmax`).
pub const ANNOTATE_QA: &str = "edu.nrao.vlass.qa.";
/// component-list settings (e.g. `snrthreshold`, `islandthreshold`, `maxcomponents`).
pub const COMPONENT_LIST: &str = "edu.nrao.vlass.componentlist.";

/// The CAPO key for a flag of a tool: `flag_key(ANNOTATE_QA, "--rms-max-jy")` is
/// `edu.nrao.vlass.qa.rmsmaxjy`.
pub fn flag_key(prefix: &str, flag: &str) -> String {
    let leaf: String = flag
        .trim_start_matches('-')
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    format!("{prefix}{leaf}")
}

/// Canonical (lower-case) form of a key; all comparisons use it.
pub fn canonical(key: &str) -> String {
    key.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_map_to_keys() {
        assert_eq!(
            flag_key(ANNOTATE_QA, "--rms-max-jy"),
            "edu.nrao.vlass.qa.rmsmaxjy"
        );
        assert_eq!(
            flag_key(CASA_JUDGE, "--severe-allow-list"),
            "edu.nrao.vlass.casajudge.severeallowlist"
        );
        assert_eq!(flag_key(COMMON, "threads"), "edu.nrao.vlass.common.threads");
        assert_eq!(
            canonical(" Edu.NRAO.vlass.QA.RmsMaxJy "),
            "edu.nrao.vlass.qa.rmsmaxjy"
        );
    }
}
