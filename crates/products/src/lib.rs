//! vlass-products: placeholder until its issue lands.
