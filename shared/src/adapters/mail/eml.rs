//! Writing and reading RFC 5322 messages (`.eml` files) with a MIME `multipart/alternative`
//! body of a plain-text part and an HTML part.
//!
//! Both parts use quoted-printable (RFC 2045, section 6.7), so the file stays readable in a
//! text editor, every line stays within 76 octets and any UTF-8 survives. Non-ASCII header
//! text is written as RFC 2047 encoded words. Line breaks in the parts are written as CRLF
//! and read back as `\n`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::AwardId;

/// The header that names the award an email belongs to, so a reader can match emails to
/// awards as delivery events do in AWS.
pub const AWARD_ID_HEADER: &str = "X-Accolade-Award-Id";

/// The longest encoded line quoted-printable allows, soft line break included.
const QP_LINE_LEN: usize = 76;
/// The most UTF-8 bytes in one encoded word: 45 bytes are 60 base64 characters, which with
/// `=?UTF-8?B?` and `?=` make the 72 characters that fit RFC 2047's limit of 75.
const ENCODED_WORD_BYTES: usize = 45;
/// Header text longer than this is written as encoded words, which fold onto short lines,
/// so no header line comes near RFC 5322's limit of 998 octets.
const PLAIN_HEADER_MAX: usize = 900;

/// An email read back from an `.eml` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The `From` header as written, encoded words decoded.
    pub from: String,
    /// The recipient's address, without a display name.
    pub to: String,
    pub subject: String,
    /// The `Message-ID` without its angle brackets.
    pub message_id: String,
    pub award_id: AwardId,
    /// The plain-text part, with `\n` line breaks.
    pub text: String,
    /// The HTML part, with `\n` line breaks.
    pub html: String,
}

/// An `.eml` file that `read_eml` cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmlError {
    #[error("the email has no {0} header")]
    MissingHeader(&'static str),
    #[error("the email has no {0} part")]
    MissingPart(&'static str),
    #[error("the email is not valid: {0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> EmlError {
    EmlError::Invalid(message.into())
}

/// The header fields and body of one message, ready to be written.
pub(super) struct Message<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub date: &'a str,
    pub message_id: &'a str,
    pub award_id: AwardId,
    pub boundary: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// A `From` value that cannot be written as a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the From address {0:?} is not valid; write it as `Name <address@example.org>` or as a bare address, on one line"
)]
pub(super) struct InvalidFrom(pub String);

/// Writes the message with CRLF line breaks.
pub(super) fn write_message(message: &Message<'_>) -> Result<String, InvalidFrom> {
    let from = encode_mailbox(message.from)?;
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("From", &from);
    header("To", message.to);
    header("Subject", &encode_header_text(message.subject));
    header("Date", message.date);
    header("Message-ID", &format!("<{}>", message.message_id));
    header(AWARD_ID_HEADER, &message.award_id.to_string());
    header("MIME-Version", "1.0");
    header(
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{}\"", message.boundary),
    );
    out.push_str("\r\n");
    for (media_type, body) in [("text/plain", message.text), ("text/html", message.html)] {
        out.push_str(&format!("--{}\r\n", message.boundary));
        out.push_str(&format!("Content-Type: {media_type}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        out.push_str(&encode_quoted_printable(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{}--\r\n", message.boundary));
    Ok(out)
}

/// Encodes header text as it is when it is short printable ASCII, or as RFC 2047 encoded
/// words, one per folded line, otherwise. Text containing `=?` is encoded too, so a reader
/// cannot mistake it for an encoded word.
fn encode_header_text(value: &str) -> String {
    let plain = value.len() <= PLAIN_HEADER_MAX
        && value.bytes().all(|byte| (b' '..=b'~').contains(&byte))
        && !value.contains("=?");
    if plain {
        return value.to_owned();
    }
    let mut words = Vec::new();
    let mut start = 0;
    while start < value.len() {
        // Cut at a character boundary, so each word decodes to whole characters.
        let mut end = (start + ENCODED_WORD_BYTES).min(value.len());
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!(
            "=?UTF-8?B?{}?=",
            STANDARD.encode(&value.as_bytes()[start..end])
        ));
        start = end;
    }
    words.join("\r\n ")
}

