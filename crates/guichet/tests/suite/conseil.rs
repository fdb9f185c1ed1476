//! The council online, as Dijon's council secretariat runs it from an empty platform, the clock
//! set: the assembly and its members, a convocation refused four jours francs before and sent at
//! five, members reading it, a session without quorum convened again, votes with a proxy and the
//! chair's casting vote, the délibération signed and published as PDF/A, listed online within
//! the week, and the SCDL délibérations CSV validated by frictionless against the shipped schema.

use crate::personas;
use crate::support::{paris_ms, Browser, SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::compte::Kind;
use guichet_store::Clock;

const DAY: i64 = 86_400_000;

/// Posts a form and expects the redirection that says it was done.
async fn done(b: &Browser, path: &str, fields: &[(&str, &str)]) -> String {
    let page = b.post(path, fields).await;
    assert_eq!(page.status, 303, "{path}: {}", page.html);
    page.location.expect("location")
}

/// Posts a form and expects it refused with this message, the page in French.
async fn refused(b: &Browser, path: &str, fields: &[(&str, &str)], message: &str) {
    let page = b.post(path, fields).await;
    assert_eq!(page.status, 422, "{path}");
    assert!(
        page.html.contains(message),
        "{path}: expected « {message} » in\n{}",
        page.html
    );
}

/// A signed-in resident with a second factor who sits in no assembly.
async fn claire_elsewhere(s: &TestServer) -> Browser {
    let p = personas::persona(s, Kind::Usager, "claire@exemple.fr", &[]).await;
    with_second_factor(s, p.user_id).await
}

/// A browser signed in to this account with its second factor, as after entering the code.
async fn with_second_factor(s: &TestServer, user_id: i64) -> Browser {
    use guichet_store::compte;
    compte::force_totp(s.db(), user_id, &compte::new_totp_secret())
        .await
        .expect("totp");
    let (cookie, _) =
        guichet_store::session::create(s.db(), user_id, true, Some("127.0.0.1"), Some("test"))
            .await
            .expect("session");
    let b = s.browser();
    b.set_cookie("guichet_session", &cookie);
    b
}

#[tokio::test]
async fn a_council_from_convocation_to_published_deliberation() {
    let smtp = SmtpSink::start().await;
    // Monday 1 June 2026, 10:00 in Paris.
    let clock = Clock::fixed(paris_ms(2026, 6, 1, 10, 0));
    let c = clock.clone();
    let s = TestServer::with_smtp_and(&smtp, move |config| config.clock = c).await;
    let t = personas::collectivites(&s).await;
    let secretariat = personas::agent(&s, "assemblees@dijon.fr", &t.dijon, Role::Admin).await;
    let b = &secretariat.browser;

    // The first day: nothing yet, the page offers to create the assembly.
    let page = b.get("/admin/dijon/conseil").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Créer l'assemblée"));
    let assemblee = [
        ("organe", "conseil_municipal"),
        ("nom", "Conseil municipal de Dijon"),
        ("siret", "2121 0231 6000 10"),
    ];
    let page = b.post("/admin/dijon/conseil/assemblees", &assemblee).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("Indiquez le SIRET de la collectivité"));
    assert!(
        page.html.contains("value=\"Conseil municipal de Dijon\""),
        "what was typed stays"
    );
    let mut assemblee = assemblee.to_vec();
    assemblee[2] = ("siret", "21210231600008");
    done(b, "/admin/dijon/conseil/assemblees", &assemblee).await;
    let a = guichet_store::conseil::assemblees(s.db(), t.dijon.id)
        .await
        .expect("assemblies")[0]
        .id;
    let members = [
        ("Nathalie Koenders", "maire@dijon.fr", "presidence"),
        ("Antoine Hoareau", "a.hoareau@dijon.fr", "adjoint"),
        ("Claire Tomaselli", "c.tomaselli@dijon.fr", "conseiller"),
        ("Denis Hameau", "d.hameau@dijon.fr", "conseiller"),
        ("Emmanuel Bichot", "e.bichot@dijon.fr", "conseiller"),
    ];
    let path = format!("/admin/dijon/conseil/assemblees/{a}/elus");
    let (nom, courriel, fonction) = (
        format!("elu-nom-{a}"),
        format!("elu-courriel-{a}"),
        format!("elu-fonction-{a}"),
    );
    for (name, email, role) in members {
        done(
            b,
            &path,
            &[(&nom, name), (&courriel, email), (&fonction, role)],
        )
        .await;
    }
    // One chair only.
    refused(
        b,
        &path,
        &[
            (&nom, "Autre"),
            (&courriel, "autre@dijon.fr"),
            (&fonction, "presidence"),
        ],
        "a déjà sa présidence (Maire)",
    )
    .await;

    // A session on Saturday 6 June: four jours francs from today (2, 3, 4, 5 June).
    let new_session = |day: &'static str| async move {
        let path = format!("/admin/dijon/conseil/assemblees/{a}/seances");
        let location = done(
            b,
            &path,
            &[
                (&format!("seance-jour-{a}") as &str, day),
                (&format!("seance-heure-{a}"), "18:00"),
                (
                    &format!("seance-lieu-{a}"),
                    "Salle de Flore, hôtel de ville",
                ),
            ],
        )
        .await;
        location.rsplit('/').next().expect("id").to_string()
    };
    let early = new_session("2026-06-06").await;
    let point = [
        ("titre", "Subvention au club de football de Dijon"),
        ("matiere", "7.5"),
        ("rapport", "Il est proposé d'attribuer une subvention de 12 000 euros au club pour la saison 2026-2027."),
    ];
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{early}/points"),
        &point,
    )
    .await;
    // Dijon has more than 3,500 inhabitants: the explanatory note is required, then five days.
    let convene = |id: &str| format!("/admin/dijon/conseil/seances/{id}/convoquer");
    refused(b, &convene(&early), &[], "note explicative de synthèse").await;
    // The secretariat withdraws the item and writes it again with its note.
    let first = guichet_store::conseil::points(s.db(), t.dijon.id, early.parse().expect("id"))
        .await
        .expect("points")[0]
        .id;
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{early}/points/{first}/retirer"),
        &[],
    )
    .await;
    let mut point = point.to_vec();
    point.push(("note", "Le club accueille 600 licenciés, dont 250 jeunes."));
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{early}/points"),
        &point,
    )
    .await;
    refused(
        b,
        &convene(&early),
        &[],
        "5 jours francs au moins avant la séance ; il n&#39;en reste que 4",
    )
    .await;
    // The same agenda for Sunday 7 June: five jours francs.
    let session = new_session("2026-06-07").await;
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{session}/points"),
        &point,
    )
    .await;
    // The item's annex: a PDF, checked before it is kept.
    let item = guichet_store::conseil::points(s.db(), t.dijon.id, session.parse().expect("id"))
        .await
        .expect("points")[0]
        .id;
    let annex_path = format!("/admin/dijon/conseil/seances/{session}/points/{item}/annexes");
    let upload = |name: &'static str, bytes: &'static [u8]| {
        reqwest::multipart::Form::new().part(
            format!("annexe_{item}"),
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str("application/pdf")
                .expect("mime"),
        )
    };
    let page = b
        .post_multipart(&annex_path, upload("budget.pdf", b"pas un PDF"))
        .await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains(&format!("id=\"annexe_{item}-erreur\"")));
    let annex: &'static [u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let page = b
        .post_multipart(&annex_path, upload("budget du club.pdf", annex))
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    done(b, &convene(&session), &[]).await;
    // Sent once: the back button and a second click send nothing more.
    refused(b, &convene(&session), &[], "déjà partie").await;

    // Every member receives it; one opens it, which is the proof of reading.
    let mail = smtp.wait_for("c.tomaselli@dijon.fr", "Convocation").await;
    assert!(mail
        .body
        .contains("Subvention au club de football de Dijon"));
    for (_, email, _) in members {
        smtp.wait_for(email, "Convocation").await;
    }
    assert_eq!(smtp.matching("maire@dijon.fr", "Convocation").len(), 1);
    let reader = s.browser();
    let opened = reader.get(&mail.link()).await;
    assert_eq!(opened.status, 200);
    assert!(opened.html.contains("600 licenciés"));
    // The annex is read from the convocation.
    let href = opened
        .html
        .split("href=\"")
        .find(|h| h.contains("/annexes/"))
        .and_then(|h| h.split('"').next())
        .expect("the annex's link")
        .to_string();
    assert!(opened.html.contains(">budget du club.pdf</a>"));
    let r = reader
        .client
        .get(format!("{}{href}", reader.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("annex").to_vec(), annex.to_vec());
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{session}"))
        .await;
    assert!(page.html.contains(
        "<td>Claire Tomaselli</td><td>01/06/2026 à 10:00</td><td>01/06/2026 à 10:00</td>"
    ));
    assert!(page
        .html
        .contains("<td>Denis Hameau</td><td>01/06/2026 à 10:00</td><td>non</td>"));
    // The public page shows the session to come, with its agenda.
    let public = s.browser().get("/conseil/dijon").await;
    assert!(public
        .html
        .contains("Subvention au club de football de Dijon"));

    // Sunday 7 June, 18:05: two members of five present, no quorum.
    clock.set(paris_ms(2026, 6, 7, 18, 5));
    let ids: Vec<i64> = guichet_store::conseil::elus(s.db(), t.dijon.id, a)
        .await
        .expect("members")
        .iter()
        .map(|e| e.id)
        .collect();
    let (maire, hoareau, tomaselli, hameau) = (ids[0], ids[1], ids[2], ids[3]);
    let present = |id: i64| format!("present_{id}");
    let open = |id: &str| format!("/admin/dijon/conseil/seances/{id}/ouvrir");
    done(
        b,
        &open(&session),
        &[(&present(maire), "oui"), (&present(hoareau), "oui")],
    )
    .await;
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{session}"))
        .await;
    assert!(page.html.contains("Quorum non atteint"));
    assert!(page
        .html
        .contains("2 présents sur 5 membres en exercice (quorum : 3)"));
    // Convened again: not two days later, three at least.
    let again = format!("/admin/dijon/conseil/seances/{session}/reconvoquer");
    refused(
        b,
        &again,
        &[("jour", "2026-06-09"), ("heure", "18:00")],
        "trois jours au moins après la précédente",
    )
    .await;
    let second = done(b, &again, &[("jour", "2026-06-13"), ("heure", "18:00")]).await;
    let second = second.rsplit('/').next().expect("id").to_string();
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{second}"))
        .await;
    assert!(page.html.contains("seconde convocation"));
    assert!(
        page.html
            .contains("Subvention au club de football de Dijon"),
        "the agenda carried over"
    );
    clock.set(paris_ms(2026, 6, 7, 18, 30));
    done(b, &convene(&second), &[]).await;

    // Saturday 13 June: three present, Denis Hameau gives his proxy to Antoine Hoareau. Nobody
    // holds two proxies.
    clock.set(paris_ms(2026, 6, 13, 18, 0));
    let proxy = |id: i64| format!("procuration_{id}");
    let emmanuel = ids[4];
    refused(
        b,
        &open(&second),
        &[
            (&present(maire), "oui"),
            (&present(hoareau), "oui"),
            (&present(tomaselli), "oui"),
            (&proxy(hameau), &hoareau.to_string()),
            (&proxy(emmanuel), &hoareau.to_string()),
        ],
        "un membre n&#39;en porte qu&#39;une",
    )
    .await;
    // The council names its secretary among the members present.
    let (hoareau_id, tomaselli_id, emmanuel_id) = (
        hoareau.to_string(),
        tomaselli.to_string(),
        emmanuel.to_string(),
    );
    let mut fields = [
        (present(maire), "oui"),
        (present(hoareau), "oui"),
        (present(tomaselli), "oui"),
        (proxy(hameau), hoareau_id.as_str()),
        ("secretaire".to_string(), emmanuel_id.as_str()),
    ];
    refused(
        b,
        &open(&second),
        &fields
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        "Choisissez le ou la secrétaire de séance parmi les membres présents.",
    )
    .await;
    fields[4].1 = tomaselli_id.as_str();
    done(
        b,
        &open(&second),
        &fields
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
    )
    .await;
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{second}"))
        .await;
    assert!(page
        .html
        .contains("Seconde convocation : le conseil délibère sans condition de quorum"));
    assert!(page.html.contains("(procuration, vote de Antoine Hoareau)"));
    // Two for, two against (one by proxy): the mayor's casting vote adopts it.
    let point_id = guichet_store::conseil::points(s.db(), t.dijon.id, second.parse().expect("id"))
        .await
        .expect("points")[0]
        .id;
    let vote = format!("/admin/dijon/conseil/seances/{second}/points/{point_id}/vote");
    let v = |id: i64| format!("vote_{id}");
    done(
        b,
        &vote,
        &[
            (&v(maire), "pour"),
            (&v(hoareau), "contre"),
            (&v(hameau), "pour"),
            (&v(tomaselli), "contre"),
        ],
    )
    .await;
    refused(b, &vote, &[], "Ce point a déjà été voté").await;
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{second}"))
        .await;
    assert!(
        page.html
            .contains("Délibération n° 2026-001 : <strong>Adoptée</strong> — pour 2, contre 2"),
        "{}",
        page.html
    );
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{second}/cloturer"),
        &[],
    )
    .await;

    // The mayor signs; it goes online the same evening, as PDF/A.
    let d = guichet_store::conseil::deliberation_by_numero(s.db(), t.dijon.id, "2026-001")
        .await
        .expect("query")
        .expect("délibération");
    // The prefecture receives signed acts only.
    let legalite = format!("/admin/dijon/conseil/deliberations/{}/legalite.zip", d.id);
    let page = b.get(&legalite).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("doit d&#39;abord être signée"));
    done(
        b,
        &format!("/admin/dijon/conseil/deliberations/{}/publier", d.id),
        &[],
    )
    .await;
    let public = s.browser();
    let list = public.get("/conseil/dijon").await;
    assert!(list
        .html
        .contains("Subvention au club de football de Dijon"));
    let published = guichet_store::conseil::deliberation_by_numero(s.db(), t.dijon.id, "2026-001")
        .await
        .expect("query")
        .expect("délibération");
    let online = published.published_at.expect("published");
    assert!(
        online - paris_ms(2026, 6, 13, 18, 0) < 7 * DAY,
        "within the week"
    );
    assert!(list.html.contains("<td>13/06/2026</td>"));
    let r = s.get("/conseil/dijon/deliberations/2026-001").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.expect("pdf");
    let text = String::from_utf8_lossy(&pdf);
    assert!(
        text.contains("<pdfaid:part>2</pdfaid:part>")
            && text.contains("<pdfaid:conformance>U</pdfaid:conformance>")
    );
    assert!(text.contains("Délibération n° 2026-001"));
    // What is online is what was signed: its digest is in the journal.
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&pdf));
    let logged: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'conseil.deliberation.publication'",
    )
    .fetch_one(s.db().pool())
    .await
    .expect("journal");
    assert!(logged.contains(&digest), "{logged}");

    // The bundle for the contrôle de légalité: the signed PDF/A and its @ctes envelope.
    let r = b
        .client
        .get(format!("{}{legalite}", b.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.expect("zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let act = "99_DE-021-212102316-20260613-2026_001-DE-1-1_1.pdf";
    assert!(names.contains(&act.to_string()), "{names:?}");
    // The annex carried over to the second convocation goes with the act.
    let annexed = "99_AI-021-212102316-20260613-2026_001-DE-1-1_2.pdf";
    let mut sent = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(annexed).expect("annex"), &mut sent).expect("read");
    assert_eq!(sent, annex.to_vec());
    let mut signed = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(act).expect("act"), &mut signed).expect("read");
    assert_eq!(signed, pdf.to_vec(), "the act as published");
    let mut envelope = String::new();
    std::io::Read::read_to_string(
        &mut zip
            .by_name("DE-021-212102316-20260613-2026_001-DE-1-1_0.xml")
            .expect("envelope"),
        &mut envelope,
    )
    .expect("read");
    let mut reader = quick_xml::Reader::from_str(&envelope);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            _ => continue,
        }
    }
    for expected in [
        r#"actes:Date="2026-06-13""#,
        r#"actes:NumeroInterne="2026_001""#,
        r#"actes:CodeNatureActe="1""#,
        r#"<actes:Annexes actes:Nombre="1">"#,
        r#"<actes:CodeMatiere1 actes:CodeMatiere="7"/>"#,
        r#"<actes:CodeMatiere2 actes:CodeMatiere="5"/>"#,
        "<actes:Objet>Subvention au club de football de Dijon</actes:Objet>",
        &format!("<actes:NomFichier>{act}</actes:NomFichier>"),
    ] {
        assert!(envelope.contains(expected), "{expected} in\n{envelope}");
    }

    // The SCDL file validates against the shipped schema.
    let (status, csv) = s.get_text("/conseil/dijon/deliberations.csv").await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Dijon,21210231600008,2026-001,2026-06-13,7.5,Subventions,Subvention au club de football de Dijon,,,,,5,4,2,2,0,"),
        "{csv}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("deliberations.csv");
    std::fs::write(&data, &csv).expect("write");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../domain/schemas/scdl/deliberations.schema.json");
    let (ok, out) = crate::donnees::python(crate::donnees::FRICTIONLESS, &[&data, &schema]);
    assert!(ok, "SCDL délibérations:\n{out}\n{csv}");
    // The same file is a dataset of Dijon's open-data portal, refreshed at the publication, and
    // valid against the schema it declares too.
    let (status, portal) = s.get_text("/donnees/dijon/deliberations.csv").await;
    assert_eq!(status, 200);
    assert_eq!(portal, csv);
    let (status, declared) = s.get_text("/donnees/schemas/deliberations.json").await;
    assert_eq!(status, 200);
    let declared_file = dir.path().join("declared.schema.json");
    std::fs::write(&declared_file, &declared).expect("write");
    let (ok, out) = crate::donnees::python(crate::donnees::FRICTIONLESS, &[&data, &declared_file]);
    assert!(ok, "against the portal's schema:\n{out}");

    // The minutes: Claire Tomaselli, secretary, writes the substance of the debates; they are
    // adopted at the beginning of the next session, then signed and published within the week.
    let minutes = format!("/admin/dijon/conseil/seances/{second}/proces-verbal");
    refused(
        b,
        &minutes,
        &[("texte", "  ")],
        "Rédigez la teneur des débats",
    )
    .await;
    let debates = "M. Hoareau rappelle le coût du stade ; Mme la Maire souligne la place des jeunes licenciés.";
    done(b, &minutes, &[("texte", debates)]).await;
    refused(
        b,
        &format!("{minutes}/publier"),
        &[],
        "doit d&#39;abord être arrêté au commencement de la séance suivante",
    )
    .await;
    let third = new_session("2026-06-29").await;
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{third}/points"),
        &[
            ("titre", "Tarifs des piscines municipales"),
            ("matiere", "7.10"),
            (
                "rapport",
                "Il est proposé de maintenir les tarifs de l'été 2026.",
            ),
            ("note", "Les tarifs sont inchangés depuis 2024."),
        ],
    )
    .await;
    done(b, &convene(&third), &[]).await;
    // Claire Tomaselli reads the agenda in her members' space: her own account, with its second
    // factor.
    let claire = personas::persona(&s, Kind::Usager, "c.tomaselli@dijon.fr", &[]).await;
    let page = claire.browser.get("/elu").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/compte/securite"));
    let account = claire.browser.get("/compte").await;
    assert!(account
        .html
        .contains("<a href=\"/elu\">Mon espace d'élu·e</a>"));
    let claire = with_second_factor(&s, claire.user_id).await;
    let page = claire.get("/elu").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Tarifs des piscines municipales"));
    assert!(page.html.contains("Les tarifs sont inchangés depuis 2024."));
    // That reading is her proof of reading; the others have not read theirs.
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{third}"))
        .await;
    assert!(
        page.html.contains(
            "<td>Claire Tomaselli</td><td>13/06/2026 à 18:00</td><td>13/06/2026 à 18:00</td>"
        ),
        "{}",
        page.html
    );
    assert!(page
        .html
        .contains("<td>Antoine Hoareau</td><td>13/06/2026 à 18:00</td><td>non</td>"));
    // A resident who sits in no assembly has no members' space.
    let resident = personas::usager(&s).await;
    assert_eq!(resident.browser.get("/elu").await.status, 403);
    let adopt = format!("/admin/dijon/conseil/seances/{third}/proces-verbaux/{second}/arreter");
    // Not before the next session sits.
    refused(b, &adopt, &[], "une fois celle-ci ouverte").await;
    clock.set(paris_ms(2026, 6, 29, 18, 0));
    done(
        b,
        &open(&third),
        &[
            (&present(maire), "oui"),
            (&present(hoareau), "oui"),
            (&present(tomaselli), "oui"),
            ("secretaire", &hoareau_id),
        ],
    )
    .await;
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{third}"))
        .await;
    assert!(
        page.html
            .contains("Arrêter le procès-verbal de la séance du 13/06/2026 à 18:00"),
        "{}",
        page.html
    );
    done(b, &adopt, &[]).await;
    refused(b, &adopt, &[], "déjà arrêté").await;
    // Then the council votes; the mayor signs the délibération herself, in her members' space.
    let piscines = guichet_store::conseil::points(s.db(), t.dijon.id, third.parse().expect("id"))
        .await
        .expect("points")[0]
        .id;
    done(
        b,
        &format!("/admin/dijon/conseil/seances/{third}/points/{piscines}/vote"),
        &[
            (&v(maire), "pour"),
            (&v(hoareau), "pour"),
            (&v(tomaselli), "contre"),
        ],
    )
    .await;
    let maire_account = personas::persona(&s, Kind::Usager, "maire@dijon.fr", &[]).await;
    let nathalie = with_second_factor(&s, maire_account.user_id).await;
    let page = nathalie.get("/elu").await;
    assert!(
        page.html
            .contains("Signer et publier la délibération n° 2026-002"),
        "{}",
        page.html
    );
    let d2 = guichet_store::conseil::deliberation_by_numero(s.db(), t.dijon.id, "2026-002")
        .await
        .expect("query")
        .expect("délibération");
    let sign = format!("/elu/dijon/deliberations/{}/signer", d2.id);
    // A member who does not chair cannot sign.
    assert_eq!(claire.post(&sign, &[]).await.status, 403);
    let signed = nathalie.post(&sign, &[]).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location.as_deref(), Some("/elu"));
    let d2 = guichet_store::conseil::deliberation_by_numero(s.db(), t.dijon.id, "2026-002")
        .await
        .expect("query")
        .expect("délibération");
    assert_eq!(d2.signed_by.as_deref(), Some("Nathalie Koenders, Maire"));
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'conseil.deliberation.publication' AND object_id = '2026-002'",
    )
    .fetch_one(s.db().pool())
    .await
    .expect("journal");
    assert_eq!(
        actor, "maire@dijon.fr",
        "the journal names the chair herself"
    );
    // Adopted, the draft no longer changes.
    refused(b, &minutes, &[("texte", "Autre récit.")], "déjà arrêté").await;
    let page = b
        .get(&format!("/admin/dijon/conseil/seances/{second}"))
        .await;
    assert!(
        page.html.contains("À publier au plus tard le 06/07/2026"),
        "{}",
        page.html
    );
    clock.set(paris_ms(2026, 6, 30, 9, 0));
    done(b, &format!("{minutes}/publier"), &[]).await;
    let list = s.browser().get("/conseil/dijon").await;
    assert!(
        list.html.contains(&format!(
            "<a href=\"/conseil/dijon/proces-verbaux/{second}\">Séance du 13/06/2026</a> (PDF, en ligne le 30/06/2026)"
        )),
        "{}",
        list.html
    );
    let r = s
        .get(&format!("/conseil/dijon/proces-verbaux/{second}"))
        .await;
    assert_eq!(r.status(), 200);
    let pdf = r.bytes().await.expect("pdf");
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("<pdfaid:part>2</pdfaid:part>"));
    assert!(text.contains("Procès-verbal de la séance du 13/06/2026"));
    let signed: String = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'conseil.proces_verbal.publication'",
    )
    .fetch_one(s.db().pool())
    .await
    .expect("journal");
    assert!(
        signed.contains("Nathalie Koenders, Maire et Claire Tomaselli, secrétaire de séance")
            && signed.contains(&hex::encode(sha2::Sha256::digest(&pdf))),
        "{signed}"
    );
    // Minutes not published are not online.
    let r = s
        .get(&format!("/conseil/dijon/proces-verbaux/{session}"))
        .await;
    assert_eq!(r.status(), 404);

    // Another collectivité's agent sees none of it.
    let macon = personas::agent(&s, "admin@macon.fr", &t.macon, Role::Admin).await;
    let theirs = macon
        .browser
        .get(&format!("/admin/macon/conseil/seances/{second}"))
        .await;
    assert_eq!(theirs.status, 404);
    let other = macon
        .browser
        .get(&format!("/admin/dijon/conseil/seances/{second}"))
        .await;
    assert_eq!(other.status, 403);
    let page = macon
        .browser
        .post(
            &format!("/admin/macon/conseil/deliberations/{}/publier", d.id),
            &[],
        )
        .await;
    assert_eq!(page.status, 404);
    let page = macon
        .browser
        .post(
            &format!("/admin/macon/conseil/seances/{third}/proces-verbaux/{second}/arreter"),
            &[],
        )
        .await;
    assert_eq!(page.status, 404);
    let page = macon
        .browser
        .get(&format!(
            "/admin/macon/conseil/deliberations/{}/legalite.zip",
            d.id
        ))
        .await;
    assert_eq!(page.status, 404);
    let annexes =
        guichet_store::conseil::annexes_of(s.db(), t.dijon.id, second.parse().expect("id"))
            .await
            .expect("annexes");
    let page = macon
        .browser
        .get(&format!(
            "/admin/macon/conseil/seances/{second}/annexes/{}",
            annexes[0].id
        ))
        .await;
    assert_eq!(page.status, 404);
    // Nor can a resident who sits in no assembly read it from the members' space.
    let page = claire_elsewhere(&s)
        .await
        .get(&format!(
            "/elu/dijon/seances/{second}/annexes/{}",
            annexes[0].id
        ))
        .await;
    assert_eq!(page.status, 403);
    // Claire Tomaselli, member of the council, can.
    let page = claire
        .get(&format!(
            "/elu/dijon/seances/{second}/annexes/{}",
            annexes[0].id
        ))
        .await;
    assert_eq!(page.status, 200);
}
