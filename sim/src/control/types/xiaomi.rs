//! Control API types of the Xiaomi simulator.
