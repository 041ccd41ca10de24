//! pushgate's minimal online core (placeholder until it is built).
