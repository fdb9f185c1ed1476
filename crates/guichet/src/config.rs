//! Configuration: defaults, then a TOML file (`--config`), then `GUICHET_*` environment
//! variables, then command-line flags. No file is needed to start.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use guichet_store::db::Durability;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the web server listens on.
    pub listen: String,
    /// Directory of the embedded database and of stored files.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; the embedded SQLite database of `data_dir` otherwise.
    pub database_url: Option<String>,
    /// Public base URL, e.g. `https://guichet.region.fr` (enables HSTS when https).
    pub public_url: Option<String>,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// `full` (default): every acknowledged write survives a crash. `relaxed`: faster, may lose
    /// the last writes on power loss (see docs/ARCHITECTURE.md).
    pub durability: Durability,
    /// Maximum database connections of this node.
    pub db_max_connections: u32,
    /// Sender of e-mails, e.g. `Guichet <ne-pas-repondre@guichet.region.fr>`.
    pub mail_from: String,
    /// SMTP relay; without it, e-mails are written to `data_dir/courriels` (demo, development).
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_tls: guichet_web::mail::SmtpTls,
    pub smtp_username: Option<String>,
    /// Never logged.
    pub smtp_password: Option<String>,
    /// Map tiles, `{z}/{x}/{y}` template (`{s}` for sub-domains); empty to switch maps off. Its
    /// origin is added to the Content-Security-Policy.
    pub map_tile_url: String,
    /// Credit shown on maps, as the tile server's licence requires.
    pub map_attribution: String,
    /// Where maps open when they have nothing to show: latitude, longitude.
    pub map_center: (f64, f64),
    pub map_zoom: u8,
    /// FranceConnect (OpenID Connect issuer URL, e.g. https://fcp-low.integ01.dev-franceconnect.fr/api/v2);
    /// none: no FranceConnect button.
    pub franceconnect_issuer: Option<String>,
    pub franceconnect_client_id: Option<String>,
    /// Never logged.
    pub franceconnect_client_secret: Option<String>,
    /// eIDAS level asked: eidas1 (default), eidas2 or eidas3.
    pub franceconnect_acr: String,
    /// FranceConnect+: the provider encrypts the ID token and userinfo to Guichet's keys (JWE);
    /// an answer in clear is then refused.
    pub franceconnect_encrypted: bool,
    /// Agents' single sign-on (ProConnect or any OpenID provider); none: password and TOTP only.
    pub agents_sso_issuer: Option<String>,
    pub agents_sso_client_id: Option<String>,
    /// Never logged.
    pub agents_sso_client_secret: Option<String>,
    /// The agents' provider encrypts its ID tokens and userinfo to Guichet's keys.
    pub agents_sso_encrypted: bool,
    /// Guichet's private key for providers that encrypt (PEM: EC P-256 for ECDH-ES, or RSA of
    /// 2048 bits or more for RSA-OAEP); created (P-256) if missing when a provider encrypts,
    /// default `data_dir/cle-chiffrement-oidc.pem`. Its public half is at /.well-known/jwks.json.
    pub oidc_encryption_key_file: Option<PathBuf>,
    /// Retired encryption keys, still published and still opening what was encrypted to them
    /// until the providers have read the new key.
    pub oidc_encryption_retired_key_files: Vec<PathBuf>,
    /// Legal notice (mentions légales): who publishes the platform, its director of
    /// publication, its postal address, and who hosts it (name and address).
    pub legal_publisher: Option<String>,
    pub legal_director: Option<String>,
    pub legal_address: Option<String>,
    pub legal_host: Option<String>,
    /// How to reach the operator's data protection officer (an address or a URL).
    pub dpo_contact: Option<String>,
    /// Bearer token of the Prometheus scraper for `/metrics`; none: loopback only. Never logged.
    pub metrics_token: Option<String>,
    /// Lifetime of new API tokens, in days (365 at most).
    pub api_token_days: u32,
    /// Addresses or networks (`10.0.0.0/8`) of the reverse proxies in front of the platform: only
    /// their `X-Forwarded-For` is believed for the client's address (throttling, journal).
    pub trusted_proxies: Vec<String>,
    /// Whether this node runs the background worker (e-mails, webhooks, deadlines, purges); every
    /// node does by default, and they share the work safely.
    pub worker: bool,
    /// The key that signs the audit chain's anchors (created if missing; default
    /// `data_dir/cle-ancrage-journal`); keep it off the database's host in production.
    pub audit_key_file: Option<PathBuf>,
    /// Where anchors are written (default `data_dir/ancrages-journal`): an append-only store.
    pub audit_anchor_dir: Option<PathBuf>,
    /// Public keys (hex) of retired anchor keys, still trusted for the anchors they signed.
    pub audit_retired_keys: Vec<String>,
    /// Hosts outgoing requests (webhooks) may reach although their address is not public.
    pub outgoing_allowed_hosts: Vec<String>,
    /// The key that seals the secrets stored in the database (TOTP seeds, webhook secrets);
    /// created if missing, default `data_dir/cle-secrets`. Keep it off the database's host and out
    /// of the database's own dumps (Guichet's backups carry it, encrypted for the backup key).
    pub secrets_key_file: Option<PathBuf>,
    /// Retired sealing keys, still opening what they sealed until the next start reseals it.
    pub secrets_retired_key_files: Vec<PathBuf>,
    /// Where stored files live: unset for the directory `data_dir/fichiers`, or an object store
    /// (`s3://bucket/prefix`), shared by every node.
    pub files_url: Option<String>,
    /// The object store's address (e.g. `http://127.0.0.1:3900` for Garage), region and
    /// credentials; unset values come from the AWS_* environment variables.
    pub files_s3_endpoint: Option<String>,
    pub files_s3_region: Option<String>,
    pub files_s3_access_key_id: Option<String>,
    pub files_s3_secret_access_key: Option<String>,
    /// The key that encrypts each file before it goes to the object store (an age identity,
    /// created if missing, default `data_dir/cle-fichiers`), the same on every node.
    pub files_key_file: Option<PathBuf>,
    /// Public keys (age, `age1…`) that backups are encrypted for; the secret halves stay offline
    /// (`guichet backup key` makes a pair).
    pub backup_recipients: Vec<String>,
    /// The secret key that opens backups (`restore`, `backup verify`); also gives the recipient
    /// when `backup_recipients` is empty.
    pub backup_identity_file: Option<PathBuf>,
    /// Scheduled backups: the directory (unset: none), every how many hours, how many are kept.
    pub backup_dir: Option<PathBuf>,
    pub backup_interval_hours: u32,
    pub backup_keep: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("guichet-data"),
            database_url: None,
            public_url: None,
            log_format: LogFormat::Text,
            durability: Durability::Full,
            db_max_connections: guichet_store::db::default_max_connections(),
            mail_from: "Guichet <ne-pas-repondre@guichet.localhost>".into(),
            smtp_host: None,
            smtp_port: 25,
            smtp_tls: guichet_web::mail::SmtpTls::None,
            smtp_username: None,
            smtp_password: None,
            map_tile_url: guichet_web::carte::MapConfig::default().tile_url,
            map_attribution: guichet_web::carte::MapConfig::default().attribution,
            map_center: guichet_web::carte::MapConfig::default().center,
            map_zoom: guichet_web::carte::MapConfig::default().zoom,
            franceconnect_issuer: None,
            franceconnect_client_id: None,
            franceconnect_client_secret: None,
            franceconnect_acr: "eidas1".into(),
            franceconnect_encrypted: false,
            agents_sso_issuer: None,
            agents_sso_client_id: None,
            agents_sso_client_secret: None,
            agents_sso_encrypted: false,
            oidc_encryption_key_file: None,
            oidc_encryption_retired_key_files: Vec::new(),
            legal_publisher: None,
            legal_director: None,
            legal_address: None,
            legal_host: None,
            dpo_contact: None,
            metrics_token: None,
            api_token_days: 365,
            trusted_proxies: Vec::new(),
            worker: true,
            audit_key_file: None,
            audit_anchor_dir: None,
            audit_retired_keys: Vec::new(),
            outgoing_allowed_hosts: Vec::new(),
            secrets_key_file: None,
            secrets_retired_key_files: Vec::new(),
            files_url: None,
            files_s3_endpoint: None,
            files_s3_region: None,
            files_s3_access_key_id: None,
            files_s3_secret_access_key: None,
            files_key_file: None,
            backup_recipients: Vec::new(),
            backup_identity_file: None,
            backup_dir: None,
            backup_interval_hours: 24,
            backup_keep: 14,
        }
    }
}

