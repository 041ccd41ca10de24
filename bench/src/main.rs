//! End-to-end benchmark (being written).
fn main() {}
