//! Form errors shown the accessible way: a summary at the top linking to each field, and each
//! message tied to its field (aria-describedby, aria-invalid).

#[derive(Debug, Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn list(&self) -> &[(String, String)] {
        &self.0
    }
}

/// A message shown once at the top of a page (after a successful action).
#[derive(Debug, Default, Clone)]
pub struct Flash(pub Option<String>);

/// A submitted form's fields, repeated keys kept (checkboxes, several files or ids).
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Reads an url-encoded body; an unreadable one is an empty form.
    pub fn parse(body: &str) -> Self {
        Self(serde_urlencoded::from_str(body).unwrap_or_default())
    }

    /// The first value of a field, trimmed; empty when absent.
    pub fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    /// Every value of a repeated field, as sent.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether a checkbox was ticked (sent with any value).
    pub fn checked(&self, key: &str) -> bool {
        !self.get(key).is_empty()
    }
}
