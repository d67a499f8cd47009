//! vlass-fits: reading VLASS/CASA FITS images.
//!
//! * [`verify_file`]: a pure-Rust check that a `.fits` or `.fits.gz` file has
//!   a readable primary header and all the data bytes its NAXISn/BITPIX
//!   promise (no cfitsio involved).
//! * [`Image`]: one image HDU opened through the bundled cfitsio, with typed
//!   [`Header`] access, axes found by CTYPE, per-plane frequency, Stokes and
//!   restoring beam ([`PlaneInfo`]), plane-by-plane pixel reads (or, for plain
//!   float32 files, planes mapped from the file: [`MappedPlane`]) and the
//!   celestial WCS ([`vlass_wcs::Wcs`]).
//!
//! Every failure is a [`FitsError`] whose Display is one line naming the file,
//! the HDU (0 = primary) and the keyword. `Image` is not `Send`: open one per
//! thread or rayon task.
//!
//! ```no_run
//! use std::path::Path;
//! # fn main() -> Result<(), vlass_fits::FitsError> {
//! let mut image = vlass_fits::Image::open(Path::new("cube.fits"))?;
//! let wcs = image.wcs()?;
//! for index in 0..image.plane_count() {
//!     let info = image.planes()[index].clone();
//!     let plane = image.read_plane(index)?; // [ny, nx], NaN = blanked
//!     let peak = plane.iter().copied().filter(|v| v.is_finite()).fold(f32::MIN, f32::max);
//!     println!("{:?} Hz, beam {:?}, peak {peak}", info.frequency_hz, info.beam);
//! }
//! let (ra_deg, dec_deg) = wcs.pixel_to_world(0.0, 0.0).expect("inside the projection");
//! # let _ = (ra_deg, dec_deg);
//! # Ok(())
//! # }
//! ```

mod card;
mod cfitsio;
mod error;
mod header;
mod image;
mod map_guard;
mod verify;

pub use card::Card;
pub use error::FitsError;
pub use header::Header;
pub use image::{Beam, Image, MappedPlane, PlaneInfo};
pub use map_guard::{exit_cleanly_on_truncated_maps, Registration as MapRegistration};
pub use verify::{verify_file, FileSummary};
pub use vlass_wcs::Wcs;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod image_tests;
#[cfg(test)]
mod testutil;
