//! What an image or file message must say about the blobs it names: the form of each field
//! (checked before the writer: `check_image`, `check_file`), and agreement with the blobs as
//! stored (checked in the writer's transaction: `check_stored`).

use im_proto::{
    ErrorCode, FileContent, ImageContent, MessageBody, MAX_FILE_NAME_CHARS, MAX_THUMBNAIL_BYTES,
};

use super::{BlobId, BlobRow, Kind};
use crate::error::{Error, Result};

/// The largest side of an image, in pixels.
const MAX_SIDE: u32 = 32_768;
/// The largest side of a thumbnail, in pixels.
const MAX_THUMBNAIL_SIDE: u32 = 1_024;

fn invalid(op: &str, message: impl std::fmt::Display) -> Error {
    Error::refused(ErrorCode::InvalidParams, format!("{op}: {message}"))
}

/// A blob id: 64 lowercase hex characters (`bad_id` otherwise, as for every id).
fn blob_id(op: &str, field: &str, text: &str) -> Result<BlobId> {
    BlobId::parse(text).ok_or_else(|| {
        Error::refused(
            ErrorCode::BadId,
            format!("{op}: {field} is a blob's SHA-256: 64 lowercase hex characters"),
        )
    })
}

/// A media type: `type/subtype` of RFC 6838's name characters, 3 to 127 bytes, lowercased.
fn mime(op: &str, field: &str, text: &str) -> Result<String> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c);
    let valid = (3..=127).contains(&text.len())
        && text.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && t.chars().all(name_char) && s.chars().all(name_char)
        });
    if !valid {
        return Err(invalid(
            op,
            format!("{field} is a media type such as image/png"),
        ));
    }
    Ok(text.to_ascii_lowercase())
}

/// The image kind a media type names (for an image or its thumbnail).
fn image_kind(mime: &str) -> Option<Kind> {
    match mime {
        "image/png" => Some(Kind::Png),
        "image/jpeg" => Some(Kind::Jpeg),
        "image/gif" => Some(Kind::Gif),
        "image/webp" => Some(Kind::Webp),
        _ => None,
    }
}

fn size(op: &str, field: &str, size: u64, max: u64) -> Result<()> {
    if size == 0 || size > max {
        return Err(invalid(op, format!("{field} is 1 to {max} bytes")));
    }
    Ok(())
}

fn sides(op: &str, what: &str, width: u32, height: u32, max: u32) -> Result<()> {
    if !(1..=max).contains(&width) || !(1..=max).contains(&height) {
        return Err(invalid(op, format!("{what} sides are 1 to {max} pixels")));
    }
    Ok(())
}

/// A file name: 1 to 255 characters, no path separators, no control or text-direction
/// characters, not `.` or `..`.
fn name(op: &str, name: &str) -> Result<()> {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
    let chars = name.chars().count();
    if chars == 0
        || chars > MAX_FILE_NAME_CHARS
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\' || bidi(c))
    {
        return Err(invalid(
            op,
            format!(
                "name is 1 to {MAX_FILE_NAME_CHARS} characters without / \\ or control characters"
            ),
        ));
    }
    Ok(())
}

/// A caption: absent when empty; at most `max_chars` characters, not only white space.
fn caption(op: &str, caption: &mut Option<String>, max_chars: usize) -> Result<()> {
    if caption.as_deref() == Some("") {
        *caption = None;
    }
    if let Some(text) = caption {
        let chars = text.chars().count();
        if chars > max_chars {
            return Err(Error::refused(
                ErrorCode::TextTooLong,
                format!("caption has {chars} characters; the limit is {max_chars}"),
            ));
        }
        if text.trim().is_empty() {
            return Err(invalid(op, "caption is only white space"));
        }
    }
    Ok(())
}

/// The limits an attachment is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ContentLimits {
    pub max_upload_bytes: u64,
    pub max_text_chars: usize,
}

fn attachments_on(op: &str, limits: ContentLimits) -> Result<()> {
    if limits.max_upload_bytes == 0 {
        return Err(invalid(op, "this server takes no images or files"));
    }
    Ok(())
}

/// Checks (and normalises: media types lowercased, an empty caption dropped) a `send_image`.
pub fn check_image(image: &mut ImageContent, limits: ContentLimits) -> Result<()> {
    const OP: &str = "send_image";
    attachments_on(OP, limits)?;
    blob_id(OP, "blob", &image.blob)?;
    blob_id(OP, "thumbnail.blob", &image.thumbnail.blob)?;
    size(OP, "size", image.size, limits.max_upload_bytes)?;
    image.mime = mime(OP, "mime", &image.mime)?;
    if image_kind(&image.mime).is_none() {
        return Err(invalid(
            OP,
            "mime is image/png, image/jpeg, image/gif or image/webp (send other images as files)",
        ));
    }
    sides(OP, "the image's", image.width, image.height, MAX_SIDE)?;
    let thumbnail = &mut image.thumbnail;
    size(OP, "thumbnail.size", thumbnail.size, MAX_THUMBNAIL_BYTES)?;
    thumbnail.mime = mime(OP, "thumbnail.mime", &thumbnail.mime)?;
    if !matches!(
        image_kind(&thumbnail.mime),
        Some(Kind::Png | Kind::Jpeg | Kind::Webp)
    ) {
        return Err(invalid(
            OP,
            "thumbnail.mime is image/jpeg, image/png or image/webp",
        ));
    }
    sides(
        OP,
        "the thumbnail's",
        thumbnail.width,
        thumbnail.height,
        MAX_THUMBNAIL_SIDE,
    )?;
    if let Some(n) = &image.name {
        name(OP, n)?;
    }
    caption(OP, &mut image.caption, limits.max_text_chars)
}

