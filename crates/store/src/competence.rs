//! The one-door referential: competences and their overrides per territory, national services,
//! synonyms of the search. Seeded by migration 0008, maintained by the operator; competences
//! and overrides import and export as CSV.

use crate::db::Db;
use crate::trace::Trace;
use guichet_domain::competence::{Chain, Competence, Holder, Level, Override};
use sqlx::Row;

pub async fn list(db: &Db) -> anyhow::Result<Vec<Competence>> {
    sqlx::query("SELECT code, label, level, situation, keywords FROM competences ORDER BY code")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let level: String = r.try_get(2)?;
            Ok(Competence {
                code: r.try_get(0)?,
                label: r.try_get(1)?,
                level: Level::from_code(&level)
                    .ok_or_else(|| anyhow::anyhow!("niveau inconnu {level}"))?,
                situation: r.try_get(3)?,
                keywords: r.try_get(4)?,
            })
        })
        .collect()
}

pub async fn get(db: &Db, code: &str) -> anyhow::Result<Option<Competence>> {
    Ok(list(db).await?.into_iter().find(|c| c.code == code))
}

/// Adds or changes a competence, with its trace; the search sees it.
pub async fn upsert(db: &Db, c: &Competence, trace: Trace) -> anyhow::Result<()> {
    save_all(db, std::slice::from_ref(c), trace).await
}

async fn upsert_in(conn: &mut sqlx::AnyConnection, c: &Competence) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO competences (code, label, level, situation, keywords) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET label = $2, level = $3, situation = $4, keywords = $5",
    )
    .bind(&c.code)
    .bind(&c.label)
    .bind(c.level.code())
    .bind(&c.situation)
    .bind(&c.keywords)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn overrides(db: &Db) -> anyhow::Result<Vec<Override>> {
    sqlx::query(
        "SELECT competence, scope_kind, scope_code, holder_kind, holder_code FROM competence_overrides ORDER BY competence, scope_kind, scope_code",
    )
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        let scope: String = r.try_get(1)?;
        let holder: String = r.try_get(3)?;
        Ok(Override {
            competence: r.try_get(0)?,
            scope_level: Level::from_code(&scope)
                .ok_or_else(|| anyhow::anyhow!("portée inconnue {scope}"))?,
            scope_code: r.try_get(2)?,
            holder: Holder {
                level: Level::from_code(&holder)
                    .ok_or_else(|| anyhow::anyhow!("niveau inconnu {holder}"))?,
                code: r.try_get(4)?,
            },
        })
    })
    .collect()
}

/// Sets who holds a competence in a territory, with its trace; the search sees it.
pub async fn set_override(db: &Db, o: &Override, trace: Trace) -> anyhow::Result<()> {
    save_overrides(db, std::slice::from_ref(o), trace).await
}

async fn set_override_in(conn: &mut sqlx::AnyConnection, o: &Override) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO competence_overrides (competence, scope_kind, scope_code, holder_kind, holder_code) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (competence, scope_kind, scope_code) DO UPDATE SET holder_kind = $4, holder_code = $5",
    )
    .bind(&o.competence)
    .bind(o.scope_level.code())
    .bind(&o.scope_code)
    .bind(o.holder.level.code())
    .bind(&o.holder.code)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes an override, with its trace (none when there was nothing to remove).
