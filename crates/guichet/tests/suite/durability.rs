//! SIGKILL in the middle of a submission load: after a restart, every dossier whose deposit was
//! acknowledged is there, complete, and the audit chain verifies.

use crate::support::{free_port, run_cli, Browser, TestDb};
use guichet_domain::demarche::Definition;
use guichet_store::collectivite::{self, Contact, Target};
use guichet_store::compte::{self, Kind};
use guichet_store::{dossier, session};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const DEF: &str = r#"{ "title": "Signalement de changement d'adresse", "description": "Prévenir la mairie.",
  "retention_months": 12, "deadline_days": 30, "pages": [ { "title": "Adresse", "fields": [
    { "id": "adresse", "label": "Nouvelle adresse", "type": "address", "required": true },
    { "id": "depuis", "label": "Depuis le", "type": "date", "required": true } ] } ] }"#;

async fn start(t: &TestDb, port: u16, log: &std::path::Path) -> tokio::process::Child {
    start_with(t, port, log, &[]).await
}

async fn start_with(
    t: &TestDb,
    port: u16,
    log: &std::path::Path,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    crate::support::serve_process(&t.cli_args(), port, log, env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_submission_survives_sigkill() {
    let t = TestDb::with_referential().await;
    let crate::support::Depositor {
        dijon,
        demarche: d,
        cookie,
    } = crate::support::depositor(&t.db, DEF, "charge@exemple.fr").await;

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = t.dir.path().join("server.log");
    let mut child = start(&t, port, &log).await;

    let deposits: Arc<Mutex<Deposits>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| deposit_loop(&base, &cookie, &d.slug, w, deposits.clone(), stop.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let pid = nix::unistd::Pid::from_raw(child.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
    let _ = child.wait().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let acknowledged = deposits.lock().expect("lock").acknowledged.clone();
    assert!(
        acknowledged.len() >= 10,
        "the load was running: {} submissions acknowledged",
        acknowledged.len()
    );

    // Restart on the same database, then check every acknowledged submission.
    let mut child = start(&t, port, &log).await;
    let db = crate::support::connect(&t.url)
        .await
        .with_sealer(crate::support::sealer_in(t.dir.path()));
    for Deposit { id, address, .. } in &acknowledged {
        let x = dossier::get(&db, dijon.id, *id)
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("dossier {id} lost"));
        assert_eq!(
            x.state,
            guichet_domain::dossier::State::Depose,
            "dossier {id}"
        );
        assert_eq!(
            x.answers.get("adresse"),
            Some(address.as_str()),
            "dossier {id} complete"
        );
        assert!(x.submitted_at.is_some() && x.deadline_at.is_some());
    }
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(t.cli_args())
        .collect();
    let (ok, out, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "audit chain after SIGKILL: {out}{err}");
    let _ = child.kill().await;
}

/// Writes that share a group commit: one that fails leaves nothing behind, not even its journal
/// entry, and the others (sent at the same moment, so in the same batches) all commit, with an
/// audit chain that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_write_in_a_group_commit_undoes_only_itself() {
    use guichet_domain::journal::Event;
    let t = TestDb::empty().await;
    guichet_store::migrate::run(&t.db).await.expect("migrate");
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    let mut writes = Vec::new();
    for i in 0..200i64 {
        let db = t.db.clone();
        writes.push(tokio::spawn(async move {
            db.write(move |conn| {
                Box::pin(async move {
                    let event = Event {
                        actor: format!("écrivain {i}"),
                        action: "essai.groupe".into(),
                        details: "{}".into(),
                        ..Default::default()
                    };
                    guichet_store::journal::append_in(conn, &event).await?;
                    if i % 10 == 3 {
                        // Journaled, then refused: the entry must go with the refusal.
                        anyhow::bail!("refus {i}");
                    }
                    Ok(i)
                })
            })
            .await
        }));
    }
    let mut committed = Vec::new();
    for (i, w) in writes.into_iter().enumerate() {
        match w.await.expect("task") {
            Ok(v) => committed.push(v),
            Err(e) => {
                assert_eq!(i % 10, 3, "write {i} failed: {e}");
                assert!(e.to_string().contains(&format!("refus {i}")), "{e}");
            }
        }
    }
    assert_eq!(committed.len(), 180);
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM audit_events WHERE action = 'essai.groupe'")
            .fetch_all(t.db.pool())
            .await
            .expect("entries");
    assert_eq!(actors.len(), 180);
    assert!(actors.iter().all(|a| {
        let i: i64 = a.trim_start_matches("écrivain ").parse().expect("number");
        i % 10 != 3
    }));
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    assert_eq!(after - before, 180);
    let checked = guichet_store::journal::verify(&t.db)
        .await
        .expect("verify")
        .expect("chain intact");
    assert_eq!(checked as i64, after);
}

/// What a worker of the mixed load did and was told was done.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Acked {
    /// A report through Open311 (its number).
    Open311(String),
    /// A report through the web form (its number).
    Report(String),
    /// An account signed up (its address).
    Account(String),
    /// A démarche created by an admin (its title).
    Demarche(String),
    /// A dossier deposited (its id).
    Deposit(i64),
}

/// Starts a dossier, answers its one step and deposits it, as a browser does. `None` once the
/// server stops answering; otherwise the dossier's id and the deposit's answer, for the caller
/// to judge.
pub(crate) async fn file_dossier(
    b: &Browser,
    base: &str,
    slug: &str,
    token: &str,
    address: &str,
) -> Option<(i64, reqwest::Response)> {
    let (id, step) = start_dossier(b, base, slug, token).await?;
    let form = [
        ("_csrf", token),
        ("adresse", address),
        ("depuis", "2026-11-01"),
        ("action", "continuer"),
    ];
    b.client
        .post(format!("{base}{step}"))
        .form(&form)
        .send()
        .await
        .ok()?;
    Some((id, deposit(b, base, id, token).await?))
}

/// Starts a dossier of the démarche as the usager's browser does: its id and its first step.
pub(crate) async fn start_dossier(
    b: &Browser,
    base: &str,
    slug: &str,
    token: &str,
) -> Option<(i64, String)> {
    let r = b
        .client
        .post(format!("{base}/demarches/dijon/{slug}/dossiers"))
        .form(&[("_csrf", token)])
        .send()
        .await
        .ok()?;
    let step = r.headers().get("location")?.to_str().ok()?.to_string();
    let id = step
        .trim_start_matches("/dossiers/")
        .split('/')
        .next()
        .and_then(|i| i.parse().ok())?;
    Some((id, step))
}

/// Deposits a dossier whose steps are filled: the answer (see `support::acknowledged`).
pub(crate) async fn deposit(
    b: &Browser,
    base: &str,
    id: i64,
    token: &str,
) -> Option<reqwest::Response> {
    b.client
        .post(format!("{base}/dossiers/{id}/depot"))
        .form(&[("_csrf", token)])
        .send()
        .await
        .ok()
}

/// A browser's anti-CSRF token, read from a form as a browser would.
pub(crate) async fn csrf_of(b: &Browser, base: &str) -> Option<String> {
    let html = b
        .client
        .get(format!("{base}/connexion"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    crate::support::field_value(&html, "_csrf")
}

/// One deposit of a load: the dossier, the address typed, when it was sent.
#[derive(Clone, Debug)]
pub(crate) struct Deposit {
    pub id: i64,
    pub address: String,
    pub sent: std::time::Instant,
}

/// What a load's usagers were told: deposits acknowledged, attempts refused or unanswered.
#[derive(Default)]
pub(crate) struct Deposits {
    pub acknowledged: Vec<Deposit>,
    pub refused: Vec<String>,
}

/// A usager's browser depositing dossiers of `slug` one after another on `base` until `stop`
/// (worker `w` of a load); an attempt refused or unanswered is noted, and tried again after a
/// short pause, as a resident would.
pub(crate) fn deposit_loop(
    base: &str,
    cookie: &str,
    slug: &str,
    w: usize,
    deposits: Arc<Mutex<Deposits>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (base, cookie, slug) = (base.to_string(), cookie.to_string(), slug.to_string());
    tokio::spawn(async move {
        let b = Browser::new(&base);
        b.set_cookie("guichet_session", &cookie);
        let Some(token) = csrf_of(&b, &base).await else {
            return;
        };
        let mut n = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            n += 1;
            let sent = std::time::Instant::now();
            let address = format!("{n} rue du Dépôt {w}, 21000 Dijon");
            match file_dossier(&b, &base, &slug, &token, &address).await {
                Some((id, r)) if crate::support::acknowledged(&r) => deposits
                    .lock()
                    .expect("lock")
                    .acknowledged
                    .push(Deposit { id, address, sent }),
                other => {
                    deposits.lock().expect("lock").refused.push(format!(
                        "{base}: {:?}",
                        other.map(|(id, r)| (id, r.status()))
                    ));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// The issue's durability check: a mixed load of journaled actions (reports through Open311 and
/// the web, sign-ups, démarches created, deposits) is cut by SIGKILL; after the restart, every
/// acknowledged action is there with its journal entry, no change of these kinds is there without
/// one, and the chain verifies. Both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_action_survives_sigkill_with_its_journal_entry() {
    use guichet_domain::role::Role;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let t = TestDb::with_referential().await;
    let dijon = collectivite::add(
        &t.db,
        &Target::Insee("21231".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Dijon");
    let def = Definition::from_json(DEF).expect("definition");
    let d = crate::support::publish(&t.db, dijon.id, &def).await;
    let password = "cheval agrafe batterie correcte";
    let usager = compte::create(
        &t.db,
        Kind::Usager,
        "charge@exemple.fr",
        "Charge",
        Some(password),
    )
    .await
    .expect("usager");
    compte::mark_email_confirmed(&t.db, usager.id)
        .await
        .expect("confirm");
    let (usager_cookie, _) = session::create(&t.db, usager.id, false, None, None)
        .await
        .expect("session");
    // An admin with the second factor done, and an Open311 key of Dijon.
    let admin = compte::create(
        &t.db,
        Kind::Agent,
        "admin@dijon.fr",
        "Admin",
        Some(password),
    )
    .await
    .expect("admin");
    guichet_store::equipe::grant(&t.db, dijon.id, admin.id, Role::Admin, None)
        .await
        .expect("role");
    compte::force_totp(&t.db, admin.id, &compte::new_totp_secret())
        .await
        .expect("totp");
    let (admin_cookie, _) = session::create(&t.db, admin.id, true, None, None)
        .await
        .expect("session");
    let (_, key) = guichet_store::jeton::create(
        &t.db,
        dijon.id,
        admin.id,
        "Application",
        &["open311".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let light = guichet_store::signalement::categories(&t.db)
        .await
        .expect("categories")
        .into_iter()
        .find(|c| c.code == "eclairage_public")
        .expect("category")
        .id
        .to_string();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = t.dir.path().join("server.log");
    // Behind a proxy the server trusts, each report comes from its own address (the rate limits
    // of the public form are not what is measured here).
    let env = [("GUICHET_TRUSTED_PROXIES", "[\"127.0.0.1\"]")];
    let mut child = start_with(&t, port, &log, &env).await;

    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..10 {
        let (base, acked, stop) = (base.clone(), acked.clone(), stop.clone());
        let (usager_cookie, admin_cookie, key, slug, light) = (
            usager_cookie.clone(),
            admin_cookie.clone(),
            key.clone(),
            d.slug.clone(),
            light.clone(),
        );
        workers.push(tokio::spawn(async move {
            let b = Browser::new(&base);
            match w % 5 {
                1 => b.set_cookie("guichet_session", &usager_cookie),
                3 => b.set_cookie("guichet_session", &admin_cookie),
                _ => {}
            }
            let Some(token) = csrf_of(&b, &base).await else {
                return;
            };
            let mut n = 0;
            while !stop.load(Relaxed) {
                n += 1;
                let done = match w % 5 {
                    0 => {
                        let form = [
                            ("api_key", key.as_str()),
                            ("service_code", "eclairage_public"),
                            ("address_string", "Place Darcy, 21000 Dijon"),
                            ("description", "Lampadaire éteint."),
                        ];
                        let Ok(r) = b
                            .client
                            .post(format!("{base}/open311/v2/requests.json"))
                            .form(&form)
                            .send()
                            .await
                        else {
                            break;
                        };
                        if r.status() != 201 {
                            continue;
                        }
                        let Ok(body) = r.json::<serde_json::Value>().await else {
                            break;
                        };
                        body[0]["service_request_id"]
                            .as_str()
                            .map(|n| Acked::Open311(n.to_string()))
                    }
                    1 => {
                        let address = format!("{n} rue du Travailleur {w}, 21000 Dijon");
                        let Some((id, r)) = file_dossier(&b, &base, &slug, &token, &address).await
                        else {
                            break;
                        };
                        (r.status() == 303).then_some(Acked::Deposit(id))
                    }
                    2 => {
                        let email = format!("habitant{w}x{n}@exemple.fr");
                        let form = reqwest::multipart::Form::new()
                            .text("commune", "Dijon")
                            .text("categorie", light.clone())
                            .text("adresse", format!("{n} rue de la Lampe"))
                            .text(
                                "description",
                                "Le lampadaire est éteint depuis une semaine.",
                            )
                            .text("email", email);
                        let Ok(r) = b
                            .client
                            .post(format!("{base}/signalements?_csrf={token}"))
                            .header("x-forwarded-for", format!("198.51.{w}.{}", n % 250))
                            .multipart(form)
                            .send()
                            .await
                        else {
                            break;
                        };
                        // An anonymous report: acknowledged by the page asking to confirm it.
                        if r.status() != 303 {
                            continue;
                        }
                        Some(Acked::Report(format!("habitant{w}x{n}@exemple.fr")))
                    }
                    3 => {
                        let title = format!("Démarche {w}-{n}");
                        let Ok(r) = b
                            .client
                            .post(format!("{base}/admin/dijon/demarches/nouvelle"))
                            .form(&[("_csrf", token.as_str()), ("titre", title.as_str())])
                            .send()
                            .await
                        else {
                            break;
                        };
                        (r.status() == 303).then_some(Acked::Demarche(title))
                    }
                    _ => {
                        let email = format!("nouveau{w}x{n}@exemple.fr");
                        let form = [
                            ("_csrf", token.as_str()),
                            ("nom", "Camille Nouveau"),
                            ("email", email.as_str()),
                            ("mot_de_passe", password),
                        ];
                        let Ok(r) = b
                            .client
                            .post(format!("{base}/inscription"))
                            .form(&form)
                            .send()
                            .await
                        else {
                            break;
                        };
                        (r.status() == 200).then_some(Acked::Account(email))
                    }
                };
                if let Some(a) = done {
                    acked.lock().expect("lock").push(a);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let pid = nix::unistd::Pid::from_raw(child.id().expect("pid") as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL");
    let _ = child.wait().await;
    stop.store(true, Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    let count = |f: fn(&Acked) -> bool| acked.iter().filter(|a| f(a)).count();
    for (kind, n) in [
        ("Open311 reports", count(|a| matches!(a, Acked::Open311(_)))),
        ("web reports", count(|a| matches!(a, Acked::Report(_)))),
        ("sign-ups", count(|a| matches!(a, Acked::Account(_)))),
        ("démarches", count(|a| matches!(a, Acked::Demarche(_)))),
        ("deposits", count(|a| matches!(a, Acked::Deposit(_)))),
    ] {
        eprintln!("{n} {kind} acknowledged before SIGKILL");
        assert!(n >= 2, "the load was running: {n} {kind} acknowledged");
    }

    // Restart on the same database; read what is there.
    let mut child = start_with(&t, port, &log, &env).await;
    let db = crate::support::connect(&t.url)
        .await
        .with_sealer(crate::support::sealer_in(t.dir.path()));
    let rows = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_as::<_, (String,)>(sql)
                .fetch_all(db.pool())
                .await
                .expect("query")
                .into_iter()
                .map(|r| r.0)
                .collect::<std::collections::HashSet<String>>()
        }
    };
    let journaled = |action: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_as::<_, (Option<String>,)>(
                "SELECT object_id FROM audit_events WHERE action = $1",
            )
            .bind(action)
            .fetch_all(db.pool())
            .await
            .expect("journal")
            .into_iter()
            .filter_map(|r| r.0)
            .collect::<std::collections::HashSet<String>>()
        }
    };
    // Reports: every one there has its entry, and every entry its report.
    let reports = rows("SELECT number FROM signalements").await;
    let report_entries = journaled("signalement.creation").await;
    assert_eq!(reports, report_entries, "reports and their journal entries");
    let by_email =
        rows("SELECT reporter_email FROM signalements WHERE reporter_email IS NOT NULL").await;
    // Accounts created by the load: each with its entry.
    let accounts: std::collections::HashMap<String, String> = sqlx::query_as::<_, (String, i64)>(
        "SELECT email, id FROM users WHERE email LIKE 'nouveau%'",
    )
    .fetch_all(db.pool())
    .await
    .expect("users")
    .into_iter()
    .map(|(e, id)| (e, id.to_string()))
    .collect();
    let account_entries = journaled("compte.creation").await;
    assert_eq!(
        accounts
            .values()
            .cloned()
            .collect::<std::collections::HashSet<_>>(),
        account_entries,
        "accounts and their journal entries"
    );
    let demarches = rows("SELECT slug FROM demarches WHERE title LIKE 'Démarche %'").await;
    assert_eq!(
        demarches,
        journaled("demarche.creation").await,
        "démarches and their entries"
    );
    let deposited = rows("SELECT number FROM dossiers WHERE state = 'depose'").await;
    assert_eq!(
        deposited,
        journaled("dossier.depose").await,
        "deposits and their entries"
    );
    // Every acknowledged action is there.
    let titles = rows("SELECT title FROM demarches").await;
    for a in &acked {
        match a {
            Acked::Open311(number) => assert!(reports.contains(number), "report {number} lost"),
            Acked::Report(email) => assert!(by_email.contains(email), "report of {email} lost"),
            Acked::Account(email) => assert!(accounts.contains_key(email), "account {email} lost"),
            Acked::Demarche(title) => assert!(titles.contains(title), "démarche {title} lost"),
            Acked::Deposit(id) => {
                let x = dossier::get(&db, dijon.id, *id)
                    .await
                    .expect("query")
                    .unwrap_or_else(|| panic!("dossier {id} lost"));
                assert_eq!(
                    x.state,
                    guichet_domain::dossier::State::Depose,
                    "dossier {id}"
                );
                assert!(deposited.contains(&x.number));
            }
        }
    }
    let args: Vec<String> = ["audit", "verify"]
        .iter()
        .map(|s| s.to_string())
        .chain(t.cli_args())
        .collect();
    let (ok, out, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "audit chain after SIGKILL: {out}{err}");
    let _ = child.kill().await;
}