/// Options given on the command line; only those present override the layers below.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "public_url",
    "log_format",
    "durability",
    "db_max_connections",
    "mail_from",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username",
    "smtp_password",
    "map_tile_url",
    "map_attribution",
    "map_center",
    "map_zoom",
    "franceconnect_issuer",
    "franceconnect_client_id",
    "franceconnect_client_secret",
    "franceconnect_acr",
    "franceconnect_encrypted",
    "agents_sso_issuer",
    "agents_sso_client_id",
    "agents_sso_client_secret",
    "agents_sso_encrypted",
    "oidc_encryption_key_file",
    "oidc_encryption_retired_key_files",
    "legal_publisher",
    "legal_director",
    "legal_address",
    "legal_host",
    "dpo_contact",
    "metrics_token",
    "api_token_days",
    "trusted_proxies",
    "worker",
    "audit_key_file",
    "audit_anchor_dir",
    "audit_retired_keys",
    "outgoing_allowed_hosts",
    "secrets_key_file",
    "secrets_retired_key_files",
    "files_url",
    "files_s3_endpoint",
    "files_s3_region",
    "files_s3_access_key_id",
    "files_s3_secret_access_key",
    "files_key_file",
    "backup_recipients",
    "backup_identity_file",
    "backup_dir",
    "backup_interval_hours",
    "backup_keep",
];

