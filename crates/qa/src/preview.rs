//! PNG previews of an image plane for operators.
