//! Account administration: create, disable, reset password, unlock (CLI operator, system or security admin).

use edu_store::UserWrite;

use crate::access::{Actor, Permission, Role, ScopeLevel};
use crate::audit::{self, AuditContext, Outcome};
use crate::crypto::random_bytes;
use crate::error::AppError;
use crate::{App, FieldError};

/// A request to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// City (230600), district (2306xx) or institution (10-digit school code).
    pub scope_code: String,
    /// None: generate a one-time password that must be changed at first login within 24 hours.
    pub password: Option<String>,
}

/// A random password that satisfies the default policy: 16 characters from four classes.
pub fn one_time_password() -> Result<String, AppError> {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"#%+=@";
    let bytes = random_bytes::<16>()?;
    let mut out = String::with_capacity(16);
    for (i, b) in bytes.iter().enumerate() {
        let set = match i % 4 {
            0 => LOWER,
            1 => UPPER,
            2 => DIGITS,
            _ => {
                if i == 3 {
                    SYMBOLS
                } else {
                    LOWER
                }
            }
        };
        out.push(char::from(set[usize::from(*b) % set.len()]));
    }
    Ok(out)
}

fn valid_username(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

impl App {
    fn scope_level(code: &str) -> Option<ScopeLevel> {
        if code.len() == 10 && edu_model::SchoolCode::parse(code).is_ok() {
            return Some(ScopeLevel::Institution);
        }
        let area = edu_model::AreaCode::parse(code).ok()?;
        Some(if area.is_city() {
            ScopeLevel::City
        } else {
            ScopeLevel::District
        })
    }

    /// Creates an account; returns its id and the password to hand over (generated when not given).
    pub async fn create_user(
        &self,
        actor: &Actor,
        new: &NewUser,
        context: &AuditContext,
    ) -> Result<(i64, String), AppError> {
        actor.require(Permission::ManageUsers)?;
        let mut errors = Vec::new();
        if !valid_username(&new.username) {
            errors.push(FieldError::new(
                "username",
                "3–32 个小写字母、数字或 _-. / 3–32 lower-case letters, digits or _-.",
            ));
        }
        let role = Role::parse(&new.role);
        if role.is_none() {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
            errors.push(FieldError::new(
                "role",
                format!("未知角色 / unknown role; one of {}", roles.join(", ")),
            ));
        }
        let level = App::scope_level(&new.scope_code);
        match (role, level) {
            (_, None) => errors.push(FieldError::new(
                "scope",
                "应为市、区县代码或 10 位学校标识码 / a city, district or school code",
            )),
            (Some(role), Some(level)) if !role.allowed_scope(&level) => {
                errors.push(FieldError::new(
                    "scope",
                    format!(
                        "角色 {} 不能使用该范围 / role {} cannot have this scope",
                        role.code(),
                        role.code()
                    ),
                ))
            }
            _ => {}
        }
        if level == Some(ScopeLevel::Institution)
            && self
                .store
                .institution_by_code(&edu_store::ScopeFilter::All, &new.scope_code)
                .await?
                .is_none()
        {
            errors.push(FieldError::new("scope", "学校不存在 / no such institution"));
        }
        if self.store.user_by_name(&new.username).await?.is_some() {
            errors.push(FieldError::new(
                "username",
                "用户名已存在 / username already exists",
            ));
        }
        let generated = new.password.is_none();
        let password = match &new.password {
            Some(p) => p.clone(),
            None => one_time_password()?,
        };
        let violations = self.settings.password.check(&password, &[&new.username]);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if !violations.is_empty() {
            return Err(AppError::Password(violations));
        }
        let role = role.ok_or_else(|| AppError::invalid("role", "unknown"))?;
        let hash = self.hasher.hash(&password).await?;
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_user(
                &UserWrite {
                    username: new.username.clone(),
                    display_name: if new.display_name.is_empty() {
                        new.username.clone()
                    } else {
                        new.display_name.clone()
                    },
                    role: role.code().to_owned(),
                    scope_code: new.scope_code.clone(),
                    password_hash: hash,
                    must_change_password: true,
                    expires_at: None,
                },
                now_ms,
            )
            .await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "user.create",
            "user",
            &new.username,
            Outcome::Success,
            &format!(
                "role={} scope={} generated_password={generated}",
                role.code(),
                new.scope_code
            ),
        ))
        .await?;
        tx.commit().await?;
        Ok((id, password))
    }

    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        actor.require(Permission::ManageUsers)?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or(AppError::NotFound)?;
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        tx.set_user_disabled(user.id, disabled).await?;
        if disabled {
            tx.delete_sessions_of(user.id, None).await?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            action,
            "user",
            username,
            Outcome::Success,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new one-time password (must be changed at next login), unlocks and ends all sessions.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        context: &AuditContext,
    ) -> Result<String, AppError> {
        actor.require(Permission::ManageSecurity)?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or(AppError::NotFound)?;
        let password = one_time_password()?;
        let hash = self.hasher.hash(&password).await?;
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        tx.set_password(user.id, &hash, true, now_ms).await?;
        tx.delete_sessions_of(user.id, None).await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "user.reset_password",
            "user",
            username,
            Outcome::Success,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// Lifts a lockout (security administrator).
    pub async fn unlock_user(
        &self,
        actor: &Actor,
        username: &str,
        context: &AuditContext,
    ) -> Result<(), AppError> {
        actor.require(Permission::ManageSecurity)?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or(AppError::NotFound)?;
        let now_ms = self.clock.now_ms();
        let mut tx = self.store.begin().await?;
        tx.record_login_failure(user.id, 0, None, None).await?;
        tx.append_audit(&audit::entry(
            now_ms,
            Some(actor),
            "",
            context,
            "user.unlock",
            "user",
            username,
            Outcome::Success,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accounts for the user administration page.
    pub async fn list_users(
        &self,
        actor: &Actor,
        page: edu_store::PageRequest,
    ) -> Result<edu_store::Paged<UserSummary>, AppError> {
        if !(actor.can(Permission::ManageUsers) || actor.can(Permission::ManageSecurity)) {
            return Err(AppError::Forbidden(crate::Forbidden(
                Permission::ManageUsers,
            )));
        }
        let now_ms = self.clock.now_ms();
        let users = self.store.users(page).await?;
        Ok(edu_store::Paged {
            total: users.total,
            items: users
                .items
                .into_iter()
                .map(|u| UserSummary {
                    username: u.username,
                    display_name: u.display_name,
                    role: u.role,
                    scope_code: u.scope_code,
                    disabled: u.disabled,
                    locked: u.locked_until.is_some_and(|t| t > now_ms),
                    last_login_at: u.last_login_at,
                })
                .collect(),
        })
    }
}

/// An account as listed for administrators (no hashes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope_code: String,
    pub disabled: bool,
    pub locked: bool,
    pub last_login_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_satisfy_the_policy() {
        let policy = crate::password::PasswordPolicy::default();
        for _ in 0..200 {
            let p = one_time_password().unwrap();
            assert_eq!(p.chars().count(), 16);
            assert!(policy.check(&p, &[]).is_empty(), "{p}");
        }
    }

    #[test]
    fn usernames() {
        assert!(valid_username("d230602"));
        assert!(valid_username("s2230600001"));
        assert!(!valid_username("Admin"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("张三"));
    }
}
