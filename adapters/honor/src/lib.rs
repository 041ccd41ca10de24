//! pushgate's Honor Push adapter. Placeholder: [`register`] adds nothing yet.

use push_core::adapter::AdapterRegistry;
use serde::{Deserialize, Serialize};

/// Configuration of the Honor adapter (`[vendors.honor]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HonorConfig {}

/// The adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

/// Adds the Honor adapter to `registry`.
pub fn register(registry: &mut AdapterRegistry, config: HonorConfig) -> Result<(), BuildError> {
    let _ = (registry, config);
    Ok(())
}
