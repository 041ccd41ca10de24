//! The push channels a device can register with.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The channel through which a device is woken: one vendor push service, or a WeChat
/// official-account (`wechat_oa`) or mini-program (`wechat_mp`) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging (HTTP v1).
    Fcm,
    /// Huawei Push Kit.
    Huawei,
    /// Xiaomi MiPush.
    Xiaomi,
    /// OPPO (HeyTap) push.
    Oppo,
    /// vivo push.
    Vivo,
    /// Honor push.
    Honor,
    /// WeChat official-account template message; the token is the user's openid.
    WechatOa,
    /// WeChat mini-program subscribe message; the token is the user's openid.
    WechatMp,
}

impl Channel {
    /// Every channel, in a stable order.
    pub const ALL: [Channel; 9] = [
        Channel::Apns,
        Channel::Fcm,
        Channel::Huawei,
        Channel::Xiaomi,
        Channel::Oppo,
        Channel::Vivo,
        Channel::Honor,
        Channel::WechatOa,
        Channel::WechatMp,
    ];

    /// The wire name (`apns`, `wechat_oa`, …), as used in JSON, URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Apns => "apns",
            Channel::Fcm => "fcm",
            Channel::Huawei => "huawei",
            Channel::Xiaomi => "xiaomi",
            Channel::Oppo => "oppo",
            Channel::Vivo => "vivo",
            Channel::Honor => "honor",
            Channel::WechatOa => "wechat_oa",
            Channel::WechatMp => "wechat_mp",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown channel name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown channel {0:?}; expected one of apns, fcm, huawei, xiaomi, oppo, vivo, honor, wechat_oa, wechat_mp"
)]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownChannel(s.chars().take(32).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert!("wechat".parse::<Channel>().is_err());
    }
}
