//! APNs adapter (being written).
