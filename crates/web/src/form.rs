//! Form errors shown the accessible way: a summary at the top linking to each field, and each
//! message tied to its field (aria-describedby, aria-invalid).
use crate::error::AppError;
use crate::AppState;

#[derive(Debug, Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The status of a page shown with these errors: 422 when there are any, else 200.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
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

/// A submitted form's fields, repeated keys kept (checkboxes, several files or ids): how a form
/// whose fields repeat or depend on data (a démarche's, a bulk action's) is read. A form of
/// known fields is read into its own struct (`axum::Form`); a form with files, by `read_form`.
pub struct Fields(pub Vec<(String, String)>);

/// Reads an url-encoded body (1 MB at most; the anti-CSRF layer read it already).
impl<S: Send + Sync> axum::extract::FromRequest<S> for Fields {
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let body = String::from_request(req, state)
            .await
            .map_err(|e| e.into_response())?;
        Ok(Self::parse(&body))
    }
}

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

/// A "du … au …" filter typed as JJ/MM/AAAA (or AAAA-MM-JJ): from the start of the first day to
/// the end of the second (inclusive), in ms. Errors go to the fields `du` and `au`.
pub fn day_range(du: &str, au: &str, errors: &mut Errors) -> (Option<i64>, Option<i64>) {
    let mut day = |v: &str, key: &str| -> Option<i64> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match guichet_domain::demarche::values::parse_date(v) {
            // Days as the agent reads them: Paris days.
            Some(d) => Some(crate::format::paris_midnight(d)),
            None => {
                errors.add(key, "Date invalide : écrivez-la au format JJ/MM/AAAA.");
                None
            }
        }
    };
    let from = day(du, "du");
    let to = match au.trim() {
        "" => None,
        v => guichet_domain::demarche::values::parse_date(v)
            .and_then(|d| d.next_day())
            .map(crate::format::paris_midnight)
            .or_else(|| day(v, "au")),
    };
    (from, to)
}

/// A commune typed in a filter (exact name or INSEE code): its INSEE code. An unknown one is an
/// error on the field `commune`.
pub async fn commune_filter(
    state: &crate::AppState,
    typed: &str,
    errors: &mut Errors,
) -> anyhow::Result<Option<String>> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let found = if typed.len() == 5 && typed.chars().all(|c| c.is_ascii_alphanumeric()) {
        guichet_store::territoire::commune_by_insee(&state.db, &typed.to_uppercase()).await?
    } else {
        let folded = guichet_domain::text::fold(typed);
        guichet_store::territoire::search_communes(&state.db, typed, 20)
            .await?
            .into_iter()
            .find(|c| guichet_domain::text::fold(&c.nom) == folded)
    };
    if found.is_none() {
        errors.add(
            "commune",
            "Commune inconnue : écrivez son nom exact ou son code INSEE.",
        );
    }
    Ok(found.map(|c| c.insee))
}

type Uploads = Vec<(String, String, Vec<u8>)>;

/// Reads a step's form: url-encoded, or multipart with files (name, original name, bytes).
/// Reads a form that may carry files (multipart), or a plain one: its fields and its uploads
/// (field, file name, bytes); an oversized body is a 413 with its French page.
pub(crate) async fn read_form(
    state: &AppState,
    req: axum::extract::Request,
) -> Result<(Vec<(String, String)>, Uploads), AppError> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), 1024 * 1024)
            .await
            .map_err(|e| anyhow::anyhow!("formulaire illisible : {e}"))?;
        return Ok((
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default(),
            Vec::new(),
        ));
    }
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| anyhow::anyhow!("formulaire illisible : {e}"))?;
    // Over the body limit: a 413 with its French page, not an internal error.
    let interrupted = |e: axum::extract::multipart::MultipartError| -> AppError {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            crate::error::BodyTooLarge.into()
        } else {
            anyhow::anyhow!("envoi interrompu : {e}").into()
        }
    };
    let (mut pairs, mut uploads) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(interrupted)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(interrupted)?;
                if !file_name.is_empty() && !bytes.is_empty() {
                    uploads.push((name, file_name, bytes.to_vec()));
                }
            }
            None => pairs.push((name, field.text().await.map_err(interrupted)?)),
        }
    }
    Ok((pairs, uploads))
}
