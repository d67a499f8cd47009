//! Source finding on one image plane: background -> islands -> Gaussian fits
//! -> sources, with plain data in between (SEP's shape). The finder works in
//! pixel coordinates; turning results into sky catalogues is `catalog`'s job.

pub mod model;
