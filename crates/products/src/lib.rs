//! vlass-products: VLASS product file names parsed into typed values.
//!
//! A VLASS archive file name carries the facts about the product it belongs to: epoch, product
//! kind (Quick Look, Single Epoch, coarse cube), tile, phase centre, cell and bandwidth codes,
//! version, spectral window, Stokes, clean iteration and image type. [`parse`] splits a name into
//! a [`ProductName`]; [`ProductName::group_key`] is the same for every file of one product, so a
//! directory listing can be grouped into products (an image with its rms, alpha, pb, ... files).
//! Names that do not follow the scheme are rejected with a [`NameError`] saying why.

mod name;

pub use name::{parse, ImageType, Kind, NameError, ProductName};
