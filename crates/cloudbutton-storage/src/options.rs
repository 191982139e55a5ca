//! Connection options for remote stores, as read from `cloudbutton.toml`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Options for remote stores: the `[storage]` table of `cloudbutton.toml`.
///
/// Every field is optional. What is left out falls back to the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT`, ...), then to the
/// defaults of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageOptions {
    /// Options for `s3://` locations (`[storage.s3]`).
    pub s3: S3Options,
}

/// Options for S3 and S3-compatible stores (`[storage.s3]`).
///
/// Its `Debug` output never shows the secret key or the session token.
#[derive(Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Options {
    /// Endpoint URL of an S3-compatible service, e.g. `http://localhost:9000`
    /// for MinIO. Requests use path-style addressing.
    pub endpoint: Option<String>,
    /// Region of the buckets, e.g. `eu-west-1`.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
    /// Permit plain `http://` endpoints (off unless set).
    pub allow_http: Option<bool>,
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redacted(secret: &Option<String>) -> Option<&'static str> {
            secret.as_ref().map(|_| "<redacted>")
        }
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let options = S3Options {
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some("very-secret-key".into()),
            session_token: Some("very-secret-token".into()),
            ..S3Options::default()
        };
        let shown = format!("{:?}", StorageOptions { s3: options });
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn serde_defaults_missing_fields() {
        let options: StorageOptions =
            serde_json::from_str(r#"{"s3": {"region": "eu-west-1"}}"#).unwrap();
        assert_eq!(options.s3.region.as_deref(), Some("eu-west-1"));
        assert_eq!(options.s3.endpoint, None);

        let empty: StorageOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, StorageOptions::default());
    }
}
