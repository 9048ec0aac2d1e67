//! A destination's settings and credential, validated the same way for every kind: the
//! kind's `Spec` says which target field and which credential it takes and checks the
//! target's value; every other kind's fields are refused by name.

use serde::{Deserialize, Serialize};

use super::kind::Kind;
use super::spec::{Fields, Spec};
use crate::error::{AppError, AppResult};
use crate::states::DestinationState;

/// Public settings, stored as JSON on the destination. Exactly one target is set: the
/// one of the destination's kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_event_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firebase_app_id: Option<String>,
    /// A collection endpoint other than the kind's default (GA4: `eu`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl Settings {
    /// Where the events go (pixel id, measurement id or pixel code).
    pub fn target(&self) -> Option<&str> {
        self.pixel_id
            .as_deref()
            .or(self.measurement_id.as_deref())
            .or(self.firebase_app_id.as_deref())
            .or(self.pixel_code.as_deref())
    }

    /// Sets the target field `field`, clearing the one it stands in for.
    fn set_target(&mut self, field: &str, value: String) {
        self.measurement_id = None;
        self.firebase_app_id = None;
        let slot = match field {
            "pixel_id" => &mut self.pixel_id,
            "measurement_id" => &mut self.measurement_id,
            "firebase_app_id" => &mut self.firebase_app_id,
            _ => &mut self.pixel_code,
        };
        *slot = Some(value);
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationIn {
    /// `meta_capi`, `ga4_mp` or `tiktok`.
    pub kind: String,
    pub name: String,
    /// Meta: the numeric pixel (dataset) id.
    pub pixel_id: Option<String>,
    /// Meta and TikTok: the access token (write-only).
    pub access_token: Option<String>,
    /// Meta and TikTok: sent on every event while set.
    pub test_event_code: Option<String>,
    /// GA4: the web stream's `G-…` id.
    pub measurement_id: Option<String>,
    /// GA4: the Measurement Protocol API secret (write-only).
    pub api_secret: Option<String>,
    /// TikTok: the pixel code.
    pub pixel_code: Option<String>,
    /// GA4 app streams: the Firebase app id, in place of `measurement_id`.
    pub firebase_app_id: Option<String>,
    /// GA4: `global` (default) or `eu` (region1.google-analytics.com).
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationPatch {
    pub name: Option<String>,
    pub pixel_id: Option<String>,
    pub access_token: Option<String>,
    /// `null` or `""` removes the test event code.
    #[serde(default, with = "crate::plans::double_option")]
    pub test_event_code: Option<Option<String>>,
    pub measurement_id: Option<String>,
    pub api_secret: Option<String>,
    pub pixel_code: Option<String>,
    pub firebase_app_id: Option<String>,
    pub endpoint: Option<String>,
    /// `active` or `disabled` (a paused destination resumes with new credentials or `active`).
    pub state: Option<String>,
}

/// A validated new destination.
pub struct New {
    pub kind: Kind,
    pub name: String,
    pub settings: Settings,
    pub secret: String,
}

/// What a validated patch changes.
pub struct Change {
    pub name: Option<String>,
    pub settings: Settings,
    pub secret: Option<String>,
    pub state: Option<DestinationState>,
}

/// The kind-specific fields of a body, by name.
struct Given<'a> {
    targets: [(&'static str, Option<&'a str>); 4],
    secrets: [(&'static str, Option<&'a str>); 2],
    test_event_code: bool,
    endpoint: Option<&'a str>,
}

impl Given<'_> {
    /// The target given, with its field name (the kind's target or its stand-in).
    fn target(&self, fields: Fields) -> AppResult<Option<(&'static str, &str)>> {
        let mut given = (self.targets.iter())
            .filter(|(f, _)| *f == fields.target || Some(*f) == fields.alt_target)
            .filter_map(|(f, v)| Some((*f, (*v)?)));
        match (given.next(), given.next()) {
            (Some((a, _)), Some((b, _))) => {
                Err(AppError::invalid(b, format!("give {a} or {b}, not both")))
            }
            (one, _) => Ok(one),
        }
    }
    fn secret(&self, fields: Fields) -> Option<&str> {
        self.secrets.iter().find(|(f, _)| *f == fields.secret)?.1
    }

    /// Refuses, by name, every field that belongs to other kinds.
    fn only_for(&self, spec: &dyn Spec) -> AppResult<()> {
        let fields = spec.fields();
        let foreign = self
            .targets
            .iter()
            .filter(|(f, v)| *f != fields.target && Some(*f) != fields.alt_target && v.is_some())
            .chain(
                self.secrets
                    .iter()
                    .filter(|(f, v)| *f != fields.secret && v.is_some()),
            )
            .map(|(f, _)| *f)
            .chain((self.test_event_code && !fields.test_event_code).then_some("test_event_code"))
            .chain((self.endpoint.is_some() && fields.endpoints.is_empty()).then_some("endpoint"));
        match foreign.into_iter().next() {
            Some(field) => Err(AppError::invalid(
                field,
                format!("{field} does not apply to {}", spec.name()),
            )),
            None => Ok(()),
        }
    }
}

