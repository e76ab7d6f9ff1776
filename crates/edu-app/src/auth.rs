//! Login, lockout, sessions (web cookies and API bearer tokens), logout and password changes.

use std::collections::HashMap;
use std::sync::Mutex;

use edu_store::{SessionRecord, UserRecord};
use serde::Serialize;

use crate::access::{Actor, Role, Scope};
use crate::audit::{self, AuditContext, Outcome};
use crate::crypto::{random_token, token_hash};
use crate::error::{AppError, AuthFailure};
use crate::{App, FieldError};

const MINUTE_MS: i64 = 60_000;

/// Web sessions ride in a cookie; API sessions in `Authorization: Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SessionKind {
    Web,
    Api,
}

impl SessionKind {
    fn code(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// A successful login: the secret token (shown once to the client) and the actor.
#[derive(Debug)]
pub struct LoginOutcome {
    pub token: String,
    pub actor: Actor,
    /// The password must be changed before anything else (first login, reset, or expiry).
    pub must_change_password: bool,
}

/// Per-IP login attempts in the current minute (in memory: a restart forgets, the per-account lockout does not).
#[derive(Default)]
pub(crate) struct IpThrottle {
    attempts: Mutex<HashMap<String, (i64, u32)>>,
}

impl IpThrottle {
    fn allow(&self, ip: &str, now_ms: i64, per_minute: u32) -> bool {
        let mut map = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now_ms - *start < MINUTE_MS);
        }
        let entry = map.entry(ip.to_owned()).or_insert((now_ms, 0));
        if now_ms - entry.0 >= MINUTE_MS {
            *entry = (now_ms, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}

impl App {
    async fn scope_of(&self, user: &UserRecord) -> Result<Scope, AppError> {
        let code = user.scope_code.as_str();
        if code.len() == 10 {
            let institution = self
                .store
                .institution_by_code(&edu_store::ScopeFilter::All, code)
                .await?
                .ok_or_else(|| {
                    AppError::Config(format!(
                        "user {} has an unknown institution scope {code}",
                        user.username
                    ))
                })?;
            return Ok(Scope::Institution {
                id: institution.id,
                code: institution.code,
                district: institution.district_code,
            });
        }
        let area = edu_model::AreaCode::parse(code).map_err(|_| {
            AppError::Config(format!(
                "user {} has an invalid scope {code}",
                user.username
            ))
        })?;
        Ok(if area.is_city() {
            Scope::City {
                code: code.to_owned(),
            }
        } else {
            Scope::District {
                code: code.to_owned(),
            }
        })
    }

    fn password_expired(&self, user: &UserRecord, now_ms: i64) -> bool {
        let days = self.settings.password.expiry_days;
        days > 0 && now_ms - user.password_changed_at > days * 24 * 60 * MINUTE_MS
    }

    async fn actor_for(
        &self,
        user: &UserRecord,
        session_hash: String,
        csrf_token: String,
    ) -> Result<Actor, AppError> {
        let role = Role::parse(&user.role)
            .ok_or_else(|| AppError::Config(format!("unknown role {}", user.role)))?;
        let now_ms = self.clock.now_ms();
        Ok(Actor {
            user_id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role,
            scope: self.scope_of(user).await?,
            session_hash,
            csrf_token,
            must_change_password: user.must_change_password || self.password_expired(user, now_ms),
            operator: false,
        })
    }

    async fn audit_auth(
        &self,
        actor: Option<&Actor>,
        username: &str,
        context: &AuditContext,
        action: &str,
        outcome: Outcome,
        reason: &str,
    ) -> Result<(), AppError> {
        let entry = audit::entry(
            self.clock.now_ms(),
            actor,
            username,
            context,
            action,
            "user",
            username,
            outcome,
            reason,
        );
        let mut tx = self.store.begin().await?;
        tx.append_audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a username and password; on success opens a session. Failures are counted per account (lockout
    /// after `max_failed_logins` within `failure_window_minutes`) and per IP, and every attempt is audited.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        kind: SessionKind,
        context: &AuditContext,
    ) -> Result<LoginOutcome, AppError> {
        let now_ms = self.clock.now_ms();
        let s = self.settings.clone();
        if !self
            .throttle
            .allow(&context.ip, now_ms, s.login_attempts_per_ip_per_minute)
        {
            self.audit_auth(
                None,
                username,
                context,
                "auth.login",
                Outcome::Denied,
                "throttled",
            )
            .await?;
            return Err(AppError::Auth(AuthFailure::Throttled));
        }
        let Some(user) = self.store.user_by_name(username).await? else {
            // Same work as for a real account, so timing does not reveal which usernames exist.
            let _ = self.hasher.verify(password, &self.dummy_hash).await;
            self.audit_auth(
                None,
                username,
                context,
                "auth.login",
                Outcome::Failure,
                "unknown user",
            )
            .await?;
            return Err(AppError::Auth(AuthFailure::BadCredentials));
        };
        if user.disabled || user.expires_at.is_some_and(|at| at <= now_ms) {
            let _ = self.hasher.verify(password, &self.dummy_hash).await;
            self.audit_auth(
                None,
                username,
                context,
                "auth.login",
                Outcome::Denied,
                "account disabled or expired",
            )
            .await?;
            return Err(AppError::Auth(AuthFailure::Disabled));
        }
        if user.locked_until.is_some_and(|until| until > now_ms) {
            self.audit_auth(
                None,
                username,
                context,
                "auth.login",
                Outcome::Denied,
                "account locked",
            )
            .await?;
            return Err(AppError::Auth(AuthFailure::Locked));
        }
        let last_use = user
            .last_login_at
            .unwrap_or(user.created_at)
            .max(user.password_changed_at);
        if s.stale_account_days > 0
            && now_ms - last_use > s.stale_account_days * 24 * 60 * MINUTE_MS
        {
            let mut tx = self.store.begin().await?;
            tx.set_user_disabled(user.id, true).await?;
            tx.append_audit(&audit::entry(
                now_ms,
                None,
                username,
                context,
                "auth.stale_disable",
                "user",
                &user.username,
                Outcome::Success,
                "unused longer than the stale-account limit",
            ))
            .await?;
            tx.commit().await?;
            return Err(AppError::Auth(AuthFailure::Disabled));
        }
        if !self.hasher.verify(password, &user.password_hash).await {
            let window_start = user
                .first_failed_at
                .filter(|first| now_ms - first < s.failure_window_minutes * MINUTE_MS);
            let (count, first) = match window_start {
                Some(first) => (user.failed_logins + 1, first),
                None => (1, now_ms),
            };
            let locked_until =
                (count >= s.max_failed_logins).then(|| now_ms + s.lockout_minutes * MINUTE_MS);
            let mut tx = self.store.begin().await?;
            tx.record_login_failure(user.id, count, Some(first), locked_until)
                .await?;
            tx.append_audit(&audit::entry(
                now_ms,
                None,
                username,
                context,
                "auth.login",
                "user",
                &user.username,
                Outcome::Failure,
                &format!("bad password ({count} in window)"),
            ))
            .await?;
            if locked_until.is_some() {
                tx.append_audit(&audit::entry(
                    now_ms,
                    None,
                    username,
                    context,
                    "auth.lockout",
                    "user",
                    &user.username,
                    Outcome::Success,
                    &format!("locked for {} minutes", s.lockout_minutes),
                ))
                .await?;
            }
            tx.commit().await?;
            return Err(AppError::Auth(AuthFailure::BadCredentials));
        }
        if user.must_change_password
            && now_ms - user.password_changed_at > s.initial_password_hours * 60 * MINUTE_MS
        {
            self.audit_auth(
                None,
                username,
                context,
                "auth.login",
                Outcome::Denied,
                "one-time password expired",
            )
            .await?;
            return Err(AppError::Auth(AuthFailure::InitialPasswordExpired));
        }
        // Upgrade the stored hash when the parameters have been raised since it was made.
        let rehash = if self.hasher.needs_rehash(&user.password_hash) {
            Some(self.hasher.hash(password).await?)
        } else {
            None
        };
        let token = random_token()?;
        let csrf = random_token()?;
        let hash = token_hash(&token);
        let actor = self.actor_for(&user, hash.clone(), csrf.clone()).await?;
        let mut tx = self.store.begin().await?;
        tx.record_login_success(user.id, now_ms).await?;
        if let Some(new_hash) = rehash {
            tx.set_password(
                user.id,
                &new_hash,
                user.must_change_password,
                user.password_changed_at,
            )
            .await?;
        }
        tx.insert_session(&SessionRecord {
            token_hash: hash.clone(),
            user_id: user.id,
            kind: kind.code().to_owned(),
            csrf_token: csrf,
            created_at: now_ms,
            last_seen_at: now_ms,
            ip: context.ip.chars().take(64).collect(),
            user_agent: context.user_agent.chars().take(256).collect(),
        })
        .await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(&actor),
            username,
            context,
            "auth.login",
            "user",
            &user.username,
            Outcome::Success,
            kind.code(),
        ))
        .await?;
        tx.commit().await?;
        self.enforce_session_limit(user.id, &hash).await?;
        let must_change_password = actor.must_change_password;
        Ok(LoginOutcome {
            token,
            actor,
            must_change_password,
        })
    }

    /// Keeps at most `max_sessions_per_user` sessions: the oldest are ended first.
    async fn enforce_session_limit(&self, user_id: i64, keep: &str) -> Result<(), AppError> {
        let sessions = self.store.sessions_of(user_id).await?;
        let limit = self.settings.max_sessions_per_user as usize;
        if sessions.len() <= limit {
            return Ok(());
        }
        let excess = sessions.len() - limit;
        let mut tx = self.store.begin().await?;
        for session in sessions
            .iter()
            .filter(|s| s.token_hash != keep)
            .take(excess)
        {
            tx.delete_session(&session.token_hash).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Resolves a session token to its actor, enforcing the idle and absolute timeouts.
    pub async fn authenticate(&self, token: &str, kind: SessionKind) -> Result<Actor, AppError> {
        let hash = token_hash(token);
        let Some(session) = self.store.session(&hash).await? else {
            return Err(AppError::Auth(AuthFailure::NoSession));
        };
        if session.kind != kind.code() {
            return Err(AppError::Auth(AuthFailure::NoSession));
        }
        let now_ms = self.clock.now_ms();
        let idle = now_ms - session.last_seen_at > self.settings.idle_timeout_minutes * MINUTE_MS;
        let absolute =
            now_ms - session.created_at > self.settings.absolute_timeout_hours * 60 * MINUTE_MS;
        if idle || absolute {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&hash).await?;
            tx.commit().await?;
            return Err(AppError::Auth(AuthFailure::SessionExpired));
        }
        let user = self
            .store
            .user_by_id(session.user_id)
            .await?
            .ok_or(AppError::Auth(AuthFailure::NoSession))?;
        if user.disabled {
            return Err(AppError::Auth(AuthFailure::Disabled));
        }
        // Refresh the idle clock at most once a minute, so page views do not each cost a write.
        if now_ms - session.last_seen_at >= MINUTE_MS {
            let mut tx = self.store.begin().await?;
            tx.touch_session(&hash, now_ms).await?;
            tx.commit().await?;
        }
        self.actor_for(&user, hash, session.csrf_token).await
    }

    pub async fn logout(&self, actor: &Actor, context: &AuditContext) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&actor.session_hash).await?;
        tx.append_audit(&audit::entry(
            self.clock.now_ms(),
            Some(actor),
            "",
            context,
            "auth.logout",
            "user",
            &actor.username,
            Outcome::Success,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the actor's own password: checks the current one, the policy and reuse, then ends every other
    /// session of the user and rotates the current one (returns the new token).
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        context: &AuditContext,
    ) -> Result<String, AppError> {
        let user = self
            .store
            .user_by_id(actor.user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !self.hasher.verify(current, &user.password_hash).await {
            return Err(AppError::Invalid(vec![FieldError::new(
                "current_password",
                "当前密码不正确 / current password is wrong",
            )]));
        }
        let violations = self
            .settings
            .password
            .check(new, &[&user.username, &user.display_name]);
        if !violations.is_empty() {
            return Err(AppError::Password(violations));
        }
        for old in self
            .store
            .password_history(user.id, self.settings.password.history)
            .await?
        {
            if self.hasher.verify(new, &old).await {
                return Err(AppError::Password(vec![
                    crate::password::PolicyViolation::Reused,
                ]));
            }
        }
        let hash = self.hasher.hash(new).await?;
        let now_ms = self.clock.now_ms();
        let token = random_token()?;
        let mut tx = self.store.begin().await?;
        tx.set_password(user.id, &hash, false, now_ms).await?;
        tx.delete_sessions_of(user.id, None).await?;
        tx.insert_session(&SessionRecord {
            token_hash: token_hash(&token),
            user_id: user.id,
            kind: SessionKind::Web.code().to_owned(),
            csrf_token: random_token()?,
            created_at: now_ms,
            last_seen_at: now_ms,
            ip: context.ip.chars().take(64).collect(),
            user_agent: context.user_agent.chars().take(256).collect(),
        })
        .await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "auth.password_change",
            "user",
            &user.username,
            crate::audit::Outcome::Success,
            "other sessions ended",
        ))
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}
