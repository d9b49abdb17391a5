//! Settings, from an optional TOML file then the environment (the environment wins).
//!
//! Every setting, its variable and its default:
//!
//! | file key | variable | default | meaning |
//! |---|---|---|---|
//! | `listen` | `FAMILLE_LISTEN` | `127.0.0.1:8080` | address the HTTP server binds |
//! | `data_dir` | `FAMILLE_DATA` | `./data` | SQLite file, documents, mail outbox, generated secrets |
//! | `database_url` | `DATABASE_URL` | `sqlite://<data_dir>/famille.db` | a `postgres://` URL switches to PostgreSQL |
//! | `database_max_connections` | `FAMILLE_DB_MAX_CONNECTIONS` | `16` | pool size |
//! | `public_url` | `FAMILLE_PUBLIC_URL` | `http://<listen>` | base of links in mails |
//! | `organisation_name` | `FAMILLE_ORGANISATION` | `Communauté de Communes des Portes de l'Entre-Deux-Mers` | shown in mails |
//! | `jwt_secret` | `FAMILLE_JWT_SECRET` | generated once into `<data_dir>/jwt-secret` | HS256 key of access tokens (32 bytes or more) |
//! | `access_token_minutes` | `FAMILLE_ACCESS_TOKEN_MINUTES` | `15` | lifetime of an access token |
//! | `session_refresh_hours` | `FAMILLE_SESSION_REFRESH_HOURS` | `12` | refresh token lifetime without "se souvenir de moi" |
//! | `remember_refresh_days` | `FAMILLE_REMEMBER_REFRESH_DAYS` | `90` | refresh token lifetime with "se souvenir de moi" (sliding) |
//! | `max_concurrent_hashes` | `FAMILLE_MAX_CONCURRENT_HASHES` | cores - 1 (at least 1) | password hashes run at once; the rest queue |
//! | `smtp_url` | `FAMILLE_SMTP_URL` | none: mails go to `<data_dir>/outbox/*.eml` | e.g. `smtps://user:pass@smtp.example.org` |
//! | `mail_from` | `FAMILLE_MAIL_FROM` | `Portail Famille <ne-pas-repondre@famille.example>` | sender of mails |
//! | `trust_forwarded_for` | `FAMILLE_TRUST_FORWARDED_FOR` | `false` | take the client address from `X-Forwarded-For` (behind a reverse proxy only) |
//! | `rate_limit_per_address` | `FAMILLE_RATE_LIMIT_PER_ADDRESS` | `1200` | burst of sensitive calls (login, forgot, refresh, register) per network address; refills at a 50th of it per second |
//! | `fcm_credentials` | `FAMILLE_FCM_CREDENTIALS` | none: push is off | Google service-account JSON |
//! | `fcm_endpoint` | `FAMILLE_FCM_ENDPOINT` | `https://fcm.googleapis.com` | FCM HTTP v1 base URL |
//! | `documents_url` | `FAMILLE_DOCUMENTS_URL` | `<data_dir>/documents` | where documents are stored: a folder, or `s3://bucket/prefix` (S3-compatible; credentials and endpoint from the usual `AWS_*` variables) |
//! | `max_upload_bytes` | `FAMILLE_MAX_UPLOAD_BYTES` | `10485760` (10 MiB) | largest document a family may send |
//! | `payfip_endpoint` | `FAMILLE_PAYFIP_ENDPOINT` | `https://www.payfip.gouv.fr/tpa/services/securite` | PayFiP's SOAP web service (each régie's client number and mode are in its settings) |
//! | `payfip_page_url` | `FAMILLE_PAYFIP_PAGE_URL` | `https://www.payfip.gouv.fr/tpa/paiementws.web` | the PayFiP page parents are sent to; PayFiP notifies `<public_url>/api/v1/payfip/notifications` and returns to `<public_url>/api/v1/payfip/return` |
//! | `unpaid_block_cents` | `FAMILLE_UNPAID_BLOCK_CENTS` | none: unpaid invoices block nothing | overdue invoices owing more than this (cents) block a family's new bookings; an agent may lift it per family |
//! | `api_particulier_url` | `FAMILLE_API_PARTICULIER_URL` | `https://particulier.api.gouv.fr` | API Particulier base URL (the CAF/MSA quotient familial) |
//! | `api_particulier_token` | `FAMILLE_API_PARTICULIER_TOKEN` | none: agents enter QF by hand | the organisation's API Particulier key (`X-Api-Key`) |
//! | `api_particulier_timeout_secs` | `FAMILLE_API_PARTICULIER_TIMEOUT_SECS` | `10` | how long an agent waits for API Particulier before being told to retry |
//!
//! The file is read from `FAMILLE_CONFIG` if set, else `<data_dir>/famille.toml` if it
//! exists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("setting {name} = {value:?} is not valid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
    #[error("cannot prepare the data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Settings as the file spells them; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    public_url: Option<String>,
    organisation_name: Option<String>,
    jwt_secret: Option<String>,
    access_token_minutes: Option<i64>,
    session_refresh_hours: Option<i64>,
    remember_refresh_days: Option<i64>,
    max_concurrent_hashes: Option<usize>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    trust_forwarded_for: Option<bool>,
    rate_limit_per_address: Option<u32>,
    fcm_credentials: Option<PathBuf>,
    fcm_endpoint: Option<String>,
    documents_url: Option<String>,
    max_upload_bytes: Option<u64>,
    payfip_endpoint: Option<String>,
    payfip_page_url: Option<String>,
    unpaid_block_cents: Option<i64>,
    api_particulier_url: Option<String>,
    api_particulier_token: Option<String>,
    api_particulier_timeout_secs: Option<u64>,
}

