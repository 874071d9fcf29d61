//! The pseudonym key, read once per container from the stack's Secrets Manager secret: JSON of the form
//! `{"version": N, "key": "<generated text>"}`. Neither the key nor the secret's text reaches a log or an
//! error; a new version rotates the key, and tokens say which version made them.

use std::future::Future;

use serde::Deserialize;

use crate::pseudonym::{KeyError, PseudonymKey};

/// Where a secret's text comes from.
pub trait SecretSource {
    fn secret_string(&self, id: &str) -> impl Future<Output = Result<String, KeyLoadError>> + Send;
}

/// The key could not be read. Nothing of the secret's value is in it.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error("reading the secret {id} failed: {message}")]
    Read {
        id: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error(
        "the secret {id} is not JSON of the form {{\"version\": N, \"key\": \"...\"}} (at line {line}, column {column})"
    )]
    Shape { id: String, line: usize, column: usize },
    #[error("the secret {id}: {source}")]
    Key {
        id: String,
        #[source]
        source: KeyError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    version: u32,
    key: String,
}

/// The key the secret `id` holds.
pub async fn load(source: &impl SecretSource, id: &str) -> Result<PseudonymKey, KeyLoadError> {
    parse(id, &source.secret_string(id).await?)
}

/// The key in the secret text `text` of the secret `id`.
pub fn parse(id: &str, text: &str) -> Result<PseudonymKey, KeyLoadError> {
    // serde_json's messages can quote the input, so only the position is kept.
    let stored: StoredKey = serde_json::from_str(text).map_err(|error| KeyLoadError::Shape {
        id: id.to_owned(),
        line: error.line(),
        column: error.column(),
    })?;
    PseudonymKey::new(stored.version, stored.key.as_bytes())
        .map_err(|source| KeyLoadError::Key { id: id.to_owned(), source })
}

/// AWS Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(config: &shared::aws::SdkConfig) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(config) }
    }
}

impl SecretSource for SecretsManager {
    async fn secret_string(&self, id: &str) -> Result<String, KeyLoadError> {
        let output = self.client.get_secret_value().secret_id(id).send().await.map_err(|error| KeyLoadError::Read {
            id: id.to_owned(),
            message: shared::aws::describe_error(&error),
            source: Some(Box::new(error)),
        })?;
        output.secret_string().map(str::to_owned).ok_or_else(|| KeyLoadError::Read {
            id: id.to_owned(),
            message: "the secret has no text value".into(),
            source: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-generated-key-of-more-than-32-characters";

    #[test]
    fn a_secret_gives_its_key_and_version() {
        let key = parse("arn", &format!(r#"{{"version":2,"key":"{SECRET}"}}"#)).expect("a valid secret");
        assert_eq!(key.version(), 2);
        assert!(key.token("email", "a@b.ro").starts_with("k2."));
    }

    #[test]
    fn a_bad_secret_is_named_without_its_value() {
        for text in [
            SECRET.to_owned(),
            format!(r#"{{"version":"{SECRET}","key":"x"}}"#),
            r#"{"version":1,"key":"short"}"#.into(),
        ] {
            let error = parse("arn:secret", &text).expect_err("not a key").to_string();
            assert!(error.starts_with("the secret arn:secret"), "{error}");
            assert!(!error.contains(SECRET) && !error.contains("short"), "{error}");
        }
    }
}
