//! Signalements: routed by competence and road kind, anonymous ones published only once
//! confirmed by e-mail, photos cleaned of their metadata, duplicates offered within 50 m,
//! processing with notifications, transfer between authorities.

use crate::personas;
use crate::support::{SmtpSink, TestServer};
use guichet_domain::role::Role;
use guichet_store::collectivite::{self, Contact, Target};
use guichet_store::compte::Kind;
use guichet_store::signalement as store;

/// A small JPEG carrying EXIF metadata with a GPS position, as phones write them.
fn photo_with_gps() -> Vec<u8> {
    let mut jpeg = Vec::new();
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("encode");
    // TIFF (little endian): IFD0 with one entry, GPSInfo (0x8825) → a GPS IFD with
    // GPSLatitudeRef 'N'; followed by a recognisable marker.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(b"GPS-POSITION-47.49N-4.33E");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[tokio::test]
async fn potholes_go_to_the_road_s_authority_and_anonymous_reports_wait_for_their_confirmation() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let db = s.db();
    let semur = collectivite::add(
        db,
        &Target::Insee("21603".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Semur");
    let cote_d_or = collectivite::add(
        db,
        &Target::Departement("21".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("21");
    let pothole = store::categories(db)
        .await
        .expect("categories")
        .into_iter()
        .find(|c| c.code == "chaussee_degradee")
        .expect("category");
    let usager = personas::usager(&s).await;

    // Signed in, on the D 980: the département gets it, published at once.
    let rd = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Semur-en-Auxois"),
                ("categorie", &pothole.id.to_string()),
                ("voie", "departementale"),
                ("numero_route", "D 980"),
                ("adresse", "D 980, sortie nord"),
                ("latitude", "47,4960"),
                ("longitude", "4,3330"),
                ("description", "Nid-de-poule profond dans le virage."),
            ])
            .part(
                "photos",
                reqwest::multipart::Part::bytes(photo_with_gps())
                    .file_name("IMG_0001.jpg")
                    .mime_str("image/jpeg")
                    .expect("mime"),
            ),
        )
        .await;
    let page = rd.location.expect("to the report's page");
    let number = page.trim_start_matches("/signalements/").to_string();
    let on_rd = store::by_number(db, &number)
        .await
        .expect("q")
        .expect("report");
    assert_eq!(
        on_rd.tenant_id, cote_d_or.id,
        "a route départementale is the département's"
    );
    assert_eq!(on_rd.competence, "routes_departementales");
    let public = s.browser().get(&page).await;
    assert_eq!(public.status, 200);
    assert!(
        public.html.contains("Traité par") && public.html.contains("Côte-d&#39;Or"),
        "{}",
        public.html
    );
    assert!(
        !public.html.contains(&usager.email),
        "no personal data on the public page"
    );

    // The stored photo has lost its EXIF block and the GPS position in it.
    let original = photo_with_gps();
    assert!(
        original.windows(4).any(|w| w == b"Exif")
            && original.windows(12).any(|w| w == b"GPS-POSITION")
    );
    let photo_id = store::photos(db, on_rd.id).await.expect("photos")[0].clone();
    let stored = s
        .state
        .config
        .files
        .get(&photo_id)
        .await
        .expect("stored photo");
    assert!(stored.starts_with(&[0xFF, 0xD8]), "a JPEG");
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "no EXIF left");
    assert!(
        !stored.windows(12).any(|w| w == b"GPS-POSITION"),
        "no GPS left"
    );
    let served = s
        .browser()
        .client
        .get(format!("{}/signalements/photos/{photo_id}", s.base))
        .send()
        .await
        .expect("photo");
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    // The agent who handles it sees the photo on the report's page, and the commune by name.
    let moderator = personas::persona(
        &s,
        Kind::Agent,
        "routes@cotedor.fr",
        &[(&cote_d_or, Role::Moderateur)],
    )
    .await;
    let detail = moderator
        .browser
        .get(&format!(
            "/admin/{}/signalements/{}",
            cote_d_or.slug, on_rd.id
        ))
        .await;
    let src = format!(
        "/admin/{}/signalements/{}/photos/{photo_id}",
        cote_d_or.slug, on_rd.id
    );
    assert!(
        detail.html.contains(&format!("<img src=\"{src}\"")),
        "{}",
        detail.html
    );
    assert!(!detail.html.contains("(INSEE)"), "{}", detail.html);
    let shown = moderator
        .browser
        .client
        .get(format!("{}{src}", s.base))
        .send()
        .await
        .expect("photo");
    assert_eq!(shown.status(), 200);
    // Another collectivité's agent does not get it.
    let elsewhere = personas::persona(
        &s,
        Kind::Agent,
        "mod@semur.fr",
        &[(&semur, Role::Moderateur)],
    )
    .await;
    let foreign = elsewhere
        .browser
        .get(&format!(
            "/admin/{}/signalements/{}/photos/{photo_id}",
            semur.slug, on_rd.id
        ))
        .await;
    assert_eq!(foreign.status, 404);

    // Anonymous, on a communal street: the commune gets it, public only once confirmed.
    let anonymous = s.browser();
    let sent = anonymous
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "21603"),
                ("categorie", &pothole.id.to_string()),
                ("voie", "communale"),
                ("adresse", "12 rue Buffon"),
                ("description", "Trou dans la chaussée devant l'école."),
                ("email", "passant@exemple.fr"),
            ]),
        )
        .await;
    assert_eq!(
        sent.location.as_deref(),
        Some("/signalements/merci?confirmer=1"),
        "{}",
        sent.html
    );
    let pending = store::of_collectivite(
        db,
        semur.id,
        Some(guichet_domain::signalement::State::AConfirmer),
        10,
    )
    .await
    .expect("q");
    assert_eq!(pending.len(), 1, "the commune's, waiting");
    assert_eq!(
        s.browser()
            .get(&format!("/signalements/{}", pending[0].number))
            .await
            .status,
        404,
        "not public yet"
    );
    let mail = smtp
        .wait_for("passant@exemple.fr", "Confirmez votre signalement")
        .await;
    let link = mail.link();
    let confirmed = s.browser().get(link.trim_start_matches(&s.base)).await;
    assert_eq!(
        confirmed.location.as_deref(),
        Some(&*format!("/signalements/{}", pending[0].number))
    );
    assert_eq!(
        s.browser()
            .get(&format!("/signalements/{}", pending[0].number))
            .await
            .status,
        200,
        "public once confirmed"
    );
    assert_eq!(
        s.browser()
            .get(link.trim_start_matches(&s.base))
            .await
            .status,
        404,
        "a link works once"
    );

    // A national road is the State's: refused here, with where to go instead.
    let national = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Semur-en-Auxois"),
                ("categorie", &pothole.id.to_string()),
                ("voie", "nationale"),
                ("adresse", "A6"),
                ("description", "Débris sur l'autoroute A6."),
            ]),
        )
        .await;
    assert_eq!(national.status, 422);
    assert!(
        national.html.contains("relèvent de l&#39;État"),
        "{}",
        national.html
    );

    // Bad input: French errors tied to the fields, what was typed kept.
    let bad = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Atlantide"),
                ("categorie", "x"),
                ("latitude", "95"),
                ("longitude", "4"),
                ("description", "Court"),
            ]),
        )
        .await;
    assert_eq!(bad.status, 422);
    for message in [
        "Commune introuvable",
        "Choisissez le type de problème",
        "Coordonnées invalides",
        "10 caractères au moins",
    ] {
        assert!(bad.html.contains(message), "{message}: {}", bad.html);
    }
    // A robot filling the hidden field gets the same answer and nothing is stored.
    let before = store::of_collectivite(db, cote_d_or.id, None, 100)
        .await
        .expect("q")
        .len();
    let robot = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Semur-en-Auxois"),
                ("categorie", &pothole.id.to_string()),
                ("voie", "departementale"),
                ("adresse", "D 980"),
                ("description", "Achetez nos produits miracles"),
                ("site_web", "http://spam.example"),
            ]),
        )
        .await;
    assert_eq!(robot.location.as_deref(), Some("/signalements/merci"));
    assert_eq!(
        store::of_collectivite(db, cote_d_or.id, None, 100)
            .await
            .expect("q")
            .len(),
        before
    );
}

