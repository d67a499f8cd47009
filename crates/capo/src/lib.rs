//! vlass-capo: NRAO CAPO configuration and the layered settings every tool reads.
//!
//! CAPO files are `<profile>.properties` files found along a search path (see
//! [`locate`]); they are read with the same rules as NRAO's `pycapo` (see [`properties`]), later
//! files winning. [`Settings`] stacks three layers — built-in defaults, CAPO files, command-line
//! flags — and remembers for every value where it came from, so `--show-config` can print each
//! effective value with its origin. Key names live under `edu.nrao.vlass.` (see [`keys`]).

mod args;
mod error;
pub mod keys;
pub mod locate;
pub mod properties;
mod settings;

pub use args::{CapoArgs, ShowFormat};
pub use error::CapoError;
pub use locate::{CapoOptions, Environment, FileStatus, ProcessEnvironment};
pub use settings::{Effective, Origin, Settings, ShowConfig};
