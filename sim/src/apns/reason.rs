//! Every APNs error `reason` (apns.md §6.3) with its HTTP status, plus the sim's `BadRequest`
//! for refusals the reference names no reason for.

/// An APNs error reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
// the names are Apple's; apns.md §6.3 describes each
// The whole vocabulary is kept; a few reasons only reach clients through injected faults,
// which carry the reason as text.
#[allow(dead_code)]
pub(crate) enum Reason {
    BadCollapseId,
    BadDeviceToken,
    BadExpirationDate,
    BadMessageId,
    BadPriority,
    BadTopic,
    DeviceTokenNotForTopic,
    DuplicateHeaders,
    IdleTimeout,
    InvalidPushType,
    MissingDeviceToken,
    MissingTopic,
    PayloadEmpty,
    TopicDisallowed,
    /// Not one of Apple's documented reasons: apns.md gives no reason for a request the
    /// simulator refuses without a specific one (an `apns-channel-id` header on `/3/device`,
    /// §2.2), so the sim answers 400 with this generic name.
    BadRequest,
    BadCertificate,
    BadCertificateEnvironment,
    ExpiredProviderToken,
    Forbidden,
    InvalidProviderToken,
    MissingProviderToken,
    UnrelatedKeyIdInToken,
    BadEnvironmentKeyIdInToken,
    BadPath,
    MethodNotAllowed,
    ExpiredToken,
    Unregistered,
    PayloadTooLarge,
    TooManyProviderTokenUpdates,
    TooManyRequests,
    InternalServerError,
    ServiceUnavailable,
    Shutdown,
}

impl Reason {
    /// The HTTP status APNs answers this reason with.
    pub(crate) fn status(self) -> u16 {
        use Reason::*;
        match self {
            BadCollapseId
            | BadDeviceToken
            | BadExpirationDate
            | BadMessageId
            | BadPriority
            | BadTopic
            | DeviceTokenNotForTopic
            | DuplicateHeaders
            | IdleTimeout
            | InvalidPushType
            | MissingDeviceToken
            | MissingTopic
            | PayloadEmpty
            | TopicDisallowed
            | BadRequest => 400,
            BadCertificate
            | BadCertificateEnvironment
            | ExpiredProviderToken
            | Forbidden
            | InvalidProviderToken
            | MissingProviderToken
            | UnrelatedKeyIdInToken
            | BadEnvironmentKeyIdInToken => 403,
            BadPath => 404,
            MethodNotAllowed => 405,
            ExpiredToken | Unregistered => 410,
            PayloadTooLarge => 413,
            TooManyProviderTokenUpdates | TooManyRequests => 429,
            InternalServerError => 500,
            ServiceUnavailable | Shutdown => 503,
        }
    }

    /// The `reason` string.
    pub(crate) fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            BadCollapseId => "BadCollapseId",
            BadDeviceToken => "BadDeviceToken",
            BadExpirationDate => "BadExpirationDate",
            BadMessageId => "BadMessageId",
            BadPriority => "BadPriority",
            BadTopic => "BadTopic",
            DeviceTokenNotForTopic => "DeviceTokenNotForTopic",
            DuplicateHeaders => "DuplicateHeaders",
            IdleTimeout => "IdleTimeout",
            InvalidPushType => "InvalidPushType",
            MissingDeviceToken => "MissingDeviceToken",
            MissingTopic => "MissingTopic",
            PayloadEmpty => "PayloadEmpty",
            TopicDisallowed => "TopicDisallowed",
            BadRequest => "BadRequest",
            BadCertificate => "BadCertificate",
            BadCertificateEnvironment => "BadCertificateEnvironment",
            ExpiredProviderToken => "ExpiredProviderToken",
            Forbidden => "Forbidden",
            InvalidProviderToken => "InvalidProviderToken",
            MissingProviderToken => "MissingProviderToken",
            UnrelatedKeyIdInToken => "UnrelatedKeyIdInToken",
            BadEnvironmentKeyIdInToken => "BadEnvironmentKeyIdInToken",
            BadPath => "BadPath",
            MethodNotAllowed => "MethodNotAllowed",
            ExpiredToken => "ExpiredToken",
            Unregistered => "Unregistered",
            PayloadTooLarge => "PayloadTooLarge",
            TooManyProviderTokenUpdates => "TooManyProviderTokenUpdates",
            TooManyRequests => "TooManyRequests",
            InternalServerError => "InternalServerError",
            ServiceUnavailable => "ServiceUnavailable",
            Shutdown => "Shutdown",
        }
    }
}