#[tokio::test]
async fn duplicates_within_fifty_metres_processing_notifications_and_transfer() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let cote_d_or = collectivite::add(
        db,
        &Target::Departement("21".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("21");
    let agent = personas::agent(&s, "voirie@dijon.fr", &t.dijon, Role::Moderateur).await;
    let light = store::categories(db)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.code == "eclairage_public")
        .expect("category");
    let usager = personas::usager(&s).await;
    let darcy = [
        ("commune", "Dijon"),
        ("categorie", &*light.id.to_string()),
        ("adresse", "Place Darcy"),
        ("latitude", "47.32226"),
        ("longitude", "5.03186"),
        (
            "description",
            "Le lampadaire est éteint depuis une semaine.",
        ),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let fields: Vec<(&str, &str)> = darcy.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&fields))
        .await;
    let number = first
        .location
        .expect("created")
        .trim_start_matches("/signalements/")
        .to_string();

    // 30 m away, same category: the open report is offered first.
    let neighbour = s.browser();
    let mut near: Vec<(&str, &str)> = fields.clone();
    near.retain(|(k, _)| *k != "longitude");
    near.push(("longitude", "5.03226"));
    near.push(("email", "voisine@exemple.fr"));
    let offered = neighbour
        .post_multipart("/signalements", crate::support::multipart(&near))
        .await;
    assert_eq!(offered.status, 200);
    assert!(
        offered
            .html
            .contains("Ce problème est peut-être déjà signalé")
            && offered.html.contains(&number),
        "{}",
        offered.html
    );
    assert_eq!(
        store::public_of_commune(db, "21231", 10)
            .await
            .expect("q")
            .len(),
        1,
        "nothing new stored yet"
    );
    let followed = neighbour
        .post(
            &format!("/signalements/{number}/moi-aussi"),
            &[("email", "voisine@exemple.fr")],
        )
        .await;
    assert!(
        followed.html.contains("ouvrez le lien"),
        "{}",
        followed.html
    );
    // Nothing is sent to the address but the request to confirm; its owner opens the link.
    let confirmation = smtp
        .wait_for("voisine@exemple.fr", "Confirmez le suivi du signalement")
        .await;
    let confirmed = neighbour.get(&confirmation.link()).await;
    assert!(
        confirmed.html.contains("est confirmé"),
        "{}",
        confirmed.html
    );
    // 120 m away: another problem, no suggestion.
    let mut far: Vec<(&str, &str)> = fields.clone();
    far.retain(|(k, _)| *k != "longitude");
    far.push(("longitude", "5.03345"));
    let other = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&far))
        .await;
    assert!(other.location.is_some(), "created directly: {}", other.html);

    // The commune takes it into account: the reporter and the follower are told.
    let x = store::by_number(db, &number).await.expect("q").expect("s");
    let admin_page = format!("/admin/dijon/signalements/{}", x.id);
    let rejected = agent
        .browser
        .post(
            &format!("{admin_page}/etat"),
            &[("etat", "rejete"), ("motif", "")],
        )
        .await;
    assert_eq!(rejected.status, 422, "a rejection needs its reason");
    let taken = agent
        .browser
        .post(
            &format!("{admin_page}/etat"),
            &[
                ("etat", "pris_en_compte"),
                ("note", "Intervention prévue jeudi."),
            ],
        )
        .await;
    assert!(taken.html.contains("pris en compte"), "{}", taken.html);
    for who in [usager.email.as_str(), "voisine@exemple.fr"] {
        let mail = smtp.wait_for(who, "pris en compte").await;
        assert!(
            mail.body.contains("Intervention prévue jeudi."),
            "{}",
            mail.body
        );
    }
    let public = s.browser().get(&format!("/signalements/{number}")).await;
    assert!(
        public
            .html
            .contains("Pris en compte : Intervention prévue jeudi."),
        "{}",
        public.html
    );

    // Wrong competence: handed to the département, history kept, reporter told.
    let moved = agent
        .browser
        .post(
            &format!("{admin_page}/transfert"),
            &[("collectivite", &cote_d_or.slug)],
        )
        .await;
    assert!(
        moved.html.contains("Signalement transmis"),
        "{}",
        moved.html
    );
    let x = store::by_number(db, &number).await.expect("q").expect("s");
    assert_eq!(x.tenant_id, cote_d_or.id);
    assert_eq!(
        store::history(db, x.id).await.expect("h").len(),
        2,
        "the state change and the transfer"
    );
    smtp.wait_for(&usager.email, "transmis").await;
    assert_eq!(
        agent.browser.get(&admin_page).await.status,
        404,
        "no longer Dijon's"
    );
    let list = s.browser().get("/communes/21231/signalements").await;
    assert!(list.html.contains(&number));
    assert!(guichet_store::journal::verify(db)
        .await
        .expect("verify")
        .is_ok());
}

