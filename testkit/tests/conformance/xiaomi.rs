//! The conformance suite for the Xiaomi adapter (filled in with the adapter).
