//! vlass-fits: reading VLASS/CASA FITS images.
//!
//! * [`verify_file`]: a pure-Rust check that a `.fits` or `.fits.gz` file has
//!   a readable primary header and all the data bytes its NAXISn/BITPIX
//!   promise (no cfitsio involved).
//! * [`Image`]: one image HDU opened through the bundled cfitsio, with typed
//!   [`Header`] access, axes found by CTYPE, per-plane frequency, Stokes and
//!   restoring beam ([`PlaneInfo`]), plane-by-plane pixel reads and the
//!   celestial WCS ([`vlass_wcs::Wcs`]).
//!
//! Every failure is a [`FitsError`] whose Display is one line naming the file,
//! the HDU (0 = primary) and the keyword. `Image` is not `Send`: open one per
//! thread or rayon task.

mod card;
mod cfitsio;
mod error;
mod header;
mod image;
mod verify;

pub use card::Card;
pub use error::FitsError;
pub use header::Header;
pub use image::{Beam, Image, PlaneInfo};
pub use verify::{verify_file, FileSummary};
pub use vlass_wcs::Wcs;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod image_tests;
#[cfg(test)]
mod testutil;