#[tokio::test]
async fn alerts_bulk_changes_exports_and_statistics() {
    let smtp = SmtpSink::start().await;
    let s = TestServer::with_smtp(&smtp).await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let agent = personas::agent(&s, "voirie@dijon.fr", &t.dijon, Role::Moderateur).await;
    let neighbour = personas::persona(&s, Kind::Usager, "voisin@exemple.fr", &[]).await;
    let usager = personas::usager(&s).await;
    let tag = store::categories(db)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.code == "depot_sauvage")
        .expect("category");

    // A resident asks for alerts in Dijon; each new public report there is e-mailed.
    let on = neighbour.browser.post("/communes/21231/alertes", &[]).await;
    assert_eq!(
        on.location.as_deref(),
        Some("/communes/21231/signalements?alerte=ok")
    );
    let mut numbers = Vec::new();
    for (i, lon) in ["5.0300", "5.0400"].iter().enumerate() {
        let sent = usager
            .browser
            .post_multipart(
                "/signalements",
                crate::support::multipart(&[
                    ("commune", "Dijon"),
                    ("categorie", &tag.id.to_string()),
                    ("adresse", &format!("Rue {i}")),
                    ("latitude", "47.3200"),
                    ("longitude", lon),
                    ("description", "Sacs et gravats sur le trottoir."),
                ]),
            )
            .await;
        numbers.push(
            sent.location
                .expect("created")
                .trim_start_matches("/signalements/")
                .to_string(),
        );
    }
    let alert = smtp
        .wait_for(
            "voisin@exemple.fr",
            "Nouveau signalement : Dépôt sauvage de déchets",
        )
        .await;
    assert!(alert.body.contains("/signalements/S"), "{}", alert.body);
    assert_eq!(
        s.browser()
            .post("/communes/21231/alertes", &[])
            .await
            .location
            .as_deref()
            .map(|l| l.starts_with("/connexion")),
        Some(true),
        "signed in only"
    );

    // Both resolved at once, with one public note; the reporter told for each.
    let mut ids = Vec::new();
    for n in &numbers {
        ids.push(
            store::by_number(db, n)
                .await
                .expect("q")
                .expect("report")
                .id
                .to_string(),
        );
    }
    let mut form: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    form.push(("etat", "resolu"));
    form.push(("note", "Enlevé par les services de propreté."));
    let done = agent
        .browser
        .post("/admin/dijon/signalements/lot", &form)
        .await;
    assert!(
        done.html.contains("2 signalement(s) passé(s) à « résolu »"),
        "{}",
        done.html
    );
    assert!(done.html.contains("Résolus : 2"), "{}", done.html);
    smtp.wait_for(&usager.email, "résolu").await;
    let rejected_in_bulk = agent
        .browser
        .post(
            "/admin/dijon/signalements/lot",
            &[("ids", ids[0].as_str()), ("etat", "rejete")],
        )
        .await;
    assert!(
        rejected_in_bulk.html.contains("un rejet se fait un par un"),
        "{}",
        rejected_in_bulk.html
    );

    // Exports: CSV and GeoJSON with the coordinates; public list of the collectivité.
    let csv = agent
        .browser
        .get("/admin/dijon/signalements/export/signalements.csv")
        .await;
    assert_eq!(csv.html.lines().count(), 3, "{}", csv.html);
    assert!(csv.html.contains(";resolu;21231;"));
    let geo = agent
        .browser
        .get("/admin/dijon/signalements/export/signalements.geojson")
        .await;
    let value: serde_json::Value = serde_json::from_str(&geo.html).expect("GeoJSON");
    assert_eq!(value["type"], "FeatureCollection");
    assert_eq!(value["features"][0]["geometry"]["coordinates"][1], 47.32);
    let list = s.browser().get("/collectivites/dijon/signalements").await;
    assert!(
        list.html.contains("Signalements traités par Dijon") && list.html.contains(&numbers[0])
    );
    assert!(!list.html.contains(&usager.email));
}

