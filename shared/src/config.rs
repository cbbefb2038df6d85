//! Reading configuration from the environment. A missing or invalid variable stops the start
//! with the variable's name; nothing is read per request.

/// A configuration variable that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set; {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Reads a required variable.
pub fn required(name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing { name, hint }),
    }
}

/// Reads an optional variable; an empty value counts as unset.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Reads an optional variable and parses it, or returns `default` when it is unset.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|error: T::Err| ConfigError::Invalid {
                name,
                reason: format!("{value:?}: {error}"),
            }),
    }
}