pub async fn remove_override(
    db: &Db,
    competence: &str,
    scope: Level,
    code: &str,
    trace: Trace,
) -> anyhow::Result<bool> {
    let (competence, code) = (competence.to_string(), code.to_string());
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "DELETE FROM competence_overrides WHERE competence = $1 AND scope_kind = $2 AND scope_code = $3",
            )
            .bind(competence)
            .bind(scope.code())
            .bind(code)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(None);
            }
            crate::recherche::bump_in(conn).await?;
            Ok(Some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Where a commune sits (its EPCI, département, région), from the territory referential.
pub async fn chain(db: &Db, insee: &str) -> anyhow::Result<Option<Chain>> {
    let Some(d) = crate::territoire::commune_details(db, insee).await? else {
        return Ok(None);
    };
    Ok(Some(Chain {
        commune: d.commune.insee.clone(),
        epci: d.epci.map(|e| e.siren),
        departement: d.commune.departement_code.clone(),
        region: d.commune.region_code.clone(),
    }))
}

/// The name of an entity of the territory, for the resident.
pub async fn holder_name(db: &Db, h: &Holder) -> anyhow::Result<String> {
    Ok(match h.level {
        Level::Commune => crate::territoire::commune_by_insee(db, &h.code)
            .await?
            .map(|c| format!("Mairie de {}", c.nom)),
        Level::Epci => crate::territoire::epci(db, &h.code).await?.map(|e| e.nom),
        Level::Departement => crate::territoire::departement(db, &h.code)
            .await?
            .map(|d| format!("Département : {}", d.nom)),
        Level::Region => crate::territoire::region(db, &h.code)
            .await?
            .map(|r| format!("Région {}", r.nom)),
        Level::Etat => Some("Services de l'État".into()),
    }
    .unwrap_or_else(|| h.code.clone()))
}

#[derive(Debug, Clone)]
pub struct NationalService {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub url: String,
    pub situation: String,
    pub keywords: String,
}

pub async fn national_services(db: &Db) -> anyhow::Result<Vec<NationalService>> {
    sqlx::query("SELECT id, title, description, url, situation, keywords FROM national_services ORDER BY title")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(NationalService {
                id: r.try_get(0)?,
                title: r.try_get(1)?,
                description: r.try_get(2)?,
                url: r.try_get(3)?,
                situation: r.try_get(4)?,
                keywords: r.try_get(5)?,
            })
        })
        .collect()
}

/// Adds a national service the search points to, with its trace.
pub async fn add_national_service(
    db: &Db,
    s: &NationalService,
    trace: Trace,
) -> anyhow::Result<i64> {
    let s = s.clone();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            let id = sqlx::query(
                "INSERT INTO national_services (title, description, url, situation, keywords) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&s.title)
            .bind(&s.description)
            .bind(&s.url)
            .bind(&s.situation)
            .bind(&s.keywords)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            crate::recherche::bump_in(conn).await?;
            Ok(id)
        })
    })
    .await
}

/// Removes a national service, with its trace.
pub async fn remove_national_service(db: &Db, id: i64, trace: Trace) -> anyhow::Result<bool> {
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let n = sqlx::query("DELETE FROM national_services WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if n != 1 {
                return Ok(None);
            }
            crate::recherche::bump_in(conn).await?;
            Ok(Some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Groups of equivalent expressions: (id, terms).
pub async fn synonyms(db: &Db) -> anyhow::Result<Vec<(i64, Vec<String>)>> {
    sqlx::query("SELECT id, terms FROM synonyms ORDER BY id")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let terms: String = r.try_get(1)?;
            Ok((
                r.try_get(0)?,
                terms
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            ))
        })
        .collect()
}

/// Adds a group of equivalent expressions for the search, with its trace.
pub async fn add_synonyms(db: &Db, terms: &[String], trace: Trace) -> anyhow::Result<()> {
    let terms = terms.join(", ");
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO synonyms (terms) VALUES ($1)")
                .bind(terms)
                .execute(&mut *conn)
                .await?;
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}