/// Checks (and normalises) a `send_file`.
pub fn check_file(file: &mut FileContent, limits: ContentLimits) -> Result<()> {
    const OP: &str = "send_file";
    attachments_on(OP, limits)?;
    blob_id(OP, "blob", &file.blob)?;
    size(OP, "size", file.size, limits.max_upload_bytes)?;
    file.mime = mime(OP, "mime", &file.mime)?;
    name(OP, &file.name)?;
    caption(OP, &mut file.caption, limits.max_text_chars)
}

/// The blobs a message names, each with what the message says of it: (id, size, the image
/// kind it must have, if any).
pub fn named_blobs(body: &MessageBody) -> Vec<(BlobId, u64, Option<Kind>)> {
    let id = |text: &str| BlobId::parse(text).expect("checked before the writer");
    match body {
        MessageBody::Image(image) => vec![
            (id(&image.blob), image.size, image_kind(&image.mime)),
            (
                id(&image.thumbnail.blob),
                image.thumbnail.size,
                image_kind(&image.thumbnail.mime),
            ),
        ],
        MessageBody::File(file) => vec![(id(&file.blob), file.size, None)],
        _ => Vec::new(),
    }
}

/// Refuses a message whose blobs are not as it says: one the sender may not read
/// (`blob_not_found`), or of another size or image kind (`blob_mismatch`).
pub fn check_stored(
    named: &[(BlobId, u64, Option<Kind>)],
    stored: &[Option<BlobRow>],
) -> Result<()> {
    for ((id, size, kind), row) in named.iter().zip(stored) {
        let Some(row) = row else {
            return Err(Error::refused(
                ErrorCode::BlobNotFound,
                format!("no blob {} that you can read: upload it first", id.hex()),
            ));
        };
        if row.size != *size {
            return Err(Error::refused(
                ErrorCode::BlobMismatch,
                format!("blob {} is {} bytes, not {size}", id.hex(), row.size),
            ));
        }
        if let Some(kind) = kind {
            if row.kind != *kind {
                return Err(Error::refused(
                    ErrorCode::BlobMismatch,
                    format!(
                        "blob {} is not {} (its bytes say {})",
                        id.hex(),
                        kind.content_type(),
                        row.kind.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ContentLimits {
        ContentLimits {
            max_upload_bytes: 1000,
            max_text_chars: 10,
        }
    }

    fn file() -> FileContent {
        FileContent {
            blob: "a".repeat(64),
            size: 10,
            mime: "Application/PDF".into(),
            name: "Q3 report.pdf".into(),
            caption: Some(String::new()),
        }
    }

    fn code(result: Result<()>) -> ErrorCode {
        result.unwrap_err().to_body().code
    }

    #[test]
    fn a_file_is_normalised_and_its_fields_checked() {
        let mut ok = file();
        check_file(&mut ok, limits()).unwrap();
        assert_eq!(ok.mime, "application/pdf");
        assert_eq!(ok.caption, None, "an empty caption is none");
        for (change, want) in [
            (
                Box::new(|f: &mut FileContent| f.blob = "A".repeat(64))
                    as Box<dyn Fn(&mut FileContent)>,
                ErrorCode::BadId,
            ),
            (Box::new(|f| f.size = 0), ErrorCode::InvalidParams),
            (Box::new(|f| f.size = 1001), ErrorCode::InvalidParams),
            (
                Box::new(|f| f.mime = "pdf".into()),
                ErrorCode::InvalidParams,
            ),
            (
                Box::new(|f| f.name = "../x".into()),
                ErrorCode::InvalidParams,
            ),
            (
                Box::new(|f| f.name = "a\u{202E}fdp.exe".into()),
                ErrorCode::InvalidParams,
            ),
            (Box::new(|f| f.name = "..".into()), ErrorCode::InvalidParams),
            (
                Box::new(|f| f.name = String::new()),
                ErrorCode::InvalidParams,
            ),
            (
                Box::new(|f| f.name = "x".repeat(256)),
                ErrorCode::InvalidParams,
            ),
            (
                Box::new(|f| f.caption = Some("   ".into())),
                ErrorCode::InvalidParams,
            ),
            (
                Box::new(|f| f.caption = Some("x".repeat(11))),
                ErrorCode::TextTooLong,
            ),
        ] {
            let mut f = file();
            change(&mut f);
            assert_eq!(code(check_file(&mut f, limits())), want, "{f:?}");
        }
        let off = ContentLimits {
            max_upload_bytes: 0,
            ..limits()
        };
        assert_eq!(code(check_file(&mut file(), off)), ErrorCode::InvalidParams);
    }

    #[test]
    fn stored_blobs_must_be_what_the_message_says() {
        let id = BlobId([1; 32]);
        let row = |size, kind| BlobRow {
            sha256: id,
            size,
            object_key: "objects/x".into(),
            kind,
            created_at: 0,
        };
        let named = [(id, 10, Some(Kind::Png))];
        check_stored(&named, &[Some(row(10, Kind::Png))]).unwrap();
        let code =
            |stored: Option<BlobRow>| check_stored(&named, &[stored]).unwrap_err().to_body().code;
        assert_eq!(code(None), ErrorCode::BlobNotFound);
        assert_eq!(code(Some(row(11, Kind::Png))), ErrorCode::BlobMismatch);
        assert_eq!(code(Some(row(10, Kind::Jpeg))), ErrorCode::BlobMismatch);
        check_stored(&[(id, 10, None)], &[Some(row(10, Kind::Other))]).unwrap();
    }
}
