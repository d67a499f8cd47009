//! vlass-qa: placeholder until its issue lands.