/// Encodes a `From` value, `Name <address>` or a bare address, with the name as a quoted
/// string or encoded words when it needs them.
fn encode_mailbox(value: &str) -> Result<String, InvalidFrom> {
    let reject = || InvalidFrom(value.chars().take(200).collect());
    if value.chars().any(char::is_control) {
        return Err(reject());
    }
    let value = value.trim();
    let Some(open) = value.rfind('<') else {
        if value.is_empty() || value.contains(['>', ' ']) {
            return Err(reject());
        }
        return Ok(value.to_owned());
    };
    let address = value[open..]
        .strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .filter(|address| !address.is_empty() && !address.contains(['<', '>', ' ']))
        .ok_or_else(reject)?;
    let name = value[..open].trim().trim_matches('"').trim();
    if name.is_empty() {
        return Ok(format!("<{address}>"));
    }
    let atom_text = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
    let name = if name.chars().all(atom_text) && !name.contains("=?") {
        name.to_owned()
    } else if name.bytes().all(|byte| (b' '..=b'~').contains(&byte)) && !name.contains("=?") {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        encode_header_text(name)
    };
    Ok(format!("{name} <{address}>"))
}

/// Encodes text as quoted-printable with CRLF line breaks; `\r\n` and `\n` in the text both
/// become line breaks.
fn encode_quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push_str("\r\n");
        }
        encode_qp_line(line.strip_suffix('\r').unwrap_or(line), &mut out);
    }
    out
}

fn encode_qp_line(line: &str, out: &mut String) {
    let bytes = line.as_bytes();
    let mut column = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let last = index + 1 == bytes.len();
        // Spaces and tabs are literal except at the end of a line, where transports may strip
        // them; '=' is always encoded because it starts an escape.
        let mut literal = match byte {
            b' ' | b'\t' => !last,
            b'=' => false,
            33..=126 => true,
            _ => false,
        };
        let width = if literal { 1 } else { 3 };
        // The soft line break '=' needs the last column, unless this is the line's last byte.
        let limit = if last { QP_LINE_LEN } else { QP_LINE_LEN - 1 };
        if column + width > limit {
            out.push_str("=\r\n");
            column = 0;
        }
        // A line that starts with '.' can lose the dot in SMTP relays that mishandle dot
        // stuffing, so it is encoded.
        if byte == b'.' && column == 0 {
            literal = false;
        }
        if literal {
            out.push(char::from(byte));
            column += 1;
        } else {
            out.push_str(&format!("={byte:02X}"));
            column += 3;
        }
    }
}

/// Reads an `.eml` file written by the outbox mailer (or any message of the same shape),
/// decoding its headers and parts.
pub fn read_eml(bytes: &[u8]) -> Result<ParsedEmail, EmlError> {
    let text =
        std::str::from_utf8(bytes).map_err(|error| invalid(format!("not UTF-8: {error}")))?;
    let (headers, body) = split_headers(text);
    let headers = parse_headers(headers);

    let required = |name: &'static str| -> Result<&str, EmlError> {
        find_header(&headers, name).ok_or(EmlError::MissingHeader(name))
    };
    let from = decode_header_text(required("From")?)?;
    let to = bare_address(&decode_header_text(required("To")?)?);
    let subject = decode_header_text(required("Subject")?)?;
    let message_id = required("Message-ID")?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let award_id_value = required(AWARD_ID_HEADER)?.trim();
    let award_id = award_id_value
        .parse::<AwardId>()
        .map_err(|error| invalid(format!("header {AWARD_ID_HEADER}: {error}")))?;

    let mut text_part = None;
    let mut html_part = None;
    let content_type = find_header(&headers, "Content-Type").unwrap_or("text/plain");
    for (part_type, part_body) in leaf_parts(content_type, &headers, body)? {
        match part_type.as_str() {
            "text/plain" if text_part.is_none() => text_part = Some(part_body),
            "text/html" if html_part.is_none() => html_part = Some(part_body),
            _ => {}
        }
    }
    Ok(ParsedEmail {
        from,
        to,
        subject,
        message_id,
        award_id,
        text: text_part.ok_or(EmlError::MissingPart("text/plain"))?,
        html: html_part.ok_or(EmlError::MissingPart("text/html"))?,
    })
}

/// Splits a message or part at the first empty line; without one, it is all headers.
fn split_headers(text: &str) -> (&str, &str) {
    for separator in ["\r\n\r\n", "\n\n"] {
        if let Some(position) = text.find(separator) {
            return (&text[..position], &text[position + separator.len()..]);
        }
    }
    (text, "")
}

