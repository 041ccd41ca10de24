//! Control API types of the Honor simulator.
