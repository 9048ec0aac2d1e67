//! The text fields of a `multipart/form-data` body (RFC 7578), the third encoding Meta
//! accepts for a Conversions API request. Parts with a `filename` (file uploads, which
//! the endpoint has no use for) are skipped.

/// The `boundary` parameter of a multipart content type.
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty())
            .then(|| value.to_string())
    })
}

/// The `(name, value)` of every text part, in order.
pub fn fields(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| "the multipart body is not UTF-8 text")?;
    let delimiter = format!("--{boundary}");
    let mut parts = text.split(delimiter.as_str());
    parts.next(); // the preamble
    let mut fields = Vec::new();
    for part in parts {
        if part.starts_with("--") {
            return Ok(fields);
        }
        let part = strip_line_end_prefix(part).ok_or("a multipart boundary must end its line")?;
        let (head, value) = part
            .split_once("\r\n\r\n")
            .or_else(|| part.split_once("\n\n"))
            .ok_or("a multipart part has no blank line after its headers")?;
        let value = value
            .strip_suffix("\r\n")
            .or_else(|| value.strip_suffix('\n'))
            .unwrap_or(value);
        match disposition(head) {
            Some(Disposition { name, file: false }) => fields.push((name, value.to_string())),
            Some(Disposition { file: true, .. }) => {}
            None => return Err("a multipart part has no form-data name"),
        }
    }
    Err("the multipart body has no closing boundary")
}

fn strip_line_end_prefix(part: &str) -> Option<&str> {
    part.strip_prefix("\r\n")
        .or_else(|| part.strip_prefix('\n'))
}

struct Disposition {
    name: String,
    file: bool,
}

/// The `Content-Disposition: form-data; name="…"` of a part's headers.
fn disposition(head: &str) -> Option<Disposition> {
    let line = head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    let mut params = line.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case("form-data") {
        return None;
    }
    let (mut name, mut file) = (None, false);
    for param in params {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value.trim().trim_matches('"').to_string()),
            "filename" => file = true,
            _ => {}
        }
    }
    Some(Disposition { name: name?, file })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nkk_1\r\n--XyZ\r\ncontent-disposition: form-data; name=\"data\"\r\nContent-Type: application/json\r\n\r\n[{\"a\":\r\n1}]\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\nbytes\r\n--XyZ--\r\n";

    #[test]
    fn the_boundary_is_read_quoted_or_not() {
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8; Boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn text_parts_are_read_and_file_parts_skipped() {
        let fields = fields(BODY.as_bytes(), "XyZ").unwrap();
        assert_eq!(
            fields,
            vec![
                ("access_token".to_string(), "kk_1".to_string()),
                ("data".to_string(), "[{\"a\":\r\n1}]".to_string()),
            ]
        );
    }

    #[test]
    fn a_body_without_its_closing_boundary_is_refused() {
        let cut = &BODY[..BODY.len() - 9];
        assert!(fields(cut.as_bytes(), "XyZ").is_err());
        let nameless = "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--";
        assert!(fields(nameless.as_bytes(), "b").is_err());
    }
}
