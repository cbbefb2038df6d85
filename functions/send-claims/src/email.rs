//! The claim email: subject, plain-text part and HTML part.
//!
//! Both parts carry the claim link, so the email works in clients that show only one of them.
//! The HTML part escapes every value, loads nothing from other hosts and uses inline styles
//! only, because many mail clients drop `<style>` elements.

use accolade::domain::{Achievement, Award, Issuer, Timestamp};
use accolade::pages::{long_date, paragraphs, text};

/// The records and the link that the email is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct ClaimEmailInput<'a> {
    pub issuer: &'a Issuer,
    pub achievement: &'a Achievement,
    pub award: &'a Award,
    /// The claim link with the token; it appears only in the email.
    pub claim_url: &'a str,
    /// When the claim link stops working.
    pub expires_at: Timestamp,
}

/// A rendered claim email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The wording that differs between an email to the young person and one to a guardian.
struct Voice {
    greeting: String,
    awarded_to: String,
    why_heading: String,
    claim_intro: String,
    claim_button: &'static str,
    after_link: Option<String>,
    closing: &'static str,
}

fn voice(input: &ClaimEmailInput<'_>) -> Voice {
    let recipient = &input.award.recipient;
    let name = recipient.name.as_ref().map(|name| name.as_str());
    if recipient.is_delivered_to_guardian() {
        let (someone, them) = match name {
            Some(name) => (name.to_owned(), name.to_owned()),
            None => (
                "a young person you look after".to_owned(),
                "them".to_owned(),
            ),
        };
        Voice {
            greeting: "Hello,".to_owned(),
            awarded_to: someone,
            why_heading: match name {
                Some(name) => format!("Why {name} received it"),
                None => "Why they received it".to_owned(),
            },
            claim_intro: match name {
                Some(name) => format!(
                    "Please pass this email on to {name}, or help {name} claim the badge with this link:"
                ),
                None => "Please pass this email on to the young person, or help them claim the badge with this link:"
                    .to_owned(),
            },
            claim_button: "Claim the badge",
            after_link: Some(format!(
                "When claiming, {them} can give their own email address so that the badge belongs to them, or choose to link it to this address instead."
            )),
            closing: "You received this email as the parent or guardian contact that the organisation gave for this young person.",
        }
    } else {
        Voice {
            greeting: match name {
                Some(name) => format!("Hello {name},"),
                None => "Hello,".to_owned(),
            },
            awarded_to: "you".to_owned(),
            why_heading: "Why you received it".to_owned(),
            claim_intro: "Claim your badge with this link:".to_owned(),
            claim_button: "Claim your badge",
            after_link: None,
            closing: "The link is for you: anyone who has it can claim the badge, so please do not forward this email.",
        }
    }
}

/// Renders the subject and both parts.
pub fn render_claim_email(input: &ClaimEmailInput<'_>) -> ClaimEmail {
    let issuer = input.issuer.name.as_str();
    let achievement = input.achievement.name.as_str();
    let recipient = &input.award.recipient;
    let guardian = recipient.is_delivered_to_guardian();

    let subject = if guardian {
        match &recipient.name {
            Some(name) => format!("A badge for {name} from {issuer}: {achievement}"),
            None => format!("A badge from {issuer}: {achievement}"),
        }
    } else {
        format!("Your badge from {issuer}: {achievement}")
    };
    // Names cannot hold line breaks, but a header must never get one from any field.
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();

    ClaimEmail {
        text: render_text(input, &voice(input)),
        html: render_html(input, &voice(input), &subject),
        subject,
    }
}

fn awarded_sentence(input: &ClaimEmailInput<'_>, voice: &Voice) -> (String, String) {
    let issuer = input.issuer.name.as_str();
    let achievement = input.achievement.name.as_str();
    let level_text = input
        .achievement
        .level
        .map(|level| format!(" at the {} level", level.title()))
        .unwrap_or_default();
    let plain = format!(
        "{issuer} has awarded {} the badge \"{achievement}\"{level_text}.",
        voice.awarded_to
    );
    let level_html = input
        .achievement
        .level
        .map(|level| format!(" at the <strong>{}</strong> level", text(level.title())))
        .unwrap_or_default();
    let html = format!(
        "{} has awarded {} the badge <strong>{}</strong>{level_html}.",
        text(issuer),
        text(&voice.awarded_to),
        text(achievement)
    );
    (plain, html)
}

fn expiry_sentence(input: &ClaimEmailInput<'_>) -> String {
    format!(
        "The link works until {}. If it has expired, ask {} for a new one at {}.",
        long_date(input.expires_at),
        input.issuer.name,
        input.issuer.email
    )
}

