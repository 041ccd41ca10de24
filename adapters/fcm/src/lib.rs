//! FCM adapter (being written).
