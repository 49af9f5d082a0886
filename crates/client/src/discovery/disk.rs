//! The discovery disk cache, in kubectl's layout so kubectl and rkube share it:
//! `<cache dir>/discovery/<host_port>/servergroups.json` and
//! `<host_port>/<group>/<version>/serverresources.json` (the core group: `v1/serverresources.json`).
//!
//! The cache directory is `$KUBECACHEDIR`, else `~/.kube/cache`; `<host_port>` is the server
//! URL with its scheme removed and every character outside `[A-Za-z0-9_/.()]` replaced by
//! `_` (cli-runtime's `computeDiscoverCacheDir`). Files are written to a temporary file,
//! made mode 0660 and renamed into place; directories are created 0750. A file older than
//! the TTL is ignored; after [`DiskCache::invalidate`] only files this process wrote are used
//! (client-go's `CachedDiscoveryClient`).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::Uri;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList};
use rkube_core::GroupVersion;

use super::documents;
use super::fetch::Snapshot;

/// The default time a cache file stays valid: 10 minutes (client-go's value before
/// Kubernetes 1.24; kubectl itself now passes 6 hours).
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);
/// The TTL kubectl uses (cli-runtime's `config_flags.go`).
pub const KUBECTL_TTL: Duration = Duration::from_secs(6 * 60 * 60);
/// The environment variable that replaces `~/.kube/cache`.
pub const KUBECACHEDIR_ENV: &str = "KUBECACHEDIR";

/// A discovery cache directory for one server, shared with kubectl.
///
/// Cheap to clone; clones share the record of which files this process wrote.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    ttl: Duration,
    state: Arc<Mutex<DiskState>>,
}

#[derive(Debug)]
struct DiskState {
    /// Files written by this process (since the last invalidate).
    ours: HashSet<PathBuf>,
    /// Ignore files this process did not write.
    invalidated: bool,
    /// Every file read so far was one of ours.
    fresh: bool,
}

/// `$KUBECACHEDIR`, else `~/.kube/cache` (`None` when neither it nor a home directory is known).
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(KUBECACHEDIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".kube").join("cache"))
}

/// The directory name kubectl derives from a server URL: the first `https://` and then the
/// first `http://` removed, characters outside `[A-Za-z0-9_/.()]` replaced by `_`.
pub fn server_dir_name(server: &str) -> String {
    let s = server.replacen("https://", "", 1).replacen("http://", "", 1);
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '(' | ')') { c } else { '_' })
        .collect()
}

