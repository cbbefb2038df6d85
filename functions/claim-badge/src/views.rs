//! The HTML of the claim pages. Every value is escaped through `accolade::pages`.

use accolade::domain::{Achievement, Award, Issuer, Timestamp};
use accolade::openbadges::v3;
use accolade::pages::{Page, long_date, paragraphs, text};
use accolade::urls::PublicUrls;

use crate::form::{ClaimForm, FieldError, asks_for_identity};

/// An award with the records its pages show.
pub struct AwardView<'a> {
    pub award: &'a Award,
    pub issuer: &'a Issuer,
    pub achievement: &'a Achievement,
    pub urls: &'a PublicUrls,
}

/// Renders the achievement as the claim pages show it: image, issuer, level, description, criteria
/// and the narrative of this award.
fn badge_summary(view: &AwardView<'_>) -> String {
    let achievement = view.achievement;
    let mut out = format!(
        "<h1>{}</h1>\n<p class=\"muted\">Awarded by <strong>{}</strong> on {}</p>\n",
        text(achievement.name.as_str()),
        text(view.issuer.name.as_str()),
        text(&long_date(view.award.issued_on))
    );
    if let Some(image) = achievement.images.primary() {
        out.push_str(&format!(
            "<img class=\"badge\" src=\"{}\" alt=\"Badge: {}\">\n",
            text(
                &view
                    .urls
                    .badge_class_image(achievement.id, image.extension())
            ),
            text(achievement.name.as_str())
        ));
    }
    if let Some(level) = achievement.level {
        out.push_str(&format!(
            "<p><span class=\"level\">Level: {}</span> <span class=\"muted\">{}</span></p>\n",
            text(level.title()),
            text(level.description())
        ));
    }
    if let Some(narrative) = &view.award.narrative {
        out.push_str("<h2>Why it was awarded</h2>\n");
        out.push_str(&paragraphs(narrative.as_str()));
    }
    out.push_str("<h2>About this badge</h2>\n");
    out.push_str(&paragraphs(achievement.description.as_str()));
    out.push_str("<h2>What it takes to earn it</h2>\n");
    out.push_str(&paragraphs(achievement.criteria_narrative.as_str()));
    if let Some(url) = &achievement.criteria_url {
        out.push_str(&format!(
            "<p><a href=\"{}\" rel=\"noopener noreferrer\">More about the criteria</a></p>\n",
            text(url.as_str())
        ));
    }
    out
}

/// Renders the award and the claim form, with `errors` shown beside their fields.
pub fn claim_form(view: &AwardView<'_>, form: &ClaimForm, errors: &[FieldError]) -> Page {
    let award = view.award;
    let recipient = &award.recipient;
    let error_for = |field: &str| errors.iter().find(|error| error.field == field);
    let mut body = String::new();

    if !errors.is_empty() {
        body.push_str(
            "<div class=\"notice bad\" role=\"alert\" aria-labelledby=\"error-summary\">\n\
             <h2 id=\"error-summary\">Please check the form</h2>\n<ul>\n",
        );
        for error in errors {
            body.push_str(&format!(
                "<li><a href=\"#{}\">{}</a></li>\n",
                error.field,
                text(&error.message)
            ));
        }
        body.push_str("</ul>\n</div>\n");
    }
    body.push_str(&badge_summary(view));

    body.push_str("<h2>Claim your badge</h2>\n");
    if let Some(email) = &recipient.email {
        body.push_str(&format!(
            "<p>This badge was issued to <strong>{}</strong>.</p>\n",
            text(email.as_str())
        ));
    }
    if recipient.is_delivered_to_guardian()
        && let Some(delivery) = &recipient.delivery_email
    {
        body.push_str(&format!(
            "<p>The email about it went to <strong>{}</strong>, the parent or guardian contact.</p>\n",
            text(delivery.as_str())
        ));
    }
    body.push_str(
        "<p>Claiming makes the badge yours: it gets a page of its own that anyone can check, \
         and images you can download.</p>\n<form method=\"post\">\n",
    );

    body.push_str(&field_start(
        "display_name",
        "Your name on the badge page",
        "Optional. Leave it empty to show no name.",
        error_for("display_name"),
    ));
    body.push_str(&format!(
        "<input type=\"text\" id=\"display_name\" name=\"display_name\" value=\"{}\" maxlength=\"200\" autocomplete=\"name\"{}>\n",
        text(&form.display_name),
        invalid_attributes("display_name", error_for("display_name"))
    ));
    body.push_str(&format!(
        "<label class=\"check\"><input type=\"checkbox\" name=\"show_name\" value=\"on\"{}> \
         Show my name on the public badge page</label>\n\
         <p class=\"hint\">Unticked, the badge page shows no name and asks search engines not to list it. \
         You can share the page either way.</p>\n",
        checked(form.show_name)
    ));

    if asks_for_identity(award) {
        body.push_str("<fieldset>\n<legend><strong>Whose email address goes into the badge?</strong></legend>\n");
        body.push_str(
            "<p>A badge belongs to the young person who earned it. It records their email \
             address (in a scrambled form), which is how they can show later that it is theirs.</p>\n",
        );
        body.push_str(&field_start(
            "identity_email",
            "The young person's own email address",
            "Type the address they will keep using. Nobody sends email to it.",
            error_for("identity_email"),
        ));
        body.push_str(&format!(
            "<input type=\"email\" id=\"identity_email\" name=\"identity_email\" value=\"{}\" autocomplete=\"email\"{}>\n",
            text(&form.identity_email),
            invalid_attributes("identity_email", error_for("identity_email"))
        ));
        if let Some(delivery) = recipient.send_to() {
            body.push_str(&format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"use_delivery_email\" value=\"on\"{}> \
                 Use {} instead, the address this email went to</label>\n",
                checked(form.use_delivery_email),
                text(delivery.as_str())
            ));
        }
        body.push_str("</fieldset>\n");
    }

    body.push_str("<button type=\"submit\">Claim this badge</button>\n</form>\n");
    body.push_str(
        "<p class=\"muted\">A claim link works once. Claiming takes a moment and needs no account.</p>\n",
    );

    Page::new(&format!("Claim your badge: {}", view.achievement.name))
        .noindex(true)
        .body(body)
}

