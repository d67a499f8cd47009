//! vlass-fits: placeholder until its issue lands.
