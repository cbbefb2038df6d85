//! The file store over a private S3 bucket.

use accolade::adapters::files::validate_key;
use accolade::ports::{FileStore, FileStoreError, StoredFile};
use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;

/// The key prefix of baked badge images (`assertions/{award_id}/image.png` and `.svg`).
const BAKED_IMAGE_PREFIX: &str = "assertions/";

/// The content type of an object stored without one.
const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

/// Returns the `Cache-Control` value stored with the object at `key`.
///
/// A baked image never changes once written: the assertion inside it is frozen when the badge
/// is claimed, so caches may keep it for a year. Revocation does not need the cache to expire,
/// because verifiers check it on the hosted assertion, not in the image. Other files (uploaded
/// artwork) may be replaced under the same key, so caches revalidate them after five minutes.
pub fn cache_control_for(key: &str) -> &'static str {
    if key.starts_with(BAKED_IMAGE_PREFIX) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    }
}

/// The [`FileStore`] over one private bucket. Keys are used as object keys unchanged, after
/// the same check as the local file stores, so both accept exactly the same keys.
///
/// A caller that reads keys which may be missing needs `s3:ListBucket` on the bucket as well
/// as `s3:GetObject`: without it S3 reports a missing key as access denied, which this store
/// returns as an error instead of `Ok(None)`.
#[derive(Debug, Clone)]
pub struct S3FileStore {
    client: Client,
    bucket: String,
}

impl S3FileStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

#[async_trait]
impl FileStore for S3FileStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileStoreError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control_for(key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|error| {
                FileStoreError::Backend(anyhow!(
                    "storing {key} in bucket {} failed: {}",
                    self.bucket,
                    DisplayErrorContext(&error)
                ))
            })?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<StoredFile>, FileStoreError> {
        validate_key(key)?;
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_no_such_key()) =>
            {
                return Ok(None);
            }
            Err(error) => {
                return Err(FileStoreError::Backend(anyhow!(
                    "reading {key} from bucket {} failed: {}",
                    self.bucket,
                    DisplayErrorContext(&error)
                )));
            }
        };
        let content_type = output
            .content_type
            .unwrap_or_else(|| FALLBACK_CONTENT_TYPE.to_owned());
        let bytes = output.body.collect().await.map_err(|error| {
            FileStoreError::Backend(anyhow!(
                "reading the body of {key} from bucket {} failed: {error}",
                self.bucket
            ))
        })?;
        Ok(Some(StoredFile {
            bytes: bytes.into_bytes().to_vec(),
            content_type,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baked_images_are_immutable() {
        let baked = cache_control_for("assertions/123e4567-e89b-42d3-a456-426614174000/image.png");
        let artwork =
            cache_control_for("achievements/123e4567-e89b-42d3-a456-426614174000/image.png");
        assert!(baked.contains("immutable"), "{baked}");
        assert!(!artwork.contains("immutable"), "{artwork}");
    }
}
