//! Control API types of the Vivo simulator.
