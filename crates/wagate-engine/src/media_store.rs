//! Where media files live: a local directory (the default, `MEDIA_DIR`) or
//! an S3-compatible bucket (`MEDIA_STORAGE=s3`).
//!
//! Every file is addressed by the relative path the gateway generated for
//! it (`<session>/<file id>.<ext>`, stored in the database); a path never
//! comes from client input. On S3 that path, after `S3_PREFIX`, is the
//! object key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;

/// A stored file's bytes as a stream, with its length when known.
pub struct StoredFile {
    pub length: Option<u64>,
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

/// The media storage: cheap to clone, shared by every session.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<Backend>,
}

/// Larger files go to S3 in parts, never read into memory whole.
const S3_SINGLE_PUT_MAX: u64 = 8 * 1024 * 1024;

enum Backend {
    Local(PathBuf),
    S3 {
        store: AmazonS3,
        bucket: String,
        endpoint: Option<String>,
        prefix: Option<ObjectPath>,
    },
}

impl std::fmt::Debug for MediaStore {
    // Never the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Backend::Local(dir) => f.debug_tuple("Local").field(dir).finish(),
            Backend::S3 {
                bucket,
                endpoint,
                prefix,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("prefix", &prefix.as_ref().map(|p| p.to_string()))
                .finish(),
        }
    }
}

/// The S3 settings (`S3_*`).
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Empty: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub force_path_style: bool,
}

impl S3Settings {
    /// Reads `S3_ENDPOINT`, `S3_REGION`, `S3_BUCKET`, `S3_PREFIX`,
    /// `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_FORCE_PATH_STYLE`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<S3Settings, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let endpoint = var("S3_ENDPOINT");
        if let Some(e) = &endpoint {
            let ok = url::Url::parse(e)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(format!(
                    "S3_ENDPOINT '{e}' is not an http(s) URL: use e.g. http://127.0.0.1:9000, or leave it empty for AWS"
                ));
            }
        }
        let bucket = var("S3_BUCKET")
            .ok_or_else(|| "MEDIA_STORAGE=s3 needs S3_BUCKET (the bucket's name)".to_string())?;
        let access_key_id = var("S3_ACCESS_KEY_ID");
        let secret_access_key = var("S3_SECRET_ACCESS_KEY");
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(
                "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (AWS instance credentials)"
                    .to_string(),
            );
        }
        let force_path_style = match var("S3_FORCE_PATH_STYLE") {
            None => endpoint.is_some(),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(format!(
                        "S3_FORCE_PATH_STYLE must be true or false, not '{v}'"
                    ));
                }
            },
        };
        let prefix = var("S3_PREFIX")
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty());
        if let Some(p) = &prefix {
            ObjectPath::parse(p).map_err(|_| {
                format!("S3_PREFIX '{p}' is not a valid key prefix: use e.g. wagate/media")
            })?;
        }
        Ok(S3Settings {
            endpoint,
            region: var("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            bucket,
            prefix,
            access_key_id,
            secret_access_key,
            force_path_style,
        })
    }
}

