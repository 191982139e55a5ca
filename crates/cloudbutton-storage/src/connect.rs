//! Building the `object_store` behind a store URL, once per process.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use object_store::ClientConfigKey;
use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;

use crate::location::LOCAL_STORE_URL;
use crate::{Location, S3Options, Selector, StorageError, StorageOptions};

/// Stores already built, by canonical store URL and the options that matter to
/// it. `memory://` stores live here for the whole process, which is what lets
/// every connection to `memory://name` see the same objects.
type Connections = HashMap<(String, StorageOptions), Arc<dyn ObjectStore>>;

static CONNECTIONS: LazyLock<Mutex<Connections>> = LazyLock::new(Mutex::default);

/// Returns the canonical URL of the store at `store_url` and the store itself,
/// building it on first use.
pub(crate) fn connect(
    store_url: &str,
    options: &StorageOptions,
) -> Result<(String, Arc<dyn ObjectStore>), StorageError> {
    // Tasks connect with the canonical URL their chunk carries: find those
    // without parsing (which may touch the filesystem) on every call.
    let mut connections = CONNECTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    let key = (store_url.to_string(), relevant_options(store_url, options));
    if let Some(store) = connections.get(&key) {
        return Ok((key.0, Arc::clone(store)));
    }

    let location = Location::parse(store_url)?;
    if location.selector() != &Selector::Prefix(String::new()) {
        return Err(StorageError::invalid(
            store_url,
            "expected the URL of a whole store (file:///, s3://bucket or memory://name), \
             not of objects in it",
        ));
    }
    let canonical = location.store_url().to_string();
    let relevant = relevant_options(&canonical, options);
    if let Some(store) = connections.get(&(canonical.clone(), relevant.clone())) {
        return Ok((canonical, Arc::clone(store)));
    }
    let store = build(&canonical, &relevant.s3)?;
    tracing::debug!(store = %canonical, "connected to object store");
    connections.insert((canonical.clone(), relevant), Arc::clone(&store));
    Ok((canonical, store))
}

/// The options that matter to a store: only S3 reads them, so other stores
/// are keyed by the defaults and keep one instance per URL.
fn relevant_options(store_url: &str, options: &StorageOptions) -> StorageOptions {
    if store_url.starts_with("s3://") {
        options.clone()
    } else {
        StorageOptions::default()
    }
}

/// An `http://` endpoint only works with `allow_http`; without it every
/// request fails, after a credential lookup, with a terse message. Say so
/// up front, from the settings alone.
fn refuse_plain_http_unless_allowed(
    store_url: &str,
    builder: &AmazonS3Builder,
) -> Result<(), StorageError> {
    let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
    let allowed = builder
        .get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    match endpoint {
        Some(endpoint) if endpoint.starts_with("http://") && !allowed => {
            Err(StorageError::invalid(
                store_url,
                format!(
                    "the endpoint {endpoint} is plain HTTP: set `allow_http = true` in \
                 [storage.s3] or AWS_ALLOW_HTTP=true to use it"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Builds the store for a canonical store URL.
fn build(store_url: &str, s3: &S3Options) -> Result<Arc<dyn ObjectStore>, StorageError> {
    if store_url == LOCAL_STORE_URL {
        return Ok(Arc::new(LocalFileSystem::new()));
    }
    if store_url.starts_with("memory://") {
        return Ok(Arc::new(InMemory::new()));
    }
    let Some(bucket) = store_url.strip_prefix("s3://") else {
        return Err(StorageError::invalid(
            store_url,
            "no store is known for this URL",
        ));
    };

    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &s3.region {
        builder = builder.with_region(region);
    }
    if let Some(key_id) = &s3.access_key_id {
        builder = builder.with_access_key_id(key_id);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(token) = &s3.session_token {
        builder = builder.with_token(token);
    }
    if let Some(allow_http) = s3.allow_http {
        builder = builder.with_allow_http(allow_http);
    }
    refuse_plain_http_unless_allowed(store_url, &builder)?;
    let store = builder
        .build()
        .map_err(|source| StorageError::from_store(store_url.to_string(), source))?;
    Ok(Arc::new(store))
}
