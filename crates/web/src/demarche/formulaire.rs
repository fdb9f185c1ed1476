//! Renders a démarche's fields as accessible HTML form controls, and reads them back. Works
//! without JavaScript: repeatable blocks are grown and shrunk with submit buttons. A condition on
//! earlier steps is settled here (the field is there or not); a condition on the same step is
//! spelled out, and `conditions.js` hides and reveals the field as the usager answers.

use guichet_domain::demarche::{values, Answers, Field, FieldError, FieldKind};
use std::collections::HashSet;
use std::fmt::Write;

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An input name as an HTML id: `enfants[0].prenom` → `enfants-0-prenom`.
pub fn dom_id(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

pub struct Renderer<'a> {
    pub answers: &'a Answers,
    pub errors: &'a [FieldError],
    /// Labels of every field, to spell out conditions.
    pub labels: Vec<(String, String)>,
    /// Prefix of every element id (a preview next to a real form must not reuse its ids).
    pub id_prefix: &'a str,
    /// Names of the files already attached, by file id.
    pub file_names: &'a std::collections::HashMap<String, String>,
    /// The usager's vault documents that can be attached in one action: (id, label, MIME type).
    pub coffre: &'a [(String, String, String)],
    /// Whether the answers of earlier steps are known (a dossier), so that conditions on them are
    /// settled; not in the editor's preview, which shows every field.
    pub settle_earlier: bool,
}

/// Ids of the fields rendered together (blocks' fields included).
fn ids_of(fields: &[Field], out: &mut HashSet<String>) {
    for f in fields {
        out.insert(f.id.clone());
        if let FieldKind::Block { fields, .. } = &f.kind {
            ids_of(fields, out);
        }
    }
}

