//! vlass-imstats: placeholder until its issue lands.
