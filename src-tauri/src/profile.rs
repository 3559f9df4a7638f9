//! Profiles: several accounts side by side on one machine (work and home, or the two instances
//! of the end-to-end test), each with its own data folder, keyring entry and single-instance key.

/// A profile name, from `--profile NAME` (or `--profile=NAME`) or `GTEDX_PROFILE`; none means
/// the default profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    name: Option<String>,
}

/// The environment variable naming the profile when `--profile` is not given.
pub const PROFILE_ENV: &str = "GTEDX_PROFILE";

impl Profile {
    /// The default profile.
    pub fn default_profile() -> Self {
        Self { name: None }
    }

    /// A named profile: 1 to 32 characters from `a-z 0-9 -`.
    pub fn named(name: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self {
                name: Some(name.to_owned()),
            })
        } else {
            Err(format!(
                "profile name {name:?}: use 1 to 32 characters from a-z 0-9 -"
            ))
        }
    }

    /// The profile the command line (else the environment) asks for.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: Option<String>,
    ) -> Result<Self, String> {
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--profile" {
                let name = args.next().ok_or("--profile needs a name")?;
                return Self::named(&name);
            }
            if let Some(name) = arg.strip_prefix("--profile=") {
                return Self::named(name);
            }
        }
        match env.filter(|v| !v.is_empty()) {
            Some(name) => Self::named(&name),
            None => Ok(Self::default_profile()),
        }
    }

    /// The name of the app's start-at-login entry: one per profile.
    pub fn autostart_name(&self) -> String {
        match &self.name {
            Some(name) => format!("gtedx-im-profile-{name}"),
            None => "gtedx-im".to_owned(),
        }
    }

    /// The name, if not the default profile.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The app identifier for this profile: it decides the data folder and the single-instance
    /// key, so profiles never share either.
    pub fn identifier(&self, base: &str) -> String {
        match &self.name {
            Some(name) => format!("{base}.profile-{name}"),
            None => base.to_owned(),
        }
    }

    /// The identifier [`Self::identifier`] started from: the installed app's, which its desktop
    /// entry is named after (`<identifier>.desktop`) whatever the profile.
    pub fn base_identifier(identifier: &str) -> &str {
        identifier
            .split_once(".profile-")
            .map_or(identifier, |(base, _)| base)
    }

    /// The keyring service the profile's credentials are stored under.
    pub fn keyring_service(&self) -> String {
        match &self.name {
            Some(name) => format!("gtedx-im.{name}"),
            None => "gtedx-im".to_owned(),
        }
    }

    /// The window title.
    pub fn window_title(&self) -> String {
        match &self.name {
            Some(name) => format!("Gtedx IM — {name}"),
            None => "Gtedx IM".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flag_then_environment_then_default() {
        let tom = Profile::from_args(
            args(&["gtedx-im", "--profile", "tom"]),
            Some("jerry".into()),
        )
        .unwrap();
        assert_eq!(tom.name(), Some("tom"));
        let eq = Profile::from_args(args(&["gtedx-im", "--profile=work"]), None).unwrap();
        assert_eq!(eq.name(), Some("work"));
        let env = Profile::from_args(args(&["gtedx-im"]), Some("jerry".into())).unwrap();
        assert_eq!(env.name(), Some("jerry"));
        let default = Profile::from_args(args(&["gtedx-im"]), None).unwrap();
        assert_eq!(default, Profile::default_profile());
        for profile in [Profile::default_profile(), Profile::named("jerry").unwrap()] {
            let identifier = profile.identifier("im.gtedx.desktop");
            assert_eq!(Profile::base_identifier(&identifier), "im.gtedx.desktop");
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(Profile::from_args(args(&["x", "--profile"]), None).is_err());
        assert!(Profile::named("Tom").is_err());
        assert!(Profile::named("../etc").is_err());
        assert!(Profile::named("").is_err());
    }

    #[test]
    fn profiles_do_not_share_identifiers_or_keyring_entries() {
        let tom = Profile::named("tom").unwrap();
        let jerry = Profile::named("jerry").unwrap();
        let base = "im.gtedx.desktop";
        assert_ne!(tom.identifier(base), jerry.identifier(base));
        assert_ne!(
            tom.identifier(base),
            Profile::default_profile().identifier(base)
        );
        assert_ne!(tom.keyring_service(), jerry.keyring_service());
        assert_eq!(Profile::default_profile().identifier(base), base);
    }
}
