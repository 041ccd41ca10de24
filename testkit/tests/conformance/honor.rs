//! The conformance suite for the Honor adapter (filled in with the adapter).
