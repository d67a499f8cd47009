//! Safe in-place FITS header annotation (data unit untouched, atomic replace).
