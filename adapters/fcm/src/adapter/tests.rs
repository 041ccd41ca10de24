//! Tests of the adapter that need no network.
