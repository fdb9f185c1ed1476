//! A démarche's answers as tables, for exports agents can use: one column per field (its label
//! and key), files by their names and a link, choices as text, dates as dates and numbers as
//! numbers; one table per repeatable block, with one row per repetition keyed by the dossier.

use super::definition::{Definition, Field, FieldKind};
use super::values::{parse_date, parse_decimal, Answers};

/// A cell, typed so that a spreadsheet keeps dates as dates and numbers as numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(jiff::civil::Date),
}

impl Cell {
    /// The cell in a CSV file: ISO dates, numbers with a dot.
    pub fn csv(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(t) => t.clone(),
            Self::Number(n) => n.to_string(),
            Self::Date(d) => d.to_string(),
        }
    }
}

/// A column of answers: a field of the démarche.
#[derive(Debug, Clone)]
pub struct Column {
    pub key: String,
    /// "Date de naissance (naissance)".
    pub header: String,
    kind: FieldKind,
}

/// The rows of one repeatable block.
#[derive(Debug, Clone)]
pub struct BlockTable {
    pub id: String,
    pub label: String,
    pub columns: Vec<Column>,
}

/// The tables of a démarche's dossiers.
#[derive(Debug, Clone, Default)]
pub struct Tableau {
    pub columns: Vec<Column>,
    pub blocks: Vec<BlockTable>,
    /// The agents' annotations privées, after the answers.
    pub annotations: Vec<Column>,
}

fn column(f: &Field) -> Column {
    Column {
        key: f.id.clone(),
        header: format!("{} ({})", f.label, f.id),
        kind: f.kind.clone(),
    }
}

impl Tableau {
    /// The tables of every version of a démarche, the newest first: a field removed in a later
    /// version keeps its column, after the others.
    pub fn of(versions: &[&Definition]) -> Self {
        let mut t = Self::default();
        for def in versions {
            for f in def.annotations.iter().filter(|f| f.kind.has_value()) {
                if !t.annotations.iter().any(|c| c.key == f.id) {
                    let mut c = column(f);
                    c.header = format!("Annotation : {}", c.header);
                    t.annotations.push(c);
                }
            }
            for f in def.pages.iter().flat_map(|p| &p.fields) {
                match &f.kind {
                    FieldKind::Block { fields, .. } => {
                        let block = match t.blocks.iter().position(|b| b.id == f.id) {
                            Some(i) => &mut t.blocks[i],
                            None => {
                                t.blocks.push(BlockTable {
                                    id: f.id.clone(),
                                    label: f.label.clone(),
                                    columns: Vec::new(),
                                });
                                t.blocks.last_mut().expect("just pushed")
                            }
                        };
                        for inner in fields.iter().filter(|i| i.kind.has_value()) {
                            if !block.columns.iter().any(|c| c.key == inner.id) {
                                block.columns.push(column(inner));
                            }
                        }
                    }
                    k if k.has_value() && !t.columns.iter().any(|c| c.key == f.id) => {
                        t.columns.push(column(f));
                    }
                    _ => {}
                }
            }
        }
        t
    }

    /// The dossier's row of answers, in the order of `columns`. `file` gives what a file
    /// reference becomes ("devis.pdf <https://…>").
    pub fn row(&self, answers: &Answers, file: &dyn Fn(&str) -> String) -> Vec<Cell> {
        self.columns
            .iter()
            .map(|c| cell(&c.kind, &answers.all(&c.key), file))
            .collect()
    }

    /// The dossier's annotations, in the order of `annotations`.
    pub fn annotation_row(&self, annotations: &Answers) -> Vec<Cell> {
        self.annotations
            .iter()
            .map(|c| {
                cell(&c.kind, &annotations.all(&c.key), &|id: &str| {
                    id.to_string()
                })
            })
            .collect()
    }

    /// One row per repetition of block number `b`, numbered from 1.
    pub fn block_rows(
        &self,
        b: usize,
        answers: &Answers,
        file: &dyn Fn(&str) -> String,
    ) -> Vec<(usize, Vec<Cell>)> {
        let Some(block) = self.blocks.get(b) else {
            return Vec::new();
        };
        (0..answers.block_len(&block.id))
            .map(|i| {
                let cells = block
                    .columns
                    .iter()
                    .map(|c| {
                        let key = format!("{}[{i}].{}", block.id, c.key);
                        cell(&c.kind, &answers.all(&key), file)
                    })
                    .collect();
                (i + 1, cells)
            })
            // A repetition added and left empty is no row.
            .filter(|(_, cells): &(usize, Vec<Cell>)| cells.iter().any(|c| *c != Cell::Empty))
            .collect()
    }
}