/// `parent` joined with `rel` and cleaned lexically like Go's `filepath.Join`.
fn join_clean(parent: &Path, rel: &str) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    let joined = parent.join(rel.trim_start_matches('/'));
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.last(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(out.last(), Some(Component::RootDir | Component::Prefix(_))) {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// How the server URL is written in kubeconfig (`http::Uri` adds a `/` path to bare hosts).
fn server_string(url: &Uri) -> String {
    let s = url.to_string();
    match s.strip_suffix('/') {
        Some(t) if url.path() == "/" => t.to_owned(),
        _ => s,
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    /// The cache of one server in kubectl's place: `<default_cache_dir>/discovery/<host_port>`.
    pub fn for_server(url: &Uri) -> Option<Self> {
        Some(Self::in_cache_dir(&default_cache_dir()?, url))
    }

    /// The cache of one server under a given cache directory (kubectl's `--cache-dir`):
    /// `<cache_dir>/discovery/<host_port>`.
    pub fn in_cache_dir(cache_dir: &Path, url: &Uri) -> Self {
        Self::new(join_clean(&cache_dir.join("discovery"), &server_dir_name(&server_string(url))))
    }

    /// A cache in exactly `dir` (which must be unique per server).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DiskCache {
            dir: dir.into(),
            ttl: DEFAULT_TTL,
            state: Arc::new(Mutex::new(DiskState { ours: HashSet::new(), invalidated: false, fresh: true })),
        }
    }

    /// How long a file stays valid after it was written (default [`DEFAULT_TTL`], kubectl
    /// uses [`KUBECTL_TTL`]).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The directory of this server's cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `servergroups.json`.
    pub fn groups_file(&self) -> PathBuf {
        self.dir.join("servergroups.json")
    }

    /// `<group>/<version>/serverresources.json`, or `v1/serverresources.json` for the core group.
    pub fn resources_file(&self, gv: &GroupVersion) -> PathBuf {
        join_clean(&self.dir, &gv.api_version()).join("serverresources.json")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on ignore files this process did not write (they may be stale).
    pub fn invalidate(&self) {
        let mut s = self.lock();
        s.ours.clear();
        s.invalidated = true;
        s.fresh = true;
    }

    /// Whether every file read since the last invalidate was written by this process.
    pub fn fresh(&self) -> bool {
        self.lock().fresh
    }

    /// The bytes of a cache file when it is usable: present, within the TTL, and ours if invalidated.
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let ours = {
            let s = self.lock();
            let ours = s.ours.contains(path);
            if s.invalidated && !ours {
                return None;
            }
            ours
        };
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?;
        if SystemTime::now() > modified + self.ttl {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let mut s = self.lock();
        s.fresh = s.fresh && ours;
        Some(bytes)
    }

    /// Reads the whole cache: the groups, then every group/version's resources. `None` when
    /// any file is missing, expired or unreadable (then discovery asks the server).
    pub(crate) fn load(&self) -> Option<Snapshot> {
        let groups: APIGroupList = documents::decode(&self.read(&self.groups_file())?).ok()?;
        if groups.groups.is_empty() {
            return None;
        }
        let mut snap = Snapshot { groups: groups.groups, ..Snapshot::default() };
        for gv in snap.group_versions() {
            let list: APIResourceList = documents::decode(&self.read(&self.resources_file(&gv))?).ok()?;
            snap.resources.insert(gv, list);
        }
        Some(snap)
    }

    /// Writes the groups and every non-empty resource list (as client-go: failed and empty
    /// group/versions are not cached).
    pub(crate) fn store(&self, snap: &Snapshot) -> std::io::Result<()> {
        if snap.groups.is_empty() {
            return Ok(());
        }
        for (gv, list) in &snap.resources {
            if !list.resources.is_empty() {
                let mut list = list.clone();
                if list.group_version.is_empty() {
                    list.group_version = gv.api_version();
                }
                self.write(&self.resources_file(gv), &serde_json::to_vec(&list)?)?;
            }
        }
        // Written as client-go writes it: the list has kind/apiVersion, its groups do not.
        let mut groups = serde_json::to_value(APIGroupList { groups: snap.groups.clone() })?;
        if let Some(items) = groups.get_mut("groups").and_then(|g| g.as_array_mut()) {
            for g in items.iter_mut().filter_map(|g| g.as_object_mut()) {
                g.remove("apiVersion");
                g.remove("kind");
            }
        }
        self.write(&self.groups_file(), &serde_json::to_vec(&groups)?)
    }

    /// Atomic write: a temporary file beside the target, chmod 0660, rename.
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o750);
        }
        builder.create(dir)?;
        let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("cache");
        let (tmp, mut file) = loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
            let tmp = dir.join(format!("{base}.{}{nanos}{n}", std::process::id()));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let result = (|| {
            file.write_all(bytes)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660))?;
            }
            file.sync_all()?;
            drop(file);
            let mut s = self.lock();
            std::fs::rename(&tmp, path)?;
            s.ours.insert(path.to_path_buf());
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_directory_names() {
        assert_eq!(server_dir_name("https://10.0.0.1:6443"), "10.0.0.1_6443");
        assert_eq!(server_dir_name("http://localhost:8080"), "localhost_8080");
        assert_eq!(server_dir_name("https://my-cluster.example.com"), "my_cluster.example.com");
        assert_eq!(server_dir_name("https://h/k8s/clusters/c-1"), "h/k8s/clusters/c_1");
        assert_eq!(server_dir_name("https://[::1]:6443"), "___1__6443");
        let base = Path::new("/c/discovery");
        let url: Uri = "https://10.0.0.1:6443".parse().unwrap();
        assert_eq!(DiskCache::in_cache_dir(Path::new("/c"), &url).dir(), Path::new("/c/discovery/10.0.0.1_6443"));
        assert_eq!(join_clean(base, "h/./a/../b/"), PathBuf::from("/c/discovery/h/b"));
        let prefixed: Uri = "https://h:443/prefix/".parse().unwrap();
        assert_eq!(DiskCache::in_cache_dir(Path::new("/c"), &prefixed).dir(), Path::new("/c/discovery/h_443/prefix"));
    }

    #[test]
    fn file_layout() {
        let cache = DiskCache::new("/c/d");
        assert_eq!(cache.resources_file(&GroupVersion::new("", "v1")), PathBuf::from("/c/d/v1/serverresources.json"));
        assert_eq!(
            cache.resources_file(&GroupVersion::new("apps", "v1")),
            PathBuf::from("/c/d/apps/v1/serverresources.json")
        );
        assert_eq!(cache.groups_file(), PathBuf::from("/c/d/servergroups.json"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Whatever bytes are on disk, loading is a miss or a snapshot, never a panic.
        #[test]
        fn arbitrary_cache_files_never_panic(groups in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                                             resources in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let tmp = tempfile::tempdir().unwrap();
            let cache = DiskCache::new(tmp.path());
            std::fs::write(cache.groups_file(), &groups).unwrap();
            std::fs::create_dir_all(tmp.path().join("v1")).unwrap();
            std::fs::write(cache.resources_file(&GroupVersion::new("", "v1")), &resources).unwrap();
            let _ = cache.load();
            let _ = documents::decode::<APIResourceList>(&resources);
        }

        /// JSON-shaped garbage (the likelier corruption) is handled the same way.
        #[test]
        fn json_shaped_cache_files_never_panic(doc in r#"\{("(kind|apiVersion|groups|groupVersion|resources|name|versions|verbs)":(null|"[a-zA-Z/]{0,6}"|\[\]|\[null\]|\{\}|1|true),?){0,6}\}"#) {
            let tmp = tempfile::tempdir().unwrap();
            let cache = DiskCache::new(tmp.path());
            std::fs::write(cache.groups_file(), doc.as_bytes()).unwrap();
            let _ = cache.load();
            let _ = documents::decode::<APIGroupList>(doc.as_bytes());
            let _ = documents::decode::<APIResourceList>(doc.as_bytes());
        }
    }
}
