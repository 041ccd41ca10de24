//! pushgate's OPPO push adapter. Placeholder: [`register`] adds nothing yet.

use push_core::adapter::AdapterRegistry;
use serde::{Deserialize, Serialize};

/// Configuration of the Oppo adapter (`[vendors.oppo]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OppoConfig {}

/// The adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

/// Adds the Oppo adapter to `registry`.
pub fn register(registry: &mut AdapterRegistry, config: OppoConfig) -> Result<(), BuildError> {
    let _ = (registry, config);
    Ok(())
}
