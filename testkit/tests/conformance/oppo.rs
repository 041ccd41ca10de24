//! The conformance suite for the Oppo adapter (filled in with the adapter).
