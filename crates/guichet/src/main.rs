//! `guichet`: the one binary of the platform.

mod config;
mod demo;

use clap::{Args, Parser, Subcommand};
use config::{Config, LogFormat, Overrides};
use guichet_store::{collectivite, territoire, Db};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "guichet",
    version,
    about = "Guichet : le guichet numérique unique des collectivités d'une région.",
    long_about = "Guichet : le guichet numérique unique des collectivités d'une région.\n\n\
        Every option can also be set in a TOML file (--config) or by a GUICHET_* environment \
        variable: GUICHET_LISTEN, GUICHET_DATA_DIR, GUICHET_DATABASE_URL, GUICHET_PUBLIC_URL, \
        GUICHET_LOG_FORMAT (text|json), GUICHET_DURABILITY (full|relaxed), GUICHET_DB_MAX_CONNECTIONS."
)]
struct Cli {
    /// A TOML configuration file (optional: sane defaults apply without it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Options shared by every subcommand that touches data.
#[derive(Args, Clone, Default)]
struct DataOptions {
    /// Directory of the embedded database and stored files [default: ./guichet-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded database, e.g. postgres://user@host/guichet.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Args, Clone, Default)]
struct ServeOptions {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    #[command(flatten)]
    data: DataOptions,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server.
    Serve(ServeOptions),
    /// Run the web server with demo data: the région Bourgogne-Franche-Comté and some of its
    /// collectivités (own data directory ./guichet-demo unless --data-dir is given).
    Demo(ServeOptions),
    /// Apply pending database migrations (also done automatically at start).
    Migrate(DataOptions),
    /// The referential of French territories.
    #[command(subcommand)]
    Territory(TerritoryCommand),
    /// Collectivités of the platform (`collectivité`, the name the operators' scripts know, or
    /// `collectivite`).
    #[command(subcommand, name = "tenant", alias = "collectivite")]
    Collectivite(CollectiviteCommand),
    /// The audit journal.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// List the web routes and who may use each (JSON), as the authorization layer applies them.
    Routes,
    /// API tokens of agents.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The search of démarches, competences and national services.
    #[command(subcommand)]
    Search(SearchCommand),
    /// The referential of competences (CSV).
    #[command(subcommand)]
    Competences(CompetencesCommand),
    /// Back up the running platform into one encrypted file (`--to FILE`): database snapshot,
    /// stored files, audit anchors and keys, with a manifest of checksums; or check a backup
    /// (`verify`), or make a key pair for backups (`key`).
    Backup(BackupCommand),
    /// Restore a backup into an empty data directory (and an empty PostgreSQL database with
    /// --database-url), then check the audit journal, the anchors and every stored file.
    Restore(RestoreOptions),
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct BackupCommand {
    #[command(subcommand)]
    action: Option<BackupAction>,
    /// The backup file to write (an existing one is replaced only once the new one is complete).
    #[arg(long, value_name = "FILE", required = true)]
    to: Option<PathBuf>,
    #[command(flatten)]
    data: DataOptions,
}

#[derive(Subcommand)]
enum BackupAction {
    /// Decrypt a backup and check every entry against its manifest; nothing is written.
    Verify {
        file: PathBuf,
        /// The secret key of backups [default: backup_identity_file of the configuration].
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
    },
    /// Make a key pair for backups: the secret key into FILE (keep it offline, apart from the
    /// backups); prints the public key to put in backup_recipients.
    Key {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

#[derive(Args)]
struct RestoreOptions {
    /// The backup file.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The secret key of backups [default: backup_identity_file of the configuration].
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// The data directory to restore into: empty, or absent.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// An empty PostgreSQL database to restore a PostgreSQL backup into.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuild the search index from the database, on every running node (each rebuilds its
    /// in-memory index on its next search).
    Rebuild(DataOptions),
}

#[derive(Subcommand)]
enum CompetencesCommand {
    /// Print the competences as CSV (code;libelle;niveau;situation;mots_cles).
    Export(DataOptions),
    /// Add or update competences from a CSV file; every line is checked before anything is written.
    Import {
        file: std::path::PathBuf,
        #[command(flatten)]
        data: DataOptions,
    },
    /// Print the overrides per territory as CSV (competence;portee;code_portee;titulaire;code_titulaire).
    ExportOverrides(DataOptions),
    /// Add or replace overrides from a CSV file; every line is checked before anything is written.
    ImportOverrides {
        file: std::path::PathBuf,
        #[command(flatten)]
        data: DataOptions,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for an agent of a collectivité; prints it once.
    Create {
        /// Slug of the collectivité (e.g. dijon).
        #[arg(long = "tenant", alias = "collectivite")]
        collectivite: String,
        /// E-mail of the agent, who must have a role in that collectivité.
        #[arg(long)]
        agent: String,
        /// Name of the token (what it is for).
        #[arg(long)]
        name: String,
        /// Scopes, comma-separated: dossiers:lecture, dossiers:ecriture, signalements:lecture, signalements:ecriture.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        #[command(flatten)]
        data: DataOptions,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-compute the hash chain of the journal and check it against the signed anchors; exits
    /// non-zero naming the first broken entry or the anchor the journal contradicts.
    Verify(DataOptions),
    /// Anchor the chain's head now (the server does it every minute and at shutdown).
    Anchor(DataOptions),
}

#[derive(Subcommand)]
enum TerritoryCommand {
    /// Load the shipped referential (or FILE, same format) into the database; safe to re-run.
    Import {
        /// A referential file in the format of data/territoire.tsv.gz (gzip or plain text).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Re-import even if this version is already loaded.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataOptions,
    },
    /// Load commune contours (GeoJSON FeatureCollection, INSEE code in the `code` property, e.g.
    /// Etalab's communes file): reports with coordinates then find their commune themselves.
    ImportContours {
        file: PathBuf,
        #[command(flatten)]
        data: DataOptions,
    },
    /// Find communes by INSEE code, postal code or name (accents and case ignored).
    Commune {
        /// An INSEE code (21231), a postal code (21000) or the start of a name (dijon).
        query: String,
        #[command(flatten)]
        data: DataOptions,
    },
}

#[derive(Subcommand)]
enum CollectiviteCommand {
    /// Make a territory entity a collectivité of the platform.
    Add(CollectiviteAdd),
    /// List the collectivités of the platform.
    List(DataOptions),
    /// Invite an admin of a collectivité (its first one, typically): an e-mail with a link valid
    /// seven days; the link is printed too, to hand over another way if mail does not arrive.
    /// For the operating région, the admin is also an operator of the platform.
    Invite {
        /// Slug of the collectivité (see `guichet collectivité list`).
        #[arg(long = "tenant", alias = "collectivite")]
        collectivite: String,
        /// E-mail address of the future admin.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataOptions,
    },
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("entity").required(true).args(["siren", "insee", "region", "departement"])))]
struct CollectiviteAdd {
    /// SIREN of a commune or an EPCI (e.g. 212102313 for Dijon).
    #[arg(long)]
    siren: Option<String>,
    /// INSEE code of a commune (e.g. 21231).
    #[arg(long)]
    insee: Option<String>,
    /// Code of a région (e.g. 27).
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
    /// Code of a département (e.g. 21).
    #[arg(long, value_name = "CODE")]
    departement: Option<String>,
    /// This région operates the platform (only one operator).
    #[arg(long)]
    operator: bool,
    /// Contact e-mail shown to residents.
    #[arg(long)]
    email: Option<String>,
    /// Contact phone number shown to residents.
    #[arg(long)]
    phone: Option<String>,
    /// Postal address shown to residents.
    #[arg(long)]
    address: Option<String>,
    /// Website of the collectivité.
    #[arg(long)]
    website: Option<String>,
    #[command(flatten)]
    data: DataOptions,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Erreur : impossible de démarrer : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(
    cli_config: Option<&PathBuf>,
    defaults: Config,
    listen: Option<String>,
    data: &DataOptions,
) -> anyhow::Result<Config> {
    Config::load(
        cli_config.map(PathBuf::as_path),
        defaults,
        &Overrides {
            listen,
            data_dir: data.data_dir.clone(),
            database_url: data.database_url.clone(),
        },
    )
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Connects and migrates; every data command starts with this.
async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(
        &config.database_url()?,
        &guichet_store::db::DbOptions {
            max_connections: config.db_max_connections,
            durability: config.durability,
        },
    )
    .await?
    .with_sealer(config.sealer()?);
    guichet_store::migrate::run(&db).await?;
    // Secrets stored plain (before sealing) or with a retired key: sealed with the current key.
    let resealed = guichet_store::migrate::reseal_secrets(&db).await?;
    if resealed > 0 {
        tracing::info!(resealed, "secrets sealed with the current key");
    }
    Ok(db)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.config.as_ref();
    match cli.command {
        Command::Serve(o) => {
            let config = load(cfg, Config::default(), o.listen, &o.data)?;
            init_logs(config.log_format);
            serve(config, false).await
        }
        Command::Demo(o) => {
            // The demo's legal pages say who would publish a real platform (fictitious contacts).
            let defaults = Config {
                data_dir: PathBuf::from("guichet-demo"),
                legal_publisher: Some("Région Bourgogne-Franche-Comté (démonstration)".into()),
                legal_director: Some("La présidente du conseil régional".into()),
                legal_address: Some("4 square Castan, 25031 Besançon Cedex".into()),
                legal_host: Some("Hébergement de démonstration sur le poste local".into()),
                dpo_contact: Some("dpo@demo.example".into()),
                ..Config::default()
            };
            let config = load(cfg, defaults, o.listen, &o.data)?;
            init_logs(config.log_format);
            serve(config, true).await
        }
        Command::Migrate(data) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            println!(
                "Base de données {} à jour (version {}).",
                db.backend().name(),
                guichet_store::migrate::current_version(&db).await?
            );
            Ok(())
        }
        Command::Territory(TerritoryCommand::Import { file, force, data }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let report = match file {
                None => territoire::import_shipped(&db, force).await?,
                Some(path) => {
                    let bytes = std::fs::read(&path).map_err(|e| {
                        anyhow::anyhow!("impossible de lire {} : {e}", path.display())
                    })?;
                    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
                        territoire::decompress(&bytes)?
                    } else {
                        String::from_utf8(bytes)
                            .map_err(|_| anyhow::anyhow!("{} n'est pas en UTF-8", path.display()))?
                    };
                    let referential = guichet_domain::territoire::Referential::parse(&text)?;
                    territoire::import(&db, &referential, &format!("fichier {}", path.display()))
                        .await?
                }
            };
            if report.skipped {
                println!(
                    "Référentiel territorial déjà à jour ({}).",
                    territoire::SHIPPED_VERSION
                );
            } else {
                println!(
                    "Référentiel territorial importé : {} régions, {} départements, {} intercommunalités, {} communes.",
                    report.regions, report.departements, report.epcis, report.communes
                );
            }
            Ok(())
        }
        Command::Territory(TerritoryCommand::ImportContours { file, data }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("impossible de lire {} : {e}", file.display()))?;
            match territoire::import_contours(&db, &text).await? {
                Ok(n) => {
                    println!("{n} contours de communes importés.");
                    Ok(())
                }
                Err(message) => anyhow::bail!("import refusé, rien n'a été modifié : {message}"),
            }
        }
        Command::Territory(TerritoryCommand::Commune { query, data }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            territoire::import_shipped(&db, false).await?;
            let q = query.trim();
            // INSEE codes and postal codes are 5 characters, mostly digits (2A004 in Corsica).
            let is_code = q.len() == 5 && q.chars().filter(char::is_ascii_digit).count() >= 3;
            let found = if is_code {
                let mut by_code = territoire::communes_by_insee(&db, q).await?;
                by_code.extend(territoire::communes_by_postal_code(&db, q).await?);
                by_code
            } else {
                territoire::search_communes(&db, q, 20).await?
            };
            if found.is_empty() {
                anyhow::bail!("aucune commune ne correspond à « {q} »");
            }
            let mut out = String::new();
            for c in found {
                let d = territoire::commune_details(&db, &c.insee).await?;
                let (epci, dep, reg) = d
                    .map(|d| {
                        (
                            d.epci.map(|e| e.nom).unwrap_or_else(|| "—".into()),
                            d.departement
                                .map(|x| format!("{} ({})", x.nom, x.code))
                                .unwrap_or_default(),
                            d.region
                                .map(|x| format!("{} ({})", x.nom, x.code))
                                .unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                out += &format!(
                    "{}\t{}\t{}\tCP {}\tSIREN {}\tEPCI {}\t{}\t{}\n",
                    c.insee,
                    c.nom,
                    c.kind.label(),
                    c.postal_codes.join(","),
                    c.siren.unwrap_or_else(|| "—".into()),
                    epci,
                    dep,
                    reg
                );
            }
            print_out(&out);
            Ok(())
        }
        Command::Collectivite(CollectiviteCommand::Add(a)) => {
            let config = load(cfg, Config::default(), None, &a.data)?;
            let db = open(&config).await?;
            territoire::import_shipped(&db, false).await?;
            let target = match (a.siren, a.insee, a.region, a.departement) {
                (Some(s), _, _, _) => collectivite::Target::Siren(s),
                (_, Some(i), _, _) => collectivite::Target::Insee(i),
                (_, _, Some(r), _) => collectivite::Target::Region(r),
                (_, _, _, Some(d)) => collectivite::Target::Departement(d),
                _ => anyhow::bail!("indiquez --siren, --insee, --region ou --departement"),
            };
            let contact = collectivite::Contact {
                email: a.email,
                phone: a.phone,
                address: a.address,
                website: a.website,
            };
            let event = guichet_domain::journal::Event {
                actor: "ligne de commande".into(),
                action: "collectivite.ajout".into(),
                ..Default::default()
            };
            let t = collectivite::add_traced(
                &db,
                &target,
                &contact,
                a.operator,
                guichet_store::trace::Trace::of(event),
            )
            .await?;
            println!(
                "Collectivité ajoutée : {} (adresse /collectivites/{}).",
                t.name, t.slug
            );
            println!(
                "Invitez son premier administrateur : guichet tenant invite --tenant {} --email ADRESSE (ou depuis /operateur/collectivites/{}).",
                t.slug, t.slug
            );
            Ok(())
        }
        Command::Collectivite(CollectiviteCommand::Invite {
            collectivite: slug,
            email,
            data,
        }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let t = collectivite::by_slug(&db, &slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("aucune collectivité n'a l'adresse « {slug} »"))?;
            let email = guichet_store::compte::normalize_email(&email)
                .map_err(|_| anyhow::anyhow!("adresse électronique invalide : {email}"))?;
            let base = format!(
                "{}/invitation/",
                config
                    .public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.listen))
                    .trim_end_matches('/')
            );
            // The operating région's first admin is also the platform's first operator: that
            // is how an empty platform gets its operator.
            let roles = if t.is_operator {
                vec![
                    guichet_domain::role::Role::Admin,
                    guichet_domain::role::Role::Operateur,
                ]
            } else {
                vec![guichet_domain::role::Role::Admin]
            };
            let codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
            let event = guichet_domain::journal::Event {
                tenant_id: Some(t.id),
                actor: "ligne de commande".into(),
                action: "equipe.invitation".into(),
                details: serde_json::json!({"email": email, "roles": codes, "par": "operateur"})
                    .to_string(),
                ..Default::default()
            };
            let token = guichet_store::secret::random_token();
            let mail =
                guichet_web::equipe::mails::invitation(&base, &token, &t, None, &roles, &email);
            guichet_store::equipe::invite(
                &db,
                guichet_store::equipe::NewInvitation {
                    tenant_id: t.id,
                    email: email.clone(),
                    roles: roles.clone(),
                    invited_by: None,
                },
                &token,
                guichet_store::trace::Trace::of(event).mail(mail),
            )
            .await?;
            println!(
                "Invitation d'administrateur de {} envoyée à {email} (valable 7 jours) : {base}{token}",
                t.name
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            collectivite: slug,
            agent,
            name,
            scopes,
            data,
        }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let t = collectivite::by_slug(&db, &slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("aucune collectivité n'a l'adresse « {slug} »"))?;
            let user = guichet_store::compte::by_email(&db, &agent)
                .await?
                .ok_or_else(|| anyhow::anyhow!("aucun compte n'a l'adresse {agent}"))?;
            let roles = guichet_store::equipe::roles_of(&db, user.id).await?;
            if !roles.iter().any(|(tid, _)| *tid == t.id) {
                anyhow::bail!("{agent} n'a aucun rôle dans {}", t.name);
            }
            let known: Vec<&str> = guichet_store::jeton::SCOPES
                .iter()
                .map(|(s, _)| *s)
                .collect();
            if scopes.is_empty() || scopes.iter().any(|s| !known.contains(&s.as_str())) {
                anyhow::bail!("portées attendues parmi : {}", known.join(", "));
            }
            // A token can do no more than its owner: every scope must be one their roles allow.
            let roles: Vec<_> = roles
                .iter()
                .filter(|(tid, _)| *tid == t.id)
                .map(|(_, r)| *r)
                .collect();
            if let Some(s) = scopes.iter().find(|s| {
                !guichet_domain::role::scope_permission(s)
                    .is_some_and(|p| guichet_domain::role::allowed(&roles, p))
            }) {
                anyhow::bail!(
                    "les rôles de {agent} dans {} ne permettent pas la portée {s}",
                    t.name
                );
            }
            let event = guichet_domain::journal::Event {
                tenant_id: Some(t.id),
                actor: "ligne de commande".into(),
                action: "jeton.creation".into(),
                details: serde_json::json!({"agent": agent, "portees": scopes}).to_string(),
                ..Default::default()
            };
            let (_, secret) = guichet_store::jeton::create(
                &db,
                t.id,
                user.id,
                &name,
                &scopes,
                config.api_token_days,
                guichet_store::trace::Trace::of(event),
            )
            .await?;
            println!("{secret}");
            Ok(())
        }
        Command::Search(SearchCommand::Rebuild(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            guichet_store::recherche::bump_generation(&db).await?;
            let published = guichet_store::demarche::all_published(&db).await?.len();
            println!("Index de recherche à reconstruire : {published} démarches publiées ; chaque serveur le reconstruit à sa prochaine recherche.");
            Ok(())
        }
        Command::Competences(CompetencesCommand::Export(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let list = guichet_store::competence::list(&db).await?;
            print_out(&guichet_store::competence::competences_csv(&list)?);
            Ok(())
        }
        Command::Competences(CompetencesCommand::ExportOverrides(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let list = guichet_store::competence::overrides(&db).await?;
            print_out(&guichet_store::competence::overrides_csv(&list)?);
            Ok(())
        }
        Command::Competences(CompetencesCommand::ImportOverrides { file, data }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("impossible de lire {} : {e}", file.display()))?;
            let known = guichet_store::competence::list(&db).await?;
            match guichet_store::competence::parse_overrides_csv(&text, &known) {
                Ok(list) => {
                    let event = guichet_domain::journal::Event {
                        actor: "ligne de commande".into(),
                        action: "referentiel.import".into(),
                        details: serde_json::json!({"exceptions": list.len()}).to_string(),
                        ..Default::default()
                    };
                    guichet_store::competence::save_overrides(
                        &db,
                        &list,
                        guichet_store::trace::Trace::of(event),
                    )
                    .await?;
                    println!("{} exceptions importées.", list.len());
                    Ok(())
                }
                Err(problems) => anyhow::bail!(
                    "import refusé, rien n'a été modifié :\n{}",
                    problems.join("\n")
                ),
            }
        }
        Command::Competences(CompetencesCommand::Import { file, data }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("impossible de lire {} : {e}", file.display()))?;
            match guichet_store::competence::parse_competences_csv(&text) {
                Ok(list) => {
                    let event = guichet_domain::journal::Event {
                        actor: "ligne de commande".into(),
                        action: "referentiel.import".into(),
                        details: serde_json::json!({"competences": list.len()}).to_string(),
                        ..Default::default()
                    };
                    guichet_store::competence::save_all(
                        &db,
                        &list,
                        guichet_store::trace::Trace::of(event),
                    )
                    .await?;
                    println!("{} compétences importées.", list.len());
                    Ok(())
                }
                Err(problems) => anyhow::bail!(
                    "import refusé, rien n'a été modifié :\n{}",
                    problems.join("\n")
                ),
            }
        }
        Command::Backup(BackupCommand {
            action: Some(BackupAction::Key { to }),
            ..
        }) => {
            use age::secrecy::ExposeSecret;
            let identity = age::x25519::Identity::generate();
            let public = identity.to_public().to_string();
            let text = format!(
                "# Clé secrète des sauvegardes de Guichet : à garder hors ligne, loin des sauvegardes.\n# Clé publique : {public}\n{}\n",
                identity.to_string().expose_secret()
            );
            guichet_store::secret::write_private_file(&to, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("impossible d'écrire {} : {e}", to.display()))?;
            println!(
                "Clé secrète écrite dans {} (à garder hors ligne).",
                to.display()
            );
            println!("Clé publique, à indiquer dans backup_recipients :\n{public}");
            Ok(())
        }
        Command::Backup(BackupCommand {
            action: Some(BackupAction::Verify { file, identity }),
            data,
            ..
        }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let identity = config.backup_identity(identity.as_ref())?;
            let m = guichet_store::backup::verify(&file, &identity).await?;
            println!(
                "Sauvegarde intègre : {} entrées conformes au manifeste ({} fichiers, {} octets), base {} au schéma {}, prise le {} (heure de Paris), journal jusqu'à l'entrée {}.",
                m.entries.len(), m.files(), m.bytes(), m.backend, m.schema_version, paris_time(&m), m.journal_last_id
            );
            Ok(())
        }
        Command::Backup(BackupCommand { to, data, .. }) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let to = to.ok_or_else(|| anyhow::anyhow!("indiquez --to FICHIER"))?;
            let db = open(&config).await?;
            let m = backup_to(&config, &db, &to).await?;
            println!(
                "Sauvegarde écrite dans {} : base {} (journal jusqu'à l'entrée {}), {} fichiers, {} octets avant compression ; vérifiez-la avec « guichet backup verify {} ».",
                to.display(), m.backend, m.journal_last_id, m.files(), m.bytes(), to.display()
            );
            Ok(())
        }
        Command::Restore(r) => restore(cfg, r).await,
        Command::Routes => {
            print_out(&format!("{:#}\n", guichet_web::routes::table().to_json()));
            Ok(())
        }
        Command::Audit(AuditCommand::Verify(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let entries = match guichet_store::journal::verify(&db).await? {
                Ok(n) => n,
                Err(broken) => anyhow::bail!(
                    "journal d'audit rompu à l'entrée {} : {}",
                    broken.id,
                    broken.reason
                ),
            };
            // An intact chain can still have been rewritten with its head: the signed anchors,
            // kept outside the database, say what it held.
            let anchoring = config.anchoring()?;
            match anchoring.verify(&db).await? {
                Ok(anchors) => {
                    println!("Journal d'audit intègre : {entries} entrées vérifiées, conformes à {anchors} ancrage(s) signé(s) ({}).", anchoring.dir.display());
                    Ok(())
                }
                Err((anchor, why)) => anyhow::bail!(
                    "journal d'audit contredit par l'ancrage du {} (entrée {}, fichier dans {}) : {why}",
                    guichet_store::rfc3339(anchor.at),
                    anchor.id,
                    anchoring.dir.display()
                ),
            }
        }
        Command::Audit(AuditCommand::Anchor(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            match config.anchoring()?.anchor_now(&db).await? {
                Some(a) => println!("Ancrage écrit : entrée {} ({}).", a.id, a.hash),
                None => {
                    println!("Rien à ancrer : le dernier ancrage porte déjà la tête du journal.")
                }
            }
            Ok(())
        }
        Command::Collectivite(CollectiviteCommand::List(data)) => {
            let config = load(cfg, Config::default(), None, &data)?;
            let db = open(&config).await?;
            let collectivites = collectivite::list(&db).await?;
            if collectivites.is_empty() {
                println!("Aucune collectivité sur la plateforme.");
                return Ok(());
            }
            let mut out = String::from("SLUG\tNOM\tNIVEAU\tSIREN\tDÉPARTEMENT\tRÉGION\tSTATUT\n");
            for t in collectivites {
                let departement = match t.departement_code.as_deref() {
                    Some(code) => territoire::departement(&db, code)
                        .await?
                        .map(|d| format!("{} ({})", d.nom, d.code))
                        .unwrap_or_else(|| code.to_string()),
                    None => "—".into(),
                };
                let region = match t.region_code.as_deref() {
                    Some(code) => territoire::region(&db, code)
                        .await?
                        .map(|r| format!("{} ({})", r.nom, r.code))
                        .unwrap_or_else(|| code.to_string()),
                    None => "—".into(),
                };
                out += &format!(
                    "{}\t{}\t{}{}\t{}\t{}\t{}\t{}\n",
                    t.slug,
                    t.name,
                    t.entity_kind.label(),
                    if t.is_operator { " (opérateur)" } else { "" },
                    t.siren.as_deref().unwrap_or("—"),
                    departement,
                    region,
                    t.status.label()
                );
            }
            print_out(&out);
            Ok(())
        }
    }
}

/// When a backup was taken, as people read it (French time).
fn paris_time(m: &guichet_store::backup::Manifest) -> String {
    m.created_at_ms()
        .map(guichet_web::format::format_ms)
        .unwrap_or_else(|| m.created_at.clone())
}

/// A backup of the platform that `config` describes, into `to`.
async fn backup_to(
    config: &Config,
    db: &Db,
    to: &std::path::Path,
) -> anyhow::Result<guichet_store::backup::Manifest> {
    let files = config.file_store()?;
    let source = guichet_store::backup::Source {
        db,
        database_url: &config.database_url()?,
        files: &files,
        anchors_dir: &config.anchor_dir(),
        keys: config.key_files(),
        guichet_version: env!("CARGO_PKG_VERSION"),
    };
    guichet_store::backup::create(&source, &config.backup_recipients()?, to).await
}

/// Restores, then checks what was restored as `audit verify` does, and every stored file.
async fn restore(cfg: Option<&PathBuf>, r: RestoreOptions) -> anyhow::Result<()> {
    let data = DataOptions {
        data_dir: Some(r.data_dir.clone()),
        database_url: r.database_url.clone(),
    };
    let config = load(cfg, Config::default(), None, &data)?;
    let identity = config.backup_identity(r.identity.as_ref())?;
    let opener = || config.file_store();
    let target = guichet_store::backup::Target {
        data_dir: &r.data_dir,
        database_url: r.database_url.as_deref(),
        files: &opener,
        anchors_dir: &config.anchor_dir(),
        keys: config.key_files(),
    };
    let m = guichet_store::backup::restore(&r.from, &identity, &target).await?;
    let db = open(&config).await?;
    let entries = match guichet_store::journal::verify(&db).await? {
        Ok(n) => n,
        Err(broken) => anyhow::bail!(
            "restauration faite, mais journal d'audit rompu à l'entrée {} : {}",
            broken.id,
            broken.reason
        ),
    };
    if let Err((anchor, why)) = config.anchoring()?.verify(&db).await? {
        anyhow::bail!(
            "restauration faite, mais journal contredit par l'ancrage de l'entrée {} : {why}",
            anchor.id
        );
    }
    let files = guichet_store::backup::check_restored(&db, &config.file_store()?, &m).await?;
    db.close().await;
    println!(
        "Sauvegarde du {} (heure de Paris) restaurée dans {} : journal intègre ({entries} entrées, tête {} conforme), {files} fichiers présents et conformes à leur empreinte.",
        paris_time(&m),
        r.data_dir.display(),
        m.journal_last_id
    );
    Ok(())
}

/// Scheduled backups into `dir`, every `backup_interval_hours`, keeping the `backup_keep`
/// newest; the first one an interval after the newest found, at once if there is none.
async fn scheduled_backups(config: Config, db: Db, dir: PathBuf) {
    let every =
        std::time::Duration::from_secs(u64::from(config.backup_interval_hours.max(1)) * 3600);
    loop {
        let newest = guichet_store::backup::scheduled_in(&dir)
            .last()
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let wait = newest
            .and_then(|t| t.elapsed().ok())
            .map(|age| every.saturating_sub(age))
            .unwrap_or_default();
        tokio::time::sleep(wait).await;
        let to = dir.join(guichet_store::backup::scheduled_name(
            guichet_store::now_ms(),
        ));
        match backup_to(&config, &db, &to).await {
            Ok(m) => {
                tracing::info!(file = %to.display(), files = m.files(), bytes = m.bytes(), "scheduled backup written");
                match guichet_store::backup::prune(&dir, config.backup_keep as usize) {
                    Ok(gone) if !gone.is_empty() => {
                        tracing::info!(deleted = gone.len(), "older backups deleted")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "older backups could not be deleted"),
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "scheduled backup failed; next try in 15 minutes");
                tokio::time::sleep(std::time::Duration::from_secs(900)).await;
            }
        }
    }
}

/// Writes a command's listing; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let report = territoire::import_shipped(&db, false).await?;
    if !report.skipped {
        tracing::info!(communes = report.communes, "territory referential imported");
    }
    let files = config.file_store()?;
    if demo {
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen));
        demo::seed(&db, &files, &url).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("impossible d'écouter sur {} : {e}", config.listen))?;
    let address = listener.local_addr()?;
    if demo {
        demo::print_welcome(&db, address).await?;
    }
    tracing::info!(%address, database = db.backend().name(), "Guichet is listening");
    let mail = config.mail();
    match &mail.transport {
        guichet_web::mail::Transport::Directory(dir) => {
            tracing::warn!(dir = %dir.display(), "no SMTP relay configured: e-mails are written to files")
        }
        guichet_web::mail::Transport::Smtp(s) => {
            tracing::info!(host = %s.host, port = s.port, "e-mails sent over SMTP")
        }
    }
    if let (true, Some(dir)) = (config.worker, config.backup_dir.clone()) {
        tracing::info!(dir = %dir.display(), every_hours = config.backup_interval_hours, keep = config.backup_keep, "scheduled backups");
        config.backup_recipients()?;
        tokio::spawn(scheduled_backups(config.clone(), db.clone(), dir));
    }
    let state = guichet_web::AppState::new(
        db.clone(),
        guichet_web::WebConfig {
            public_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{address}")),
            demo,
            mail,
            files,
            map: config.map()?,
            franceconnect: config.franceconnect()?,
            agent_sso: config.agents_sso()?,
            oidc_keys: std::sync::Arc::new(config.oidc_keys()?),
            legal: guichet_web::accueil::mentions::LegalInfo {
                publisher: config.legal_publisher.clone(),
                director: config.legal_director.clone(),
                address: config.legal_address.clone(),
                host: config.legal_host.clone(),
                dpo: config.dpo_contact.clone(),
            },
            metrics_token: config
                .metrics_token
                .clone()
                .map(guichet_web::security::Secret),
            api_token_days: config
                .api_token_days
                .clamp(1, guichet_domain::role::TOKEN_MAX_DAYS),
            anchoring: Some(config.anchoring()?),
            backup_dir: config.backup_dir.clone(),
            header_read_timeout: guichet_web::HEADER_READ_TIMEOUT,
            outgoing_allowed_hosts: config.outgoing_allowed_hosts.clone(),
            trusted_proxies: config.trusted_proxies()?,
            worker: config.worker,
            clock: guichet_store::Clock::default(),
        },
    );
    guichet_web::serve(listener, state, shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT: the server then stops accepting and finishes what it started.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