impl Renderer<'_> {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.message.as_str())
    }

    fn described(&self, out: &mut String, id: &str, help: bool, error: bool, condition: bool) {
        let mut ids = Vec::new();
        if help {
            ids.push(format!("{id}-aide"));
        }
        if condition {
            ids.push(format!("{id}-condition"));
        }
        if error {
            ids.push(format!("{id}-erreur"));
        }
        if !ids.is_empty() {
            let _ = write!(out, " aria-describedby=\"{}\"", ids.join(" "));
        }
        if error {
            out.push_str(" aria-invalid=\"true\"");
        }
    }

    fn preamble(&self, out: &mut String, field: &Field, id: &str, key: &str) {
        let aide: Vec<String> = [field.help.clone(), rule_hint(&field.kind)]
            .into_iter()
            .flatten()
            .collect();
        if !aide.is_empty() {
            let _ = write!(
                out,
                "<p class=\"hint\" id=\"{id}-aide\">{}</p>",
                esc(&aide.join(" "))
            );
        }
        if let Some(c) = &field.condition {
            let label = |f: &str| {
                self.labels
                    .iter()
                    .find(|(i, _)| i == f)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| f.to_string())
            };
            let _ = write!(
                out,
                "<p class=\"hint condition\" id=\"{id}-condition\">À remplir seulement si {}.</p>",
                esc(&c.describe(&label))
            );
        }

        if let Some(e) = self.error(key) {
            let _ = write!(out, "<p class=\"error\" id=\"{id}-erreur\">{}</p>", esc(e));
        }
    }

    /// Renders the fields of one step.
    pub fn render(&self, fields: &[Field]) -> String {
        let mut here = HashSet::new();
        ids_of(fields, &mut here);
        let mut out = String::new();
        self.fields(fields, None, &here, false, &mut out);
        out
    }

    /// `quiet`: inside a condition that does not hold yet, nothing says "(obligatoire)".
    fn fields(
        &self,
        fields: &[Field],
        prefix: Option<&str>,
        here: &HashSet<String>,
        quiet: bool,
        out: &mut String,
    ) {
        for field in fields {
            let key = match prefix {
                Some(p) => format!("{p}.{}", field.id),
                None => field.id.clone(),
            };
            match &field.condition {
                None => self.field(field, &key, here, out, false, quiet),
                // On earlier steps only: settled now, the field is there (without its condition)
                // or not at all.
                Some(c) if self.settle_earlier && !c.fields().iter().any(|f| here.contains(*f)) => {
                    if values::holds(c, self.answers, prefix) {
                        self.field(field, &key, here, out, true, quiet);
                    }
                }
                Some(c) => {
                    let shown = values::holds(c, self.answers, prefix);
                    let _ = write!(
                        out,
                        "<div class=\"conditionnel\" data-condition=\"{}\" data-item=\"{}\" data-label=\"{}\" data-shown=\"{}\">",
                        esc(&serde_json::to_string(c).unwrap_or_default()),
                        esc(prefix.unwrap_or_default()),
                        esc(&field.label),
                        if shown { "oui" } else { "non" }
                    );
                    self.field(field, &key, here, out, false, quiet || !shown);
                    out.push_str("</div>");
                }
            }
        }
    }

    fn field(
        &self,
        field: &Field,
        key: &str,
        here: &HashSet<String>,
        out: &mut String,
        settled: bool,
        quiet: bool,
    ) {
        // A condition settled on earlier steps is not spelled out.
        let stripped;
        let field = if settled {
            stripped = Field {
                condition: None,
                ..field.clone()
            };
            &stripped
        } else {
            field
        };
        let id = format!("{}{}", self.id_prefix, dom_id(key));
        let value = self.answers.get(key).unwrap_or_default().to_string();
        let has_error = self.error(key).is_some();
        // Inside a condition that does not hold yet, the mark is there but hidden: the script
        // shows it with the field.
        let required = match (field.required, quiet) {
            (true, false) => " <span class=\"meta\">(obligatoire)</span>",
            (true, true) => " <span class=\"meta\" data-obligatoire hidden>(obligatoire)</span>",
            (false, _) => "",
        };
        let help = field.help.is_some() || rule_hint(&field.kind).is_some();
        let cond = field.condition.is_some();
        match &field.kind {
            FieldKind::Heading => {
                let _ = write!(out, "<h3>{}</h3>", esc(&field.label));
            }
            FieldKind::Explanation => {
                let _ = write!(out, "<p>{}</p>", esc(&field.label));
            }
            FieldKind::SingleChoice { .. }
            | FieldKind::MultipleChoice { .. }
            | FieldKind::YesNo => {
                let (options, multiple): (Vec<String>, bool) = match &field.kind {
                    FieldKind::SingleChoice { options } => (options.clone(), false),
                    FieldKind::MultipleChoice { options, .. } => (options.clone(), true),
                    _ => (vec!["oui".into(), "non".into()], false),
                };
                let chosen = self.answers.all(key);
                let _ = write!(out, "<fieldset class=\"field\" id=\"{id}\"");
                self.described(out, &id, help, has_error, cond);
                let _ = write!(out, "><legend>{}{required}</legend>", esc(&field.label));
                self.preamble(out, field, &id, key);
                for (i, o) in options.iter().enumerate() {
                    let checked = if chosen.contains(&o.as_str()) {
                        " checked"
                    } else {
                        ""
                    };
                    let kind = if multiple { "checkbox" } else { "radio" };
                    let label = if matches!(field.kind, FieldKind::YesNo) {
                        if o == "oui" {
                            "Oui"
                        } else {
                            "Non"
                        }
                    } else {
                        o.as_str()
                    };
                    let _ = write!(
                        out,
                        "<div class=\"checks\"><input type=\"{kind}\" id=\"{id}-{i}\" name=\"{}\" value=\"{}\"{checked}><label for=\"{id}-{i}\">{}</label></div>",
                        esc(key),
                        esc(o),
                        esc(label)
                    );
                }
                out.push_str("</fieldset>");
            }
            FieldKind::Checkbox => {
                let checked = if value.is_empty() { "" } else { " checked" };
                let _ = write!(out, "<div class=\"field checks\">");
                self.preamble(out, field, &id, key);
                let _ = write!(
                    out,
                    "<input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"coche\"{checked}",
                    esc(key)
                );
                self.described(out, &id, help, has_error, cond);
                let _ = write!(
                    out,
                    "><label for=\"{id}\">{}{required}</label></div>",
                    esc(&field.label)
                );
            }
            FieldKind::Block {
                fields,
                min,
                max,
                item_label,
            } => {
                // An optional block starts with no repetition: "Ajouter" adds one.
                let n = self
                    .answers
                    .block_len(key)
                    .max(*min as usize)
                    .min(*max as usize);
                let _ = write!(
                    out,
                    "<fieldset class=\"field\" id=\"{id}\"><legend>{}</legend>",
                    esc(&field.label)
                );
                if let Some(e) = self.error(key) {
                    let _ = write!(out, "<p class=\"error\" id=\"{id}-erreur\">{}</p>", esc(e));
                }
                for i in 0..n {
                    let item = format!("{key}[{i}]");
                    let _ = write!(
                        out,
                        "<fieldset class=\"item\"><legend>{} {}</legend>",
                        esc(item_label),
                        i + 1
                    );
                    // An empty hidden value keeps the repetition when nothing is typed yet.
                    let _ = write!(
                        out,
                        "<input type=\"hidden\" name=\"{}.__\" value=\"\">",
                        esc(&item)
                    );
                    self.fields(fields, Some(&item), here, quiet, out);
                    if n > *min as usize {
                        let _ = write!(
                            out,
                            "<button type=\"submit\" name=\"action\" value=\"retirer:{}\" class=\"secondary\">Retirer {} {}</button>",
                            esc(&item),
                            esc(&item_label.to_lowercase()),
                            i + 1
                        );
                    }
                    out.push_str("</fieldset>");
                }
                if n < *max as usize {
                    let _ = write!(
                        out,
                        "<button type=\"submit\" name=\"action\" value=\"ajouter:{}\" class=\"secondary\">Ajouter : {}</button>",
                        esc(key),
                        esc(&item_label.to_lowercase())
                    );
                }
                out.push_str("</fieldset>");
            }
            FieldKind::File {
                accept,
                max_size_mb,
                max_files,
            } => {
                let formats: Vec<&str> = values::KNOWN_FILE_TYPES
                    .iter()
                    .filter(|(m, _, _)| accept.iter().any(|a| a == m))
                    .map(|(_, l, _)| *l)
                    .collect();
                let extensions: Vec<String> = values::KNOWN_FILE_TYPES
                    .iter()
                    .filter(|(m, _, _)| accept.iter().any(|a| a == m))
                    .flat_map(|(m, _, e)| [format!(".{e}"), m.to_string()])
                    .collect();
                let _ = write!(
                    out,
                    "<div class=\"field\"><label for=\"{id}\">{}{required}</label>",
                    esc(&field.label)
                );
                let _ = write!(
                    out,
                    "<p class=\"hint\" id=\"{id}-formats\">Formats acceptés : {} ; {} Mo maximum par fichier{}.</p>",
                    formats.join(", "),
                    max_size_mb,
                    if *max_files > 1 { format!(", {max_files} fichiers au plus") } else { String::new() }
                );
                self.preamble(out, field, &id, key);
                let attached = self.answers.all(key);
                if !attached.is_empty() {
                    let _ = write!(out, "<ul class=\"files\">");
                    for v in attached {
                        let fid = v.trim_start_matches("fichier:");
                        let name = self
                            .file_names
                            .get(fid)
                            .map(String::as_str)
                            .unwrap_or("document");
                        let _ = write!(
                            out,
                            "<li>{} <button type=\"submit\" name=\"action\" value=\"supprimer-fichier:{}|{}\" class=\"link\">Retirer<span class=\"visually-hidden\"> {}</span></button></li>",
                            esc(name),
                            esc(key),
                            esc(fid),
                            esc(name)
                        );
                    }
                    out.push_str("</ul>");
                }
                let multiple = if *max_files > 1 { " multiple" } else { "" };
                let _ = write!(
                    out,
                    "<input type=\"file\" id=\"{id}\" name=\"{}\" accept=\"{}\"{multiple}",
                    esc(key),
                    esc(&extensions.join(","))
                );
                let mut ids = vec![format!("{id}-formats")];
                if help {
                    ids.push(format!("{id}-aide"));
                }
                if cond {
                    ids.push(format!("{id}-condition"));
                }
                if has_error {
                    ids.push(format!("{id}-erreur"));
                    out.push_str(" aria-invalid=\"true\"");
                }
                let _ = write!(out, " aria-describedby=\"{}\"></div>", ids.join(" "));
                let usable: Vec<&(String, String, String)> = self
                    .coffre
                    .iter()
                    .filter(|(_, _, mime)| accept.contains(mime))
                    .collect();
                if !usable.is_empty() {
                    let _ = write!(
                        out,
                        "<div class=\"field\"><label for=\"{id}-coffre\">Ou joindre depuis mon porte-documents</label><select id=\"{id}-coffre\" name=\"depuis_coffre:{}\"><option value=\"\">(aucun document)</option>",
                        esc(key)
                    );
                    for (doc, label, _) in usable {
                        let _ = write!(
                            out,
                            "<option value=\"{}\">{}</option>",
                            esc(doc),
                            esc(label)
                        );
                    }
                    out.push_str("</select></div>");
                }
            }
            FieldKind::LongText { .. } => {
                let _ = write!(
                    out,
                    "<div class=\"field\"><label for=\"{id}\">{}{required}</label>",
                    esc(&field.label)
                );
                self.preamble(out, field, &id, key);
                let _ = write!(
                    out,
                    "<textarea id=\"{id}\" name=\"{}\" rows=\"5\"",
                    esc(key)
                );
                self.described(out, &id, help, has_error, cond);
                let _ = write!(out, ">{}</textarea></div>", esc(&value));
            }
            kind => {
                let (input_type, autocomplete, inputmode) = match kind {
                    FieldKind::Integer { .. } => ("text", "", "numeric"),
                    FieldKind::Decimal { .. } => ("text", "", "decimal"),
                    FieldKind::Date { .. } => ("date", "", ""),
                    FieldKind::Email => ("email", "email", ""),
                    FieldKind::Phone => ("tel", "tel", ""),
                    FieldKind::Address => ("text", "street-address", ""),
                    FieldKind::Siret => ("text", "", "numeric"),
                    FieldKind::Iban => ("text", "", ""),
                    _ => ("text", "", ""),
                };
                let _ = write!(
                    out,
                    "<div class=\"field\"><label for=\"{id}\">{}{required}</label>",
                    esc(&field.label)
                );
                self.preamble(out, field, &id, key);
                let _ = write!(
                    out,
                    "<input type=\"{input_type}\" id=\"{id}\" name=\"{}\" value=\"{}\"",
                    esc(key),
                    esc(&value)
                );
                if !autocomplete.is_empty() {
                    let _ = write!(out, " autocomplete=\"{autocomplete}\"");
                }
                if !inputmode.is_empty() {
                    let _ = write!(out, " inputmode=\"{inputmode}\"");
                }
                self.described(out, &id, help, has_error, cond);
                out.push_str("></div>");
            }
        }
    }
}