fn io_error(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

impl MediaStore {
    /// Files under `dir` (`<dir>/<session>/<file id>.<ext>`).
    pub fn local(dir: impl Into<PathBuf>) -> MediaStore {
        MediaStore {
            inner: Arc::new(Backend::Local(dir.into())),
        }
    }

    /// Objects in an S3-compatible bucket. Does no I/O: a wrong bucket or
    /// key shows on the first file.
    pub fn s3(s: &S3Settings) -> Result<MediaStore, String> {
        // A few quick retries: the send queue retries a failed send itself,
        // and a dead bucket must not hold a session's sends for minutes.
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..Default::default()
        };
        let mut b = AmazonS3Builder::new()
            .with_retry(retry)
            .with_client_options(
                object_store::ClientOptions::new().with_timeout(Duration::from_secs(120)),
            )
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_virtual_hosted_style_request(!s.force_path_style);
        if let Some(e) = &s.endpoint {
            b = b
                .with_endpoint(e.trim_end_matches('/'))
                .with_allow_http(e.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (&s.access_key_id, &s.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        let store = b
            .build()
            .map_err(|e| format!("S3 storage could not be set up: {e}"))?;
        Ok(MediaStore {
            inner: Arc::new(Backend::S3 {
                store,
                bucket: s.bucket.clone(),
                endpoint: s.endpoint.clone(),
                prefix: s.prefix.as_deref().map(ObjectPath::from),
            }),
        })
    }

    /// The directory of a local store.
    pub fn local_dir(&self) -> Option<&Path> {
        match &*self.inner {
            Backend::Local(dir) => Some(dir),
            Backend::S3 { .. } => None,
        }
    }

    /// The object key of a file (S3 only).
    pub fn key_of(&self, rel: &str) -> Option<String> {
        match &*self.inner {
            Backend::Local(_) => None,
            Backend::S3 { .. } => Some(self.object_path(rel).to_string()),
        }
    }

    fn object_path(&self, rel: &str) -> ObjectPath {
        let parts = rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..");
        match &*self.inner {
            Backend::S3 {
                prefix: Some(prefix),
                ..
            } => prefix.parts().chain(parts.map(Into::into)).collect(),
            _ => parts.map(object_store::path::PathPart::from).collect(),
        }
    }

    fn local_path(dir: &Path, rel: &str) -> PathBuf {
        // Paths are the gateway's own, but never leave the directory.
        let mut p = dir.to_path_buf();
        for part in rel
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        {
            p.push(part);
        }
        p
    }

    /// Writes a file.
    pub async fn put(&self, rel: &str, bytes: Bytes) -> std::io::Result<()> {
        match &*self.inner {
            Backend::Local(dir) => {
                let full = Self::local_path(dir, rel);
                if let Some(parent) = full.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::write(&full, &bytes).await
            }
            Backend::S3 { store, .. } => store
                .put(&self.object_path(rel), bytes.into())
                .await
                .map(|_| ())
                .map_err(io_error),
        }
    }

    /// Keeps the local file `src` as `rel` without reading it into memory:
    /// moved into the directory locally (copied when it is on another
    /// filesystem), streamed to the bucket in parts on S3. `src` is gone
    /// afterwards either way.
    pub async fn put_file(&self, rel: &str, src: &Path) -> std::io::Result<()> {
        let result = match &*self.inner {
            Backend::Local(dir) => {
                let full = Self::local_path(dir, rel);
                if let Some(parent) = full.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                match tokio::fs::rename(src, &full).await {
                    Ok(()) => Ok(()),
                    Err(_) => tokio::fs::copy(src, &full).await.map(|_| ()),
                }
            }
            Backend::S3 { store, .. } => {
                let size = tokio::fs::metadata(src).await?.len();
                let path = self.object_path(rel);
                if size <= S3_SINGLE_PUT_MAX {
                    let bytes = tokio::fs::read(src).await?;
                    store
                        .put(&path, Bytes::from(bytes).into())
                        .await
                        .map(|_| ())
                        .map_err(io_error)
                } else {
                    self.put_parts(store, &path, src).await
                }
            }
        };
        let _ = tokio::fs::remove_file(src).await;
        result
    }

    async fn put_parts(
        &self,
        store: &AmazonS3,
        path: &ObjectPath,
        src: &Path,
    ) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt;
        let upload = store.put_multipart(path).await.map_err(io_error)?;
        let mut parts = object_store::WriteMultipart::new(upload);
        let mut file = tokio::fs::File::open(src).await?;
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            // At most two parts in flight: memory stays a few parts' worth.
            parts.wait_for_capacity(2).await.map_err(io_error)?;
            parts.write(&buf[..n]);
        }
        parts.finish().await.map(|_| ()).map_err(io_error)
    }

    /// Reads a whole file (`NotFound` when it is not there).
    pub async fn get(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        match &*self.inner {
            Backend::Local(dir) => tokio::fs::read(Self::local_path(dir, rel)).await,
            Backend::S3 { store, .. } => {
                let got = store.get(&self.object_path(rel)).await.map_err(io_error)?;
                got.bytes().await.map(|b| b.to_vec()).map_err(io_error)
            }
        }
    }

    /// A file as a stream (64 KiB chunks locally, the GET body on S3), so
    /// large files are not read into memory at once.
    pub async fn open(&self, rel: &str) -> std::io::Result<StoredFile> {
        match &*self.inner {
            Backend::Local(dir) => {
                let file = tokio::fs::File::open(Self::local_path(dir, rel)).await?;
                let length = file.metadata().await.ok().map(|m| m.len());
                Ok(StoredFile {
                    length,
                    body: read_chunks(file).boxed(),
                })
            }
            Backend::S3 { store, .. } => {
                let got = store.get(&self.object_path(rel)).await.map_err(io_error)?;
                Ok(StoredFile {
                    length: Some(got.meta.size),
                    body: got.into_stream().map(|r| r.map_err(io_error)).boxed(),
                })
            }
        }
    }

    /// Deletes a file; one already gone is not an error.
    pub async fn delete(&self, rel: &str) -> std::io::Result<()> {
        let result = match &*self.inner {
            Backend::Local(dir) => tokio::fs::remove_file(Self::local_path(dir, rel)).await,
            Backend::S3 { store, .. } => {
                store.delete(&self.object_path(rel)).await.map_err(io_error)
            }
        };
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Deletes a file without waiting: at once locally, in a background
    /// task on S3 (failures are logged).
    pub fn delete_soon(&self, rel: &str) {
        match &*self.inner {
            Backend::Local(dir) => {
                let _ = std::fs::remove_file(Self::local_path(dir, rel));
            }
            Backend::S3 { .. } => {
                let Ok(rt) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let this = self.clone();
                let rel = rel.to_string();
                rt.spawn(async move {
                    if let Err(e) = this.delete(&rel).await {
                        tracing::warn!("could not delete media {rel} from S3: {e}");
                    }
                });
            }
        }
    }
}

/// A file as a stream of 64 KiB chunks.
fn read_chunks(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send {
    futures::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn s3_settings_have_defaults_and_clear_errors() {
        let s = S3Settings::from_lookup(lookup(&[
            ("S3_BUCKET", "media"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_PREFIX", "/wagate/files/"),
        ]))
        .unwrap();
        assert_eq!(s.region, "us-east-1");
        assert!(s.force_path_style, "an endpoint means path style");
        assert_eq!(s.prefix.as_deref(), Some("wagate/files"));
        let aws = S3Settings::from_lookup(lookup(&[("S3_BUCKET", "media")])).unwrap();
        assert!(!aws.force_path_style);
        assert!(aws.endpoint.is_none());

        let err = |p| S3Settings::from_lookup(lookup(p)).err().unwrap();
        assert!(err(&[]).contains("S3_BUCKET"));
        assert!(
            err(&[("S3_BUCKET", "b"), ("S3_ENDPOINT", "localhost:9000")]).contains("S3_ENDPOINT")
        );
        assert!(
            err(&[("S3_BUCKET", "b"), ("S3_ACCESS_KEY_ID", "k")]).contains("S3_SECRET_ACCESS_KEY")
        );
        assert!(
            err(&[("S3_BUCKET", "b"), ("S3_FORCE_PATH_STYLE", "maybe")])
                .contains("S3_FORCE_PATH_STYLE")
        );
    }

    #[test]
    fn keys_are_prefixed_and_never_climb() {
        let mut s = S3Settings::from_lookup(lookup(&[
            ("S3_BUCKET", "media"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_PREFIX", "wagate"),
            ("S3_ACCESS_KEY_ID", "id"),
            ("S3_SECRET_ACCESS_KEY", "very-secret"),
        ]))
        .unwrap();
        let store = MediaStore::s3(&s).unwrap();
        assert_eq!(store.key_of("sess/f1.jpg").unwrap(), "wagate/sess/f1.jpg");
        assert_eq!(store.key_of("../x/f1.jpg").unwrap(), "wagate/x/f1.jpg");
        assert!(!format!("{store:?}").contains("very-secret"));
        s.prefix = None;
        let store = MediaStore::s3(&s).unwrap();
        assert_eq!(store.key_of("sess/f1.jpg").unwrap(), "sess/f1.jpg");
        assert_eq!(
            MediaStore::local_path(Path::new("/m"), "../../etc/passwd"),
            PathBuf::from("/m/etc/passwd")
        );
    }

    #[tokio::test]
    async fn local_put_get_open_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::local(dir.path());
        store
            .put("s1/f1.bin", Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(store.get("s1/f1.bin").await.unwrap(), b"hello");
        let f = store.open("s1/f1.bin").await.unwrap();
        assert_eq!(f.length, Some(5));
        let body: Vec<Bytes> = f.body.map(Result::unwrap).collect().await;
        assert_eq!(body.concat(), b"hello");
        store.delete("s1/f1.bin").await.unwrap();
        store.delete("s1/f1.bin").await.unwrap();
        assert_eq!(
            store.get("s1/f1.bin").await.unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
