//! The claim form: parsing the posted fields and choosing the badge identity.

use accolade::domain::{Award, EmailAddress, Text, TextLimit};

/// The fields as posted, kept verbatim so a form with errors can be shown again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimForm {
    pub display_name: String,
    pub show_name: bool,
    pub identity_email: String,
    pub use_delivery_email: bool,
}

impl ClaimForm {
    /// Builds the form as first shown: the name and the young person's address from the award.
    pub fn prefilled(award: &Award) -> Self {
        let recipient = &award.recipient;
        Self {
            display_name: recipient
                .name
                .as_ref()
                .map(|name| name.as_str().to_owned())
                .unwrap_or_default(),
            show_name: false,
            identity_email: recipient
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned())
                .unwrap_or_default(),
            use_delivery_email: false,
        }
    }

    /// Reads an `application/x-www-form-urlencoded` body. Unknown fields are ignored; for a
    /// repeated field the first value counts.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|error| format!("the form data could not be read: {error}"))?;
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        Ok(Self {
            display_name: field("display_name").unwrap_or_default(),
            show_name: field("show_name").is_some_and(|value| is_ticked(&value)),
            identity_email: field("identity_email").unwrap_or_default(),
            use_delivery_email: field("use_delivery_email").is_some_and(|value| is_ticked(&value)),
        })
    }
}

/// Browsers send `on` for a ticked checkbox without a `value`; tools often send `true` or `1`.
fn is_ticked(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "on" | "true" | "1" | "yes"
    )
}

/// A field the recipient has to correct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// The recipient's validated choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimChoice {
    /// The normalised address the badge is bound to.
    pub identity: EmailAddress,
    pub display_name: Option<Text>,
    pub show_name: bool,
}

/// Whether the page must ask for the young person's own address: the email went to a parent
/// or guardian, or the award has no address of the young person.
pub fn asks_for_identity(award: &Award) -> bool {
    award.recipient.is_delivered_to_guardian() || award.recipient.email.is_none()
}

/// Validates the form against the award and picks the identity.
pub fn validate(award: &Award, form: &ClaimForm) -> Result<ClaimChoice, Vec<FieldError>> {
    let mut errors = Vec::new();

    let display_name = if form.display_name.trim().is_empty() {
        None
    } else {
        match Text::parse("display_name", &form.display_name, TextLimit::NAME) {
            Ok(name) => Some(name),
            Err(error) => {
                errors.push(FieldError {
                    field: "display_name",
                    message: format!(
                        "The name on the badge page is not valid: {error}. Shorten it or leave it empty."
                    ),
                });
                None
            }
        }
    };

    let identity = if asks_for_identity(award) {
        choose_identity(award, form, &mut errors)
    } else {
        award.recipient.email.clone()
    };

    match identity {
        Some(identity) if errors.is_empty() => Ok(ClaimChoice {
            identity,
            // A name that is not there cannot be shown.
            show_name: form.show_name && display_name.is_some(),
            display_name,
        }),
        _ => Err(errors),
    }
}

fn choose_identity(
    award: &Award,
    form: &ClaimForm,
    errors: &mut Vec<FieldError>,
) -> Option<EmailAddress> {
    let typed = form.identity_email.trim();
    let delivery = award.recipient.send_to();
    if form.use_delivery_email {
        let delivery = delivery?.clone();
        if !typed.is_empty() && EmailAddress::parse(typed).ok().as_ref() != Some(&delivery) {
            errors.push(FieldError {
                field: "identity_email",
                message: format!(
                    "You typed an address and also ticked the box to use {delivery}. Clear the address or untick the box, so it is clear which one the badge belongs to."
                ),
            });
            return None;
        }
        return Some(delivery);
    }
    if typed.is_empty() {
        let message = match delivery {
            Some(delivery) => format!(
                "Enter the young person's own email address, or tick the box to use {delivery}, the address the email went to."
            ),
            None => "Enter the young person's own email address.".to_owned(),
        };
        errors.push(FieldError {
            field: "identity_email",
            message,
        });
        return None;
    }
    match EmailAddress::parse(typed) {
        Ok(address) => Some(address),
        Err(error) => {
            errors.push(FieldError {
                field: "identity_email",
                message: format!(
                    "The email address {:?} is not valid: {}. Enter an address such as name@example.org.",
                    error.value, error.reason
                ),
            });
            None
        }
    }
}