fn field_start(id: &str, label: &str, hint: &str, error: Option<&FieldError>) -> String {
    let mut out = format!(
        "<label for=\"{id}\">{} <span class=\"hint\" id=\"{id}-hint\">{}</span></label>\n",
        text(label),
        text(hint)
    );
    if let Some(error) = error {
        out.push_str(&format!(
            "<p class=\"error\" id=\"{id}-error\">{}</p>\n",
            text(&error.message)
        ));
    }
    out
}

fn invalid_attributes(id: &str, error: Option<&FieldError>) -> String {
    match error {
        Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{id}-hint {id}-error\""),
        None => format!(" aria-describedby=\"{id}-hint\""),
    }
}

fn checked(on: bool) -> &'static str {
    if on { " checked" } else { "" }
}

/// Renders a claimed award: links to the public page and the images, and how to share it.
pub fn claimed(view: &AwardView<'_>, claimed_at: Timestamp) -> Page {
    let urls = view.urls;
    let award = view.award;
    let achievement = view.achievement;
    let assertion_url = urls.assertion(award.id);

    let mut body = format!(
        "<div class=\"notice ok\" role=\"status\"><p>This badge was claimed on {}. It is yours.</p></div>\n",
        text(&long_date(claimed_at))
    );
    body.push_str(&badge_summary(view));
    if let Some(claim) = &award.claim {
        body.push_str(&format!(
            "<p>The badge is linked to the email address <strong>{}</strong>. Badge apps and \
             backpacks check it against that address, so add the same address to them.</p>\n",
            text(claim.identity.as_str())
        ));
    }

    body.push_str("<h2>Your badge</h2>\n<ul class=\"links\">\n");
    body.push_str(&format!(
        "<li><a href=\"{url}\">Public badge page</a>: share this address. Anyone can check the badge there.<br><code>{url}</code></li>\n",
        url = text(&assertion_url)
    ));
    let formats = [
        ("png", "PNG", achievement.images.png.is_some()),
        ("svg", "SVG", achievement.images.svg.is_some()),
    ];
    for (extension, label, present) in formats {
        if present {
            body.push_str(&format!(
                "<li><a href=\"{}\" download>Download the badge image ({label})</a></li>\n",
                text(&urls.assertion_image(award.id, extension))
            ));
        }
    }
    body.push_str(
        "</ul>\n<p class=\"muted\">The images carry the badge data inside them, so badge \
         apps can read them. They are prepared just after claiming: if a download does not \
         work yet, try again in a minute.</p>\n",
    );
    body.push_str(&credential_downloads(view));

    let issued = award.issued_on.to_datetime();
    body.push_str("<h2>Add it to LinkedIn</h2>\n");
    body.push_str(&format!(
        "<p>If you have a LinkedIn account: <a href=\"{}\" rel=\"noopener noreferrer\">Add to profile</a>. \
         LinkedIn opens with the badge filled in as a licence or certification.</p>\n",
        text(&linkedin_url(view, &assertion_url))
    ));
    body.push_str("<h2>Add it to your CV</h2>\n<p>For example:</p>\n");
    let level = achievement
        .level
        .map(|level| format!(" ({} level)", level.title()))
        .unwrap_or_default();
    body.push_str(&format!(
        "<p><code>{}{}, {}, {} {}. Check it at {}</code></p>\n",
        text(achievement.name.as_str()),
        text(&level),
        text(view.issuer.name.as_str()),
        issued.month(),
        issued.year(),
        text(&assertion_url)
    ));

    Page::new(&format!("Your badge: {}", achievement.name))
        .noindex(true)
        .body(body)
}

