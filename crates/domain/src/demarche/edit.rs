//! Edits of a definition by the no-code editor: each one is applied to a copy and kept only if
//! the result still passes every check (ids unique, conditions on earlier fields, bounds…).

use super::definition::{Definition, DefinitionError, Field, FieldKind, Page};

#[derive(Debug, Clone)]
pub enum Edit {
    AddPage {
        title: String,
    },
    RenamePage {
        page: usize,
        title: String,
    },
    /// Removes an empty page (a page with fields must be emptied first: nothing lost by mistake).
    RemovePage {
        page: usize,
    },
    /// Adds at the end of a page, or of a block when `block` names one.
    AddField {
        page: usize,
        block: Option<String>,
        field: Field,
    },
    /// Replaces a field's properties, keeping its place (and a block's inner fields).
    UpdateField {
        id: String,
        field: Field,
    },
    /// Moves a field one place up or down within its page or block; across pages at the edges.
    MoveField {
        id: String,
        up: bool,
    },
    RemoveField {
        id: String,
    },
    /// Adds a rule between fields (checked like an imported one).
    AddRule {
        rule: super::definition::Regle,
    },
    /// Removes the rule at this place (0-based).
    RemoveRule {
        index: usize,
    },
}

fn error(message: impl Into<String>) -> Vec<DefinitionError> {
    vec![DefinitionError {
        line: 0,
        message: message.into(),
    }]
}

/// Where a field sits: (page, index in the page, index in its block if inside one).
fn locate(def: &Definition, id: &str) -> Option<(usize, usize, Option<usize>)> {
    for (p, page) in def.pages.iter().enumerate() {
        for (i, f) in page.fields.iter().enumerate() {
            if f.id == id {
                return Some((p, i, None));
            }
            if let FieldKind::Block { fields, .. } = &f.kind {
                if let Some(j) = fields.iter().position(|g| g.id == id) {
                    return Some((p, i, Some(j)));
                }
            }
        }
    }
    None
}

/// An identifier for a new field, from its label: "Nom de l'enfant" → "nom_de_l_enfant",
/// numbered if taken.
pub fn new_id(def: &Definition, label: &str) -> String {
    let base: String = crate::text::fold(label)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .collect::<Vec<_>>()
        .join("_");
    let base = if base.is_empty() {
        "champ".to_string()
    } else {
        base
    };
    let taken = |id: &str| def.all_fields().iter().any(|f| f.id == id);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|id| !taken(id))
        .unwrap_or(base)
}

