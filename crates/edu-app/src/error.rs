//! The application's error type. Messages meant for users are in `Invalid` and `Auth`; everything else is logged
//! and shown as a generic error with a request ID.

use edu_store::StoreError;
use serde::Serialize;

use crate::access::Forbidden;
use crate::crypto::CryptoError;
use crate::password::{HashError, PolicyViolation};

/// A field that failed validation, with the reason (bilingual where it reaches users).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("authentication failed: {0}")]
    Auth(AuthFailure),
    #[error("password refused")]
    Password(Vec<PolicyViolation>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// Why a login or session was refused. The web shows one generic message for all but `Locked`, `Throttled`
/// and `PasswordExpired` (which the user must know to act on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthFailure {
    BadCredentials,
    Locked,
    Throttled,
    Disabled,
    InitialPasswordExpired,
    SessionExpired,
    NoSession,
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl AppError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, reason)])
    }
}
