//! The address of a PostgreSQL log: a libpq connection URL, plus the schema that holds the log.

use crate::Error;

/// The schema a log lives in when the URL names none.
pub const DEFAULT_SCHEMA: &str = "aiaudit";

/// Is `s` a PostgreSQL URL (rather than a file path)?
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A parsed log address: `postgres://user@host:port/db?schema=NAME&…`. `schema` is aiaudit's
/// own parameter (default [`DEFAULT_SCHEMA`]); every other parameter goes to the driver.
#[derive(Debug, Clone)]
pub struct PgUrl {
    pub(crate) config: postgres::Config,
    /// The schema holding the log's tables.
    pub schema: String,
    /// How long a lost connection is retried (`retry_s`, default 60 s).
    pub retry: std::time::Duration,
    /// Bundles per partition of a log this URL creates (`partition_bundles`, 1 to 1,048,576;
    /// default [`crate::PARTITION_BUNDLES`]). An existing log keeps the value it was made with.
    pub partition_bundles: Option<u64>,
    /// The URL for messages: the password, if any, replaced by `***`.
    pub display: String,
}

impl PgUrl {
    /// Parses `url`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let display = redact_password(url);
        let bad = |why: String| Error::Url {
            url: display.clone(),
            why,
        };
        if !is_postgres_url(url) {
            return Err(bad("it must start with postgres:// or postgresql://".into()));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = DEFAULT_SCHEMA.to_owned();
        let mut retry = crate::DEFAULT_RETRY;
        let mut partition_bundles = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", v)) => schema = v.to_owned(),
                Some(("retry_s", v)) => {
                    let secs: u64 = v
                        .parse()
                        .ok()
                        .filter(|s| (1..=86_400).contains(s))
                        .ok_or_else(|| {
                            bad(format!(
                                "retry_s {v:?} must be a whole number of seconds from 1 to 86400"
                            ))
                        })?;
                    retry = std::time::Duration::from_secs(secs);
                }
                Some(("partition_bundles", v)) => {
                    let n: u64 = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=1_048_576).contains(n))
                        .ok_or_else(|| {
                            bad(format!(
                                "partition_bundles {v:?} must be a whole number of bundles from 1 to 1048576"
                            ))
                        })?;
                    partition_bundles = Some(n);
                }
                _ => rest.push(pair),
            }
        }
        if !valid_schema(&schema) {
            return Err(bad(format!(
                "schema {schema:?} must be 1 to 48 lowercase letters, digits or underscores, starting with a letter"
            )));
        }
        let driver_url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: postgres::Config = driver_url.parse().map_err(|e| bad(format!("{e}")))?;
        if config.get_hosts().is_empty() {
            return Err(bad("it names no host".into()));
        }
        if config.get_user().is_none() {
            config.user("postgres");
        }
        if config.get_application_name().is_none() {
            config.application_name("aiaudit");
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        Ok(PgUrl {
            config,
            schema,
            retry,
            partition_bundles,
            display,
        })
    }

    /// The same server and schema, as another user (for the writer role's tests and tools).
    pub fn with_user(&self, user: &str) -> Self {
        let mut c = self.clone();
        c.config.user(user);
        c
    }
}

/// Schema names are spliced into SQL, so only plain identifiers are accepted.
fn valid_schema(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 48
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_ours_and_the_rest_goes_to_the_driver() -> Result<(), Error> {
        let u = PgUrl::parse(
            "postgres://postgres@127.0.0.1:5432/test?schema=tenant_a&sslmode=disable",
        )?;
        assert_eq!(u.schema, "tenant_a");
        assert_eq!(u.config.get_dbname(), Some("test"));
        let u = PgUrl::parse("postgresql://127.0.0.1/test")?;
        assert_eq!(u.schema, DEFAULT_SCHEMA);
        assert_eq!(u.retry, crate::DEFAULT_RETRY);
        let u = PgUrl::parse("postgres://h/db?retry_s=300&schema=a")?;
        assert_eq!(u.retry, std::time::Duration::from_secs(300));
        assert_eq!(u.config.get_user(), Some("postgres"));
        assert_eq!(u.partition_bundles, None);
        let u = PgUrl::parse("postgres://h/db?partition_bundles=4&schema=a")?;
        assert_eq!(u.partition_bundles, Some(4));
        Ok(())
    }

    #[test]
    fn bad_urls_are_named_and_passwords_hidden() {
        for (url, want) in [
            ("mysql://x/y", "must start with postgres://"),
            (
                "postgres://u@h/db?schema=Drop;Table",
                "schema \"Drop;Table\"",
            ),
            ("postgres://u@h/db?schema=", "schema \"\""),
            ("postgres://u@h/db?bogus_option=1", "bogus_option"),
            ("postgres://u@h/db?retry_s=0", "retry_s \"0\""),
            ("postgres://u@h/db?retry_s=soon", "retry_s \"soon\""),
            (
                "postgres://u@h/db?partition_bundles=0",
                "partition_bundles \"0\"",
            ),
        ] {
            let e = PgUrl::parse(url).expect_err(url).to_string();
            assert!(e.contains(want), "{url}: {e}");
        }
        let e = PgUrl::parse("postgres://u:secret@h/db?schema=BAD")
            .expect_err("bad schema")
            .to_string();
        assert!(!e.contains("secret") && e.contains("u:***@h"), "{e}");
    }
}