/// Every setting, read. Its `Debug` output (logs, panics) never shows the JWT
/// secret, the API Particulier key, nor a password inside the database or SMTP URL.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    pub public_url: String,
    pub organisation_name: String,
    pub jwt_secret: Vec<u8>,
    pub access_token_minutes: i64,
    /// Refresh-token lifetime of a login without "se souvenir de moi" (the setting
    /// keeps its published name, `session_refresh_hours`).
    pub login_refresh_hours: i64,
    pub remember_refresh_days: i64,
    pub max_concurrent_hashes: usize,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub trust_forwarded_for: bool,
    pub rate_limit_per_address: u32,
    pub fcm_credentials: Option<PathBuf>,
    pub fcm_endpoint: String,
    pub documents_url: Option<String>,
    pub max_upload_bytes: u64,
    pub payfip_endpoint: String,
    /// The unpaid-invoices rule's threshold (cents), when the organisation has one.
    pub unpaid_block_cents: Option<i64>,
    pub payfip_page_url: String,
    pub api_particulier_url: String,
    /// Without it, fetching a QF answers `provider_unavailable`.
    pub api_particulier_token: Option<String>,
    pub api_particulier_timeout: std::time::Duration,
}

/// A URL with its password, if any, replaced (`smtps://user:***@host`).
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &without_password(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("public_url", &self.public_url)
            .field("organisation_name", &self.organisation_name)
            .field("jwt_secret", &"***")
            .field("access_token_minutes", &self.access_token_minutes)
            .field("login_refresh_hours", &self.login_refresh_hours)
            .field("remember_refresh_days", &self.remember_refresh_days)
            .field("max_concurrent_hashes", &self.max_concurrent_hashes)
            .field("smtp_url", &self.smtp_url.as_deref().map(without_password))
            .field("mail_from", &self.mail_from)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("rate_limit_per_address", &self.rate_limit_per_address)
            .field("fcm_credentials", &self.fcm_credentials)
            .field("fcm_endpoint", &self.fcm_endpoint)
            .field("documents_url", &self.documents_url)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("payfip_endpoint", &self.payfip_endpoint)
            .field("unpaid_block_cents", &self.unpaid_block_cents)
            .field("payfip_page_url", &self.payfip_page_url)
            .field("api_particulier_url", &self.api_particulier_url)
            .field(
                "api_particulier_token",
                &self.api_particulier_token.as_ref().map(|_| "***"),
            )
            .field("api_particulier_timeout", &self.api_particulier_timeout)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| ConfigError::Invalid {
        name,
        value,
        why: e.to_string(),
    })
}

/// Picks the environment value, else the file value, else the default.
fn pick<T: std::str::FromStr>(
    getenv: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    file: Option<T>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match getenv(name) {
        Some(v) => parse(name, v),
        None => Ok(file.unwrap_or(default)),
    }
}

