//! What the app itself says outside the web page (tray menu, notifications), in English and
//! Chinese. The language is the UI's (it tells the backend with `set_locale`), guessed from the
//! environment (`LC_ALL`, `LC_MESSAGES`, `LANG`) until then.

use std::sync::atomic::{AtomicU8, Ordering};

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Zh,
}

impl Locale {
    /// The language of a POSIX locale name (`zh_CN.UTF-8` → Chinese; anything else English).
    pub fn from_posix(name: &str) -> Self {
        if name.to_ascii_lowercase().starts_with("zh") {
            Self::Zh
        } else {
            Self::En
        }
    }

    /// The language the environment asks for, in POSIX order of precedence.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|key| std::env::var(key).ok())
            .find(|value| !value.is_empty())
            .map_or(Self::En, |value| Self::from_posix(&value))
    }
}

/// The language in use (one per process: the app has one window).
#[derive(Debug)]
pub struct CurrentLocale(AtomicU8);

impl CurrentLocale {
    pub fn new(locale: Locale) -> Self {
        Self(AtomicU8::new(locale as u8))
    }

    pub fn get(&self) -> Locale {
        match self.0.load(Ordering::Relaxed) {
            1 => Locale::Zh,
            _ => Locale::En,
        }
    }

    /// Sets it; true if it changed.
    pub fn set(&self, locale: Locale) -> bool {
        self.0.swap(locale as u8, Ordering::Relaxed) != locale as u8
    }
}

/// Every text, by what it says. `{app}` is the product name, `{n}`, `{who}`, `{what}` what
/// the caller fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    TrayOpen,
    TrayPauseHour,
    TrayPauseTomorrow,
    TrayResume,
    TrayQuit,
    TrayUnread,
    TrayHintTitle,
    TrayHintBody,
    NewMessage,
    NewMessages,
    CaughtUp,
    AddedYou,
    AGroup,
}

impl Text {
    /// Every text (for the test that each has both languages).
    #[cfg(test)]
    const ALL: [Text; 13] = [
        Text::TrayOpen,
        Text::TrayPauseHour,
        Text::TrayPauseTomorrow,
        Text::TrayResume,
        Text::TrayQuit,
        Text::TrayUnread,
        Text::TrayHintTitle,
        Text::TrayHintBody,
        Text::NewMessage,
        Text::NewMessages,
        Text::CaughtUp,
        Text::AddedYou,
        Text::AGroup,
    ];

    /// The text as written, placeholders unfilled.
    pub fn raw(self, locale: Locale) -> &'static str {
        use Locale::{En, Zh};
        match (self, locale) {
            (Text::TrayOpen, En) => "Open {app}",
            (Text::TrayOpen, Zh) => "打开 {app}",
            (Text::TrayPauseHour, En) => "Pause notifications for 1 hour",
            (Text::TrayPauseHour, Zh) => "暂停通知 1 小时",
            (Text::TrayPauseTomorrow, En) => "Pause notifications until tomorrow",
            (Text::TrayPauseTomorrow, Zh) => "暂停通知直到明天",
            (Text::TrayResume, En) => "Resume notifications",
            (Text::TrayResume, Zh) => "恢复通知",
            (Text::TrayQuit, En) => "Quit",
            (Text::TrayQuit, Zh) => "退出",
            (Text::TrayUnread, En) => "{app} — {n} unread",
            (Text::TrayUnread, Zh) => "{app} — {n} 条未读",
            (Text::TrayHintTitle, En) => "{app} is still running",
            (Text::TrayHintTitle, Zh) => "{app} 仍在运行",
            (Text::TrayHintBody, En) => {
                "Closing the window keeps it in the tray, so messages still reach you. Quit from the tray menu or with Ctrl+Q."
            }
            (Text::TrayHintBody, Zh) => {
                "关闭窗口后它会留在托盘中，新消息照常提醒。可从托盘菜单或按 Ctrl+Q 退出。"
            }
            (Text::NewMessage, En) => "New message",
            (Text::NewMessage, Zh) => "新消息",
            (Text::NewMessages, En) => "{n} new messages",
            (Text::NewMessages, Zh) => "{n} 条新消息",
            (Text::CaughtUp, En) => "{n} new messages while you were away",
            (Text::CaughtUp, Zh) => "离开期间收到 {n} 条新消息",
            (Text::AddedYou, En) => "{who} added you to {what}",
            (Text::AddedYou, Zh) => "{who} 将你加入了{what}",
            (Text::AGroup, En) => "a group",
            (Text::AGroup, Zh) => "一个群聊",
        }
    }

    /// The text with its placeholders filled from `values` (`("n", "3")`…).
    pub fn fill(self, locale: Locale, values: &[(&str, &str)]) -> String {
        let mut text = self.raw(locale).to_owned();
        for (key, value) in values {
            text = text.replace(&format!("{{{key}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_with_the_same_placeholders() {
        let placeholders = |s: &str| {
            let mut found: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(key, _)| key.to_owned()))
                .collect();
            found.sort();
            found
        };
        for text in Text::ALL {
            let (en, zh) = (text.raw(Locale::En), text.raw(Locale::Zh));
            assert!(!en.is_empty() && !zh.is_empty(), "{text:?}");
            assert_ne!(en, zh, "{text:?} is not translated");
            assert_eq!(placeholders(en), placeholders(zh), "{text:?}");
        }
    }

    #[test]
    fn placeholders_are_filled_and_the_locale_comes_from_posix_names() {
        assert_eq!(
            Text::TrayUnread.fill(Locale::En, &[("app", "Gtedx IM"), ("n", "3")]),
            "Gtedx IM — 3 unread"
        );
        assert_eq!(
            Text::NewMessages.fill(Locale::Zh, &[("n", "5")]),
            "5 条新消息"
        );
        assert_eq!(Locale::from_posix("zh_CN.UTF-8"), Locale::Zh);
        assert_eq!(Locale::from_posix("zh_TW"), Locale::Zh);
        assert_eq!(Locale::from_posix("en_US.UTF-8"), Locale::En);
        assert_eq!(Locale::from_posix("C.UTF-8"), Locale::En);
        let current = CurrentLocale::new(Locale::En);
        assert!(current.set(Locale::Zh));
        assert!(!current.set(Locale::Zh));
        assert_eq!(current.get(), Locale::Zh);
    }
}
