//! One step of a dossier being filled: what the usager typed and the files they sent, applied to
//! the answers already saved, as the form's rules say. Pure: the web layer reads the form, the
//! store writes what this decides, in one commit.

use crate::demarche::values::{check_file, FieldError};
use crate::demarche::{Answers, Definition, Field, FieldKind};

/// A file sent with the step (uploaded, or chosen in the usager's coffre), with the id it will
/// be stored under if it is accepted.
#[derive(Debug, Clone)]
pub struct Upload {
    pub key: String,
    pub name: String,
    pub bytes: Vec<u8>,
    pub id: String,
    /// The coffre document it is a copy of, if any.
    pub from_coffre: Option<String>,
}

/// A file the step keeps: stored under `upload.id`, its type checked.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub upload: Upload,
    pub mime: &'static str,
}

/// What the button pressed asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Save and go on (the page is checked).
    Continue,
    /// Save only (the page is not checked).
    Save,
    /// Add a repetition of a block.
    AddItem(String),
    /// Remove a repetition of a block (`enfants[1]`).
    RemoveItem(String),
    /// Remove a file of a field.
    RemoveFile { key: String, file: String },
}

impl Action {
    pub fn parse(action: Option<&str>) -> Self {
        let action = action.unwrap_or("continuer");
        if let Some(target) = action.strip_prefix("supprimer-fichier:") {
            if let Some((key, file)) = target.split_once('|') {
                return Self::RemoveFile {
                    key: key.to_string(),
                    file: file.to_string(),
                };
            }
        }
        if let Some(block) = action.strip_prefix("ajouter:") {
            return Self::AddItem(block.to_string());
        }
        if let Some(item) = action.strip_prefix("retirer:") {
            return Self::RemoveItem(item.to_string());
        }
        if action == "enregistrer" {
            Self::Save
        } else {
            Self::Continue
        }
    }

    /// Whether the page stays shown after saving (anything but "Continuer").
    pub fn stays(&self) -> bool {
        !matches!(self, Self::Continue)
    }
}

/// What applying a step gives: the answers to save, the files to store and to remove, and the
/// uploads refused (each reported on its field; everything else is kept).
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub answers: Answers,
    pub stored: Vec<Accepted>,
    /// Ids of the files no longer part of the dossier (replaced, or removed by the usager).
    pub removed: Vec<String>,
    pub refused: Vec<FieldError>,
}

/// Whether an input name belongs to one of these fields (block repetitions included).
pub fn belongs(key: &str, fields: &[Field]) -> bool {
    fields
        .iter()
        .any(|f| key == f.id || key.starts_with(&format!("{}[", f.id)))
}

/// The field an input name refers to (`enfants[0].pai` → the field `pai`).
pub fn field_of<'a>(def: &'a Definition, key: &str) -> Option<&'a Field> {
    def.field(key.rsplit('.').next().unwrap_or(key))
}

fn file_id(value: &str) -> &str {
    value.trim_start_matches("fichier:")
}

