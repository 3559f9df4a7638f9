//! `im-server --config FILE`: settings from a TOML file, under the same names as the long
//! options (`listen = "0.0.0.0:443"`, `tls-cert = "/etc/…"`, `trusted-proxies = ["10.0.0.0/8"]`).
//! The file is the lowest layer above the defaults: an `IM_*` variable overrides it and a flag
//! overrides both. It works by filling in the `IM_*` variable of every option the file sets and
//! the environment does not, before the command line is parsed, so every option reads its file
//! value exactly as it reads its variable. A key that is no option is an error naming it.
//!
//! (A module of the binary, not of the library.)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{bail, Context};

/// An option the file may set: its long name and its environment variable.
#[derive(Debug, Clone)]
pub struct Known {
    pub long: String,
    pub env: String,
    /// It takes a comma-separated list.
    pub list: bool,
}

/// The options of `command` that have both a long name and an environment variable (except
/// `--config` itself).
pub fn known_options(command: &clap::Command) -> Vec<Known> {
    command
        .get_arguments()
        .filter(|arg| arg.get_long() != Some("config") && !arg.is_hide_set())
        .filter_map(|arg| {
            Some(Known {
                long: arg.get_long()?.to_owned(),
                env: arg.get_env()?.to_str()?.to_owned(),
                list: arg.get_value_delimiter().is_some(),
            })
        })
        .collect()
}

/// The `--config FILE` (or `--config=FILE`) argument, else `IM_CONFIG`.
pub fn path_from(args: &[OsString]) -> Option<OsString> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().cloned();
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(path.into());
        }
    }
    std::env::var_os("IM_CONFIG").filter(|p| !p.is_empty())
}

/// The file's settings as the values their variables would hold (arrays comma-joined).
pub fn read(path: &Path, known: &[Known]) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("in the config file {}", path.display()))?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        let Some(option) = known.iter().find(|k| k.long == key) else {
            bail!(
                "{}: unknown setting {key:?} (settings are the long options of `im-server --help`, e.g. \"listen\", \"tls-cert\")",
                path.display()
            );
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    toml::Value::Integer(n) => Ok(n.to_string()),
                    other => bail!("{}: {key}: unexpected {other} in the list", path.display()),
                })
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(","),
            other => bail!("{}: {key}: unexpected {other}", path.display()),
        };
        values.insert(option.env.clone(), text);
    }
    Ok(values)
}

/// Fills in the variables the environment does not set; returns the ones it filled in.
/// Call before any other thread runs (the environment is process-wide).
pub fn apply(values: BTreeMap<String, String>) -> Vec<String> {
    let mut filled = Vec::new();
    for (env, value) in values {
        if std::env::var_os(&env).is_none() {
            std::env::set_var(&env, value);
            filled.push(env);
        }
    }
    filled
}

/// Whether a setting's value must not be printed (credentials, now or in later settings).
fn is_secret(long: &str) -> bool {
    ["password", "secret", "token"]
        .iter()
        .any(|word| long.contains(word))
}

/// A URL with its password replaced (`postgres://user:***@host/db`); anything else as it is.
fn without_password(value: &str) -> String {
    if let Some((scheme, rest)) = value.split_once("://") {
        if let Some((credentials, host)) = rest.split_once('@') {
            if let Some((user, _)) = credentials.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    value.to_owned()
}

/// A value as TOML writes it: numbers and booleans bare, anything else quoted.
fn toml_value(value: &str) -> String {
    if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
        value.to_owned()
    } else {
        toml::Value::String(value.to_owned()).to_string()
    }
}

/// The effective settings as TOML, each with where it came from, secrets redacted.
pub fn describe(matches: &clap::ArgMatches, known: &[Known], from_file: &[String]) -> String {
    use clap::parser::ValueSource;
    let mut out = String::new();
    for option in known {
        let id = option.long.replace('-', "_");
        let values: Vec<String> = matches
            .get_raw(&id)
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let source = match matches.value_source(&id) {
            Some(ValueSource::CommandLine) => "flag".to_owned(),
            Some(ValueSource::EnvVariable) if from_file.contains(&option.env) => {
                "config file".to_owned()
            }
            Some(ValueSource::EnvVariable) => option.env.clone(),
            Some(ValueSource::DefaultValue) => "default".to_owned(),
            _ => "not set".to_owned(),
        };
        let shown: Vec<String> = values
            .iter()
            .map(|v| {
                if is_secret(&option.long) {
                    "***".to_owned()
                } else {
                    without_password(v)
                }
            })
            .map(|v| toml_value(&v))
            .collect();
        let value = if option.list {
            format!("[{}]", shown.join(", "))
        } else if let Some(one) = shown.first() {
            one.clone()
        } else {
            out.push_str(&format!("# {} =  # {source}\n", option.long));
            continue;
        };
        out.push_str(&format!("{} = {value}  # {source}\n", option.long));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            without_password("postgres://im:hunter2@db.example/im"),
            "postgres://im:***@db.example/im"
        );
        assert_eq!(without_password("im-server.sqlite3"), "im-server.sqlite3");
        assert!(is_secret("admin-token") && !is_secret("tls-key"));
    }
}
