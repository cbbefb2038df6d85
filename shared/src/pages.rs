//! The HTML layout shared by the claim pages and the public badge pages.
//!
//! Pages are small, work without scripts and make no request to another origin: the styles
//! are inline (the page policy in [`crate::http::PAGE_CSP`] allows only inline styles and
//! same-origin images). Every piece of text goes through [`text`] or [`paragraphs`], which
//! escape it; markup is only ever built from literals and escaped values.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::escape_html;

/// The value of `X-Robots-Tag` on pages that search engines must not index.
pub const NOINDEX: &str = "noindex, nofollow";

/// One HTML page: a title, head metadata and body markup.
#[derive(Debug, Clone, Default)]
pub struct Page {
    title: String,
    noindex: bool,
    canonical: Option<String>,
    meta: Vec<Meta>,
    body: String,
}

#[derive(Debug, Clone)]
enum Meta {
    Name(&'static str, String),
    Property(&'static str, String),
}

impl Page {
    /// Starts a page with this title (plain text; it is escaped when rendered).
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            ..Self::default()
        }
    }

    /// Asks search engines not to index the page, with a robots `<meta>` element and, when
    /// sent through [`Page::into_response`], the `X-Robots-Tag` header.
    pub fn noindex(mut self, noindex: bool) -> Self {
        self.noindex = noindex;
        self
    }

    /// Adds `<link rel="canonical">` with this URL.
    pub fn canonical(mut self, url: &str) -> Self {
        self.canonical = Some(url.to_owned());
        self
    }

    /// Adds `<meta name="…" content="…">`; the content is plain text.
    pub fn meta_name(mut self, name: &'static str, content: &str) -> Self {
        self.meta.push(Meta::Name(name, content.to_owned()));
        self
    }

    /// Adds `<meta property="…" content="…">` (OpenGraph); the content is plain text.
    pub fn meta_property(mut self, property: &'static str, content: &str) -> Self {
        self.meta.push(Meta::Property(property, content.to_owned()));
        self
    }

    /// Sets the body markup. Build it from literals, [`text`] and [`paragraphs`] only.
    pub fn body(mut self, markup: String) -> Self {
        self.body = markup;
        self
    }

    /// Renders the whole document.
    pub fn render(&self) -> String {
        let mut head = String::new();
        if self.noindex {
            head.push_str("<meta name=\"robots\" content=\"noindex\">\n");
        }
        if let Some(url) = &self.canonical {
            head.push_str(&format!(
                "<link rel=\"canonical\" href=\"{}\">\n",
                text(url)
            ));
        }
        for meta in &self.meta {
            let (attribute, key, content) = match meta {
                Meta::Name(key, content) => ("name", *key, content),
                Meta::Property(key, content) => ("property", *key, content),
            };
            head.push_str(&format!(
                "<meta {attribute}=\"{}\" content=\"{}\">\n",
                text(key),
                text(content)
            ));
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             {head}<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to main content</a>\n\
             <main id=\"main\">\n{body}\n</main>\n\
             <footer><p>Digital badge in the Open Badges format. Anyone can check a badge \
             at its address on this site.</p></footer>\n</body>\n</html>\n",
            title = text(&self.title),
            body = self.body,
        )
    }

    /// Converts the page into an HTML response with this status.
    pub fn into_response(self, status: StatusCode) -> Response {
        let noindex = self.noindex;
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            self.render(),
        )
            .into_response();
        if noindex {
            response
                .headers_mut()
                .insert("x-robots-tag", HeaderValue::from_static(NOINDEX));
        }
        response
    }
}

/// Escapes plain text for element content and attribute values.
pub fn text(value: &str) -> String {
    escape_html(value)
}