#[tokio::test]
async fn with_contours_imported_the_point_says_which_commune_it_is_in() {
    use crate::support::run_cli;
    let s = TestServer::start().await;
    let db = s.db();
    collectivite::add(
        db,
        &Target::Insee("21603".into()),
        &Contact::default(),
        false,
    )
    .await
    .expect("Semur");
    let light = store::categories(db)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.code == "eclairage_public")
        .expect("category");
    let file = s.db.dir.path().join("communes.geojson");
    std::fs::write(
        &file,
        r#"{"type": "FeatureCollection", "features": [
          {"type": "Feature", "properties": {"code": "21603", "nom": "Semur-en-Auxois"},
           "geometry": {"type": "Polygon", "coordinates": [[[4.30, 47.47], [4.37, 47.47], [4.37, 47.52], [4.30, 47.52], [4.30, 47.47]]]}}]}"#,
    )
    .expect("write");
    let mut args = vec![
        "territory".to_string(),
        "import-contours".into(),
        file.display().to_string(),
    ];
    args.extend(s.db.cli_args());
    let (ok, out, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{err}");
    assert!(out.contains("1 contours de communes importés"), "{out}");
    let bad = s.db.dir.path().join("bad.geojson");
    std::fs::write(&bad, r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": null}]}"#).expect("write");
    let mut args = vec![
        "territory".to_string(),
        "import-contours".into(),
        bad.display().to_string(),
    ];
    args.extend(s.db.cli_args());
    let (ok, _, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok && err.contains("propriété « code »"), "{err}");

    // No commune typed: the coordinates find Semur-en-Auxois.
    let usager = personas::usager(&s).await;
    let sent = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", ""),
                ("categorie", &light.id.to_string()),
                ("latitude", "47.4926"),
                ("longitude", "4.3366"),
                ("description", "Lampadaire éteint près du pont."),
            ]),
        )
        .await;
    let number = sent
        .location
        .expect("created")
        .trim_start_matches("/signalements/")
        .to_string();
    let x = store::by_number(db, &number)
        .await
        .expect("q")
        .expect("report");
    assert_eq!(x.commune_insee, "21603");
    // Outside every contour, the commune typed is needed.
    let missing = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", ""),
                ("categorie", &light.id.to_string()),
                ("latitude", "45.0"),
                ("longitude", "1.0"),
                ("description", "Lampadaire éteint ailleurs."),
            ]),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.html.contains("Indiquez la commune"));
}

