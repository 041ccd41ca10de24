//! `PUT|GET|DELETE /v1/apps/{app}/client-key`: the key that verifies the app's client JWTs.
//! The HS256 secret is sealed at rest and never answered or logged.

use super::body;
use super::error::RestError;
use crate::core::Shared;
use crate::jwt::{ClientAlg, KeyMaterial};
use crate::keys::{ClientKeyInfo, KeysError};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use push_core::Secret;
use serde::Deserialize;
use std::sync::Arc;

/// Body of `PUT /v1/apps/{app}/client-key`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutKey {
    alg: ClientAlg,
    #[serde(default)]
    secret: Option<Secret>,
    #[serde(default)]
    public_key_pem: Option<String>,
}

fn keys_error(e: KeysError) -> RestError {
    match e {
        KeysError::Invalid(reason) => RestError::invalid(reason.to_string()),
        KeysError::Store(e) => RestError::store(e),
        KeysError::Unusable(why) => {
            tracing::error!(reason = %why, "stored client key unusable");
            RestError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; see the server log",
            )
        }
    }
}

pub(crate) async fn put(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    json: Result<Json<PutKey>, JsonRejection>,
) -> Result<Json<ClientKeyInfo>, RestError> {
    shared.access.authorize(&headers, &app).await?;
    let put = body(json)?;
    let material = match (put.alg, put.secret, put.public_key_pem) {
        (ClientAlg::HS256, Some(secret), None) => KeyMaterial::Hs256(secret),
        (ClientAlg::HS256, _, _) => {
            return Err(RestError::invalid(
                "HS256 takes \"secret\" (and no public_key_pem)",
            ));
        }
        (alg, None, Some(pem)) => KeyMaterial::PublicPem(alg, pem),
        (_, _, _) => {
            return Err(RestError::invalid(
                "RS256 and ES256 take \"public_key_pem\" (and no secret)",
            ));
        }
    };
    let info = shared.keys.set(&app, &material).await.map_err(keys_error)?;
    tracing::info!(app = %app, alg = info.alg.as_str(), fingerprint = %info.fingerprint, "client key set");
    Ok(Json(info))
}

pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ClientKeyInfo>, RestError> {
    shared.access.authorize(&headers, &app).await?;
    match shared.keys.info(&app).await.map_err(keys_error)? {
        Some(info) => Ok(Json(info)),
        None => Err(RestError::not_found("client key")),
    }
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, RestError> {
    shared.access.authorize(&headers, &app).await?;
    if shared.keys.delete(&app).await.map_err(keys_error)? {
        tracing::info!(app = %app, "client key removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(RestError::not_found("client key"))
    }
}
