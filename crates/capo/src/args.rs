//! The command-line flags every tool offers for configuration, as a `clap` argument group.

use crate::locate::CapoOptions;

/// Output form of `--show-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Aligned lines for people.
    Text,
    /// One JSON document for machines.
    Json,
}

/// `--capo-profile` (alias `--profile`), `--capo-path` and `--show-config[=text|json]`; flatten into a tool's
/// arguments with `#[command(flatten)]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CapoArgs {
    /// CAPO profile (e.g. production, test); default: $CAPO_PROFILE; none: CAPO not used.
    /// `--profile` is the same flag, the name the other tools and the issues use.
    #[arg(long, visible_alias = "profile", value_name = "PROFILE")]
    pub capo_profile: Option<String>,
    /// Colon-separated CAPO directories; default: $CAPO_PATH, else /home/casa/capo:/home/ssa/capo
    /// (~/.capo is always read last).
    #[arg(long, value_name = "DIRS")]
    pub capo_path: Option<String>,
    /// Print every setting with its value and origin, then exit 0.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text", require_equals = true)]
    pub show_config: Option<ShowFormat>,
}

impl CapoArgs {
    /// The file-locating part of the flags.
    pub fn options(&self) -> CapoOptions {
        CapoOptions {
            profile: self.capo_profile.clone(),
            path: self.capo_path.clone(),
        }
    }
}
