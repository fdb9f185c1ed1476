//! Stored files on an S3-compatible object store (Garage, MinIO, a cloud provider), shared by
//! every web node. Each file is encrypted before it leaves the server: age, with a fresh file key
//! per file wrapped for the platform's X25519 key, so the object store never holds personal data
//! in the clear and a leaked bucket gives nothing without the key file.

use futures_util::TryStreamExt;
use object_store::{path::Path as ObjectPath, ObjectStore, PutPayload};
use std::path::Path;
use std::sync::Arc;

/// How to reach the object store: a URL (`s3://bucket/prefix`) and what the provider needs.
/// Unset values come from the usual AWS_* environment variables.
#[derive(Clone, Default)]
pub struct ObjectConfig {
    pub url: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// The platform's key for stored files: an age identity in a file of its own (created on first
/// use, readable by the server's user only), the same on every node.
pub fn key(path: &Path) -> anyhow::Result<age::x25519::Identity> {
    use age::secrecy::ExposeSecret;
    if !path.exists() {
        let identity = age::x25519::Identity::generate();
        crate::secret::write_private_file(path, identity.to_string().expose_secret().as_bytes())?;
    }
    read_identity(path, "clé des fichiers")
}

/// Reads an age identity (`AGE-SECRET-KEY-1…`) from a file; comment lines are skipped.
pub fn read_identity(path: &Path, what: &str) -> anyhow::Result<age::x25519::Identity> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{what} illisible : {} ({e})", path.display()))?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.parse::<age::x25519::Identity>().ok())
        .ok_or_else(|| anyhow::anyhow!("{what} invalide : {} (clé age attendue)", path.display()))
}

/// Files in a bucket, under a prefix, encrypted.
pub struct ObjectFiles {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    identity: age::x25519::Identity,
    recipient: age::x25519::Recipient,
    label: String,
}

impl ObjectFiles {
    /// Connects lazily (the first request opens the connection): a wrong address shows at the
    /// first file, and in `/healthz`'s sibling checks, not at start.
    pub fn open(config: &ObjectConfig, identity: age::x25519::Identity) -> anyhow::Result<Self> {
        let url = url_parts(&config.url)?;
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&url.bucket)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!("stockage objet {} : {e}", config.url))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::from(url.prefix.as_str()),
            recipient: identity.to_public(),
            identity,
            label: format!(
                "stockage objet s3://{}/{} ({})",
                url.bucket,
                url.prefix,
                config.endpoint.as_deref().unwrap_or("point d'accès AWS")
            ),
        })
    }

    pub fn describe(&self) -> String {
        self.label.clone()
    }

    fn object(&self, id: &str) -> anyhow::Result<ObjectPath> {
        crate::files::check_id(id)?;
        Ok(self.prefix.child(id))
    }

    pub async fn put(&self, id: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.object(id)?;
        let sealed = age::encrypt(&self.recipient, bytes)
            .map_err(|e| anyhow::anyhow!("chiffrement du fichier {id} : {e}"))?;
        self.store
            .put(&path, PutPayload::from(sealed))
            .await
            .map_err(|e| {
                anyhow::anyhow!("écriture du fichier {id} dans le stockage objet : {e}")
            })?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        self.get_if_present(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("fichier {id} absent du stockage objet"))
    }

    /// The decrypted content, or None when the bucket does not hold it.
    pub async fn get_if_present(&self, id: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let sealed = match self.store.get(&self.object(id)?).await {
            Ok(found) => found.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "lecture du fichier {id} dans le stockage objet : {e}"
                ))
            }
        };
        age::decrypt(&self.identity, &sealed)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("déchiffrement du fichier {id} : {e}"))
    }

    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        match self.store.delete(&self.object(id)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::anyhow!("suppression du fichier {id} : {e}")),
        }
    }

    /// Reads the first entry of the listing: the store answers and the credentials hold.
    pub async fn probe(&self) -> anyhow::Result<()> {
        use futures_util::StreamExt;
        match self.store.list(Some(&self.prefix)).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(anyhow::anyhow!("stockage objet injoignable : {e}")),
        }
    }

    pub async fn list_dated(&self) -> anyhow::Result<Vec<(String, i64)>> {
        let objects: Vec<_> = self.store.list(Some(&self.prefix)).try_collect().await?;
        Ok(objects
            .into_iter()
            .filter_map(|o| {
                let id = o.location.filename()?.to_string();
                crate::files::check_id(&id)
                    .is_ok()
                    .then(|| (id, o.last_modified.timestamp_millis()))
            })
            .collect())
    }

    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .list_dated()
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// The object as the store holds it (encrypted), for checks that nothing leaves in the clear.
    pub async fn raw(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .store
            .get(&self.object(id)?)
            .await?
            .bytes()
            .await?
            .to_vec())
    }
}

struct S3Url {
    bucket: String,
    prefix: String,
}

/// `s3://bucket` or `s3://bucket/some/prefix`.
fn url_parts(url: &str) -> anyhow::Result<S3Url> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        anyhow::anyhow!("adresse du stockage objet invalide : {url} (s3://seau/préfixe attendu)")
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        anyhow::bail!("adresse du stockage objet sans nom de seau : {url}");
    }
    Ok(S3Url {
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        let u = url_parts("s3://guichet/fichiers/prod/").expect("url");
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("guichet", "fichiers/prod")
        );
        let u = url_parts("s3://guichet").expect("url");
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("guichet", ""));
        assert!(url_parts("https://guichet").is_err());
        assert!(url_parts("s3:///x").is_err());
    }
}