/// The endpoint stored for `value`: none for the kind's default.
fn check_endpoint(fields: Fields, value: &str) -> AppResult<Option<String>> {
    match fields.endpoints.iter().position(|e| *e == value) {
        Some(0) => Ok(None),
        Some(_) => Ok(Some(value.to_string())),
        None => Err(AppError::invalid(
            "endpoint",
            format!("endpoint must be {}", fields.endpoints.join(" or ")),
        )),
    }
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "name must be 1-100 characters"));
    }
    Ok(name.to_string())
}

fn check_secret(field: &'static str, v: &str) -> AppResult<String> {
    if v.trim().is_empty() || v.len() > 1024 || v.chars().any(char::is_whitespace) {
        return Err(AppError::invalid(
            field,
            format!("{field} must be a non-empty token without spaces"),
        ));
    }
    Ok(v.to_string())
}

fn check_test_code(v: Option<&str>) -> AppResult<Option<String>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(code) if code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Ok(Some(code.into()))
        }
        Some(_) => Err(AppError::invalid(
            "test_event_code",
            "test_event_code must be letters and digits",
        )),
    }
}

fn required<'a>(field: &'static str, v: Option<&'a str>, spec: &dyn Spec) -> AppResult<&'a str> {
    v.ok_or_else(|| AppError::invalid(field, format!("{field} is required for {}", spec.name())))
}

macro_rules! given {
    ($body:expr) => {
        Given {
            targets: [
                ("pixel_id", $body.pixel_id.as_deref()),
                ("measurement_id", $body.measurement_id.as_deref()),
                ("firebase_app_id", $body.firebase_app_id.as_deref()),
                ("pixel_code", $body.pixel_code.as_deref()),
            ],
            secrets: [
                ("access_token", $body.access_token.as_deref()),
                ("api_secret", $body.api_secret.as_deref()),
            ],
            test_event_code: $body.test_event_code.is_some(),
            endpoint: $body.endpoint.as_deref(),
        }
    };
}

impl DestinationIn {
    /// A body with the kind's own target and credential fields set (forms that ask for
    /// "target" and "secret" whatever the kind).
    pub fn with_target(kind: &str, name: &str, target: &str, secret: &str) -> Self {
        let mut input = DestinationIn {
            kind: kind.into(),
            name: name.into(),
            ..DestinationIn::default()
        };
        if let Some(kind) = Kind::parse(kind) {
            let fields = kind.spec().fields();
            *input.field(fields.target) = Some(target.into());
            *input.field(fields.secret) = Some(secret.into());
        }
        input
    }

    fn field(&mut self, name: &str) -> &mut Option<String> {
        match name {
            "pixel_id" => &mut self.pixel_id,
            "measurement_id" => &mut self.measurement_id,
            "pixel_code" => &mut self.pixel_code,
            "api_secret" => &mut self.api_secret,
            _ => &mut self.access_token,
        }
    }

    pub fn validate(self) -> AppResult<New> {
        let kind = Kind::parse(&self.kind)
            .ok_or_else(|| AppError::invalid("kind", format!("kind must be {}", Kind::list())))?;
        let spec = kind.spec();
        let name = check_name(&self.name)?;
        let given = given!(self);
        given.only_for(spec)?;
        let fields = spec.fields();
        let mut settings = Settings::default();
        let (field, target) = given.target(fields)?.ok_or_else(|| {
            AppError::invalid(
                fields.target,
                format!("{} is required for {}", fields.target, spec.name()),
            )
        })?;
        settings.set_target(field, spec.check_target(field, target)?);
        settings.test_event_code = check_test_code(self.test_event_code.as_deref())?;
        if let Some(endpoint) = given.endpoint {
            settings.endpoint = check_endpoint(fields, endpoint)?;
        }
        let secret = check_secret(
            fields.secret,
            required(fields.secret, given.secret(fields), spec)?,
        )?;
        Ok(New {
            kind,
            name,
            settings,
            secret,
        })
    }
}

impl DestinationPatch {
    /// A patch setting new credentials in the kind's own credential field.
    pub fn with_secret(kind: Kind, secret: Option<String>) -> Self {
        let mut patch = DestinationPatch::default();
        match kind.spec().fields().secret {
            "api_secret" => patch.api_secret = secret,
            _ => patch.access_token = secret,
        }
        patch
    }

    pub fn apply(self, kind: Kind, mut settings: Settings) -> AppResult<Change> {
        let spec = kind.spec();
        let name = self.name.as_deref().map(check_name).transpose()?;
        let state = match self.state.as_deref().map(DestinationState::parse) {
            None => None,
            Some(Some(s @ (DestinationState::Active | DestinationState::Disabled))) => Some(s),
            Some(Some(DestinationState::Paused) | None) => {
                return Err(AppError::invalid(
                    "state",
                    "state can be set to active or disabled",
                ));
            }
        };
        let given = given!(self);
        given.only_for(spec)?;
        let fields = spec.fields();
        if let Some((field, target)) = given.target(fields)? {
            let checked = spec.check_target(field, target)?;
            settings.set_target(field, checked);
        }
        if let Some(endpoint) = given.endpoint {
            settings.endpoint = check_endpoint(fields, endpoint)?;
        }
        if let Some(code) = &self.test_event_code {
            settings.test_event_code = check_test_code(code.as_deref())?;
        }
        let secret = given
            .secret(fields)
            .map(|t| check_secret(fields.secret, t))
            .transpose()?;
        Ok(Change {
            name,
            settings,
            secret,
            state,
        })
    }
}