/// Renders the Open Badges 3.0 downloads: the signed credential for digital wallets, as
/// JSON, as a VC-JWT and baked into each image the badge has.
fn credential_downloads(view: &AwardView<'_>) -> String {
    let urls = view.urls;
    let award = view.award;
    let mut out = String::from(
        "<h2>Keep it in a digital wallet</h2>\n<p>Your badge is also a signed Open Badges 3.0 \
         credential. Wallet apps can keep it and check it without this website.</p>\n\
         <ul class=\"links\">\n",
    );
    out.push_str(&format!(
        "<li><a href=\"{}\" download>Download the credential (JSON)</a></li>\n",
        text(&v3::credential_download_url(urls, award.id))
    ));
    out.push_str(&format!(
        "<li><a href=\"{}\" download>Download the signed credential (VC-JWT)</a></li>\n",
        text(&v3::credential_jwt_url(urls, award.id))
    ));
    let formats = [
        ("png", "PNG", view.achievement.images.png.is_some()),
        ("svg", "SVG", view.achievement.images.svg.is_some()),
    ];
    for (extension, label, present) in formats {
        if present {
            out.push_str(&format!(
                "<li><a href=\"{}\" download>Download the credential image ({label})</a></li>\n",
                text(&v3::credential_image_url(urls, award.id, extension))
            ));
        }
    }
    out.push_str("</ul>\n");
    out
}

/// LinkedIn's "Add to profile" link for a certification, filled in from the badge.
fn linkedin_url(view: &AwardView<'_>, assertion_url: &str) -> String {
    let issued = view.award.issued_on.to_datetime();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("startTask", "CERTIFICATION_NAME")
        .append_pair("name", view.achievement.name.as_str())
        .append_pair("organizationName", view.issuer.name.as_str())
        .append_pair("issueYear", &issued.year().to_string())
        .append_pair("issueMonth", &u8::from(issued.month()).to_string())
        .append_pair("certUrl", assertion_url)
        .append_pair("certId", &view.award.id.to_string())
        .finish();
    format!("https://www.linkedin.com/profile/add?{query}")
}

/// Renders the page for a link that does not lead to an award.
pub fn not_found() -> Page {
    Page::new("Claim link not found").noindex(true).body(
        "<h1>This claim link does not work</h1>\n\
         <p>Check that the whole link from the email was copied: it is long and ends with the last \
         character before any space.</p>\n\
         <p>If you received more than one email about this badge, use the newest one: each new \
         email replaces the link of the one before.</p>\n\
         <p>If it still does not work, ask the organisation that awarded the badge to send a new link.</p>\n"
            .to_owned(),
    )
}

/// Renders the page for an expired link, with the issuer's address to ask for a new one.
pub fn expired(view: &AwardView<'_>, expired_at: Timestamp) -> Page {
    let issuer = view.issuer;
    let mailto = format!(
        "mailto:{}?{}",
        issuer.email,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "subject",
                &format!("New claim link for the badge {}", view.achievement.name)
            )
            .append_pair(
                "body",
                &format!(
                    "Please send a new claim link for the badge \"{}\" (reference {}).",
                    view.achievement.name, view.award.id
                )
            )
            .finish()
            .replace('+', "%20")
    );
    let body = format!(
        "<h1>This claim link has expired</h1>\n\
         <p>The link to claim <strong>{}</strong> stopped working on {}.</p>\n\
         <p>The badge is still there: ask <strong>{}</strong> for a new link by emailing \
         <a href=\"{}\">{}</a>. Mention the reference <code>{}</code>.</p>\n",
        text(view.achievement.name.as_str()),
        text(&long_date(expired_at)),
        text(issuer.name.as_str()),
        text(&mailto),
        text(issuer.email.as_str()),
        view.award.id
    );
    Page::new("Claim link expired").noindex(true).body(body)
}

/// Renders the page for a revoked award.
pub fn revoked(view: &AwardView<'_>) -> Page {
    let reason = view
        .award
        .revocation
        .as_ref()
        .map(|revocation| {
            format!(
                "<p>The reason given: {}</p>\n",
                text(revocation.reason.as_str())
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>This badge has been withdrawn</h1>\n\
         <p><strong>{}</strong> withdrew the badge <strong>{}</strong>, so it can no longer be claimed.</p>\n\
         {reason}<p>If you think this is a mistake, contact {} at <a href=\"mailto:{}\">{}</a>.</p>\n",
        text(view.issuer.name.as_str()),
        text(view.achievement.name.as_str()),
        text(view.issuer.name.as_str()),
        text(view.issuer.email.as_str()),
        text(view.issuer.email.as_str()),
    );
    Page::new("Badge withdrawn").noindex(true).body(body)
}

/// Renders the page for a second claim of a claimed award.
pub fn already_claimed(view: &AwardView<'_>) -> Page {
    let url = view.urls.assertion(view.award.id);
    let body = format!(
        "<h1>This badge has already been claimed</h1>\n\
         <p>The claim link has been used, so nothing was changed. The badge is at \
         <a href=\"{url}\">its public page</a>.</p>\n",
        url = text(&url)
    );
    Page::new("Badge already claimed").noindex(true).body(body)
}

/// Renders the page for any other error, such as an unreadable form or a fault on our side.
pub fn problem(title: &str, message: &str) -> Page {
    Page::new(title).noindex(true).body(format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        text(title),
        text(message)
    ))
}