impl Config {
    fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cle-ancrage-journal"))
    }

    pub fn anchor_dir(&self) -> PathBuf {
        self.audit_anchor_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ancrages-journal"))
    }

    fn secrets_key_path(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cle-secrets"))
    }

    fn files_key_path(&self) -> PathBuf {
        self.files_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cle-fichiers"))
    }

    /// The key files a backup carries, by their name in it, and where this configuration keeps
    /// them (not created here: a restoration must find them absent).
    pub fn key_files(&self) -> Vec<(String, PathBuf)> {
        let audit = self.audit_key_path();
        vec![
            ("cle-secrets".into(), self.secrets_key_path()),
            ("cle-ancrage-journal".into(), audit.clone()),
            (
                "cle-ancrage-journal.pub".into(),
                audit.with_extension("pub"),
            ),
            ("cle-fichiers".into(), self.files_key_path()),
        ]
    }

    /// The audit chain's anchoring: its key and directory, from configuration or in `data_dir`.
    pub fn anchoring(&self) -> anyhow::Result<guichet_store::anchor::Anchoring> {
        guichet_store::anchor::Anchoring::open(
            &self.audit_key_path(),
            &self.anchor_dir(),
            &self.audit_retired_keys,
        )
    }

    /// Where stored files live: `data_dir/fichiers`, or the object store of `files_url`.
    pub fn file_store(&self) -> anyhow::Result<guichet_store::files::FileStore> {
        use guichet_store::{files::FileStore, objects};
        match self.files_url.as_deref().map(str::trim) {
            None | Some("") => Ok(FileStore::local(self.data_dir.join("fichiers"))),
            Some(url) => {
                let key = objects::key(&self.files_key_path())?;
                let config = objects::ObjectConfig {
                    url: url.to_string(),
                    endpoint: self.files_s3_endpoint.clone(),
                    region: self.files_s3_region.clone(),
                    access_key_id: self.files_s3_access_key_id.clone(),
                    secret_access_key: self.files_s3_secret_access_key.clone(),
                };
                Ok(FileStore::object(objects::ObjectFiles::open(&config, key)?))
            }
        }
    }

    /// Whom backups are encrypted for: the configured public keys, or the identity's.
    pub fn backup_recipients(&self) -> anyhow::Result<Vec<age::x25519::Recipient>> {
        let mut recipients = self
            .backup_recipients
            .iter()
            .map(|r| {
                r.trim().parse::<age::x25519::Recipient>().map_err(|e| {
                    anyhow::anyhow!("backup_recipients : clé publique age invalide ({e})")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if recipients.is_empty() {
            if let Some(path) = &self.backup_identity_file {
                recipients.push(self.backup_identity(Some(path))?.to_public());
            }
        }
        anyhow::ensure!(
            !recipients.is_empty(),
            "aucune clé de sauvegarde configurée : créez-en une avec « guichet backup key --to FICHIER » \
             et indiquez sa clé publique dans backup_recipients"
        );
        Ok(recipients)
    }

    /// The secret key that opens backups: `given`, or the configured one.
    pub fn backup_identity(
        &self,
        given: Option<&PathBuf>,
    ) -> anyhow::Result<age::x25519::Identity> {
        let path = given.or(self.backup_identity_file.as_ref()).ok_or_else(|| {
            anyhow::anyhow!("indiquez la clé secrète de sauvegarde (--identity FICHIER ou backup_identity_file)")
        })?;
        guichet_store::objects::read_identity(path, "clé de sauvegarde")
    }

    /// The keys that seal the database's secrets: the current one (created if missing) and the
    /// retired ones.
    pub fn sealer(&self) -> anyhow::Result<guichet_store::sealed::Sealer> {
        let current =
            guichet_store::secret::key_file(&self.secrets_key_path(), "clé de scellement")?;
        let retired = self
            .secrets_retired_key_files
            .iter()
            .map(|p| guichet_store::secret::read_key_file(p, "clé de scellement retirée"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        guichet_store::sealed::Sealer::new(&current, &retired)
    }

    /// The trusted proxies, each checked.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<guichet_domain::throttle::TrustedProxy>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e: String| anyhow::anyhow!("trusted_proxies : {e}"))
            })
            .collect()
    }

    pub fn load(
        file: Option<&Path>,
        defaults: Config,
        overrides: &Overrides,
    ) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(file) = file {
            if !file.exists() {
                anyhow::bail!(
                    "le fichier de configuration {} n'existe pas",
                    file.display()
                );
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(Env::prefixed("GUICHET_").only(ENV_KEYS))
            .merge(Serialized::defaults(overrides));
        figment
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration invalide : {e}"))
    }

    /// The database URL to use: the configured one, or the embedded database of `data_dir`.
    pub fn database_url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => Ok(url.clone()),
            _ => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "impossible de créer le répertoire de données {} : {e}",
                        self.data_dir.display()
                    )
                })?;
                Ok(guichet_store::Db::sqlite_url_in(&self.data_dir))
            }
        }
    }
}

