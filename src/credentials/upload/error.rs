//! The error of a credential upload: which field is wrong and how, never its value.

use push_core::Channel;

/// Longest field name echoed back (names come from the client).
const MAX_SHOWN_NAME: usize = 64;

/// Why an upload was refused. Each variant names the field (where there is one) and the
/// problem; no variant carries or prints a field's value.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The JSON body is not an object.
    #[error("the body must be a JSON object of credential fields")]
    NotAnObject,
    /// A JSON field has a type that cannot hold credential text (bool, null, fraction).
    #[error("field {field:?} must be a string (`service_account` may also be a JSON object)")]
    WrongType {
        /// The field.
        field: String,
    },
    /// Fields this channel does not take.
    #[error(
        "unknown field{} {} for {channel}; accepted: {}",
        if fields.len() == 1 { "" } else { "s" },
        quoted(fields),
        accepted.join(", ")
    )]
    UnknownFields {
        /// The channel.
        channel: Channel,
        /// The unknown names, sorted (each cut to 64 characters).
        fields: Vec<String>,
        /// The names the channel takes.
        accepted: &'static [&'static str],
    },
    /// A required field is absent.
    #[error("missing field `{field}`")]
    Missing {
        /// The field (`service_account.project_id` for one inside the service account).
        field: &'static str,
    },
    /// A required field is empty or only whitespace.
    #[error("field `{field}` is empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A field is over the size limit.
    #[error("field `{field}` is larger than {limit} bytes")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A text field is not UTF-8.
    #[error("field `{field}` is not valid UTF-8 text")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A field's content does not have the expected form.
    #[error("field `{field}` {reason}")]
    Invalid {
        /// The field (`service_account.token_uri` for one inside the service account).
        field: &'static str,
        /// What is expected, as a fixed sentence fragment.
        reason: &'static str,
    },
    /// A JSON document field does not parse.
    #[error("field `{field}` is not valid JSON (line {line}, column {column})")]
    InvalidJson {
        /// The field.
        field: &'static str,
        /// Where parsing stopped.
        line: usize,
        /// Where parsing stopped.
        column: usize,
    },
    /// Two fields that mean the same thing were both given.
    #[error("give either `{field}` or `{other}`, not both")]
    Conflict {
        /// The first field.
        field: &'static str,
        /// The other field.
        other: &'static str,
    },
    /// APNs fields of both a .p8 key and a .p12 certificate were given.
    #[error(
        "apns takes either a .p8 key (key_id, team_id, private_key) or a .p12 certificate \
         (certificate, password), not both"
    )]
    ApnsBothKinds,
    /// Neither APNs credential was given.
    #[error(
        "apns needs either a .p8 key (key_id, team_id, private_key) or a .p12 certificate \
         (certificate, password)"
    )]
    ApnsNoKind,
}

impl UploadError {
    /// The field the error is about, if it is about one (the first, for unknown fields).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::NotAnObject | Self::ApnsBothKinds | Self::ApnsNoKind => None,
            Self::WrongType { field } => Some(field),
            Self::UnknownFields { fields, .. } => fields.first().map(String::as_str),
            Self::Missing { field }
            | Self::Empty { field }
            | Self::TooLarge { field, .. }
            | Self::NotUtf8 { field }
            | Self::Invalid { field, .. }
            | Self::InvalidJson { field, .. }
            | Self::Conflict { field, .. } => Some(field),
        }
    }

    /// A [`UploadError::WrongType`], with the client's field name cut to a sane length.
    pub(super) fn wrong_type(field: &str) -> Self {
        Self::WrongType {
            field: shown_name(field),
        }
    }
}

/// A client-given field name as it may appear in an error.
pub(super) fn shown_name(name: &str) -> String {
    name.chars().take(MAX_SHOWN_NAME).collect()
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