/// Applies what was typed on page `step` to the saved answers: this page's answers replace the
/// saved ones (except files, which a form never sends back), other pages' are kept; each upload
/// is checked by its content and size and against the field's number of files (a single-file
/// field replaces its file); then the action (a repetition added or removed, a file removed).
pub fn apply(
    def: &Definition,
    step: usize,
    saved: &Answers,
    typed: Answers,
    uploads: Vec<Upload>,
    action: &Action,
) -> Step {
    let Some(page) = def.pages.get(step) else {
        return Step {
            answers: saved.clone(),
            ..Step::default()
        };
    };
    let fields = &page.fields;
    let is_file = |k: &str| {
        matches!(
            field_of(def, k).map(|f| &f.kind),
            Some(FieldKind::File { .. })
        )
    };
    let mut out = Step {
        answers: saved.clone(),
        ..Step::default()
    };
    out.answers
        .0
        .retain(|k, _| !belongs(k, fields) || is_file(k));
    for (k, v) in typed.0 {
        if belongs(&k, fields) && !is_file(&k) {
            out.answers.0.insert(k, v);
        }
    }
    for upload in uploads {
        let Some(FieldKind::File {
            accept,
            max_size_mb,
            max_files,
        }) = field_of(def, &upload.key).map(|f| f.kind.clone())
        else {
            continue;
        };
        if !belongs(&upload.key, fields) {
            continue;
        }
        match check_file(&upload.bytes, &accept, max_size_mb) {
            Ok(mime) => {
                let current = out.answers.0.entry(upload.key.clone()).or_default();
                if max_files == 1 {
                    out.removed
                        .extend(current.drain(..).map(|v| file_id(&v).to_string()));
                } else if current.len() >= max_files as usize {
                    out.refused.push(FieldError {
                        key: upload.key.clone(),
                        message: format!("{max_files} fichiers au maximum : retirez-en un avant d'en ajouter un autre."),
                    });
                    continue;
                }
                current.push(format!("fichier:{}", upload.id));
                out.stored.push(Accepted { upload, mime });
            }
            Err(message) => out.refused.push(FieldError {
                key: upload.key.clone(),
                message: format!(
                    "« {} » n'a pas été joint : {message}",
                    crate::text::safe_file_name(&upload.name, None)
                ),
            }),
        }
    }
    match action {
        Action::RemoveFile { key, file } => {
            if let Some(values) = out.answers.0.get_mut(key) {
                let before = values.len();
                values.retain(|v| file_id(v) != file);
                if values.len() < before {
                    out.removed.push(file.clone());
                }
            }
        }
        Action::AddItem(block) => out.answers.add_item(block),
        Action::RemoveItem(item) => out.answers.remove_item(item),
        Action::Continue | Action::Save => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = r#"{"title": "T", "description": "D", "retention_months": 12, "pages": [
        {"title": "Vous", "fields": [
            {"id": "nom", "label": "Nom", "type": "short_text"},
            {"id": "piece", "label": "Pièce", "type": "file", "accept": ["application/pdf"], "max_size_mb": 1},
            {"id": "photos", "label": "Photos", "type": "file", "accept": ["image/png"], "max_size_mb": 1, "max_files": 2}
        ]},
        {"title": "Autre", "fields": [{"id": "note", "label": "Note", "type": "short_text"}]}
    ]}"#;

    fn upload(key: &str, bytes: &[u8], id: &str) -> Upload {
        Upload {
            key: key.into(),
            name: format!("{id}.bin"),
            bytes: bytes.to_vec(),
            id: id.into(),
            from_coffre: None,
        }
    }

    const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF";
    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    #[test]
    fn a_step_replaces_its_page_keeps_the_others_and_checks_each_file_on_its_own() {
        let def = Definition::from_json(DEF).expect("definition");
        let mut saved = Answers::default();
        saved.set("nom", vec!["Ancien".into()]);
        saved.set("note", vec!["autre page".into()]);
        saved.set("piece", vec!["fichier:vieux".into()]);
        let mut typed = Answers::default();
        typed.set("nom", vec!["Camille".into()]);
        typed.set("note", vec!["ignoré : pas sur cette page".into()]);
        let step = apply(
            &def,
            0,
            &saved,
            typed,
            vec![
                upload("piece", PDF, "neuf"),
                upload("photos", PDF, "refuse"),
                upload("photos", PNG, "p1"),
                upload("photos", PNG, "p2"),
                upload("photos", PNG, "p3"),
            ],
            &Action::Continue,
        );
        assert_eq!(
            step.answers.0.get("nom"),
            Some(&vec!["Camille".to_string()])
        );
        assert_eq!(
            step.answers.0.get("note"),
            Some(&vec!["autre page".to_string()])
        );
        // A single-file field replaces its file; the old one goes.
        assert_eq!(
            step.answers.0.get("piece"),
            Some(&vec!["fichier:neuf".to_string()])
        );
        assert_eq!(step.removed, vec!["vieux".to_string()]);
        let kept: Vec<&str> = step.stored.iter().map(|a| a.upload.id.as_str()).collect();
        assert_eq!(kept, ["neuf", "p1", "p2"]);
        let refused: Vec<&str> = step.refused.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            refused,
            ["photos", "photos"],
            "a PDF for photos, a third photo"
        );
    }

    #[test]
    fn actions_add_and_remove_repetitions_and_files() {
        let def = Definition::from_json(DEF).expect("definition");
        let mut saved = Answers::default();
        saved.set("photos", vec!["fichier:a".into(), "fichier:b".into()]);
        let removed = apply(
            &def,
            0,
            &saved,
            Answers::default(),
            Vec::new(),
            &Action::parse(Some("supprimer-fichier:photos|a")),
        );
        assert_eq!(
            removed.answers.0.get("photos"),
            Some(&vec!["fichier:b".to_string()])
        );
        assert_eq!(removed.removed, vec!["a".to_string()]);
        // A file of another dossier cannot be named for removal.
        let other = apply(
            &def,
            0,
            &saved,
            Answers::default(),
            Vec::new(),
            &Action::parse(Some("supprimer-fichier:photos|z")),
        );
        assert!(other.removed.is_empty());
        assert_eq!(Action::parse(Some("enregistrer")), Action::Save);
        assert_eq!(Action::parse(None), Action::Continue);
        assert!(Action::parse(Some("ajouter:enfants")).stays());
    }
}