/// Parses header fields, joining folded lines (RFC 5322, section 2.2.3).
fn parse_headers(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The address inside `Name <address>`, or the value itself when there are no brackets.
fn bare_address(value: &str) -> String {
    match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => value[open + 1..close].trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// The value of a parameter such as `boundary` in a `Content-Type` header.
fn header_parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|parameter| {
        let (key, raw) = parameter.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| raw.trim().trim_matches('"').to_owned())
    })
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The decoded text parts of a body, walking nested multiparts: `(media type, text)` pairs.
fn leaf_parts(
    content_type: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<Vec<(String, String)>, EmlError> {
    let kind = media_type(content_type);
    if !kind.starts_with("multipart/") {
        if let Some(charset) = header_parameter(content_type, "charset")
            && !charset.eq_ignore_ascii_case("utf-8")
            && !charset.eq_ignore_ascii_case("us-ascii")
        {
            return Err(invalid(format!(
                "the {kind} part has charset {charset}; only utf-8 is read"
            )));
        }
        let encoding = find_header(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
        return Ok(vec![(kind, decode_transfer_encoding(encoding, body)?)]);
    }

    let boundary = header_parameter(content_type, "boundary")
        .ok_or_else(|| invalid(format!("the {kind} body has no boundary parameter")))?;
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut closed = false;
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_end();
        if trimmed == closing || trimmed == delimiter {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\r\n"));
            }
            if trimmed == closing {
                closed = true;
                break;
            }
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if !closed {
        return Err(invalid(format!(
            "the {kind} body does not end with the closing boundary {closing}"
        )));
    }

    let mut leaves = Vec::new();
    for part in parts {
        let (part_headers, part_body) = split_headers(&part);
        let part_headers = parse_headers(part_headers);
        let part_type = find_header(&part_headers, "Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        leaves.extend(leaf_parts(&part_type, &part_headers, part_body)?);
    }
    Ok(leaves)
}

fn decode_transfer_encoding(encoding: &str, body: &str) -> Result<String, EmlError> {
    let bytes = match encoding.trim().to_ascii_lowercase().as_str() {
        "quoted-printable" => decode_quoted_printable(body)?,
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            STANDARD
                .decode(compact)
                .map_err(|error| invalid(format!("a base64 part does not decode: {error}")))?
        }
        "7bit" | "8bit" | "binary" => body.replace("\r\n", "\n").into_bytes(),
        other => {
            return Err(invalid(format!(
                "transfer encoding {other:?} is not supported"
            )));
        }
    };
    String::from_utf8(bytes).map_err(|error| invalid(format!("a part is not UTF-8: {error}")))
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Decodes quoted-printable, turning hard line breaks into `\n`.
fn decode_quoted_printable(body: &str) -> Result<Vec<u8>, EmlError> {
    let mut out = Vec::with_capacity(body.len());
    let lines: Vec<&str> = body.split('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Whitespace at the end of an encoded line was added in transport (section 6.7, rule 3).
        let line = line.trim_end_matches([' ', '\t']);
        let (content, soft_break) = match line.strip_suffix('=') {
            Some(content) => (content, true),
            None => (line, false),
        };
        let bytes = content.as_bytes();
        let mut position = 0;
        while position < bytes.len() {
            if bytes[position] == b'=' {
                let escape = bytes
                    .get(position + 1)
                    .and_then(|&high| hex_value(high))
                    .zip(bytes.get(position + 2).and_then(|&low| hex_value(low)));
                let (high, low) = escape.ok_or_else(|| {
                    invalid(format!(
                        "quoted-printable line {} has an '=' that is not followed by two hex digits",
                        index + 1
                    ))
                })?;
                out.push(high * 16 + low);
                position += 3;
            } else {
                out.push(bytes[position]);
                position += 1;
            }
        }
        if !soft_break && index + 1 < lines.len() {
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// Decodes header text that may contain RFC 2047 encoded words. Whitespace between two
/// adjacent encoded words is dropped, as section 6.2 requires, and their bytes are joined
/// before UTF-8 decoding, so a character split across words survives.
fn decode_header_text(value: &str) -> Result<String, EmlError> {
    let mut out = String::new();
    let mut encoded_run: Vec<u8> = Vec::new();
    let mut whitespace = String::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| -> Result<(), EmlError> {
        if !run.is_empty() {
            let text = String::from_utf8(std::mem::take(run))
                .map_err(|error| invalid(format!("an encoded word is not UTF-8: {error}")))?;
            out.push_str(&text);
        }
        Ok(())
    };
    for token in split_keeping_whitespace(value) {
        if token.starts_with([' ', '\t']) {
            whitespace.push_str(token);
        } else if let Some(bytes) = decode_encoded_word(token)? {
            if encoded_run.is_empty() {
                out.push_str(&whitespace);
            }
            whitespace.clear();
            encoded_run.extend(bytes);
        } else {
            flush(&mut encoded_run, &mut out)?;
            out.push_str(&whitespace);
            whitespace.clear();
            out.push_str(token);
        }
    }
    flush(&mut encoded_run, &mut out)?;
    Ok(out)
}

/// Splits text into runs of spaces and tabs and runs of other characters.
fn split_keeping_whitespace(value: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut in_whitespace = None;
    for (index, c) in value.char_indices() {
        let is_whitespace = c == ' ' || c == '\t';
        if in_whitespace.is_some_and(|previous| previous != is_whitespace) {
            tokens.push(&value[start..index]);
            start = index;
        }
        in_whitespace = Some(is_whitespace);
    }
    if start < value.len() {
        tokens.push(&value[start..]);
    }
    tokens
}

/// Decodes one `=?charset?B|Q?text?=` word; `None` when `token` is not an encoded word.
fn decode_encoded_word(token: &str) -> Result<Option<Vec<u8>>, EmlError> {
    let Some(inner) = token
        .strip_prefix("=?")
        .and_then(|rest| rest.strip_suffix("?="))
    else {
        return Ok(None);
    };
    let mut fields = inner.splitn(3, '?');
    let (Some(charset), Some(encoding), Some(text)) = (fields.next(), fields.next(), fields.next())
    else {
        return Ok(None);
    };
    // RFC 2231 lets a language follow the charset, as in `UTF-8*en`.
    let charset = charset.split('*').next().unwrap_or_default();
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return Err(invalid(format!(
            "an encoded word uses charset {charset}; only UTF-8 is read"
        )));
    }
    let bytes = if encoding.eq_ignore_ascii_case("b") {
        STANDARD
            .decode(text)
            .map_err(|error| invalid(format!("encoded word {token:?} does not decode: {error}")))?
    } else if encoding.eq_ignore_ascii_case("q") {
        let spaced = text.replace('_', " ");
        decode_quoted_printable(&spaced)?
    } else {
        return Err(invalid(format!(
            "encoded word {token:?} has encoding {encoding}; expected B or Q"
        )));
    };
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_round_trips() {
        let cases = [
            "",
            "plain",
            "a = b",
            "trailing space \nnext",
            "tab\tinside\t",
            ".starts with a dot",
            "line\r\nbreaks\nmixed",
            "lone\rcarriage return",
            "<b>Safety & Co</b> — سلامة 🎻",
            &"x".repeat(5_000),
            &"é".repeat(700),
            &"=".repeat(80),
        ];
        for case in cases {
            let encoded = encode_quoted_printable(case);
            for line in encoded.split("\r\n") {
                assert!(
                    line.len() <= QP_LINE_LEN,
                    "line {line:?} of {case:?} is too long"
                );
                assert!(!line.ends_with(' '), "line {line:?} ends with a space");
                assert!(!line.starts_with('.'), "line {line:?} starts with a dot");
            }
            let decoded = String::from_utf8(decode_quoted_printable(&encoded).unwrap()).unwrap();
            let expected = case.replace("\r\n", "\n");
            assert_eq!(decoded, expected, "case {case:?}");
        }
    }

    #[test]
    fn quoted_printable_rejects_bad_escape() {
        let error = decode_quoted_printable("abc=G1").unwrap_err();
        assert!(error.to_string().contains("two hex digits"), "{error}");
    }

    #[test]
    fn header_text_round_trips() {
        let long_ascii = "a".repeat(1_000);
        let cases = [
            "Your badge is ready",
            "Badge: =?looks-encoded?=",
            "Ваш значок готов",
            "سلامة — Safety & Co 🎻🎺",
            "line\r\nbreak injected",
            long_ascii.as_str(),
        ];
        for case in cases {
            let encoded = encode_header_text(case);
            for line in encoded.split("\r\n") {
                assert!(line.len() <= 998, "header line of {case:?} is too long");
            }
            assert!(!encoded.contains("\r\n") || encoded.contains("\r\n "));
            let unfolded = encoded.replace("\r\n", "");
            assert_eq!(decode_header_text(&unfolded).unwrap(), case);
        }
    }

    #[test]
    fn header_text_keeps_plain_ascii() {
        assert_eq!(encode_header_text("Your badge"), "Your badge");
    }

    #[test]
    fn header_decoding_keeps_space_around_words() {
        let decoded =
            decode_header_text("Re: =?UTF-8?Q?caf=C3=A9?= =?UTF-8?B?IG9r?= done").unwrap();
        assert_eq!(decoded, "Re: café ok done");
    }

    #[test]
    fn header_decoding_rejects_other_charset() {
        let error = decode_header_text("=?ISO-8859-1?Q?caf=E9?=").unwrap_err();
        assert!(error.to_string().contains("ISO-8859-1"), "{error}");
    }

    #[test]
    fn mailbox_encoding() {
        let cases = [
            (
                "Accolade badges <badges@example.org>",
                "Accolade badges <badges@example.org>",
            ),
            ("badges@example.org", "badges@example.org"),
            (
                "Riverside Music, Youth <badges@example.org>",
                "\"Riverside Music, Youth\" <badges@example.org>",
            ),
            (
                "\"Quoted\" <badges@example.org>",
                "Quoted <badges@example.org>",
            ),
            ("<badges@example.org>", "<badges@example.org>"),
        ];
        for (input, expected) in cases {
            assert_eq!(encode_mailbox(input).unwrap(), expected, "input {input:?}");
        }
        let encoded = encode_mailbox("Musikschule Köln <badges@example.org>").unwrap();
        assert!(encoded.starts_with("=?UTF-8?B?"), "{encoded}");
        assert_eq!(
            decode_header_text(&encoded).unwrap(),
            "Musikschule Köln <badges@example.org>"
        );
    }

    #[test]
    fn mailbox_rejects_line_breaks_and_junk() {
        for input in [
            "Badges <badges@example.org>\r\nBcc: victim@example.org",
            "",
            "Badges <>",
            "Badges <badges@example.org",
            "two words",
        ] {
            assert!(encode_mailbox(input).is_err(), "input {input:?}");
        }
    }

    #[test]
    fn bare_address_strips_display_name() {
        assert_eq!(
            bare_address("Amara <amara@example.org>"),
            "amara@example.org"
        );
        assert_eq!(bare_address(" amara@example.org "), "amara@example.org");
    }

    #[test]
    fn base64_part_is_read() {
        let message = "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\
            Message-ID: <m@example.org>\r\nX-Accolade-Award-Id: 123e4567-e89b-42d3-a456-426614174000\r\n\
            Content-Type: multipart/alternative; boundary=b1\r\n\r\n\
            --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            wqFIb2xhIQ==\r\n\
            --b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n--b1--\r\n";
        let parsed = read_eml(message.as_bytes()).unwrap();
        assert_eq!(parsed.text, "¡Hola!");
        assert_eq!(parsed.html, "<p>hi</p>");
        assert_eq!(parsed.message_id, "m@example.org");
    }

    #[test]
    fn missing_parts_and_headers_are_named() {
        let no_award =
            "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMessage-ID: <m>\r\n\r\nbody";
        assert_eq!(
            read_eml(no_award.as_bytes()).unwrap_err(),
            EmlError::MissingHeader(AWARD_ID_HEADER)
        );
        let text_only = "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMessage-ID: <m>\r\n\
            X-Accolade-Award-Id: 123e4567-e89b-42d3-a456-426614174000\r\n\r\nbody";
        assert_eq!(
            read_eml(text_only.as_bytes()).unwrap_err(),
            EmlError::MissingPart("text/html")
        );
    }

    #[test]
    fn unterminated_multipart_is_rejected() {
        let message = "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMessage-ID: <m>\r\n\
            X-Accolade-Award-Id: 123e4567-e89b-42d3-a456-426614174000\r\n\
            Content-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\n\r\ntext\r\n";
        let error = read_eml(message.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("closing boundary"), "{error}");
    }
}
