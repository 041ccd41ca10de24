//! vivo push settings of an app: message classification (see [`super::CATEGORIES`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// vivo push settings of an app. Placeholder shape until the adapter lands: a `categories` map
/// from pushgate's category to the value registered in the vendor's console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VivoSettings {
    /// pushgate category → the vendor's classification value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, String>,
}

impl VivoSettings {
    /// Appends every problem as `(field path, reason)`.
    pub fn problems(&self, out: &mut Vec<(String, String)>) {
        let _ = out;
    }
}