const ABOUT_BADGES: &str = "A digital badge is a record of an achievement that anyone can check. Once claimed, it can be downloaded as an image, shared as a web page and added to a CV or a LinkedIn profile.";

fn render_text(input: &ClaimEmailInput<'_>, voice: &Voice) -> String {
    let (awarded, _) = awarded_sentence(input, voice);
    let mut out = format!("{}\n\n{awarded}\n\n", voice.greeting);
    if let Some(narrative) = &input.award.narrative {
        out.push_str(&format!("{}:\n{narrative}\n\n", voice.why_heading));
    }
    out.push_str(&format!(
        "About the badge:\n{}\n\n",
        input.achievement.description
    ));
    out.push_str(&voice.claim_intro);
    out.push_str(&format!("\n{}\n\n", input.claim_url));
    if let Some(after) = &voice.after_link {
        out.push_str(&format!("{after}\n\n"));
    }
    out.push_str(&format!(
        "{}\n\n{ABOUT_BADGES}\n\n{}\n",
        expiry_sentence(input),
        voice.closing
    ));
    out
}

fn render_html(input: &ClaimEmailInput<'_>, voice: &Voice, subject: &str) -> String {
    let (_, awarded) = awarded_sentence(input, voice);
    let url = text(input.claim_url);
    let heading = "font-size:18px;margin:24px 0 8px";

    let mut body = format!("<p>{}</p>\n<p>{awarded}</p>\n", text(&voice.greeting));
    if let Some(narrative) = &input.award.narrative {
        body.push_str(&format!(
            "<h2 style=\"{heading}\">{}</h2>\n{}",
            text(&voice.why_heading),
            paragraphs(narrative.as_str())
        ));
    }
    body.push_str(&format!(
        "<h2 style=\"{heading}\">About the badge</h2>\n{}",
        paragraphs(input.achievement.description.as_str())
    ));
    body.push_str(&format!("<p>{}</p>\n", text(&voice.claim_intro)));
    body.push_str(&format!(
        "<p><a href=\"{url}\" style=\"display:inline-block;padding:12px 20px;background:#1e6b2f;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold\">{}</a></p>\n\
         <p>If the button does not work, copy this link into your browser:<br>\n<a href=\"{url}\">{url}</a></p>\n",
        voice.claim_button
    ));
    if let Some(after) = &voice.after_link {
        body.push_str(&format!("<p>{}</p>\n", text(after)));
    }
    body.push_str(&format!(
        "<p>{}</p>\n<p>{}</p>\n<p style=\"color:#4a4a4a;font-size:14px\">{}</p>\n",
        text(&expiry_sentence(input)),
        text(ABOUT_BADGES),
        text(voice.closing)
    ));

    format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n</head>\n\
         <body style=\"margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff\">\n\
         {body}</body>\n</html>\n",
        text(subject)
    )
}

#[cfg(test)]
mod tests {
    use accolade::domain::{
        AchievementId, AchievementImages, AwardId, AwardState, ClientId, DeliveryStatus,
        EmailAddress, HttpsUrl, IssuerId, Level, Recipient, Text, TextLimit,
    };

    use super::*;

    const TOKEN: &str = "k3Y9-secret_token";

    fn text_value(value: &str) -> Text {
        Text::parse("test", value, TextLimit::LONG).unwrap()
    }

    fn issuer(name: &str) -> Issuer {
        Issuer {
            id: IssuerId::from_uuid(uuid_of(1)),
            name: text_value(name),
            url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
            email: EmailAddress::parse("badges@music.example.org").unwrap(),
            description: None,
            image: None,
            created_at: Timestamp::from_unix_seconds(1_731_060_000),
            updated_at: Timestamp::from_unix_seconds(1_731_060_000),
            version: 1,
        }
    }