impl Config {
    /// The map settings, checked.
    pub fn map(&self) -> anyhow::Result<guichet_web::carte::MapConfig> {
        let map = guichet_web::carte::MapConfig {
            tile_url: self.map_tile_url.trim().to_string(),
            attribution: self.map_attribution.clone(),
            center: self.map_center,
            zoom: self.map_zoom,
        };
        map.check()
            .map_err(|e| anyhow::anyhow!("configuration invalide : {e}"))?;
        Ok(map)
    }

    /// An OpenID provider, complete or absent: a half-configured one is an error.
    fn provider(
        name: &str,
        issuer: &Option<String>,
        id: &Option<String>,
        secret: &Option<String>,
        acr: &str,
        encrypted: bool,
    ) -> anyhow::Result<Option<guichet_web::compte::oidc::OidcProvider>> {
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        match (set(issuer), set(id), set(secret)) {
            (None, None, None) => Ok(None),
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                if !issuer.starts_with("https://") && !issuer.starts_with("http://127.0.0.1") && !issuer.starts_with("http://localhost") {
                    anyhow::bail!("configuration invalide : {name}_issuer doit être une adresse https://");
                }
                Ok(Some(guichet_web::compte::oidc::OidcProvider {
                    issuer,
                    client_id,
                    client_secret,
                    acr: acr.trim().to_string(),
                    encrypted,
                }))
            }
            _ => anyhow::bail!(
                "configuration invalide : {name}_issuer, {name}_client_id et {name}_client_secret vont ensemble"
            ),
        }
    }

    pub fn franceconnect(&self) -> anyhow::Result<Option<guichet_web::compte::oidc::OidcProvider>> {
        if !["eidas1", "eidas2", "eidas3"].contains(&self.franceconnect_acr.as_str()) {
            anyhow::bail!(
                "configuration invalide : franceconnect_acr vaut eidas1, eidas2 ou eidas3"
            );
        }
        Self::provider(
            "franceconnect",
            &self.franceconnect_issuer,
            &self.franceconnect_client_id,
            &self.franceconnect_client_secret,
            &self.franceconnect_acr,
            self.franceconnect_encrypted,
        )
    }

    pub fn agents_sso(&self) -> anyhow::Result<Option<guichet_web::compte::oidc::OidcProvider>> {
        Self::provider(
            "agents_sso",
            &self.agents_sso_issuer,
            &self.agents_sso_client_id,
            &self.agents_sso_client_secret,
            "",
            self.agents_sso_encrypted,
        )
    }

    /// Guichet's keys for providers that encrypt: the current one (created, P-256, if missing
    /// when a provider encrypts) and the retired ones. None configured and no provider that
    /// encrypts: no keys, and no JWKS published.
    pub fn oidc_keys(&self) -> anyhow::Result<guichet_web::compte::oidc_keys::DecryptionKeys> {
        use guichet_web::compte::oidc_keys::{generate, DecryptionKeys, KeyKind};
        let encrypts = self.franceconnect_encrypted || self.agents_sso_encrypted;
        if !encrypts && self.oidc_encryption_key_file.is_none() {
            return Ok(DecryptionKeys::default());
        }
        let current = self
            .oidc_encryption_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cle-chiffrement-oidc.pem"));
        if !current.exists() {
            guichet_store::secret::write_private_file(&current, &generate(KeyKind::Ec)?)?;
        }
        let pems = std::iter::once(&current)
            .chain(&self.oidc_encryption_retired_key_files)
            .map(|path| {
                std::fs::read(path)
                    .map(|pem| (path.display().to_string(), pem))
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "clé de chiffrement OpenID Connect illisible : {} ({e})",
                            path.display()
                        )
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        DecryptionKeys::from_pems(&pems)
    }

    /// Where e-mails go: the SMTP relay if one is configured, files in the data directory otherwise.
    pub fn mail(&self) -> guichet_web::mail::MailConfig {
        use guichet_web::mail::{MailConfig, SmtpSettings, Transport};
        let transport = match &self.smtp_host {
            Some(host) if !host.trim().is_empty() => Transport::Smtp(SmtpSettings {
                host: host.clone(),
                port: self.smtp_port,
                tls: self.smtp_tls,
                username: self.smtp_username.clone(),
                password: self.smtp_password.clone(),
            }),
            _ => Transport::Directory(self.data_dir.join("courriels")),
        };
        MailConfig {
            from: self.mail_from.clone(),
            transport,
        }
    }
}