impl Config {
    /// Reads the file (if any) and the environment, and prepares the data folder.
    pub fn load() -> Result<Config, ConfigError> {
        let explicit = env("FAMILLE_CONFIG").map(PathBuf::from);
        let default_data = env("FAMILLE_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let file_path = explicit.clone().or_else(|| {
            let p = default_data.join("famille.toml");
            p.exists().then_some(p)
        });
        let file = match file_path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })?
            }
            None => FileSettings::default(),
        };
        Self::from_parts(file, &env)
    }

    fn from_parts(
        file: FileSettings,
        getenv: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let listen: SocketAddr = pick(
            getenv,
            "FAMILLE_LISTEN",
            file.listen.map(|l| parse("listen", l)).transpose()?,
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let data_dir = getenv("FAMILLE_DATA")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let database_url = getenv("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| crate::store::Db::sqlite_url(&data_dir));
        let jwt_secret = match getenv("FAMILLE_JWT_SECRET").or(file.jwt_secret) {
            Some(secret) => secret.into_bytes(),
            None => generated_secret(&data_dir)?,
        };
        if jwt_secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "FAMILLE_JWT_SECRET",
                value: "(hidden)".into(),
                why: "at least 32 bytes are needed".into(),
            });
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let max_concurrent_hashes = pick(
            getenv,
            "FAMILLE_MAX_CONCURRENT_HASHES",
            file.max_concurrent_hashes,
            cores.saturating_sub(1).max(1),
        )?;
        if max_concurrent_hashes == 0 {
            return Err(ConfigError::Invalid {
                name: "FAMILLE_MAX_CONCURRENT_HASHES",
                value: "0".into(),
                why: "at least 1".into(),
            });
        }
        let public_url = getenv("FAMILLE_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        Ok(Config {
            listen,
            database_url,
            database_max_connections: pick(
                getenv,
                "FAMILLE_DB_MAX_CONNECTIONS",
                file.database_max_connections,
                16,
            )?,
            public_url: public_url.trim_end_matches('/').to_owned(),
            organisation_name: getenv("FAMILLE_ORGANISATION")
                .or(file.organisation_name)
                .unwrap_or_else(|| {
                    "Communauté de Communes des Portes de l'Entre-Deux-Mers".to_owned()
                }),
            jwt_secret,
            access_token_minutes: pick(
                getenv,
                "FAMILLE_ACCESS_TOKEN_MINUTES",
                file.access_token_minutes,
                15,
            )?,
            login_refresh_hours: pick(
                getenv,
                "FAMILLE_SESSION_REFRESH_HOURS",
                file.session_refresh_hours,
                12,
            )?,
            remember_refresh_days: pick(
                getenv,
                "FAMILLE_REMEMBER_REFRESH_DAYS",
                file.remember_refresh_days,
                90,
            )?,
            max_concurrent_hashes,
            smtp_url: getenv("FAMILLE_SMTP_URL").or(file.smtp_url),
            mail_from: getenv("FAMILLE_MAIL_FROM")
                .or(file.mail_from)
                .unwrap_or_else(|| "Portail Famille <ne-pas-repondre@famille.example>".to_owned()),
            trust_forwarded_for: pick(
                getenv,
                "FAMILLE_TRUST_FORWARDED_FOR",
                file.trust_forwarded_for,
                false,
            )?,
            rate_limit_per_address: pick(
                getenv,
                "FAMILLE_RATE_LIMIT_PER_ADDRESS",
                file.rate_limit_per_address,
                1200,
            )?,
            fcm_credentials: getenv("FAMILLE_FCM_CREDENTIALS")
                .map(PathBuf::from)
                .or(file.fcm_credentials),
            fcm_endpoint: getenv("FAMILLE_FCM_ENDPOINT")
                .or(file.fcm_endpoint)
                .unwrap_or_else(|| "https://fcm.googleapis.com".to_owned()),
            documents_url: getenv("FAMILLE_DOCUMENTS_URL").or(file.documents_url),
            max_upload_bytes: pick(
                getenv,
                "FAMILLE_MAX_UPLOAD_BYTES",
                file.max_upload_bytes,
                10 * 1024 * 1024,
            )?,
            unpaid_block_cents: match getenv("FAMILLE_UNPAID_BLOCK_CENTS") {
                Some(v) => Some(parse("FAMILLE_UNPAID_BLOCK_CENTS", v)?),
                None => file.unpaid_block_cents,
            },
            payfip_endpoint: getenv("FAMILLE_PAYFIP_ENDPOINT")
                .or(file.payfip_endpoint)
                .unwrap_or_else(|| "https://www.payfip.gouv.fr/tpa/services/securite".to_owned()),
            payfip_page_url: getenv("FAMILLE_PAYFIP_PAGE_URL")
                .or(file.payfip_page_url)
                .unwrap_or_else(|| "https://www.payfip.gouv.fr/tpa/paiementws.web".to_owned()),
            api_particulier_url: getenv("FAMILLE_API_PARTICULIER_URL")
                .or(file.api_particulier_url)
                .unwrap_or_else(|| "https://particulier.api.gouv.fr".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            api_particulier_token: getenv("FAMILLE_API_PARTICULIER_TOKEN")
                .or(file.api_particulier_token),
            api_particulier_timeout: std::time::Duration::from_secs(pick(
                getenv,
                "FAMILLE_API_PARTICULIER_TIMEOUT_SECS",
                file.api_particulier_timeout_secs,
                10,
            )?),
            data_dir,
        })
    }

    /// A configuration for tests and benchmarks: everything inside `data_dir`.
    pub fn for_data_dir(data_dir: &Path, database_url: Option<String>) -> Config {
        let file = FileSettings {
            data_dir: Some(data_dir.to_owned()),
            database_url,
            jwt_secret: Some("test-secret-test-secret-test-secret!".to_owned()),
            ..FileSettings::default()
        };
        // The environment is ignored: a test must not pick up the developer's settings.
        Self::from_parts(file, &|_| None).expect("test configuration is valid")
    }

    /// Uploads in progress (tus), before they become documents.
    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

