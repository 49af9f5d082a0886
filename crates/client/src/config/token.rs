//! Bearer tokens read from a file that is rotated underneath us (kubeconfig `tokenFile`,
//! the in-cluster service-account token).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{ConfigError, SecretString};

/// How long a token read from a file is used before the file is read again (client-go's
/// `NewCachedFileTokenSource` period: half the kubelet's refresh interval of projected
/// service-account tokens).
pub const TOKEN_FILE_REFRESH: Duration = Duration::from_secs(60);

/// How much before the end of [`TOKEN_FILE_REFRESH`] the file is read again.
pub const TOKEN_FILE_LEEWAY: Duration = Duration::from_secs(10);

/// A bearer token kept in a file, re-read every 50 s (1 min minus 10 s leeway) and after a
/// 401, matching client-go.
///
/// Contract: [`TokenFile::token`] returns the last successfully read token; when a re-read
/// fails (file missing or empty during rotation) the previous token, or else the initial
/// token from the kubeconfig's `token` field, keeps being used and the failure is logged.
/// Only when no token was ever available is the error returned. Clones share the cache.
/// Time is tokio's, so tests can run it on a paused clock.
#[derive(Clone)]
pub struct TokenFile {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    initial: Option<SecretString>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The last token successfully read.
    token: Option<SecretString>,
    /// When it was read; `None` forces a read on the next call.
    read_at: Option<Instant>,
}

impl TokenFile {
    /// A token file that is read on first use; `initial` (kubeconfig `token`) is the fallback
    /// while the file cannot be read.
    pub fn new(path: impl Into<PathBuf>, initial: Option<SecretString>) -> Self {
        TokenFile {
            inner: Arc::new(Inner {
                path: path.into(),
                initial: initial.filter(|t| !t.is_empty()),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Like [`TokenFile::new`] but reads the file now, failing if no token is available.
    pub fn open(path: impl Into<PathBuf>, initial: Option<SecretString>) -> Result<Self, ConfigError> {
        let file = TokenFile::new(path, initial);
        file.token()?;
        Ok(file)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The current token, reading the file again if the cached copy is due for refresh.
    pub fn token(&self) -> Result<SecretString, ConfigError> {
        let now = Instant::now();
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(token), Some(read_at)) = (&state.token, state.read_at) {
            if now < read_at + (TOKEN_FILE_REFRESH - TOKEN_FILE_LEEWAY) {
                return Ok(token.clone());
            }
        }
        match read_token(&self.inner.path) {
            Ok(token) => {
                state.token = Some(token.clone());
                state.read_at = Some(now);
                Ok(token)
            }
            Err(err) => {
                if let Some(token) = state.token.clone().or_else(|| self.inner.initial.clone()) {
                    tracing::warn!(path = %self.inner.path.display(), error = %err, "unable to rotate token, keeping the previous one");
                    Ok(token)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Forces a re-read on the next call if the cached token was read before `t`
    /// (a request started at `t` was answered 401).
    pub fn invalidate_older_than(&self, t: Instant) {
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.read_at.is_some_and(|read_at| read_at < t) {
            state.read_at = None;
        }
    }
}

fn read_token(path: &Path) -> Result<SecretString, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::ReadFile {
        what: "tokenFile",
        path: path.to_owned(),
        source,
    })?;
    let token = String::from_utf8_lossy(&bytes).trim().to_owned();
    if token.is_empty() {
        return Err(ConfigError::EmptyTokenFile(path.to_owned()));
    }
    Ok(SecretString::new(token))
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile").field("path", &self.inner.path).field("token", &format_args!("<redacted>")).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rereads_after_period_and_after_401() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one\n").unwrap();
        let file = TokenFile::open(&path, None).unwrap();
        assert_eq!(file.token().unwrap().expose(), "one");

        std::fs::write(&path, "two").unwrap();
        tokio::time::advance(Duration::from_secs(49)).await;
        assert_eq!(file.token().unwrap().expose(), "one", "still cached");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(file.token().unwrap().expose(), "two", "re-read after 50s");

        std::fs::write(&path, "three").unwrap();
        // A 401 for a request that started before the last read changes nothing.
        let before = Instant::now() - Duration::from_secs(1);
        file.invalidate_older_than(before);
        assert_eq!(file.token().unwrap().expose(), "two");
        // A 401 for a request started after the read forces a re-read.
        tokio::time::advance(Duration::from_secs(1)).await;
        file.invalidate_older_than(Instant::now());
        assert_eq!(file.token().unwrap().expose(), "three");
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_last_token_when_file_disappears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "one").unwrap();
        let file = TokenFile::open(&path, None).unwrap();
        std::fs::remove_file(&path).unwrap();
        tokio::time::advance(Duration::from_secs(120)).await;
        assert_eq!(file.token().unwrap().expose(), "one");
        std::fs::write(&path, "  ").unwrap();
        tokio::time::advance(Duration::from_secs(120)).await;
        assert_eq!(file.token().unwrap().expose(), "one");
    }

    #[test]
    fn missing_file_falls_back_to_initial_or_errors() {
        let file = TokenFile::new("/nonexistent/token", Some("init".into()));
        assert_eq!(file.token().unwrap().expose(), "init");
        let err = TokenFile::open("/nonexistent/token", None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/token"), "{err}");
        assert!(!format!("{file:?}").contains("init"));
    }
}
