//! Destination kinds and the validation of their settings and credentials.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::states::DestinationState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    MetaCapi,
    Ga4Mp,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::MetaCapi, Kind::Ga4Mp];

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "meta_capi" => Some(Kind::MetaCapi),
            "ga4_mp" => Some(Kind::Ga4Mp),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MetaCapi => "meta_capi",
            Kind::Ga4Mp => "ga4_mp",
        }
    }
}

/// Public settings, stored as JSON on the destination.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_event_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurement_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationIn {
    /// `meta_capi` or `ga4_mp`.
    pub kind: String,
    pub name: String,
    pub pixel_id: Option<String>,
    pub access_token: Option<String>,
    pub test_event_code: Option<String>,
    pub measurement_id: Option<String>,
    pub api_secret: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationPatch {
    pub name: Option<String>,
    pub pixel_id: Option<String>,
    pub access_token: Option<String>,
    /// `null` or `""` removes the test event code.
    #[serde(default, with = "crate::billing::plans::double_option")]
    pub test_event_code: Option<Option<String>>,
    pub measurement_id: Option<String>,
    pub api_secret: Option<String>,
    /// `active` or `disabled` (a paused destination resumes with new credentials or `active`).
    pub state: Option<String>,
}

/// What a validated patch changes.
pub struct Change {
    pub name: Option<String>,
    pub settings: Settings,
    pub secret: Option<String>,
    pub state: Option<DestinationState>,
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "name must be 1-100 characters"));
    }
    Ok(name.to_string())
}

fn check_pixel_id(v: &str) -> AppResult<String> {
    if v.is_empty() || v.len() > 32 || !v.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::invalid(
            "pixel_id",
            "pixel_id must be the numeric pixel (dataset) id",
        ));
    }
    Ok(v.to_string())
}

fn check_measurement_id(v: &str) -> AppResult<String> {
    let ok = v.strip_prefix("G-").is_some_and(|r| {
        !r.is_empty() && r.len() <= 20 && r.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !ok {
        return Err(AppError::invalid(
            "measurement_id",
            "measurement_id must look like G-XXXXXXX",
        ));
    }
    Ok(v.to_string())
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

fn required<'a>(field: &'static str, v: &'a Option<String>, kind: Kind) -> AppResult<&'a str> {
    v.as_deref().ok_or_else(|| {
        AppError::invalid(field, format!("{field} is required for {}", kind.as_str()))
    })
}

fn forbid(field: &'static str, v: &Option<String>, kind: Kind) -> AppResult<()> {
    match v {
        Some(_) => Err(AppError::invalid(
            field,
            format!("{field} does not apply to {}", kind.as_str()),
        )),
        None => Ok(()),
    }
}

impl DestinationIn {
    pub fn validate(self) -> AppResult<(Kind, String, Settings, String)> {
        let kind = Kind::parse(&self.kind)
            .ok_or_else(|| AppError::invalid("kind", "kind must be meta_capi or ga4_mp"))?;
        let name = check_name(&self.name)?;
        match kind {
            Kind::MetaCapi => {
                forbid("measurement_id", &self.measurement_id, kind)?;
                forbid("api_secret", &self.api_secret, kind)?;
                let settings = Settings {
                    pixel_id: Some(check_pixel_id(required("pixel_id", &self.pixel_id, kind)?)?),
                    test_event_code: check_test_code(self.test_event_code.as_deref())?,
                    measurement_id: None,
                };
                let secret = check_secret(
                    "access_token",
                    required("access_token", &self.access_token, kind)?,
                )?;
                Ok((kind, name, settings, secret))
            }
            Kind::Ga4Mp => {
                forbid("pixel_id", &self.pixel_id, kind)?;
                forbid("access_token", &self.access_token, kind)?;
                forbid("test_event_code", &self.test_event_code, kind)?;
                let settings = Settings {
                    measurement_id: Some(check_measurement_id(required(
                        "measurement_id",
                        &self.measurement_id,
                        kind,
                    )?)?),
                    ..Settings::default()
                };
                let secret = check_secret(
                    "api_secret",
                    required("api_secret", &self.api_secret, kind)?,
                )?;
                Ok((kind, name, settings, secret))
            }
        }
    }
}

impl DestinationPatch {
    pub fn apply(self, kind: Kind, mut settings: Settings) -> AppResult<Change> {
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
        let secret = match kind {
            Kind::MetaCapi => {
                forbid("measurement_id", &self.measurement_id, kind)?;
                forbid("api_secret", &self.api_secret, kind)?;
                if let Some(pixel) = &self.pixel_id {
                    settings.pixel_id = Some(check_pixel_id(pixel)?);
                }
                if let Some(code) = &self.test_event_code {
                    settings.test_event_code = check_test_code(code.as_deref())?;
                }
                self.access_token
                    .as_deref()
                    .map(|t| check_secret("access_token", t))
                    .transpose()?
            }
            Kind::Ga4Mp => {
                forbid("pixel_id", &self.pixel_id, kind)?;
                forbid("access_token", &self.access_token, kind)?;
                if let Some(id) = &self.measurement_id {
                    settings.measurement_id = Some(check_measurement_id(id)?);
                }
                self.api_secret
                    .as_deref()
                    .map(|t| check_secret("api_secret", t))
                    .transpose()?
            }
        };
        Ok(Change {
            name,
            settings,
            secret,
            state,
        })
    }
}
