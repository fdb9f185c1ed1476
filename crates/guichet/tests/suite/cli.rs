//! The `guichet` command as an operator uses it.

use crate::support::{run_cli, TestDb};

#[tokio::test]
async fn collectivite_add_on_an_empty_data_directory_then_list() {
    let t = TestDb::empty().await;
    let args = t.cli_args();
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(args.iter().cloned())
            .collect()
    };
    let run = |cmd: Vec<String>| run_cli(&cmd.iter().map(String::as_str).collect::<Vec<_>>());

    let (ok, out, err) = run(with(&["collectivite", "add", "--siren", "212102313"]));
    assert!(ok, "tenant add failed: {err}");
    assert!(out.contains("Collectivité ajoutée : Dijon"), "{out}");

    let (ok, out, err) = run(with(&["collectivite", "list"]));
    assert!(ok, "{err}");
    let dijon = out
        .lines()
        .find(|l| l.starts_with("dijon\t"))
        .expect("Dijon listed");
    assert!(dijon.contains("Côte-d'Or (21)"), "{dijon}");
    assert!(dijon.contains("Bourgogne-Franche-Comté (27)"), "{dijon}");

    let (ok, _, err) = run(with(&["collectivite", "add", "--siren", "212102314"]));
    assert!(!ok, "a bad SIREN must fail");
    assert!(
        err.contains("Erreur : le SIREN 212102314 n'est pas valide"),
        "{err}"
    );

    let (ok, _, err) = run(with(&["collectivite", "add", "--siren", "212102313"]));
    assert!(!ok);
    assert!(err.contains("déjà une collectivité"), "{err}");

    let (ok, out, _) = run(with(&["collectivite", "list"]));
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "header and Dijon only: {out}");
}

