//! vlass-capo: placeholder until its issue lands.
