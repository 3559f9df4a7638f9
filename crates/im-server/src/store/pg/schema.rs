//! The PostgreSQL schema (`migrations/postgres/`, embedded by refinery), brought up to date under
//! an advisory lock: nodes starting together take turns, and all but the first find nothing to do.

use crate::error::Result;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The advisory lock key the migrations run under ("gtedx_im" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x6774_6564_785f_696d;

/// Applies the migrations this database lacks; returns how many it applied.
pub fn migrate(client: &mut postgres::Client) -> Result<usize> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let report = embedded::migrations::runner().run(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    let applied = report?.applied_migrations().len();
    unlocked?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_test_services::Postgres;

    fn connect(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    #[test]
    fn nodes_starting_together_migrate_once() {
        let pg = Postgres::start().unwrap();
        let url = pg.create_database("im").unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut client = connect(&url);
                    barrier.wait();
                    migrate(&mut client).unwrap()
                })
            })
            .collect();
        let mut applied: Vec<usize> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
        applied.sort_unstable();
        let all = embedded::migrations::runner().get_migrations().len();
        assert_eq!(applied, [0, 0, 0, all], "one node applied everything");
        let history = pg
            .psql("im", "SELECT count(*) FROM refinery_schema_history")
            .unwrap();
        assert_eq!(history.trim(), all.to_string());
        assert_eq!(
            pg.psql("im", "SELECT count(*) FROM messages")
                .unwrap()
                .trim(),
            "0"
        );
        // A later start finds nothing to do, and the lock is free again.
        assert_eq!(migrate(&mut connect(&url)).unwrap(), 0);
        let free = pg
            .psql(
                "im",
                &format!("SELECT pg_try_advisory_lock({MIGRATION_LOCK})"),
            )
            .unwrap();
        assert_eq!(free.trim(), "t");
    }

    #[test]
    fn the_schema_keeps_a_resend_out() {
        let pg = Postgres::start().unwrap();
        let url = pg.create_database("im").unwrap();
        migrate(&mut connect(&url)).unwrap();
        let insert = |seq: i64| {
            format!(
                "INSERT INTO messages VALUES ('\\x01', {seq}, '\\x02', '\\x03', 'c1', 'text', 'hi', 0)
                 ON CONFLICT (conversation_id, sender, client_id) DO NOTHING RETURNING seq"
            )
        };
        assert_eq!(pg.psql("im", &insert(1)).unwrap().lines().next(), Some("1"));
        assert_eq!(pg.psql("im", &insert(2)).unwrap().lines().next(), None);
    }
}
