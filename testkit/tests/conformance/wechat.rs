//! The conformance suite for the Wechat adapter (filled in with the adapter).
