//! Vendor simulator (being written).