/// Renders multi-line plain text (narratives, descriptions, criteria) as paragraphs: a blank
/// line starts a new paragraph and a single line break stays a line break. Markdown is shown
/// as written, not interpreted.
pub fn paragraphs(value: &str) -> String {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    for block in normalised.split("\n\n") {
        let block = block.trim_matches('\n');
        if block.trim().is_empty() {
            continue;
        }
        let lines: Vec<String> = block.split('\n').map(text).collect();
        out.push_str("<p class=\"prose\">");
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
    out
}

/// Formats a date as people in the UK write it, such as `8 November 2024`.
pub fn long_date(at: crate::domain::Timestamp) -> String {
    let value = at.to_datetime();
    format!("{} {} {}", value.day(), value.month(), value.year())
}

/// Inline styles: readable on a phone and a desktop, visible focus, and contrast that meets
/// WCAG AA for body text and links.
///
/// Checkboxes do not shrink (`flex:none`), because a flex item beside a long label, such as
/// one with an email address, otherwise shrinks below its set size on a phone. `code` names a
/// font before the generic `monospace`, because browsers shrink text set in that generic
/// family alone to 13/16 of the surrounding size (13 px in 16 px text).
const STYLE: &str = "\
:root{color-scheme:light;--ink:#1b1b1b;--muted:#4a4a4a;--accent:#1d4f91;--line:#c8c8c8;--bad:#a4161a;--ok:#1e6b2f}\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;line-height:1.5;color:var(--ink);background:#fafafa}\
main{max-width:44rem;margin:0 auto;padding:1.5rem 1rem 3rem;background:#fff}\
footer{max-width:44rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.9rem}\
h1{font-size:1.8rem;line-height:1.2;margin:.5rem 0 1rem}\
h2{font-size:1.3rem;margin:2rem 0 .5rem}\
a{color:var(--accent)}\
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}\
.skip{position:absolute;left:-999px}\
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}\
img.badge{display:block;max-width:min(100%,16rem);height:auto;margin:1rem 0}\
.prose{white-space:normal;overflow-wrap:anywhere}\
.muted{color:var(--muted)}\
.level{display:inline-block;border:1px solid var(--accent);border-radius:1rem;padding:0 .75rem;color:var(--accent)}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}\
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
.notice{border-left:5px solid var(--accent);padding:.5rem 1rem;margin:0 0 1.5rem;background:#eef3fa}\
.notice h2{margin-top:.5rem}\
.notice.bad{border-color:var(--bad);background:#fbeaea}\
.notice.ok{border-color:var(--ok);background:#e9f5ec}\
.error{color:var(--bad);font-weight:600}\
label{display:block;font-weight:600;margin-top:1rem}\
.hint{display:block;color:var(--muted);font-weight:400}\
input[type=text],input[type=email]{width:100%;max-width:30rem;font-size:1rem;padding:.5rem;border:2px solid var(--ink)}\
input[aria-invalid=true]{border-color:var(--bad)}\
.check{display:flex;gap:.5rem;align-items:flex-start;font-weight:400}\
.check input{flex:none;width:1.4rem;height:1.4rem;margin-top:.1rem}\
fieldset{margin:1.5rem 0 0;padding:.25rem 1rem 1rem;border:2px solid var(--line);border-radius:.25rem}\
legend{padding:0 .25rem}\
button{margin-top:1.5rem;font-size:1.1rem;padding:.6rem 1.2rem;background:var(--ok);color:#fff;border:0;border-radius:.25rem;cursor:pointer}\
ul.links li{margin:.25rem 0}\
code{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.9em;overflow-wrap:anywhere}\
@media (max-width:30rem){dl{grid-template-columns:1fr}h1{font-size:1.5rem}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_escapes_title_and_meta() {
        let html = Page::new("<b>Safety & Co</b>")
            .meta_property("og:title", "\"quoted\" </script>")
            .render();
        assert!(html.contains("<title>&lt;b&gt;Safety &amp; Co&lt;/b&gt;</title>"));
        assert!(html.contains("content=\"&quot;quoted&quot; &lt;/script&gt;\""));
        assert!(!html.contains("</script>"));
    }

    #[test]
    fn page_language_and_viewport() {
        let html = Page::new("t").render();
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en-GB\">"));
        assert!(html.contains("name=\"viewport\""));
        assert!(!html.contains("noindex"));
    }

    #[test]
    fn noindex_sets_meta_and_header() {
        let page = Page::new("t").noindex(true);
        assert!(
            page.render()
                .contains("<meta name=\"robots\" content=\"noindex\">")
        );
        let response = page.into_response(StatusCode::OK);
        assert_eq!(response.headers()["x-robots-tag"], NOINDEX);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn page_makes_no_third_party_requests() {
        let html = Page::new("t").body("<p>x</p>".to_owned()).render();
        assert!(!html.contains("http://"));
        assert!(!html.contains("https://"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn paragraphs_split_and_escape() {
        assert_eq!(
            paragraphs("one\ntwo\r\n\r\n<three> & four\n\n\n"),
            "<p class=\"prose\">one<br>\ntwo</p>\n<p class=\"prose\">&lt;three&gt; &amp; four</p>\n"
        );
    }

    #[test]
    fn long_date_is_british() {
        let at = crate::domain::Timestamp::parse_rfc3339("2024-11-08T23:59:59Z").unwrap();
        assert_eq!(long_date(at), "8 November 2024");
    }
}