    fn uuid_of(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn achievement(name: &str) -> Achievement {
        Achievement {
            id: AchievementId::from_uuid(uuid_of(2)),
            issuer_id: IssuerId::from_uuid(uuid_of(1)),
            name: text_value(name),
            description: text_value("Took part in the summer orchestra course."),
            criteria_narrative: text_value("Attend all five days."),
            criteria_url: None,
            level: Some(Level::Participate),
            tags: Vec::new(),
            images: AchievementImages {
                png: None,
                svg: None,
            },
            created_at: Timestamp::from_unix_seconds(1_731_060_000),
        }
    }

    fn award(recipient: Recipient, narrative: Option<&str>) -> Award {
        Award {
            id: AwardId::from_uuid(uuid_of(3)),
            issuer_id: IssuerId::from_uuid(uuid_of(1)),
            achievement_id: AchievementId::from_uuid(uuid_of(2)),
            recipient,
            narrative: narrative.map(text_value),
            evidence: Vec::new(),
            issued_on: Timestamp::from_unix_seconds(1_731_060_000),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Pending,
            message_id: None,
            sends_requested: 1,
            sends_done: 0,
            last_send_requested_at: Timestamp::from_unix_seconds(1_731_060_000),
            claim_token: None,
            claim: None,
            revocation: None,
            assertion_json: None,
            dedup_key: None,
            created_by: ClientId::parse("partner").unwrap(),
            version: 1,
        }
    }

    fn young_person() -> Recipient {
        Recipient {
            email: Some(EmailAddress::parse("amara@example.org").unwrap()),
            name: Some(text_value("Amara")),
            delivery_email: None,
        }
    }

    fn render(issuer: &Issuer, achievement: &Achievement, award: &Award) -> ClaimEmail {
        let url = format!("https://badges.example.org/claim/{TOKEN}");
        let email = render_claim_email(&ClaimEmailInput {
            issuer,
            achievement,
            award,
            claim_url: &url,
            // 90 days after 2024-11-08T10:00:00Z.
            expires_at: Timestamp::from_unix_seconds(1_731_060_000 + 90 * 86_400),
        });
        ClaimEmail {
            subject: email.subject,
            text: email.text.replace(TOKEN, "{TOKEN}"),
            html: email.html.replace(TOKEN, "{TOKEN}"),
        }
    }

    fn guardian() -> Recipient {
        Recipient {
            email: None,
            name: Some(text_value("Li Wei")),
            delivery_email: Some(EmailAddress::parse("guardian.wei@example.com").unwrap()),
        }
    }

    #[test]
    fn email_to_young_person() {
        let email = render(
            &issuer("Riverside Music Service"),
            &achievement("Summer Orchestra"),
            &award(young_person(), Some("Played cello in all five rehearsals.")),
        );
        assert_eq!(
            email.subject,
            "Your badge from Riverside Music Service: Summer Orchestra"
        );
        assert_eq!(
            email.text,
            r#"Hello Amara,

Riverside Music Service has awarded you the badge "Summer Orchestra" at the Participate level.

Why you received it:
Played cello in all five rehearsals.

About the badge:
Took part in the summer orchestra course.

Claim your badge with this link:
https://badges.example.org/claim/{TOKEN}

The link works until 6 February 2025. If it has expired, ask Riverside Music Service for a new one at badges@music.example.org.

A digital badge is a record of an achievement that anyone can check. Once claimed, it can be downloaded as an image, shared as a web page and added to a CV or a LinkedIn profile.

The link is for you: anyone who has it can claim the badge, so please do not forward this email.
"#
        );
        assert_eq!(
            email.html,
            r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your badge from Riverside Music Service: Summer Orchestra</title>
</head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<p>Hello Amara,</p>
<p>Riverside Music Service has awarded you the badge <strong>Summer Orchestra</strong> at the <strong>Participate</strong> level.</p>
<h2 style="font-size:18px;margin:24px 0 8px">Why you received it</h2>
<p class="prose">Played cello in all five rehearsals.</p>
<h2 style="font-size:18px;margin:24px 0 8px">About the badge</h2>
<p class="prose">Took part in the summer orchestra course.</p>
<p>Claim your badge with this link:</p>
<p><a href="https://badges.example.org/claim/{TOKEN}" style="display:inline-block;padding:12px 20px;background:#1e6b2f;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold">Claim your badge</a></p>
<p>If the button does not work, copy this link into your browser:<br>
<a href="https://badges.example.org/claim/{TOKEN}">https://badges.example.org/claim/{TOKEN}</a></p>
<p>The link works until 6 February 2025. If it has expired, ask Riverside Music Service for a new one at badges@music.example.org.</p>
<p>A digital badge is a record of an achievement that anyone can check. Once claimed, it can be downloaded as an image, shared as a web page and added to a CV or a LinkedIn profile.</p>
<p style="color:#4a4a4a;font-size:14px">The link is for you: anyone who has it can claim the badge, so please do not forward this email.</p>
</body>
</html>
"#
        );
    }

    #[test]
    fn email_to_guardian() {
        let email = render(
            &issuer("Riverside Music Service"),
            &achievement("Summer Orchestra"),
            &award(guardian(), None),
        );
        assert_eq!(
            email.subject,
            "A badge for Li Wei from Riverside Music Service: Summer Orchestra"
        );
        assert_eq!(
            email.text,
            r#"Hello,

Riverside Music Service has awarded Li Wei the badge "Summer Orchestra" at the Participate level.

About the badge:
Took part in the summer orchestra course.

Please pass this email on to Li Wei, or help Li Wei claim the badge with this link:
https://badges.example.org/claim/{TOKEN}

When claiming, Li Wei can give their own email address so that the badge belongs to them, or choose to link it to this address instead.

The link works until 6 February 2025. If it has expired, ask Riverside Music Service for a new one at badges@music.example.org.

A digital badge is a record of an achievement that anyone can check. Once claimed, it can be downloaded as an image, shared as a web page and added to a CV or a LinkedIn profile.

You received this email as the parent or guardian contact that the organisation gave for this young person.
"#
        );
        assert_eq!(
            email.html,
            r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>A badge for Li Wei from Riverside Music Service: Summer Orchestra</title>
</head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<p>Hello,</p>
<p>Riverside Music Service has awarded Li Wei the badge <strong>Summer Orchestra</strong> at the <strong>Participate</strong> level.</p>
<h2 style="font-size:18px;margin:24px 0 8px">About the badge</h2>
<p class="prose">Took part in the summer orchestra course.</p>
<p>Please pass this email on to Li Wei, or help Li Wei claim the badge with this link:</p>
<p><a href="https://badges.example.org/claim/{TOKEN}" style="display:inline-block;padding:12px 20px;background:#1e6b2f;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold">Claim the badge</a></p>
<p>If the button does not work, copy this link into your browser:<br>
<a href="https://badges.example.org/claim/{TOKEN}">https://badges.example.org/claim/{TOKEN}</a></p>
<p>When claiming, Li Wei can give their own email address so that the badge belongs to them, or choose to link it to this address instead.</p>
<p>The link works until 6 February 2025. If it has expired, ask Riverside Music Service for a new one at badges@music.example.org.</p>
<p>A digital badge is a record of an achievement that anyone can check. Once claimed, it can be downloaded as an image, shared as a web page and added to a CV or a LinkedIn profile.</p>
<p style="color:#4a4a4a;font-size:14px">You received this email as the parent or guardian contact that the organisation gave for this young person.</p>
</body>
</html>
"#
        );
    }

    #[test]
    fn guardian_email_without_name() {
        let mut recipient = guardian();
        recipient.name = None;
        let email = render(
            &issuer("Riverside Music Service"),
            &achievement("Summer Orchestra"),
            &award(recipient, None),
        );
        assert_eq!(
            email.subject,
            "A badge from Riverside Music Service: Summer Orchestra"
        );
        assert!(email.text.contains(
            "Riverside Music Service has awarded a young person you look after the badge"
        ));
        assert!(email.text.contains(
            "Please pass this email on to the young person, or help them claim the badge with this link:\nhttps://badges.example.org/claim/{TOKEN}\n"
        ));
    }

    #[test]
    fn email_escapes_markup_in_html_only() {
        let name = "<b>Safety & Co</b> — سلامة";
        let mut recipient = young_person();
        recipient.name = Some(text_value("<i>Amara</i>"));
        let email = render(
            &issuer(name),
            &achievement(name),
            &award(
                recipient,
                Some("Line one & <script>alert(1)</script>\n\nLine two"),
            ),
        );

        assert_eq!(
            email.subject,
            "Your badge from <b>Safety & Co</b> — سلامة: <b>Safety & Co</b> — سلامة"
        );
        assert!(email.text.contains(
            "<b>Safety & Co</b> — سلامة has awarded you the badge \"<b>Safety & Co</b> — سلامة\""
        ));
        assert!(email.text.contains("Hello <i>Amara</i>,"));

        let escaped = "&lt;b&gt;Safety &amp; Co&lt;/b&gt; — سلامة";
        assert!(email.html.contains(&format!(
            "<p>{escaped} has awarded you the badge <strong>{escaped}</strong>"
        )));
        assert!(email.html.contains(&format!(
            "<title>Your badge from {escaped}: {escaped}</title>"
        )));
        assert!(
            email
                .html
                .contains("<p>Hello &lt;i&gt;Amara&lt;/i&gt;,</p>")
        );
        assert!(email.html.contains(
            "<p class=\"prose\">Line one &amp; &lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p class=\"prose\">Line two</p>"
        ));
        for raw in ["<b>", "<i>", "<script>", "Safety & Co"] {
            assert!(
                !email.html.contains(raw),
                "unescaped {raw:?} in the HTML part"
            );
        }
    }

    #[test]
    fn html_loads_nothing_from_other_hosts() {
        let email = render(
            &issuer("Riverside Music Service"),
            &achievement("Summer Orchestra"),
            &award(young_person(), None),
        );
        for tag in ["<img", "<link", "<script", "url("] {
            assert!(!email.html.contains(tag), "{tag} in the HTML part");
        }
        let links: Vec<&str> = email
            .html
            .match_indices("href=\"")
            .map(|(at, _)| &email.html[at + 6..])
            .collect();
        assert_eq!(links.len(), 2);
        for link in links {
            assert!(link.starts_with("https://badges.example.org/claim/{TOKEN}\""));
        }
    }
}
