//! What a message search means, for every cache: the query's terms (split at whitespace) must
//! each appear in the message's text, case-insensitively, anywhere — inside a word, or inside a
//! run of Chinese characters with no spaces ("起床" finds "耗子，起床啦"). Results are the newest
//! first. [`MemoryCache`](super::MemoryCache) scans with [`matches`]; the disk cache answers
//! from full-text indexes built for this meaning (see `disk.rs`), and a test holds it to the scan.

/// The text a message is searched by (none for a kind without text).
pub fn text_of(body: &im_proto::MessageBody) -> &str {
    match body {
        im_proto::MessageBody::Text { text } => text,
        #[allow(unreachable_patterns)]
        _ => "",
    }
}

/// The form text is searched in: lower case.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
}

/// A query's terms: normalized, split at whitespace, each once.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for term in normalize(query).split_whitespace() {
        if !terms.iter().any(|t| t == term) {
            terms.push(term.to_owned());
        }
    }
    terms
}

/// Whether a text (already normalized) holds every term.
pub fn matches(normalized_text: &str, terms: &[String]) -> bool {
    !terms.is_empty() && terms.iter().all(|t| normalized_text.contains(t.as_str()))
}

/// Characters of the scripts written without spaces between words (Chinese, Japanese kana,
/// Korean syllables): a one- or two-character query in them is common ("饭", "起床"), and they
/// get an index of their own characters.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Unified Ideographs Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F  // Extensions B–G
    )
}

/// The distinct CJK characters of a text, space-separated (a document of one-character
/// tokens for the character index).
pub fn cjk_characters(normalized_text: &str) -> String {
    let mut seen: Vec<char> = normalized_text.chars().filter(|c| is_cjk(*c)).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut out = String::with_capacity(seen.len() * 4);
    for c in seen {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A term as an FTS5 string (a phrase: double quotes, inner quotes doubled).
pub fn fts_string(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_lower_and_dedupe() {
        assert_eq!(terms("  Tom  起床 tom\t"), vec!["tom", "起床"]);
        assert!(terms(" \n ").is_empty());
    }

    #[test]
    fn a_text_matches_when_every_term_is_in_it() {
        let text = normalize("耗子，起床啦 Wake UP, Jerry");
        for hit in [
            "起床",
            "床",
            "起床啦",
            "耗子 jerry",
            "wake",
            "ake",
            "up,",
            "起床 WAKE",
        ] {
            assert!(matches(&text, &terms(hit)), "{hit}");
        }
        for miss in ["起来", "tom", "起床 tom", ""] {
            assert!(!matches(&text, &terms(miss)), "{miss}");
        }
    }

    #[test]
    fn cjk_characters_are_each_once() {
        assert_eq!(
            cjk_characters(&normalize("耗子，起床啦 耗子 hi")),
            "啦 子 床 耗 起"
        );
        assert!(is_cjk('こ') && is_cjk('한') && !is_cjk('，') && !is_cjk('a'));
    }
}
