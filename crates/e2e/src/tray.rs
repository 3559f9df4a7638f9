//! A system tray as a desktop panel is one, on the session bus: the test owns
//! `org.kde.StatusNotifierWatcher`, so the app's StatusNotifierItem (libayatana-appindicator)
//! registers with it; the test then reads the item's properties (its label: the unread total)
//! and clicks its menu through `com.canonical.dbusmenu`, and hears the launcher's count
//! (`com.canonical.Unity.LauncherEntry`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

/// The items registered so far: (bus name, object path).
type Items = Arc<Mutex<Vec<(String, String)>>>;

struct Watcher {
    items: Items,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// An item says where it is: an object path on its own connection, or a bus name.
    fn register_status_notifier_item(&self, service: &str, #[zbus(header)] header: Header<'_>) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (name, path) = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.items.lock().unwrap().push((name, path));
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .map(|(name, path)| format!("{name}{path}"))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The tray, for as long as it lives.
pub struct Tray {
    bus: Connection,
    items: Items,
    launcher_counts: Arc<Mutex<Vec<(String, i64, bool)>>>,
}

impl std::fmt::Debug for Tray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tray")
            .field("items", &self.items)
            .finish_non_exhaustive()
    }
}

impl Tray {
    /// Takes the watcher's name on the session bus (start it before the app).
    pub fn start() -> Result<Self> {
        let items = Items::default();
        let bus = zbus::blocking::connection::Builder::session()?
            .name("org.kde.StatusNotifierWatcher")?
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    items: items.clone(),
                },
            )?
            .build()
            .context("owning org.kde.StatusNotifierWatcher")?;
        let launcher_counts = Arc::new(Mutex::new(Vec::new()));
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("com.canonical.Unity.LauncherEntry")?
            .member("Update")?
            .build();
        let signals = MessageIterator::for_match_rule(rule, &bus, Some(64))?;
        let counts = launcher_counts.clone();
        std::thread::spawn(move || {
            for signal in signals.flatten() {
                if let Ok((uri, properties)) = signal
                    .body()
                    .deserialize::<(String, HashMap<String, OwnedValue>)>()
                {
                    let count = properties
                        .get("count")
                        .and_then(|v| i64::try_from(v).ok())
                        .unwrap_or(-1);
                    let visible = properties
                        .get("count-visible")
                        .and_then(|v| bool::try_from(v).ok())
                        .unwrap_or(false);
                    counts.lock().unwrap().push((uri, count, visible));
                }
            }
        });
        Ok(Self {
            bus,
            items,
            launcher_counts,
        })
    }

    /// The one item registered, waiting for it.
    pub async fn item(&self) -> Result<(String, String)> {
        let deadline = tokio::time::Instant::now() + crate::STEP;
        loop {
            if let Some(item) = self.items.lock().unwrap().last().cloned() {
                return Ok(item);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no StatusNotifierItem registered with the tray");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A property of the item.
    pub async fn property(&self, name: &str) -> Result<OwnedValue> {
        let (bus_name, path) = self.item().await?;
        let reply = self.bus.call_method(
            Some(bus_name.as_str()),
            path.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(ITEM_INTERFACE, name),
        )?;
        Ok(reply.body().deserialize::<OwnedValue>()?)
    }

    /// The label beside the icon (libayatana-appindicator's `XAyatanaLabel`).
    pub async fn label(&self) -> Result<String> {
        Ok(String::try_from(self.property("XAyatanaLabel").await?)?)
    }

    /// Waits until the label is `expected`.
    pub async fn wait_for_label(&self, expected: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + crate::STEP;
        loop {
            let label = self.label().await?;
            if label == expected {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the tray's label is {label:?}, not {expected:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The menu's entries: (id, label, enabled), top level only.
    pub async fn menu(&self) -> Result<Vec<(i32, String, bool)>> {
        let (bus_name, _) = self.item().await?;
        let path = OwnedObjectPath::try_from(self.property("Menu").await?)?;
        let reply = self.bus.call_method(
            Some(bus_name.as_str()),
            path.as_str(),
            Some(MENU_INTERFACE),
            "GetLayout",
            &(0i32, 1i32, Vec::<String>::new()),
        )?;
        type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
        let (_revision, (_, _, children)): (u32, Layout) = reply.body().deserialize()?;
        let mut entries = Vec::new();
        for child in children {
            let mut value: Value<'_> = child.into();
            while let Value::Value(inner) = value {
                value = *inner;
            }
            let (id, properties, _): Layout = value.try_into()?;
            let label = properties
                .get("label")
                .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
                .unwrap_or_default();
            let enabled = properties
                .get("enabled")
                .and_then(|v| bool::try_from(v).ok())
                .unwrap_or(true);
            entries.push((id, label, enabled));
        }
        Ok(entries)
    }

    /// Clicks the menu entry labelled `label`, as a panel does.
    pub async fn click(&self, label: &str) -> Result<()> {
        let entries = self.menu().await?;
        let (id, _, enabled) = entries
            .iter()
            .find(|(_, l, _)| l == label)
            .ok_or_else(|| anyhow!("no {label:?} in the tray menu: {entries:?}"))?;
        anyhow::ensure!(*enabled, "{label:?} is disabled in the tray menu");
        let (bus_name, _) = self.item().await?;
        let path = OwnedObjectPath::try_from(self.property("Menu").await?)?;
        self.bus.call_method(
            Some(bus_name.as_str()),
            path.as_str(),
            Some(MENU_INTERFACE),
            "Event",
            &(*id, "clicked", Value::from(""), 0u32),
        )?;
        Ok(())
    }

    /// Waits until the launcher's last count for `desktop_entry` (`…desktop`) is `expected`.
    pub async fn wait_for_launcher_count(&self, desktop_entry: &str, expected: i64) -> Result<()> {
        let uri = format!("application://{desktop_entry}");
        let deadline = tokio::time::Instant::now() + crate::STEP;
        loop {
            let last = self
                .launcher_counts
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|(u, _, _)| *u == uri)
                .cloned();
            if let Some((_, count, visible)) = &last {
                if *count == expected && *visible == (expected > 0) {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the launcher's count for {uri} is {last:?}, not {expected}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
