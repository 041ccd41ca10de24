//! The vendor adapters this binary serves, registered explicitly in one visible list, each
//! behind its Cargo feature, with its `[vendors.<vendor>]` configuration.

use push_core::adapter::AdapterRegistry;
use push_core::token_cache::SharedTokens;
use serde::Deserialize;
use std::sync::Arc;

/// `[vendors.<vendor>]`: each adapter's own configuration (endpoints, extra CA, timeouts).
/// Every section is optional; the defaults are the vendors' real production hosts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VendorsConfig {
    /// APNs (`[vendors.apns]`).
    #[cfg(feature = "apns")]
    pub apns: pushgate_apns::ApnsConfig,
    /// FCM (`[vendors.fcm]`).
    #[cfg(feature = "fcm")]
    pub fcm: pushgate_fcm::FcmConfig,
    /// Huawei Push Kit (`[vendors.huawei]`).
    #[cfg(feature = "huawei")]
    pub huawei: pushgate_huawei::HuaweiConfig,
    /// Xiaomi MiPush (`[vendors.xiaomi]`).
    #[cfg(feature = "xiaomi")]
    pub xiaomi: pushgate_xiaomi::XiaomiConfig,
    /// OPPO push (`[vendors.oppo]`).
    #[cfg(feature = "oppo")]
    pub oppo: pushgate_oppo::OppoConfig,
    /// vivo push (`[vendors.vivo]`).
    #[cfg(feature = "vivo")]
    pub vivo: pushgate_vivo::VivoConfig,
    /// Honor Push (`[vendors.honor]`).
    #[cfg(feature = "honor")]
    pub honor: pushgate_honor::HonorConfig,
    /// WeChat template / subscribe messages (`[vendors.wechat]`).
    #[cfg(feature = "wechat")]
    pub wechat: pushgate_wechat::WechatConfig,
}

/// An adapter that could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: vendors.{vendor}: {message}")]
pub struct AdapterConfigError {
    /// The vendor section.
    pub vendor: &'static str,
    /// What is wrong (the adapter's own message, naming the field).
    pub message: String,
}

/// Builds every enabled adapter; with `shared_tokens`, the adapters whose vendors punish
/// frequent token fetches keep their auth tokens there, shared by every instance.
pub fn registry(
    config: &VendorsConfig,
    shared_tokens: Option<Arc<dyn SharedTokens>>,
) -> Result<AdapterRegistry, AdapterConfigError> {
    #[allow(unused_mut)]
    let mut registry = AdapterRegistry::new();
    if let Some(tokens) = shared_tokens {
        registry = registry.with_shared_tokens(tokens);
    }
    #[cfg(feature = "apns")]
    pushgate_apns::register(&mut registry, config.apns.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "apns",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "fcm")]
    pushgate_fcm::register(&mut registry, config.fcm.clone()).map_err(|e| AdapterConfigError {
        vendor: "fcm",
        message: e.to_string(),
    })?;
    #[cfg(feature = "huawei")]
    pushgate_huawei::register(&mut registry, config.huawei.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "huawei",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "xiaomi")]
    pushgate_xiaomi::register(&mut registry, config.xiaomi.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "xiaomi",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "oppo")]
    pushgate_oppo::register(&mut registry, config.oppo.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "oppo",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "vivo")]
    pushgate_vivo::register(&mut registry, config.vivo.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "vivo",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "honor")]
    pushgate_honor::register(&mut registry, config.honor.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "honor",
            message: e.to_string(),
        }
    })?;
    #[cfg(feature = "wechat")]
    pushgate_wechat::register(&mut registry, config.wechat.clone()).map_err(|e| {
        AdapterConfigError {
            vendor: "wechat",
            message: e.to_string(),
        }
    })?;
    let _ = config;
    Ok(registry)
}
