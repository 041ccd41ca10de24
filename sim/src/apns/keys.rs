//! Registered APNs token-auth keys (key id → public key, team, environments, topic scope) and
//! the bundle ids of each team.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use jsonwebtoken::DecodingKey;

use crate::control::types::{ApnsEnvironment, ApnsKeySpec, ApnsTeamTopics, ControlError};
use crate::pubkey;

/// One registered signing key.
#[derive(Debug)]
pub(crate) struct SigningKey {
    /// `kid`.
    pub key_id: String,
    /// `iss` the JWT must carry.
    pub team_id: String,
    /// The public key.
    pub decoding: DecodingKey,
    /// Environments it may be used in.
    pub environments: Vec<ApnsEnvironment>,
    /// Bundle ids of a topic-specific key; `None` for a team-scoped key.
    pub topics: Option<HashSet<String>>,
    /// The related key of a topic-specific key.
    pub related_key_id: Option<String>,
}

impl SigningKey {
    /// Builds a key from its control-API registration.
    pub(crate) fn from_spec(spec: &ApnsKeySpec) -> Result<Self, ControlError> {
        if spec.key_id.trim().is_empty() || spec.team_id.trim().is_empty() {
            return Err(ControlError::new("key_id and team_id are required"));
        }
        if spec.environments.is_empty() {
            return Err(ControlError::new("environments must not be empty"));
        }
        let decoding = match (&spec.public_key_pem, &spec.private_key_pem) {
            (Some(p), None) | (None, Some(p)) => pubkey::ec_key(p)?,
            _ => {
                return Err(ControlError::new(
                    "give exactly one of public_key_pem and private_key_pem",
                ));
            }
        };
        Ok(SigningKey {
            key_id: spec.key_id.clone(),
            team_id: spec.team_id.clone(),
            decoding,
            environments: spec.environments.clone(),
            topics: spec.topics.as_ref().map(|t| t.iter().cloned().collect()),
            related_key_id: spec.related_key_id.clone(),
        })
    }

    /// Whether `other` may follow this key on one connection (apns.md §4.1 binding rules).
    pub(crate) fn may_share_connection_with(&self, other: &SigningKey) -> bool {
        if self.key_id == other.key_id {
            return true;
        }
        if self.team_id != other.team_id {
            return false;
        }
        match (&self.topics, &other.topics) {
            (None, None) => true,
            (Some(_), Some(_)) => {
                self.related_key_id.as_deref() == Some(other.key_id.as_str())
                    || other.related_key_id.as_deref() == Some(self.key_id.as_str())
            }
            _ => false,
        }
    }
}

/// All registered keys and team topics.
#[derive(Debug, Default)]
pub(crate) struct KeyRegistry {
    keys: RwLock<HashMap<String, Arc<SigningKey>>>,
    teams: RwLock<HashMap<String, HashSet<String>>>,
}

impl KeyRegistry {
    /// Adds or replaces a key; a topic-specific key's topics are added to its team too.
    pub(crate) fn add_key(&self, spec: &ApnsKeySpec) -> Result<(), ControlError> {
        let key = SigningKey::from_spec(spec)?;
        if let Some(topics) = &key.topics {
            self.add_topics(&ApnsTeamTopics {
                team_id: key.team_id.clone(),
                topics: topics.iter().cloned().collect(),
            });
        }
        write(&self.keys).insert(key.key_id.clone(), Arc::new(key));
        Ok(())
    }

    /// Removes (revokes) a key; false if it was unknown.
    pub(crate) fn remove_key(&self, key_id: &str) -> bool {
        write(&self.keys).remove(key_id).is_some()
    }

    /// The key with this id.
    pub(crate) fn key(&self, key_id: &str) -> Option<Arc<SigningKey>> {
        read(&self.keys).get(key_id).cloned()
    }

    /// Adds bundle ids to a team.
    pub(crate) fn add_topics(&self, t: &ApnsTeamTopics) {
        write(&self.teams)
            .entry(t.team_id.clone())
            .or_default()
            .extend(t.topics.iter().cloned());
    }

    /// Whether `bundle` belongs to `team`.
    pub(crate) fn team_has(&self, team: &str, bundle: &str) -> bool {
        read(&self.teams)
            .get(team)
            .is_some_and(|t| t.contains(bundle))
    }

    /// Forgets every key and team.
    pub(crate) fn clear(&self) {
        write(&self.keys).clear();
        write(&self.teams).clear();
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
