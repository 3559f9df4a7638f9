//! What a message search means, for every cache: the query's terms (split at whitespace) must
//! each appear in the message's text, case-insensitively, anywhere — inside a word, or inside a
//! run of Chinese characters with no spaces ("起床" finds "耗子，起床啦"). Results are the newest
//! first. [`MemoryCache`](super::MemoryCache) scans with [`matches`]; the disk cache answers
//! from full-text indexes built for this meaning (see `disk.rs`), and a test holds it to the scan.

/// The text a message is searched by (none for a kind without text).
pub fn text_of(body: &im_proto::MessageBody) -> &str {
    match body {
        // A text; an image's caption; a file's caption, else its name (what a user remembers
        // of it). A recalled message is found by nothing.
        im_proto::MessageBody::Text { .. }
        | im_proto::MessageBody::Image(_)
        | im_proto::MessageBody::File(_) => body.preview(),
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

/// The short-gram index's token for a one- or two-character string (hex code points, so that
/// any character, punctuation included, is one ASCII word to FTS5's tokenizer): `c<hex>` for
/// a character, `b<hex>x<hex>` for a pair.
pub fn gram_token(gram: &str) -> Option<String> {
    let mut chars = gram.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(a), None, _) => Some(format!("c{:x}", a as u32)),
        (Some(a), Some(b), None) => Some(format!("b{:x}x{:x}", a as u32, b as u32)),
        _ => None,
    }
}

/// A text's short grams for the index: every distinct character and every distinct pair of
/// adjacent characters (whitespace is never part of a term, so neither of a gram), as
/// space-separated tokens. One- and two-character terms are looked up here; trigrams cannot.
pub fn short_grams(normalized_text: &str) -> String {
    let mut grams: Vec<String> = Vec::new();
    for word in normalized_text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            grams.push(format!("c{:x}", *c as u32));
            if let Some(next) = chars.get(i + 1) {
                grams.push(format!("b{:x}x{:x}", *c as u32, *next as u32));
            }
        }
    }
    grams.sort_unstable();
    grams.dedup();
    grams.join(" ")
}

/// A term as an FTS5 string (a phrase: double quotes, inner quotes doubled).
pub fn fts_string(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_by_caption_or_name_and_a_recall_by_nothing() {
        let file = |caption: Option<&str>| {
            im_proto::MessageBody::File(Box::new(im_proto::FileContent {
                blob: "c0".repeat(32),
                size: 10,
                mime: "application/pdf".into(),
                name: "Q3 report.pdf".into(),
                caption: caption.map(str::to_owned),
            }))
        };
        assert_eq!(text_of(&file(None)), "Q3 report.pdf");
        assert_eq!(text_of(&file(Some("the numbers"))), "the numbers");
        let recalled = im_proto::MessageBody::Recalled {
            by: im_proto::Uid::random(),
        };
        assert_eq!(text_of(&recalled), "");
    }

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
    fn short_grams_are_each_character_and_pair_once() {
        let grams = short_grams(&normalize("起床 Hi hi"));
        let tokens: Vec<&str> = grams.split(' ').collect();
        for gram in ["起", "床", "起床", "h", "i", "hi"] {
            assert!(
                tokens.contains(&gram_token(gram).unwrap().as_str()),
                "{gram}"
            );
        }
        assert_eq!(
            tokens.len(),
            6,
            "each once, no pair across a space: {grams}"
        );
        assert_eq!(gram_token("起床啦"), None);
        assert_eq!(gram_token(","), Some("c2c".into()));
    }
}