#[tokio::test]
async fn one_address_cannot_flood_the_reports() {
    let s = TestServer::start().await;
    personas::collectivites(&s).await;
    let tag = store::categories(s.db())
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.code == "tags")
        .expect("category");
    let robot = s.browser();
    let mut last = None;
    for i in 0..31 {
        let email = format!("adresse{i}@exemple.fr");
        let page = robot
            .post_multipart(
                "/signalements",
                crate::support::multipart(&[
                    ("commune", "Dijon"),
                    ("categorie", &tag.id.to_string()),
                    ("adresse", &format!("Mur {i}")),
                    ("description", "Tag sur le mur de l'école."),
                    ("email", &email),
                ]),
            )
            .await;
        last = Some(page);
    }
    let last = last.expect("posted");
    assert_eq!(
        last.status, 422,
        "the 31st report from one address in an hour is refused"
    );
    assert!(
        last.html
            .contains("beaucoup de signalements en peu de temps"),
        "{}",
        last.html
    );
}

#[tokio::test]
async fn a_collectivite_adjusts_its_categories_asks_its_questions_and_filters_its_list() {
    use crate::support::field_value;
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let admin = personas::persona(
        &s,
        Kind::Agent,
        "admin@dijon.fr",
        &[(&t.dijon, Role::Admin), (&t.dijon, Role::Moderateur)],
    )
    .await;
    let moderator = personas::agent(&s, "moderation@dijon.fr", &t.dijon, Role::Moderateur).await;
    let macon_admin = personas::agent(&s, "admin@macon.fr", &t.macon, Role::Admin).await;
    let usager = personas::usager(&s).await;
    let dumping = store::categories(db)
        .await
        .expect("c")
        .into_iter()
        .find(|c| c.code == "depot_sauvage")
        .expect("category");
    let settings_path = format!("/admin/dijon/signalements/categories/{}", dumping.id);

    // Only admins adjust categories; a moderator is refused.
    assert_eq!(
        moderator
            .browser
            .get("/admin/dijon/signalements/categories")
            .await
            .status,
        403
    );
    let page = admin
        .browser
        .get("/admin/dijon/signalements/categories")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("Dépôt sauvage de déchets"),
        "{}",
        page.html
    );

    // Too many questions: refused with the reason tied to the field, nothing saved.
    let six = "A ?\nB ?\nC ?\nD ?\nE ?\nF ?";
    let refused = admin
        .browser
        .post(&settings_path, &[("questions", six)])
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.html.contains("5 questions au plus")
            && refused
                .html
                .contains(&format!("href=\"#c{}-questions\"", dumping.id)),
        "{}",
        refused.html
    );
    assert!(store::settings(db, t.dijon.id).await.expect("s").is_empty());
    let saved = admin
        .browser
        .post(
            &settings_path,
            &[(
                "questions",
                "Quel volume environ ?\nY a-t-il des produits dangereux ?",
            )],
        )
        .await;
    assert!(saved.html.contains("enregistrée"), "{}", saved.html);

    // Its own category, checked before it is written.
    let bad = admin
        .browser
        .post(
            "/admin/dijon/signalements/categories",
            &[("libelle", "x"), ("competence", "")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.html.contains("Donnez un libellé") && bad.html.contains("Choisissez une compétence")
    );
    let added = admin
        .browser
        .post(
            "/admin/dijon/signalements/categories",
            &[
                ("libelle", "Trottinette mal garée"),
                ("competence", "voirie_communale"),
                ("questions", "Combien de trottinettes ?"),
                ("moderation", "oui"),
            ],
        )
        .await;
    assert!(
        added
            .html
            .contains("Catégorie « Trottinette mal garée » ajoutée"),
        "{}",
        added.html
    );
    let scooter = store::own_categories(db, t.dijon.id)
        .await
        .expect("own")
        .pop()
        .expect("added");
    assert!(scooter.moderated && scooter.active);
    // Another collectivité cannot touch it.
    let foreign = macon_admin
        .browser
        .post(
            &format!("/admin/macon/signalements/categories/{}", scooter.id),
            &[
                ("libelle", "Piraté"),
                ("competence", "voirie_communale"),
                ("active", "oui"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 404);

    // A resident reporting a dumping in Dijon is asked Dijon's questions once, then files.
    let fields = [
        ("commune", "Dijon"),
        ("categorie", &dumping.id.to_string() as &str),
        ("adresse", "Allée du parc"),
        ("description", "Des gravats abandonnés au bout de l'allée."),
    ];
    let asked = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&fields))
        .await;
    assert_eq!(asked.status, 200);
    assert!(
        asked.html.contains("Précisions demandées par Dijon")
            && asked.html.contains("Quel volume environ ?"),
        "{}",
        asked.html
    );
    assert!(store::of_collectivite(db, t.dijon.id, None, 10)
        .await
        .expect("l")
        .is_empty());
    let key = field_value(&asked.html, "precisions").expect("hidden key");
    let mut answered = fields.to_vec();
    answered.push(("precisions", &key));
    answered.push(("q1", "Deux mètres cubes"));
    let filed = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&answered))
        .await;
    let number = filed
        .location
        .expect("published")
        .trim_start_matches("/signalements/")
        .to_string();
    let stored = store::by_number(db, &number)
        .await
        .expect("q")
        .expect("report");
    assert_eq!(
        stored.answers,
        vec![(
            "Quel volume environ ?".to_string(),
            "Deux mètres cubes".to_string()
        )]
    );
    let detail = admin
        .browser
        .get(&format!("/admin/dijon/signalements/{}", stored.id))
        .await;
    assert!(detail.html.contains("Deux mètres cubes"), "{}", detail.html);

    // Its own category: asked its question, moderated; in Mâcon it is not offered.
    let scooter_id = scooter.id.to_string();
    let mut own = vec![
        ("commune", "Dijon"),
        ("categorie", scooter_id.as_str()),
        ("adresse", "Place Darcy"),
        (
            "description",
            "Trois trottinettes couchées sur le trottoir.",
        ),
    ];
    let asked = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&own))
        .await;
    assert!(
        asked.html.contains("Combien de trottinettes ?"),
        "{}",
        asked.html
    );
    let key = field_value(&asked.html, "precisions").expect("hidden key");
    own.push(("precisions", &key));
    let moderated = usager
        .browser
        .post_multipart("/signalements", crate::support::multipart(&own))
        .await;
    assert_eq!(moderated.location.as_deref(), Some("/signalements/merci"));
    let elsewhere = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Mâcon"),
                ("categorie", scooter_id.as_str()),
                ("adresse", "Quai Lamartine"),
                ("description", "Trottinettes dans le passage piéton."),
            ]),
        )
        .await;
    assert_eq!(elsewhere.status, 422);
    assert!(
        elsewhere.html.contains("propre à une autre collectivité"),
        "{}",
        elsewhere.html
    );

    // Open311 shows Dijon's category and questions as a service and its attributes.
    let siren = t.dijon.siren.clone().expect("SIREN");
    let (_, services) = s
        .get_text(&format!(
            "/open311/v2/services.json?jurisdiction_id={siren}"
        ))
        .await;
    assert!(services.contains(&scooter.code) && services.contains("Trottinette mal garée"));
    let (_, definition) = s
        .get_text(&format!(
            "/open311/v2/services/depot_sauvage.json?jurisdiction_id={siren}"
        ))
        .await;
    assert!(definition.contains("Quel volume environ ?") && definition.contains("\"q2\""));
    let (_, key) = guichet_store::jeton::create(
        db,
        t.dijon.id,
        admin.user_id,
        "Application de signalement",
        &["open311".to_string()],
        365,
        Default::default(),
    )
    .await
    .expect("key");
    let posted = reqwest::Client::new()
        .post(format!("{}/open311/v2/requests.json", s.base))
        .form(&[
            ("api_key", key.as_str()),
            ("jurisdiction_id", siren.as_str()),
            ("service_code", "depot_sauvage"),
            ("lat", "47.3300"),
            ("long", "5.0400"),
            ("address_string", "Rue de Jouvence, 21000 Dijon"),
            ("description", "Un frigo abandonné."),
            ("attribute[q2]", "Oui, un frigo"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 201);
    let body: serde_json::Value = posted.json().await.expect("json");
    let via_api = store::by_number(db, body[0]["service_request_id"].as_str().expect("id"))
        .await
        .expect("q")
        .expect("report");
    assert_eq!(
        via_api.answers,
        vec![(
            "Y a-t-il des produits dangereux ?".to_string(),
            "Oui, un frigo".to_string()
        )]
    );

    // The list filters by category, text, commune and dates; the export follows the filters.
    let by_category = moderator
        .browser
        .get(&format!(
            "/admin/dijon/signalements?categorie={}",
            dumping.id
        ))
        .await;
    assert!(by_category.html.contains(&number) && !by_category.html.contains("Place Darcy"));
    let by_text = moderator
        .browser
        .get("/admin/dijon/signalements?q=trottinettes")
        .await;
    assert!(by_text.html.contains("Place Darcy") && !by_text.html.contains(&number));
    let other_commune = moderator
        .browser
        .get("/admin/dijon/signalements?commune=71270")
        .await;
    assert!(other_commune.html.contains("Aucun signalement ici"));
    let future = moderator
        .browser
        .get("/admin/dijon/signalements?du=01/01/2099")
        .await;
    assert!(future.html.contains("Aucun signalement ici"));
    let bad_date = moderator
        .browser
        .get("/admin/dijon/signalements?au=31/02/2026")
        .await;
    assert_eq!(bad_date.status, 422);
    assert!(bad_date.html.contains("Date invalide") && bad_date.html.contains("href=\"#au\""));
    let csv = moderator
        .browser
        .get("/admin/dijon/signalements/export/signalements.csv?q=gravats")
        .await;
    assert_eq!(csv.html.lines().count(), 2, "{}", csv.html);
    assert!(csv.html.contains(&number));

    // A platform category moderated by Dijon waits for a moderator.
    admin
        .browser
        .post(&settings_path, &[("questions", ""), ("moderation", "oui")])
        .await;
    let waiting = usager
        .browser
        .post_multipart(
            "/signalements",
            crate::support::multipart(&[
                ("commune", "Dijon"),
                ("categorie", &dumping.id.to_string()),
                ("adresse", "Rue de la gare"),
                ("description", "Un matelas abandonné."),
            ]),
        )
        .await;
    assert_eq!(waiting.location.as_deref(), Some("/signalements/merci"));
    let journal = guichet_store::journal::list(db, &Default::default(), 100)
        .await
        .expect("journal");
    assert!(journal
        .iter()
        .any(|e| e.event.action == "signalement.categorie.creation"));
}

#[tokio::test]
async fn maps_are_offered_on_demand_with_tiles_from_the_configured_server() {
    let s = TestServer::start().await;
    let form = s.get("/signalements/nouveau").await;
    let csp = form
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // The test server's tiles come from itself: its origin is allowed for images, nothing else.
    assert!(
        csp.contains(&format!("img-src 'self' data: {};", s.base)),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let html = form.text().await.expect("body");
    assert!(html.contains("data-carte=\"choisir\""), "{html}");
    // The library itself is not on the page: only fetched when the map is asked for.
    assert!(!html.contains("<script src=\"/static/leaflet"));
    let leaflet = crate::support::attribute(&html, "data-leaflet-js").expect("library address");
    let library = s.get(&leaflet).await;
    assert_eq!(library.status(), 200);
    assert_eq!(
        library
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    assert!(library.text().await.expect("js").contains("1.9.4"));
}

#[tokio::test]
async fn reports_with_and_without_coordinates_follow_each_other_on_any_database() {
    // On PostgreSQL, a statement first run with missing coordinates once refused the next
    // coordinates on the same connection (a driver quirk worked around in the store).
    let s = TestServer::start().await;
    let t = personas::collectivites(&s).await;
    let db = s.db();
    let category = store::categories(db).await.expect("c").remove(0);
    for i in 0..24 {
        let position = (i % 2 == 1).then_some((47.32 + f64::from(i) / 10_000.0, 5.04));
        let r = store::create(
            db,
            &store::NewReport {
                tenant_id: t.dijon.id,
                category_id: category.id,
                competence: category.competence.clone(),
                commune_insee: "21231".into(),
                address: format!("Rue {i}"),
                position,
                road_kind: None,
                road_number: None,
                description: "Un problème sur la voie publique.".into(),
                answers: Vec::new(),
                reporter_user_id: None,
                reporter_email: None,
                state: guichet_domain::signalement::State::Nouveau,
                confirm_token_hash: None,
                ip: None,
            },
        )
        .await
        .expect("stored whatever came before");
        assert_eq!(r.position, position);
    }
}