/// The access-token key: generated on first start and kept in the data folder so
/// tokens survive a restart.
fn generated_secret(data_dir: &Path) -> Result<Vec<u8>, ConfigError> {
    let path = data_dir.join("jwt-secret");
    let io = |source| ConfigError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        _ => {
            let secret = crate::accounts::tokens::random_token();
            std::fs::write(&path, secret.as_bytes()).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            Ok(secret.into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret() {
        let mut config = Config::for_data_dir(
            &std::env::temp_dir(),
            Some("postgres://famille:motdepasse-base@db.example/famille".into()),
        );
        config.smtp_url = Some("smtps://mairie:motdepasse-smtp@smtp.example:465".into());
        config.api_particulier_token = Some("cle-api-particulier".into());
        let shown = format!("{config:?}");
        for secret in [
            "test-secret-test-secret",
            "motdepasse-base",
            "motdepasse-smtp",
            "cle-api-particulier",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(
            shown.contains("postgres://famille:***@db.example/famille"),
            "{shown}"
        );
        assert!(
            shown.contains("smtps://mairie:***@smtp.example:465"),
            "{shown}"
        );
        assert_eq!(
            without_password("sqlite:///data/famille.db"),
            "sqlite:///data/famille.db"
        );
        assert_eq!(
            without_password("smtp://relais@mx.example"),
            "smtp://relais@mx.example"
        );
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("famille-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = temp_dir();
        let file: FileSettings = toml::from_str(&format!(
            "data_dir = {:?}\nlisten = \"0.0.0.0:9000\"\naccess_token_minutes = 5\nsmtp_url = \"smtp://mail.example:25\"\n",
            dir.display().to_string()
        ))
        .unwrap();
        let env = |name: &str| match name {
            "FAMILLE_LISTEN" => Some("127.0.0.1:9100".to_owned()),
            _ => None,
        };
        let config = Config::from_parts(file, &env).unwrap();
        assert_eq!(
            config.listen.to_string(),
            "127.0.0.1:9100",
            "the environment wins over the file"
        );
        assert_eq!(
            config.access_token_minutes, 5,
            "the file wins over the default"
        );
        assert_eq!(config.login_refresh_hours, 12, "default");
        assert_eq!(config.smtp_url.as_deref(), Some("smtp://mail.example:25"));
        assert!(
            config.database_url.starts_with("sqlite://")
                && config.database_url.ends_with("famille.db")
        );
        assert_eq!(config.public_url, "http://127.0.0.1:9100");
        // The generated secret is kept for the next start.
        let secret = std::fs::read(dir.join("jwt-secret")).unwrap();
        assert_eq!(config.jwt_secret, secret);
        let again = Config::from_parts(
            FileSettings {
                data_dir: Some(dir.clone()),
                ..Default::default()
            },
            &|_| None,
        )
        .unwrap();
        assert_eq!(again.jwt_secret, secret);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let dir = temp_dir();
        let env =
            |name: &str| (name == "FAMILLE_ACCESS_TOKEN_MINUTES").then(|| "quinze".to_owned());
        let err = Config::from_parts(
            FileSettings {
                data_dir: Some(dir.clone()),
                ..Default::default()
            },
            &env,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("FAMILLE_ACCESS_TOKEN_MINUTES"),
            "{err}"
        );
        let short = FileSettings {
            data_dir: Some(dir.clone()),
            jwt_secret: Some("court".into()),
            ..Default::default()
        };
        assert!(Config::from_parts(short, &|_| None).is_err());
        assert!(
            toml::from_str::<FileSettings>("unknown_key = 1").is_err(),
            "typos in the file are refused"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
