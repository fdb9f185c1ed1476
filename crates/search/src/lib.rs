//! French full-text search over Guichet's catalogue (démarches, competences, national services).
//!
//! Each document is indexed twice: stemmed (French Snowball stemmer, so "inscriptions" finds
//! "inscription") and unstemmed, where typos are forgiven (Levenshtein distance 1, or 2 for
//! long words). Accents and case are ignored everywhere, French stop words dropped. Synonyms
//! maintained by the operator expand the query ("cni" also searches "carte d'identité"). Titles
//! weigh more than descriptions. The index lives in memory: it is rebuilt from the database in
//! well under a second for 10,000 démarches, so nothing on disk can go stale or corrupt.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, TantivyDocument, Term};

/// Something the search can find.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Identifies the thing for the caller, e.g. "d:12" for démarche 12.
    pub key: String,
    pub title: String,
    /// Description, keywords, audience: what else it is about.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub key: String,
    pub score: f32,
}

const STEMMED: &str = "fr_stem";
const FOLDED: &str = "fr_fold";

fn analyzer(stem: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::French).expect("French stop words"))
        .filter(AsciiFoldingFilter);
    if stem {
        base.filter(Stemmer::new(Language::French)).build()
    } else {
        base.build()
    }
}

/// Lower case, no accents, words separated by single spaces: how synonyms are compared.
fn fold(text: &str) -> String {
    let mut a = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let mut out = Vec::new();
    let mut stream = a.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out.join(" ")
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

pub struct SearchIndex {
    reader: IndexReader,
    key: Field,
    title: Field,
    body: Field,
    title_folded: Field,
    body_folded: Field,
    /// Groups of equivalent expressions, folded.
    synonyms: Vec<Vec<String>>,
    documents: usize,
}

impl SearchIndex {
    /// Indexes the documents; `synonyms` are groups of equivalent expressions.
    pub fn build(
        docs: impl IntoIterator<Item = Doc>,
        synonyms: &[Vec<String>],
    ) -> anyhow::Result<Self> {
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let mut schema = Schema::builder();
        let key = schema.add_text_field("key", STRING | STORED);
        let title = schema.add_text_field("title", text(STEMMED));
        let body = schema.add_text_field("body", text(STEMMED));
        let title_folded = schema.add_text_field("title_folded", text(FOLDED));
        let body_folded = schema.add_text_field("body_folded", text(FOLDED));
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(STEMMED, analyzer(true));
        index.tokenizers().register(FOLDED, analyzer(false));
        let mut writer = index.writer_with_num_threads(1, 30_000_000)?;
        let mut documents = 0;
        for d in docs {
            writer.add_document(doc!(
                key => d.key,
                title => d.title.clone(),
                body => d.body.clone(),
                title_folded => d.title,
                body_folded => d.body,
            ))?;
            documents += 1;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(Self {
            reader,
            key,
            title,
            body,
            title_folded,
            body_folded,
            synonyms: synonyms
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|t| fold(t))
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .collect(),
            documents,
        })
    }

    pub fn len(&self) -> usize {
        self.documents
    }

    pub fn is_empty(&self) -> bool {
        self.documents == 0
    }

    /// The query and the expressions its synonyms add ("cni" → "carte d'identité", …).
    fn expansions(&self, query: &str) -> Vec<String> {
        let folded = format!(" {} ", fold(query));
        let mut out = Vec::new();
        for group in &self.synonyms {
            if group.iter().any(|t| folded.contains(&format!(" {t} "))) {
                for t in group {
                    if !folded.contains(&format!(" {t} ")) && !out.contains(t) {
                        out.push(t.clone());
                    }
                }
            }
        }
        out
    }

    /// The clauses for one piece of text: each word found exactly (stemmed, titles first) or
    /// within a typo or two (unstemmed).
    fn clauses(&self, text: &str, weight: f32) -> Vec<(Occur, Box<dyn Query>)> {
        let mut stemmed = analyzer(true);
        let mut folded = analyzer(false);
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let boosted =
            |q: Box<dyn Query>, b: f32| -> Box<dyn Query> { Box::new(BoostQuery::new(q, b)) };
        for word in tokens(&mut stemmed, text) {
            for (field, b) in [(self.title, 2.0), (self.body, 1.0)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, &word),
                    IndexRecordOption::WithFreqs,
                );
                out.push((Occur::Should, boosted(Box::new(q), b * weight)));
            }
        }
        for word in tokens(&mut folded, text) {
            // The exact word, unstemmed, counts too: "café" is not "CAF".
            for (field, b) in [(self.title_folded, 2.0), (self.body_folded, 1.0)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, &word),
                    IndexRecordOption::WithFreqs,
                );
                out.push((Occur::Should, boosted(Box::new(q), b * weight)));
            }
            let chars = word.chars().count();
            if chars < 4 {
                continue;
            }
            let distance = if chars >= 8 { 2 } else { 1 };
            // A fuzzy match scores a constant (its boost), not BM25: weighted to compete.
            for (field, b) in [(self.title_folded, 3.0), (self.body_folded, 1.0)] {
                let q = FuzzyTermQuery::new(Term::from_field_text(field, &word), distance, true);
                out.push((Occur::Should, boosted(Box::new(q), b * weight)));
            }
        }
        out
    }

    /// The best documents for a query, best first.
    pub fn search(&self, query: &str, limit: usize) -> anyhow::Result<Vec<Hit>> {
        let mut clauses = self.clauses(query, 1.0);
        for expansion in self.expansions(query) {
            clauses.extend(self.clauses(&expansion, 0.9));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit.max(1)),
        )?;
        top.into_iter()
            .map(|(score, address)| {
                let d: TantivyDocument = searcher.doc(address)?;
                let key = d
                    .get_first(self.key)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                Ok(Hit { key, score })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        let docs = [
            (
                "a",
                "Inscription à la restauration scolaire",
                "Cantine des écoles, repas, menus",
            ),
            (
                "b",
                "Carte nationale d'identité",
                "Pièce d'identité : pré-demande en ligne",
            ),
            (
                "c",
                "Allocation personnalisée d'autonomie",
                "Aide aux personnes âgées à domicile",
            ),
            (
                "d",
                "Demande d'autorisation de terrasse",
                "Café, restaurant, domaine public",
            ),
        ];
        SearchIndex::build(
            docs.iter().map(|(k, t, b)| Doc {
                key: k.to_string(),
                title: t.to_string(),
                body: b.to_string(),
            }),
            &[
                vec!["cni".into(), "carte d'identité".into()],
                vec!["apa".into(), "allocation personnalisée d'autonomie".into()],
            ],
        )
        .expect("index")
    }

    fn first(i: &SearchIndex, q: &str) -> String {
        i.search(q, 5)
            .expect("search")
            .first()
            .map(|h| h.key.clone())
            .unwrap_or_default()
    }

    #[test]
    fn accents_case_plurals_typos_and_synonyms() {
        let i = index();
        assert_eq!(first(&i, "RESTAURATION"), "a");
        assert_eq!(first(&i, "cantines"), "a", "plural");
        assert_eq!(first(&i, "autonomíe"), "c", "accents ignored");
        assert_eq!(first(&i, "restauartion scolaire"), "a", "typo");
        assert_eq!(first(&i, "cni"), "b", "synonym");
        assert_eq!(first(&i, "APA"), "c", "synonym, any case");
        assert_eq!(first(&i, "terrasses de café"), "d");
        assert!(
            i.search("de la", 5).expect("search").is_empty(),
            "stop words only"
        );
        assert!(i.search("", 5).expect("search").is_empty());
    }
}