fn cell(kind: &FieldKind, values: &[&str], file: &dyn Fn(&str) -> String) -> Cell {
    let Some(first) = values.first() else {
        return Cell::Empty;
    };
    match kind {
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => parse_decimal(first)
            .map(Cell::Number)
            .unwrap_or_else(|| Cell::Text((*first).to_string())),
        FieldKind::Date { .. } => parse_date(first)
            .and_then(|d| {
                jiff::civil::Date::new(d.year() as i16, u8::from(d.month()) as i8, d.day() as i8)
                    .ok()
            })
            .map(Cell::Date)
            .unwrap_or_else(|| Cell::Text((*first).to_string())),
        FieldKind::Checkbox => Cell::Text("oui".into()),
        FieldKind::MultipleChoice { .. } => Cell::Text(values.join(", ")),
        FieldKind::File { .. } => Cell::Text(
            values
                .iter()
                .map(|v| file(v.trim_start_matches("fichier:")))
                .collect::<Vec<_>>()
                .join(" ; "),
        ),
        _ => Cell::Text((*first).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_per_field_and_one_row_per_child() {
        let v1 = Definition::from_json(
            r#"{ "title": "Cantine", "description": "D", "retention_months": 12, "pages": [
              { "title": "Vous", "fields": [
                { "id": "quotient", "label": "Quotient familial", "type": "integer" },
                { "id": "ancien", "label": "Ancienne question", "type": "yes_no" } ] } ] }"#,
        )
        .expect("v1");
        let v2 = Definition::from_json(
            r#"{ "title": "Cantine", "description": "D", "retention_months": 12, "pages": [
              { "title": "Vous", "fields": [
                { "id": "info", "label": "À lire", "type": "explanation" },
                { "id": "quotient", "label": "Quotient familial", "type": "integer" },
                { "id": "pai", "label": "PAI", "type": "file", "accept": ["application/pdf"], "max_size_mb": 1, "max_files": 2 },
                { "id": "enfants", "label": "Enfants", "type": "block", "item_label": "Enfant", "fields": [
                  { "id": "prenom", "label": "Prénom", "type": "short_text" },
                  { "id": "naissance", "label": "Date de naissance", "type": "date" },
                  { "id": "jours", "label": "Jours", "type": "multiple_choice", "options": ["lundi", "jeudi"] } ] } ] } ] }"#,
        )
        .expect("v2");
        let t = Tableau::of(&[&v2, &v1]);
        let headers: Vec<&str> = t.columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            [
                "Quotient familial (quotient)",
                "PAI (pai)",
                "Ancienne question (ancien)"
            ]
        );
        assert_eq!(t.blocks.len(), 1);
        let mut a = Answers::default();
        a.set("quotient", vec!["850".into()]);
        a.set("pai", vec!["fichier:f1".into(), "fichier:f2".into()]);
        a.set("enfants[0].prenom", vec!["Léa".into()]);
        a.set("enfants[0].naissance", vec!["2018-07-14".into()]);
        a.set("enfants[0].jours", vec!["lundi".into(), "jeudi".into()]);
        a.set("enfants[1].prenom", vec!["Noé".into()]);
        a.set("enfants[2].__", vec![String::new()]);
        let file = |id: &str| format!("{id}.pdf");
        assert_eq!(
            t.row(&a, &file),
            vec![
                Cell::Number(850.0),
                Cell::Text("f1.pdf ; f2.pdf".into()),
                Cell::Empty
            ]
        );
        let rows = t.block_rows(0, &a, &file);
        assert_eq!(rows.len(), 2, "the empty third repetition is no row");
        assert_eq!(
            rows[0],
            (
                1,
                vec![
                    Cell::Text("Léa".into()),
                    Cell::Date(jiff::civil::date(2018, 7, 14)),
                    Cell::Text("lundi, jeudi".into())
                ]
            )
        );
        assert_eq!(rows[1].0, 2);
        assert_eq!(rows[1].1[1].csv(), "");
        assert_eq!(
            Cell::Date(jiff::civil::date(2018, 7, 14)).csv(),
            "2018-07-14"
        );
    }
}
