//! pushgate's WeChat template / subscribe messages adapter. Placeholder: [`register`] adds nothing yet.

use push_core::adapter::AdapterRegistry;
use serde::{Deserialize, Serialize};

/// Configuration of the Wechat adapter (`[vendors.wechat]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {}

/// The adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

/// Adds the Wechat adapter to `registry`.
pub fn register(registry: &mut AdapterRegistry, config: WechatConfig) -> Result<(), BuildError> {
    let _ = (registry, config);
    Ok(())
}
