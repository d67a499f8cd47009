//! vlass-sourcefind: placeholder until its issue lands.
