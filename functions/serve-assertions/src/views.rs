//! The HTML pages of public URLs: the badge page of an assertion, the BadgeClass and issuer
//! pages and the level pages. Every value is escaped through `accolade::pages`.

use accolade::domain::{Achievement, Award, Issuer, Level};
use accolade::openbadges::v2::LEVEL_FRAMEWORK;
use accolade::openbadges::v3;
use accolade::pages::{Page, long_date, paragraphs, text};
use accolade::urls::PublicUrls;

/// The characters of a description kept in the OpenGraph description; share previews show
/// about this much.
const PREVIEW_CHARS: usize = 200;

/// An award with the records its page shows.
pub struct BadgeView<'a> {
    pub award: &'a Award,
    pub issuer: &'a Issuer,
    pub achievement: &'a Achievement,
    pub urls: &'a PublicUrls,
}

fn preview(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= PREVIEW_CHARS {
        flat
    } else {
        let cut: String = flat.chars().take(PREVIEW_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Adds the OpenGraph tags of a share preview, pointing only at our own URLs.
fn with_share_preview(
    page: Page,
    title: &str,
    description: &str,
    url: &str,
    image: Option<String>,
) -> Page {
    let mut page = page
        .canonical(url)
        .meta_property("og:type", "website")
        .meta_property("og:title", title)
        .meta_property("og:description", &preview(description))
        .meta_property("og:url", url)
        .meta_name("twitter:card", "summary");
    if let Some(image) = image {
        page = page.meta_property("og:image", &image);
    }
    page
}

/// Returns the achievement's PNG image URL on our domain, because share previews rarely
/// display SVG.
fn preview_image(achievement: &Achievement, urls: &PublicUrls) -> Option<String> {
    achievement
        .images
        .png
        .as_ref()
        .map(|_| urls.badge_class_image(achievement.id, "png"))
}

fn image_element(achievement: &Achievement, urls: &PublicUrls) -> String {
    achievement
        .images
        .primary()
        .map(|image| {
            format!(
                "<img class=\"badge\" src=\"{}\" alt=\"Badge: {}\">\n",
                text(&urls.badge_class_image(achievement.id, image.extension())),
                text(achievement.name.as_str())
            )
        })
        .unwrap_or_default()
}

fn level_line(achievement: &Achievement, urls: &PublicUrls) -> String {
    achievement
        .level
        .map(|level| {
            format!(
                "<p><a class=\"level\" href=\"{}\">Level: {}</a></p>\n",
                text(&urls.level_page(level)),
                text(level.title())
            )
        })
        .unwrap_or_default()
}

fn criteria_section(achievement: &Achievement) -> String {
    let mut out = String::from("<h2>Criteria</h2>\n");
    out.push_str(&paragraphs(achievement.criteria_narrative.as_str()));
    if let Some(url) = &achievement.criteria_url {
        out.push_str(&format!(
            "<p><a href=\"{}\" rel=\"noopener noreferrer nofollow\">More about the criteria</a></p>\n",
            text(url.as_str())
        ));
    }
    out
}

/// Renders the public page of a claimed badge. The recipient's name appears, and search engines may
/// index the page, only when the recipient chose to show their name.
pub fn badge_page(view: &BadgeView<'_>) -> Page {
    let BadgeView {
        award,
        issuer,
        achievement,
        urls,
    } = *view;
    let assertion_url = urls.assertion(award.id);
    let shown_name = award
        .claim
        .as_ref()
        .filter(|claim| claim.show_name)
        .and_then(|claim| claim.display_name.as_ref());

    let mut body = format!("<h1>{}</h1>\n", text(achievement.name.as_str()));
    let issuer_link = format!(
        "<a href=\"{}\">{}</a>",
        text(&urls.issuer(issuer.id)),
        text(issuer.name.as_str())
    );
    match shown_name {
        Some(name) => body.push_str(&format!(
            "<p>Awarded to <strong>{}</strong> by {issuer_link}</p>\n",
            text(name.as_str())
        )),
        None => body.push_str(&format!("<p>Awarded by {issuer_link}</p>\n")),
    }
    body.push_str(&image_element(achievement, urls));
    body.push_str(&level_line(achievement, urls));

    body.push_str("<dl>\n");
    body.push_str(&format!(
        "<dt>Issued on</dt><dd>{}</dd>\n",
        text(&long_date(award.issued_on))
    ));
    if let Some(claim) = &award.claim {
        body.push_str(&format!(
            "<dt>Claimed on</dt><dd>{}</dd>\n",
            text(&long_date(claim.claimed_at))
        ));
    }
    if let Some(expires) = award.expires_at {
        body.push_str(&format!(
            "<dt>Expires on</dt><dd>{}</dd>\n",
            text(&long_date(expires))
        ));
    }
    body.push_str("</dl>\n");

    if let Some(narrative) = &award.narrative {
        body.push_str("<h2>Why it was awarded</h2>\n");
        body.push_str(&paragraphs(narrative.as_str()));
    }
    body.push_str("<h2>About this badge</h2>\n");
    body.push_str(&paragraphs(achievement.description.as_str()));
    body.push_str(&criteria_section(achievement));

    if !award.evidence.is_empty() {
        body.push_str("<h2>Evidence</h2>\n<ul class=\"links\">\n");
        for item in &award.evidence {
            body.push_str("<li>");
            if let Some(narrative) = &item.narrative {
                body.push_str(&paragraphs(narrative.as_str()));
            }
            if let Some(url) = &item.url {
                body.push_str(&format!(
                    "<a href=\"{url}\" rel=\"noopener noreferrer nofollow\">{url}</a>",
                    url = text(url.as_str())
                ));
            }
            body.push_str("</li>\n");
        }
        body.push_str("</ul>\n");
    }

    body.push_str("<h2>Verify</h2>\n");
    body.push_str(&format!(
        "<p>This badge is an Open Badges 2.0 assertion hosted by its issuer at:<br><code>{}</code></p>\n\
         <p>Badge apps and validators check it at that address. The images below carry the same \
         data inside them.</p>\n<ul class=\"links\">\n",
        text(&assertion_url)
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
    body.push_str("</ul>\n");
    body.push_str(&credential_downloads(view));

    body.push_str("<h2>Share</h2>\n");
    body.push_str(&format!(
        "<p>Share this page's address, or <a href=\"{}\" rel=\"noopener noreferrer\">add it to a LinkedIn profile</a> \
         as a licence or certification.</p>\n",
        text(&linkedin_url(view, &assertion_url))
    ));

    let title = format!("{} – {}", achievement.name, issuer.name);
    let page = Page::new(&title).noindex(shown_name.is_none()).body(body);
    with_share_preview(
        page,
        &title,
        achievement.description.as_str(),
        &assertion_url,
        preview_image(achievement, urls),
    )
}

/// Renders the Open Badges 3.0 downloads: the credential a wallet keeps and checks without
/// our server, as JSON and as a signed VC-JWT, and the images it is baked into.
fn credential_downloads(view: &BadgeView<'_>) -> String {
    let BadgeView {
        award,
        achievement,
        urls,
        ..
    } = *view;
    let mut out = String::from(
        "<h3>Open Badges 3.0</h3>\n<p>The same badge as a signed credential, for digital wallets. \
         It is checked with the issuer's published key, so it works without this website.</p>\n\
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
        ("png", "PNG", achievement.images.png.is_some()),
        ("svg", "SVG", achievement.images.svg.is_some()),
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
fn linkedin_url(view: &BadgeView<'_>, assertion_url: &str) -> String {
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

/// Renders the page of a revoked badge: no recipient data, only what was revoked and why.
pub fn revoked_page(view: &BadgeView<'_>) -> Page {
    let reason = view
        .award
        .revocation
        .as_ref()
        .map(|revocation| format!("<p>Reason: {}</p>\n", text(revocation.reason.as_str())))
        .unwrap_or_default();
    let revoked_on = view
        .award
        .revocation
        .as_ref()
        .map(|revocation| format!(" on {}", long_date(revocation.revoked_at)))
        .unwrap_or_default();
    let body = format!(
        "<div class=\"notice bad\" role=\"status\"><p><strong>Revoked.</strong> This badge is no longer valid: \
         {} revoked it{}.</p>\n{reason}</div>\n<h1>{}</h1>\n",
        text(view.issuer.name.as_str()),
        text(&revoked_on),
        text(view.achievement.name.as_str()),
    );
    Page::new(&format!("Revoked badge: {}", view.achievement.name))
        .noindex(true)
        .body(body)
}

/// Renders the page of a BadgeClass.
pub fn badge_class_page(achievement: &Achievement, issuer: &Issuer, urls: &PublicUrls) -> Page {
    let url = urls.badge_class(achievement.id);
    let mut body = format!(
        "<h1>{}</h1>\n<p>A badge from <a href=\"{}\">{}</a></p>\n",
        text(achievement.name.as_str()),
        text(&urls.issuer(issuer.id)),
        text(issuer.name.as_str())
    );
    body.push_str(&image_element(achievement, urls));
    body.push_str(&level_line(achievement, urls));
    body.push_str("<h2>About this badge</h2>\n");
    body.push_str(&paragraphs(achievement.description.as_str()));
    body.push_str(&criteria_section(achievement));
    let page = Page::new(&format!("{} – {}", achievement.name, issuer.name)).body(body);
    with_share_preview(
        page,
        achievement.name.as_str(),
        achievement.description.as_str(),
        &url,
        preview_image(achievement, urls),
    )
}

/// Renders the page of an issuer profile.
pub fn issuer_page(issuer: &Issuer, urls: &PublicUrls) -> Page {
    let mut body = format!("<h1>{}</h1>\n", text(issuer.name.as_str()));
    if let Some(image) = &issuer.image {
        body.push_str(&format!(
            "<img class=\"badge\" src=\"{}\" alt=\"Logo of {}\">\n",
            text(&urls.issuer_image(issuer.id, image.extension())),
            text(issuer.name.as_str())
        ));
    }
    if let Some(description) = &issuer.description {
        body.push_str(&paragraphs(description.as_str()));
    }
    body.push_str(&format!(
        "<dl>\n<dt>Website</dt><dd><a href=\"{url}\" rel=\"noopener noreferrer\">{url}</a></dd>\n\
         <dt>Contact</dt><dd><a href=\"mailto:{email}\">{email}</a></dd>\n</dl>\n",
        url = text(issuer.url.as_str()),
        email = text(issuer.email.as_str())
    ));
    Page::new(issuer.name.as_str())
        .canonical(&urls.issuer(issuer.id))
        .body(body)
}

/// Renders the page of a level, the target of the level alignment of every BadgeClass.
pub fn level_page(level: Level, urls: &PublicUrls) -> Page {
    let mut body = format!(
        "<h1>{} level</h1>\n<p>{}</p>\n<h2>{}</h2>\n<p>Badges are awarded at four levels, from first steps to leadership:</p>\n<ol>\n",
        text(level.title()),
        text(level.description()),
        text(LEVEL_FRAMEWORK)
    );
    for other in Level::ALL {
        let name = if other == level {
            format!("<strong>{}</strong>", text(other.title()))
        } else {
            format!(
                "<a href=\"{}\">{}</a>",
                text(&urls.level_page(other)),
                text(other.title())
            )
        };
        body.push_str(&format!("<li>{name}: {}</li>\n", text(other.description())));
    }
    body.push_str("</ol>\n");
    Page::new(&format!("{} level", level.title()))
        .canonical(&urls.level_page(level))
        .body(body)
}

/// Renders the page for a URL that names nothing (or a badge that is not public yet).
pub fn not_found_page(what: &str) -> Page {
    Page::new("Not found").noindex(true).body(format!(
        "<h1>Not found</h1>\n<p>There is no {} at this address. Check that the whole address was copied.</p>\n",
        text(what)
    ))
}
