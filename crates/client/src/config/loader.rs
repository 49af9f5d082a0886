//! Which kubeconfig files are read and how they are merged (client-go's
//! `ClientConfigLoadingRules`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::ConfigError;
use super::kubeconfig::Kubeconfig;

/// The environment variable holding a list of kubeconfig files.
pub const KUBECONFIG_ENV: &str = "KUBECONFIG";

/// Where kubeconfigs are looked for.
///
/// Contract, as in client-go:
/// - An `explicit_path` (`--kubeconfig`) is the only file read: it must exist, and it is
///   not merged with anything.
/// - Otherwise every file of `precedence` is read in order; missing files are skipped
///   (an unreadable or malformed file is an error); the first file to define a cluster,
///   user or context name wins that name with its whole entry, and the first file to set
///   `current-context` wins it.
/// - Relative paths inside a file resolve against that file's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadingRules {
    /// A file named explicitly; when set, `precedence` is ignored.
    pub explicit_path: Option<PathBuf>,
    /// Files to merge, first wins.
    pub precedence: Vec<PathBuf>,
}

impl LoadingRules {
    /// Rules from the environment: the files of `$KUBECONFIG` (split on the platform's
    /// list separator, duplicates dropped) if it is set and not empty, else `~/.kube/config`.
    pub fn from_env() -> Self {
        LoadingRules::from_values(std::env::var_os(KUBECONFIG_ENV).as_deref(), home_dir().as_deref())
    }

    /// Rules from a given `KUBECONFIG` value and home directory (for tests and tools).
    pub fn from_values(kubeconfig_env: Option<&OsStr>, home: Option<&Path>) -> Self {
        let mut precedence = Vec::new();
        match kubeconfig_env.filter(|v| !v.is_empty()) {
            Some(list) => {
                for path in std::env::split_paths(list) {
                    if !path.as_os_str().is_empty() && !precedence.contains(&path) {
                        precedence.push(path);
                    }
                }
            }
            None => {
                if let Some(home) = home {
                    precedence.push(home.join(".kube").join("config"));
                }
            }
        }
        LoadingRules { explicit_path: None, precedence }
    }

    /// These rules with an explicit file (`--kubeconfig`).
    pub fn with_explicit_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit_path = Some(path.into());
        self
    }

    /// The files that would be read, in order.
    pub fn files(&self) -> Vec<PathBuf> {
        match &self.explicit_path {
            Some(path) => vec![path.clone()],
            None => self.precedence.clone(),
        }
    }

    /// Reads and merges; returns the merged config and the files that were actually found.
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        if let Some(path) = &self.explicit_path {
            if !path.exists() {
                return Err(ConfigError::ExplicitKubeconfigMissing(path.clone()));
            }
            let config = Kubeconfig::read_file(path)?;
            return Ok(Loaded { config, found: vec![path.clone()], missing: Vec::new() });
        }
        let mut merged = Kubeconfig::default();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for path in &self.precedence {
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    missing.push(path.clone());
                    continue;
                }
                _ => {}
            }
            let config = Kubeconfig::read_file(path)?;
            merged = merged.merge(config);
            found.push(path.clone());
        }
        if found.is_empty() && !missing.is_empty() {
            tracing::debug!(missing = ?missing, "no kubeconfig file found");
        }
        Ok(Loaded { config: merged, found, missing })
    }
}

/// The result of [`LoadingRules::load`].
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The merged kubeconfig.
    pub config: Kubeconfig,
    /// Files that were read, in order.
    pub found: Vec<PathBuf>,
    /// Files that did not exist and were skipped.
    pub missing: Vec<PathBuf>,
}

/// The user's home directory: `$HOME`, or `%USERPROFILE%` on Windows.
pub(crate) fn home_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) { var("USERPROFILE").or_else(|| var("HOME")) } else { var("HOME") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_from_env_values() {
        let home = Path::new("/home/me");
        let rules = LoadingRules::from_values(None, Some(home));
        assert_eq!(rules.precedence, vec![PathBuf::from("/home/me/.kube/config")]);
        let rules = LoadingRules::from_values(Some(OsStr::new("")), Some(home));
        assert_eq!(rules.precedence, vec![PathBuf::from("/home/me/.kube/config")]);
        let list = std::env::join_paths(["/a", "/b", "/a", "/c", "/b"]).unwrap();
        let rules = LoadingRules::from_values(Some(&list), Some(home));
        assert_eq!(
            rules.precedence,
            ["/a", "/b", "/c"].map(PathBuf::from).to_vec(),
            "split and de-duplicated, first occurrence kept"
        );
        let rules = rules.with_explicit_path("/explicit");
        assert_eq!(rules.files(), vec![PathBuf::from("/explicit")]);
    }
}