/// Removes a group of synonyms, with its trace.
pub async fn remove_synonyms(db: &Db, id: i64, trace: Trace) -> anyhow::Result<()> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            sqlx::query("DELETE FROM synonyms WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}

const CSV_HEADER: [&str; 5] = ["code", "libelle", "niveau", "situation", "mots_cles"];

/// The competences as CSV (`;`-separated, UTF-8), then the overrides in a second file.
pub fn competences_csv(list: &[Competence]) -> anyhow::Result<String> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for c in list {
        w.write_record([&c.code, &c.label, c.level.code(), &c.situation, &c.keywords])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Reads competences from CSV; every line is checked before anything is written. Errors name
/// the line, in French.
pub fn parse_competences_csv(text: &str) -> Result<Vec<Competence>, Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut out = Vec::new();
    match r.headers() {
        Ok(h) if h.iter().map(str::trim).eq(CSV_HEADER) => {}
        _ => {
            return Err(vec![format!(
                "ligne 1 : l'en-tête doit être « {} »",
                CSV_HEADER.join(";")
            )])
        }
    }
    for (i, record) in r.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(rec) => rec,
            Err(e) => {
                errors.push(format!("ligne {line} : ligne illisible ({e})"));
                continue;
            }
        };
        let get = |n: usize| record.get(n).unwrap_or_default().trim().to_string();
        let code = get(0);
        if code.is_empty()
            || !code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            errors.push(format!(
                "ligne {line} : code « {code} » invalide (minuscules, chiffres et _)"
            ));
        }
        let Some(level) = Level::from_code(&get(2)) else {
            errors.push(format!(
                "ligne {line} : niveau « {} » inconnu (commune, epci, departement, region ou etat)",
                get(2)
            ));
            continue;
        };
        let situation = get(3);
        if !guichet_domain::competence::SITUATIONS
            .iter()
            .any(|(c, _)| *c == situation)
        {
            errors.push(format!(
                "ligne {line} : situation de vie « {situation} » inconnue"
            ));
        }
        if get(1).is_empty() {
            errors.push(format!("ligne {line} : libellé vide"));
        }
        out.push(Competence {
            code,
            label: get(1),
            level,
            situation,
            keywords: get(4),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

const OVERRIDES_HEADER: [&str; 5] = [
    "competence",
    "portee",
    "code_portee",
    "titulaire",
    "code_titulaire",
];

/// The overrides per territory as CSV (`;`-separated).
pub fn overrides_csv(list: &[Override]) -> anyhow::Result<String> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record(OVERRIDES_HEADER)?;
    for o in list {
        w.write_record([
            o.competence.as_str(),
            o.scope_level.code(),
            &o.scope_code,
            o.holder.level.code(),
            &o.holder.code,
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Reads overrides from CSV; the lines are checked (levels, competences known to `known`)
/// before anything is written. Errors name the line, in French.
pub fn parse_overrides_csv(text: &str, known: &[Competence]) -> Result<Vec<Override>, Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    match r.headers() {
        Ok(h) if h.iter().map(str::trim).eq(OVERRIDES_HEADER) => {}
        _ => {
            return Err(vec![format!(
                "ligne 1 : l'en-tête doit être « {} »",
                OVERRIDES_HEADER.join(";")
            )])
        }
    }
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for (i, record) in r.records().enumerate() {
        let line = i + 2;
        let Ok(record) = record else {
            errors.push(format!("ligne {line} : ligne illisible"));
            continue;
        };
        let get = |n: usize| record.get(n).unwrap_or_default().trim().to_string();
        if !known.iter().any(|c| c.code == get(0)) {
            errors.push(format!("ligne {line} : compétence « {} » inconnue", get(0)));
        }
        let scope = Level::from_code(&get(1))
            .filter(|l| matches!(l, Level::Commune | Level::Epci | Level::Departement));
        let holder = Level::from_code(&get(3));
        match (scope, holder) {
            (Some(scope_level), Some(level)) if !get(2).is_empty() && (level == Level::Etat || !get(4).is_empty()) => {
                out.push(Override {
                    competence: get(0),
                    scope_level,
                    scope_code: get(2),
                    holder: Holder {
                        level,
                        code: if level == Level::Etat { String::new() } else { get(4) },
                    },
                })
            }
            _ => errors.push(format!(
                "ligne {line} : portée (commune, epci, departement) et titulaire (commune, epci, departement, region, etat) avec leurs codes"
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Writes competences (already checked), all or none, with their trace; the search sees them.
pub async fn save_all(db: &Db, list: &[Competence], trace: Trace) -> anyhow::Result<()> {
    let list = list.to_vec();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            for c in &list {
                upsert_in(conn, c).await?;
            }
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}

/// Writes overrides (already checked), all or none, with their trace; the search sees them.
pub async fn save_overrides(db: &Db, list: &[Override], trace: Trace) -> anyhow::Result<()> {
    let list = list.to_vec();
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            for o in &list {
                set_override_in(conn, o).await?;
            }
            crate::recherche::bump_in(conn).await
        })
    })
    .await
}
