//! The conformance suite for the Vivo adapter (filled in with the adapter).
