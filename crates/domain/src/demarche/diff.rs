//! What changed between two versions of a definition, in plain French: what an admin reads
//! before updating a démarche adopted from a shared template.

use super::definition::{Definition, Field, FieldKind};

fn quoted(s: &str) -> String {
    format!("« {s} »")
}

fn describe_kind(k: &FieldKind) -> String {
    k.label().to_string()
}

/// The properties of a field that differ, named for an admin.
fn field_changes(a: &Field, b: &Field) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.label != b.label {
        out.push("libellé");
    }
    if a.help != b.help {
        out.push("aide");
    }
    if a.required != b.required {
        out.push(if b.required {
            "devient obligatoire"
        } else {
            "devient facultatif"
        });
    }
    if a.condition != b.condition {
        out.push("condition d'affichage");
    }
    if std::mem::discriminant(&a.kind) != std::mem::discriminant(&b.kind) {
        out.push("type");
    } else if a.kind != b.kind {
        out.push(match &b.kind {
            FieldKind::SingleChoice { .. } | FieldKind::MultipleChoice { .. } => "options",
            FieldKind::File { .. } => "formats ou taille des fichiers",
            FieldKind::Block { .. } => "contenu ou répétitions du bloc",
            _ => "bornes",
        });
    }
    out
}

/// The changes from `old` to `new`, one line each, in the order of the form.
pub fn describe(old: &Definition, new: &Definition) -> Vec<String> {
    let mut out = Vec::new();
    let mut text = |what: &str, a: &str, b: &str| {
        if a != b {
            out.push(format!("{what} : {} devient {}", quoted(a), quoted(b)));
        }
    };
    text("Titre", &old.title, &new.title);
    text("Description", &old.description, &new.description);
    text("Public", &old.audience, &new.audience);
    let delay = |d: Option<crate::delai::Delai>| {
        d.map(crate::delai::Delai::label)
            .unwrap_or_else(|| "aucun".into())
    };
    text(
        "Délai d'instruction",
        &delay(old.instruction_delay()),
        &delay(new.instruction_delay()),
    );
    text(
        "Après une demande de correction",
        old.after_correction.label(),
        new.after_correction.label(),
    );
    text(
        "À l'expiration du délai",
        old.tacit_rule.label(),
        new.tacit_rule.label(),
    );
    text(
        "Documents à préparer",
        &old.documents.join(", "),
        &new.documents.join(", "),
    );
    text(
        "Compétence",
        old.competence.as_deref().unwrap_or(""),
        new.competence.as_deref().unwrap_or(""),
    );
    if old.retention_months != new.retention_months {
        out.push(format!(
            "Conservation : {} mois devient {} mois",
            old.retention_months, new.retention_months
        ));
    }
    if old.decision_letter != new.decision_letter {
        out.push("Lettre de décision modifiée".into());
    }
    for p in &new.pages {
        if !old.pages.iter().any(|o| o.title == p.title) {
            out.push(format!("Page ajoutée : {}", quoted(&p.title)));
        }
    }
    for p in &old.pages {
        if !new.pages.iter().any(|n| n.title == p.title) {
            out.push(format!("Page retirée : {}", quoted(&p.title)));
        }
    }
    let old_fields = old.all_fields();
    let new_fields = new.all_fields();
    for f in &new_fields {
        match old_fields.iter().find(|o| o.id == f.id) {
            None => out.push(format!(
                "Champ ajouté : {} ({}{})",
                quoted(&f.label),
                describe_kind(&f.kind),
                if f.required { ", obligatoire" } else { "" }
            )),
            Some(o) => {
                let changes = field_changes(o, f);
                if !changes.is_empty() {
                    out.push(format!(
                        "Champ modifié : {} ({})",
                        quoted(&f.label),
                        changes.join(", ")
                    ));
                }
            }
        }
    }
    for o in &old_fields {
        if !new_fields.iter().any(|f| f.id == o.id) {
            out.push(format!("Champ retiré : {}", quoted(&o.label)));
        }
    }
    let order = |fields: &[&Field]| fields.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    let kept_old: Vec<String> = order(&old_fields)
        .into_iter()
        .filter(|id| new_fields.iter().any(|f| &f.id == id))
        .collect();
    let kept_new: Vec<String> = order(&new_fields)
        .into_iter()
        .filter(|id| old_fields.iter().any(|f| &f.id == id))
        .collect();
    if kept_old != kept_new {
        out.push("Ordre des champs modifié".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(extra: &str, deadline: u32) -> Definition {
        Definition::from_json(&format!(
            r#"{{"title": "Aide", "description": "D", "retention_months": 12, "deadline_days": {deadline},
               "pages": [{{"title": "Vous", "fields": [
                 {{"id": "nom", "label": "Nom", "type": "short_text", "required": true}},
                 {{"id": "choix", "label": "Choix", "type": "single_choice", "options": ["a", "b"]}}
                 {extra}
               ]}}]}}"#
        ))
        .expect("valid")
    }

    #[test]
    fn additions_changes_and_removals_are_named() {
        let old = def("", 30);
        let new = def(
            r#", {"id": "iban", "label": "IBAN pour le versement", "type": "iban", "required": true}"#,
            45,
        );
        let lines = describe(&old, &new);
        assert!(
            lines.contains(&"Délai d'instruction : « 30 jours » devient « 45 jours »".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(
                &"Champ ajouté : « IBAN pour le versement » (IBAN, obligatoire)".to_string()
            ),
            "{lines:?}"
        );
        let back = describe(&new, &old);
        assert!(back.contains(&"Champ retiré : « IBAN pour le versement »".to_string()));
        let mut changed = old.clone();
        if let FieldKind::SingleChoice { options } = &mut changed.pages[0].fields[1].kind {
            options.push("c".into());
        }
        changed.pages[0].fields[0].required = false;
        let lines = describe(&old, &changed);
        assert!(
            lines.contains(&"Champ modifié : « Choix » (options)".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"Champ modifié : « Nom » (devient facultatif)".to_string()),
            "{lines:?}"
        );
        assert!(describe(&old, &old).is_empty());
    }
}
