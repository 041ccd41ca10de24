//! pushgate's Xiaomi MiPush adapter. Placeholder: [`register`] adds nothing yet.

use push_core::adapter::AdapterRegistry;
use serde::{Deserialize, Serialize};

/// Configuration of the Xiaomi adapter (`[vendors.xiaomi]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XiaomiConfig {}

/// The adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

/// Adds the Xiaomi adapter to `registry`.
pub fn register(registry: &mut AdapterRegistry, config: XiaomiConfig) -> Result<(), BuildError> {
    let _ = (registry, config);
    Ok(())
}
