//! Control API types of the Oppo simulator.