/// What a field's own rule asks, in words, before the usager answers.
fn rule_hint(kind: &FieldKind) -> Option<String> {
    match kind {
        FieldKind::ShortText {
            example: Some(x), ..
        } => Some(format!("Exemple : {x}.")),
        FieldKind::Rna => Some("W suivi de 9 chiffres ou lettres, par exemple W212001234.".into()),
        FieldKind::CodePostal => Some("5 chiffres, par exemple 21000.".into()),
        FieldKind::Date { age: Some(a), .. } => {
            let on = match &a.on {
                Some(r) => r
                    .month_day()
                    .map(|(m, d)| {
                        let day = jiff::civil::date(2028, m, d);
                        let long = guichet_domain::delai::jour_long(day);
                        format!("au {}", long.trim_end_matches(" 2028"))
                    })
                    .unwrap_or_default(),
                None => "à la date de la demande".into(),
            };
            Some(match (a.min, a.max) {
                (Some(x), Some(y)) => format!("Âge demandé : entre {x} et {y} ans {on}."),
                (Some(x), None) => format!("Âge demandé : au moins {x} ans {on}."),
                (None, Some(y)) => format!("Âge demandé : au plus {y} ans {on}."),
                (None, None) => return None,
            })
        }
        FieldKind::Date {
            within: Some(w), ..
        } => Some(format!("Le document doit dater de moins de {}.", w.label())),
        _ => None,
    }
}

/// Whether these fields (blocks included) ask for files: the form must then be multipart.
pub fn has_files(fields: &[Field]) -> bool {
    fields.iter().any(|f| match &f.kind {
        FieldKind::File { .. } => true,
        FieldKind::Block { fields, .. } => has_files(fields),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">l'été & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;l&#39;été &amp; co&lt;/a&gt;"
        );
        assert_eq!(dom_id("enfants[0].prenom"), "enfants-0--prenom");
    }
}
