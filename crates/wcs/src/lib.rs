//! vlass-wcs: placeholder until its issue lands.
