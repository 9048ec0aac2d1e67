//! One login attempt, for the console form and the admin API alike: refused while the
//! address or account is locked, otherwise one password check through the gate, counted
//! as a failure or a success.

use std::net::IpAddr;

use crate::clock::Clock;
use crate::entities::{admins, tenant_users};
use crate::error::{AppError, AppResult, ErrorKind};

use super::gate::PasswordGate;
use super::passwords;
use super::throttle::LoginThrottle;

/// The login lock and the password gate of this process.
pub struct Logins {
    pub throttle: LoginThrottle,
    pub gate: PasswordGate,
}

impl Default for Logins {
    fn default() -> Self {
        Logins {
            throttle: LoginThrottle::default(),
            gate: PasswordGate::for_this_machine(),
        }
    }
}

/// 429 `too_many_logins` with the seconds until the lock ends.
pub fn too_many_logins(locked_until: i64, now: i64) -> AppError {
    let mut e = AppError::new(
        ErrorKind::TooManyRequests,
        "too_many_logins",
        "too many failed logins from this address or for this account; wait and try again",
    );
    e.retry_after =
        Some(((locked_until - now).clamp(1, i64::from(u32::MAX)) as u32).div_ceil(1000));
    e
}

/// 429 `too_many_logins` when the line at the password gate is full: a second's wait.
fn busy() -> AppError {
    let mut e = AppError::new(
        ErrorKind::TooManyRequests,
        "too_many_logins",
        "too many logins at once; try again in a second",
    );
    e.retry_after = Some(1);
    e
}

impl Logins {
    /// Checks an email and password. The same work is done whether or not the email
    /// exists, so neither the answer nor its timing reveals which admins exist.
    pub async fn attempt(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        clock: &Clock,
        address: IpAddr,
        email: &str,
        password: &str,
    ) -> AppResult<admins::Model> {
        self.refuse_if_locked(address, email, clock)?;
        let admin = super::find_by_email(db, email)
            .await?
            .filter(|a| a.disabled_at.is_none())
            .map(|a| (a.password_hash.clone(), a));
        self.check(clock, address, email, password, admin).await
    }

    /// One password check against `account` (its stored hash and what it stands for), or
    /// against the dummy hash when there is none, under the lock and through the gate.
    /// `subject` is what the lock counts failures against (the email, or a prefixed one).
    pub async fn check<T>(
        &self,
        clock: &Clock,
        address: IpAddr,
        subject: &str,
        password: &str,
        account: Option<(String, T)>,
    ) -> AppResult<T> {
        self.refuse_if_locked(address, subject, clock)?;
        let (hash, account) = match account {
            Some((hash, account)) => (Some(hash), Some(account)),
            None => (None, None),
        };
        let permit = self.gate.enter().await.map_err(|_| busy())?;
        // Attempts that queued at the gate were let in before a lock that began meanwhile.
        self.refuse_if_locked(address, subject, clock)?;
        let password = password.to_string();
        let ok = permit
            // The dummy hash is made on first use: under the gate too.
            .run(move || {
                let hash = hash.unwrap_or_else(|| passwords::DUMMY_HASH.clone());
                passwords::verify(&password, &hash)
            })
            .await
            .unwrap_or(false);
        match account {
            Some(account) if ok => {
                self.throttle.succeeded(subject);
                Ok(account)
            }
            _ => {
                self.throttle.failed(address, subject, clock.now_ms());
                Err(AppError::unauthorized("email or password is wrong"))
            }
        }
    }

    /// A tenant user's login to the portal: the same lock and gate as admins, counted
    /// against `portal:<email>` so the console and the portal lock apart. Invited users
    /// without a password yet are checked against the dummy hash like unknown emails.
    pub async fn attempt_portal(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        clock: &Clock,
        address: IpAddr,
        email: &str,
        password: &str,
    ) -> AppResult<tenant_users::Model> {
        let subject = format!("portal:{}", email.trim().to_ascii_lowercase());
        self.refuse_if_locked(address, &subject, clock)?;
        let user = super::tenant_users::find_by_email(db, email)
            .await?
            .and_then(|u| u.password_hash.clone().map(|h| (h, u)));
        self.check(clock, address, &subject, password, user).await
    }

    /// Hashes a new password on the blocking pool behind the gate, as logins do.
    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let permit = self.gate.enter().await.map_err(|_| busy())?;
        let password = password.to_string();
        permit
            .run(move || passwords::hash(&password))
            .await
            .ok_or_else(|| AppError::internal("could not hash the password"))
    }

    fn refuse_if_locked(&self, address: IpAddr, email: &str, clock: &Clock) -> AppResult<()> {
        let now = clock.now_ms();
        match self.throttle.locked_until(address, email, now) {
            Some(until) => Err(too_many_logins(until, now)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_the_rest_of_the_lock_up_to_whole_seconds() {
        assert_eq!(too_many_logins(10_001, 0).retry_after, Some(11));
        assert_eq!(too_many_logins(10_000, 0).retry_after, Some(10));
        assert_eq!(too_many_logins(1, 0).retry_after, Some(1));
    }
}