impl Definition {
    /// The definition with the edit applied, if it is still valid; else the reasons, in French.
    pub fn apply(&self, edit: Edit) -> Result<Definition, Vec<DefinitionError>> {
        let mut def = self.clone();
        match edit {
            Edit::AddPage { title } => def.pages.push(Page {
                title,
                fields: Vec::new(),
            }),
            Edit::RenamePage { page, title } => {
                def.pages
                    .get_mut(page)
                    .ok_or_else(|| error("cette page n'existe pas"))?
                    .title = title;
            }
            Edit::RemovePage { page } => {
                let p = def
                    .pages
                    .get(page)
                    .ok_or_else(|| error("cette page n'existe pas"))?;
                if !p.fields.is_empty() {
                    return Err(error(
                        "la page contient encore des champs : supprimez-les ou déplacez-les d'abord",
                    ));
                }
                def.pages.remove(page);
            }
            Edit::AddField { page, block, field } => {
                let p = def
                    .pages
                    .get_mut(page)
                    .ok_or_else(|| error("cette page n'existe pas"))?;
                match block {
                    None => p.fields.push(field),
                    Some(b) => {
                        let target = p.fields.iter_mut().find(|f| f.id == b).ok_or_else(|| {
                            error(format!("le bloc \"{b}\" n'est pas sur cette page"))
                        })?;
                        match &mut target.kind {
                            FieldKind::Block { fields, .. } => fields.push(field),
                            _ => return Err(error(format!("\"{b}\" n'est pas un bloc répétable"))),
                        }
                    }
                }
            }
            Edit::UpdateField { id, mut field } => {
                let (p, i, j) = locate(&def, &id)
                    .ok_or_else(|| error(format!("champ \"{id}\" introuvable")))?;
                let slot = match j {
                    None => &mut def.pages[p].fields[i],
                    Some(j) => match &mut def.pages[p].fields[i].kind {
                        FieldKind::Block { fields, .. } => &mut fields[j],
                        _ => unreachable!("located inside a block"),
                    },
                };
                // A block keeps its inner fields: they are edited one by one.
                if let (
                    FieldKind::Block { fields: old, .. },
                    FieldKind::Block { fields: new, .. },
                ) = (&slot.kind, &mut field.kind)
                {
                    *new = old.clone();
                }
                *slot = field;
            }
            Edit::MoveField { id, up } => {
                let (p, i, j) = locate(&def, &id)
                    .ok_or_else(|| error(format!("champ \"{id}\" introuvable")))?;
                match j {
                    Some(j) => {
                        let FieldKind::Block { fields, .. } = &mut def.pages[p].fields[i].kind
                        else {
                            unreachable!("located inside a block")
                        };
                        let to = if up { j.checked_sub(1) } else { Some(j + 1) };
                        match to.filter(|t| *t < fields.len()) {
                            Some(t) => fields.swap(j, t),
                            None => {
                                return Err(error("le champ est déjà à cette extrémité du bloc"))
                            }
                        }
                    }
                    None => {
                        let len = def.pages[p].fields.len();
                        if up && i > 0 {
                            def.pages[p].fields.swap(i, i - 1);
                        } else if !up && i + 1 < len {
                            def.pages[p].fields.swap(i, i + 1);
                        } else if up && p > 0 {
                            let f = def.pages[p].fields.remove(i);
                            def.pages[p - 1].fields.push(f);
                        } else if !up && p + 1 < def.pages.len() {
                            let f = def.pages[p].fields.remove(i);
                            def.pages[p + 1].fields.insert(0, f);
                        } else {
                            return Err(error("le champ est déjà à cette extrémité du formulaire"));
                        }
                    }
                }
            }
            Edit::AddRule { rule } => def.rules.push(rule),
            Edit::RemoveRule { index } => {
                if index >= def.rules.len() {
                    return Err(error("cette règle n'existe pas"));
                }
                def.rules.remove(index);
            }
            Edit::RemoveField { id } => {
                let (p, i, j) = locate(&def, &id)
                    .ok_or_else(|| error(format!("champ \"{id}\" introuvable")))?;
                match j {
                    None => {
                        def.pages[p].fields.remove(i);
                    }
                    Some(j) => {
                        if let FieldKind::Block { fields, .. } = &mut def.pages[p].fields[i].kind {
                            fields.remove(j);
                        }
                    }
                }
            }
        }
        let errors = def.check();
        if errors.is_empty() {
            Ok(def)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demarche::Condition;

    fn field(id: &str, kind: FieldKind) -> Field {
        Field {
            id: id.into(),
            label: id.to_uppercase(),
            help: None,
            required: false,
            condition: None,
            profile: None,
            kind,
        }
    }

    fn base() -> Definition {
        Definition::from_json(
            r#"{"title": "T", "description": "D", "retention_months": 12, "pages": [
                {"title": "Un", "fields": [
                    {"id": "chauffage", "label": "Chauffage ?", "type": "yes_no"},
                    {"id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "fields": [
                        {"id": "prenom", "label": "Prénom", "type": "short_text"}
                    ]}
                ]},
                {"title": "Deux", "fields": []}
            ]}"#,
        )
        .expect("valid")
    }

    #[test]
    fn a_field_with_a_condition_is_added_after_its_source() {
        let mut f = field(
            "puissance",
            FieldKind::Decimal {
                min: None,
                max: None,
            },
        );
        f.condition = Some(Condition::equals("chauffage", vec!["oui".into()]));
        let def = base()
            .apply(Edit::AddField {
                page: 1,
                block: None,
                field: f.clone(),
            })
            .expect("added");
        assert_eq!(def.pages[1].fields[0].id, "puissance");
        // Moving it above its source breaks the condition: refused, in French.
        let moved = def.apply(Edit::MoveField {
            id: "puissance".into(),
            up: true,
        });
        assert!(moved.is_ok(), "to the end of page 1, still after chauffage");
        let refused = moved
            .expect("moved")
            .apply(Edit::MoveField {
                id: "puissance".into(),
                up: true,
            })
            .and_then(|d| {
                d.apply(Edit::MoveField {
                    id: "puissance".into(),
                    up: true,
                })
            });
        let errors = refused.expect_err("above its source");
        assert!(errors[0]
            .message
            .contains("n'est pas un champ placé avant lui"));
        // Removing the source is refused too.
        let errors = def
            .apply(Edit::RemoveField {
                id: "chauffage".into(),
            })
            .expect_err("condition source");
        assert!(errors[0].message.contains("puissance"));
    }

    #[test]
    fn fields_go_into_blocks_and_blocks_keep_their_fields_when_edited() {
        let def = base()
            .apply(Edit::AddField {
                page: 0,
                block: Some("enfants".into()),
                field: field(
                    "naissance",
                    FieldKind::Date {
                        min: None,
                        max: None,
                        age: None,
                        within: None,
                    },
                ),
            })
            .expect("added in the block");
        assert_eq!(
            def.field("enfants").map(|f| f.label.clone()),
            Some("Enfants".into())
        );
        let mut block = def.field("enfants").expect("block").clone();
        block.label = "Vos enfants".into();
        if let FieldKind::Block { fields, max, .. } = &mut block.kind {
            fields.clear();
            *max = 5;
        }
        let def = def
            .apply(Edit::UpdateField {
                id: "enfants".into(),
                field: block,
            })
            .expect("updated");
        let FieldKind::Block { fields, max, .. } = &def.field("enfants").expect("block").kind
        else {
            panic!("still a block")
        };
        assert_eq!((fields.len(), *max), (2, 5));
        let def = def
            .apply(Edit::MoveField {
                id: "naissance".into(),
                up: true,
            })
            .expect("moved up in the block");
        let FieldKind::Block { fields, .. } = &def.field("enfants").expect("block").kind else {
            panic!("block")
        };
        assert_eq!(fields[0].id, "naissance");
        assert!(
            def.apply(Edit::AddField {
                page: 0,
                block: Some("enfants".into()),
                field: field(
                    "autre",
                    FieldKind::Block {
                        fields: vec![field("x", FieldKind::Email)],
                        min: 0,
                        max: 2,
                        item_label: "X".into()
                    }
                ),
            })
            .is_err(),
            "no block in a block"
        );
    }

    #[test]
    fn ids_are_derived_from_labels_and_unique() {
        let def = base();
        assert_eq!(new_id(&def, "Nom de l'enfant"), "nom_de_l_enfant");
        assert_eq!(new_id(&def, "Chauffage"), "chauffage_2");
        assert_eq!(new_id(&def, "???"), "champ");
    }

    #[test]
    fn a_page_with_fields_is_not_removed() {
        assert!(base().apply(Edit::RemovePage { page: 0 }).is_err());
        assert_eq!(
            base()
                .apply(Edit::RemovePage { page: 1 })
                .expect("empty page")
                .pages
                .len(),
            1
        );
        assert!(base().apply(Edit::RemovePage { page: 7 }).is_err());
    }
}