#[tokio::test]
async fn migrate_and_territory_import_are_safe_to_rerun() {
    let t = TestDb::empty().await;
    let args = t.cli_args();
    let run = |cmd: &[&str]| {
        let all: Vec<String> = cmd
            .iter()
            .map(|s| s.to_string())
            .chain(args.iter().cloned())
            .collect();
        run_cli(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (ok, out, err) = run(&["migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("à jour"), "{out}");
    let (ok, out, err) = run(&["territory", "import"]);
    assert!(ok, "{err}");
    assert!(out.contains("37590 communes"), "{out}");
    let (ok, out, _) = run(&["territory", "import"]);
    assert!(ok);
    assert!(out.contains("déjà à jour"), "{out}");
    let (ok, out, _) = run(&["territory", "commune", "dijon"]);
    assert!(ok);
    assert!(out.starts_with("21231\tDijon"), "{out}");
    assert!(out.contains("Dijon Métropole"));
}

#[test]
fn help_is_in_plain_words() {
    let (ok, out, _) = run_cli(&["--help"]);
    assert!(ok);
    for cmd in ["serve", "demo", "migrate", "territory", "collectivite"] {
        assert!(out.contains(cmd), "--help lists {cmd}: {out}");
    }
    let (ok, out, _) = run_cli(&["collectivite", "add", "--help"]);
    assert!(ok);
    assert!(out.contains("--siren") && out.contains("--insee") && out.contains("--departement"));
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("absent.toml");
    let (ok, _, err) = run_cli(&[
        "--config",
        missing.to_str().expect("utf8"),
        "collectivite",
        "list",
    ]);
    assert!(!ok);
    assert!(err.contains("le fichier de configuration"), "{err}");
}

#[test]
fn config_file_values_apply_and_bad_values_are_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("guichet.toml");
    std::fs::write(&file, "durability = \"sometimes\"\n").expect("write");
    let (ok, _, err) = run_cli(&[
        "--config",
        file.to_str().expect("utf8"),
        "collectivite",
        "list",
    ]);
    assert!(!ok);
    assert!(err.contains("configuration invalide"), "{err}");

    let data = dir.path().join("donnees");
    std::fs::write(
        &file,
        format!("data_dir = {:?}\n", data.display().to_string()),
    )
    .expect("write");
    let (ok, out, err) = run_cli(&["--config", file.to_str().expect("utf8"), "migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("sqlite"));
    assert!(
        data.join("guichet.sqlite").exists(),
        "the data_dir of the file is used"
    );
}

#[tokio::test]
async fn competences_export_import_and_search_rebuild_from_the_command_line() {
    let t = TestDb::empty().await;
    let args = t.cli_args();
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(args.iter().cloned())
            .collect()
    };
    let run = |cmd: Vec<String>| run_cli(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, csv, err) = run(with(&["competences", "export"]));
    assert!(ok, "{err}");
    assert!(csv.starts_with("code;libelle;niveau;situation;mots_cles\n"));
    assert!(csv.contains("\nautonomie;Autonomie des personnes âgées et handicapées;departement;"));
    // Edited and imported back: the change is there; a bad file changes nothing.
    let file = t.dir.path().join("competences.csv");
    std::fs::write(
        &file,
        csv.replace(";Écoles maternelles et élémentaires;", ";Écoles publiques;"),
    )
    .expect("write");
    let (ok, out, err) = run(with(&[
        "competences",
        "import",
        file.to_str().expect("path"),
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("compétences importées"), "{out}");
    let (_, again, _) = run(with(&["competences", "export"]));
    assert!(again.contains("ecoles;Écoles publiques;commune;"));
    std::fs::write(
        &file,
        "code;libelle;niveau;situation;mots_cles\necoles;Écoles;canton;famille_enfance;\n",
    )
    .expect("write");
    let (ok, _, err) = run(with(&[
        "competences",
        "import",
        file.to_str().expect("path"),
    ]));
    assert!(
        !ok && err.contains("ligne 2 : niveau « canton » inconnu"),
        "{err}"
    );
    let (_, after, _) = run(with(&["competences", "export"]));
    assert!(
        after.contains("ecoles;Écoles publiques;commune;"),
        "nothing written on error"
    );
    // Overrides per territory, the same way.
    std::fs::write(&file, "competence;portee;code_portee;titulaire;code_titulaire\nrestauration_scolaire;commune;21425;epci;242100410\n").expect("write");
    let (ok, out, err) = run(with(&[
        "competences",
        "import-overrides",
        file.to_str().expect("path"),
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("1 exceptions importées"), "{out}");
    let (_, overrides, _) = run(with(&["competences", "export-overrides"]));
    assert!(
        overrides.contains("restauration_scolaire;commune;21425;epci;242100410"),
        "{overrides}"
    );
    std::fs::write(&file, "competence;portee;code_portee;titulaire;code_titulaire\npiscines;quartier;1;commune;21231\n").expect("write");
    let (ok, _, err) = run(with(&[
        "competences",
        "import-overrides",
        file.to_str().expect("path"),
    ]));
    assert!(
        !ok && err.contains("ligne 2 : compétence « piscines » inconnue"),
        "{err}"
    );
    let (ok, out, err) = run(with(&["search", "rebuild"]));
    assert!(ok, "{err}");
    assert!(out.contains("Index de recherche à reconstruire"), "{out}");
}

#[tokio::test]
async fn franceconnect_plus_gets_its_key_made_and_published_and_a_bad_key_stops_the_start() {
    let t = TestDb::with_referential().await;
    let config = t.dir.path().join("guichet.toml");
    std::fs::write(
        &config,
        "franceconnect_issuer = \"http://127.0.0.1:9/\"\nfranceconnect_client_id = \"guichet\"\n\
         franceconnect_client_secret = \"un-secret-de-test-long-de-plus-de-32-caracteres\"\n\
         franceconnect_acr = \"eidas2\"\nfranceconnect_encrypted = true\n",
    )
    .expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut args = vec![
        "--config".to_string(),
        config.display().to_string(),
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(t.cli_args());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start guichet serve");
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let mut jwks = None;
    for _ in 0..300 {
        if let Ok(r) = reqwest::get(&url).await {
            jwks = Some((r.status().as_u16(), r.text().await.expect("body")));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill().await;
    let (status, body) = jwks.expect("the server answered");
    assert_eq!(status, 200, "{body}");
    let jwks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(jwks["keys"][0]["alg"], "ECDH-ES", "{jwks}");
    assert_eq!(jwks["keys"][0]["crv"], "P-256", "{jwks}");
    // The private half stays in a file of the data directory, readable by its owner only.
    let key = t.dir.path().join("cle-chiffrement-oidc.pem");
    let pem = std::fs::read_to_string(&key).expect("key file made");
    assert!(pem.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A file that is not a key: the start stops and says which file.
    let bad = t.dir.path().join("pas-une-cle.pem");
    std::fs::write(&bad, "bonjour").expect("write");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "oidc_encryption_key_file = {:?}\n",
        bad.display().to_string()
    ));
    std::fs::write(&config, text).expect("config");
    let mut args: Vec<String> = vec![
        "--config".into(),
        config.display().to_string(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
    ];
    args.extend(t.cli_args());
    let (ok, _, err) = run_cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!ok);
    assert!(
        err.contains("clé de chiffrement OpenID Connect") && err.contains("pas-une-cle.pem"),
        "{err}"
    );
}
