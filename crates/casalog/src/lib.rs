//! vlass-casalog: placeholder until its issue lands.
