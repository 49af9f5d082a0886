//! In-cluster config and exec credential plugins, with real files and real processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rkube_client::config::{Auth, Config, ConfigError, InClusterOptions, KubeconfigOptions};
use tokio::time::Instant;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn service_account(dir: &Path) -> InClusterOptions {
    let sa = dir.join("serviceaccount");
    write(&sa, "token", "token-1\n");
    write(&sa, "ca.crt", "CA-PEM");
    write(&sa, "namespace", "team-a\n");
    InClusterOptions {
        service_account_dir: sa,
        service_host: Some("10.96.0.1".into()),
        service_port: Some("443".into()),
        pod_namespace: None,
    }
}

async fn header(config: &Config) -> String {
    config.auth_header().await.unwrap().unwrap().to_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn in_cluster_reads_the_service_account_and_follows_token_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let options = service_account(dir.path());
    assert!(options.is_possible());
    let config = Config::incluster_from(&options).unwrap();
    assert_eq!(config.cluster_url.to_string(), "https://10.96.0.1:443/");
    assert_eq!(config.root_ca.as_ref().unwrap().bytes(), b"CA-PEM");
    assert_eq!(config.default_namespace, "team-a");
    assert!(matches!(config.auth, Auth::TokenFile(_)));
    assert_eq!(header(&config).await, "Bearer token-1");

    // The kubelet rotates the projected token; we pick it up within a minute.
    write(&options.service_account_dir, "token", "token-2");
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(header(&config).await, "Bearer token-1");
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(header(&config).await, "Bearer token-2");

    // And right away after a 401 for a request sent after the last read.
    write(&options.service_account_dir, "token", "token-3");
    tokio::time::advance(Duration::from_millis(10)).await;
    let sent = Instant::now();
    config.invalidate_after_401(sent);
    assert_eq!(header(&config).await, "Bearer token-3");

    // Clones share the cache.
    let clone = config.clone();
    write(&options.service_account_dir, "token", "token-4");
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(header(&clone).await, "Bearer token-4");
}

#[test]
fn in_cluster_namespace_host_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = service_account(dir.path());
    options.pod_namespace = Some("from-env".into());
    options.service_host = Some("fd00::1".into());
    let config = Config::incluster_from(&options).unwrap();
    assert_eq!(config.default_namespace, "from-env", "POD_NAMESPACE wins");
    assert_eq!(config.cluster_url.to_string(), "https://[fd00::1]:443/");

    // No namespace file and no POD_NAMESPACE: "default". No CA: only logged.
    std::fs::remove_file(options.service_account_dir.join("namespace")).unwrap();
    std::fs::remove_file(options.service_account_dir.join("ca.crt")).unwrap();
    options.pod_namespace = None;
    let config = Config::incluster_from(&options).unwrap();
    assert_eq!(config.default_namespace, "default");
    assert!(config.root_ca.is_none());

    let mut outside = options.clone();
    outside.service_host = None;
    assert!(!outside.is_possible());
    let err = Config::incluster_from(&outside).unwrap_err();
    assert!(matches!(err, ConfigError::NotInCluster(_)), "{err}");
    assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"));

    std::fs::remove_file(options.service_account_dir.join("token")).unwrap();
    let err = Config::incluster_from(&options).unwrap_err();
    assert!(err.to_string().contains("token"), "{err}");
}

// ---- exec plugins ----

/// A plugin that counts its runs, saves `KUBERNETES_EXEC_INFO`, and answers with `tok-<n>`
/// in the API version `$API` and with `$EXP` as expirationTimestamp (when set).
const PLUGIN: &str = r#"#!/bin/sh
n=$(cat "$STATE/count" 2>/dev/null || echo 0)
n=$((n+1))
echo "$n" > "$STATE/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$STATE/info.json"
[ -n "$SLEEP" ] && sleep "$SLEEP"
[ -n "$FAIL" ] && { echo "plugin failing" >&2; exit 3; }
if [ -n "$EXP" ]; then exp=",\"expirationTimestamp\":\"$EXP\""; else exp=""; fi
if [ -n "$CERT" ]; then
  printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\\nC%s\\n-----END CERTIFICATE-----\\n","clientKeyData":"-----BEGIN PRIVATE KEY-----\\nK%s\\n-----END PRIVATE KEY-----\\n"%s}}\n' "$API" "$n" "$n" "$exp"
elif [ -n "$GARBAGE" ]; then
  echo 'this is not json'
else
  printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"tok-%s"%s}}\n' "$API" "$n" "$exp"
fi
"#;

struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "plugin.sh", PLUGIN);
        Plugin { dir }
    }

    fn runs(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("count")).map(|s| s.trim().parse().unwrap()).unwrap_or(0)
    }

    fn info(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("info.json")).unwrap()).unwrap()
    }

    /// A kubeconfig whose user runs the plugin through /bin/sh (no exec bit needed, so no
    /// "text file busy" races with other tests' forks).
    fn kubeconfig(&self, api: &str, interactive: Option<&str>, env: &[(&str, &str)], extra_exec: &str) -> String {
        let mut env_yaml = format!(
            "      - name: STATE\n        value: '{}'\n      - name: API\n        value: '{api}'\n",
            self.dir.path().display()
        );
        for (name, value) in env {
            env_yaml.push_str(&format!("      - name: {name}\n        value: '{value}'\n"));
        }
        let interactive = interactive.map(|m| format!("      interactiveMode: {m}\n")).unwrap_or_default();
        format!(
            "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k.example:6443\n    certificate-authority-data: Q0EtUEVN\n    extensions:\n    - name: client.authentication.k8s.io/exec\n      extension:\n        audience: rkube\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      command: /bin/sh\n      args: ['{}']\n      apiVersion: {api}\n{interactive}{extra_exec}      env:\n{env_yaml}",
            self.dir.path().join("plugin.sh").display()
        )
    }

    fn config(&self, api: &str, interactive: Option<&str>, env: &[(&str, &str)]) -> Config {
        Config::from_kubeconfig_str(&self.kubeconfig(api, interactive, env, ""), &KubeconfigOptions::default()).unwrap()
    }
}

const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

#[tokio::test]
async fn v1_plugin_gets_exec_info_and_its_token_is_cached_without_expiry() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[]);
    assert_eq!(header(&config).await, "Bearer tok-1");
    assert_eq!(header(&config).await, "Bearer tok-1");
    assert_eq!(plugin.runs(), 1, "no expiry: cached");

    let info = plugin.info();
    assert_eq!(info["apiVersion"], V1);
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false);
    assert!(info["spec"].get("cluster").is_none(), "no provideClusterInfo: no cluster");
}

#[tokio::test]
async fn v1beta1_plugin_with_cluster_info() {
    let plugin = Plugin::new();
    let text = plugin.kubeconfig(V1BETA1, None, &[], "      provideClusterInfo: true\n");
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    assert_eq!(header(&config).await, "Bearer tok-1");
    let info = plugin.info();
    assert_eq!(info["apiVersion"], V1BETA1);
    let cluster = &info["spec"]["cluster"];
    assert_eq!(cluster["server"], "https://k.example:6443", "as written in the kubeconfig");
    assert_eq!(cluster["certificate-authority-data"], "Q0EtUEVN");
    assert_eq!(cluster["config"]["audience"], "rkube");
}

#[tokio::test]
async fn plugin_answering_another_version_is_rejected() {
    let plugin = Plugin::new();
    // Configured for v1, the script answers v1beta1.
    let text = plugin
        .kubeconfig(V1, Some("Never"), &[], "")
        .replace(&format!("value: '{V1}'"), &format!("value: '{V1BETA1}'"));
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    let err = config.auth_header().await.unwrap_err().to_string();
    assert!(err.contains("plugin returned version"), "{err}");
}

#[tokio::test]
async fn credentials_are_cached_until_expiry() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[("EXP", "2999-01-01T00:00:00Z")]);
    for _ in 0..3 {
        assert_eq!(header(&config).await, "Bearer tok-1");
    }
    assert_eq!(plugin.runs(), 1);

    let expired = Plugin::new();
    let config = expired.config(V1, Some("Never"), &[("EXP", "2000-01-01T00:00:00Z")]);
    assert_eq!(header(&config).await, "Bearer tok-1");
    assert_eq!(header(&config).await, "Bearer tok-2");
    assert_eq!(expired.runs(), 2, "expired credentials are fetched again");
}

#[tokio::test]
async fn a_401_refreshes_once() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[]);
    let sent = Instant::now();
    assert_eq!(header(&config).await, "Bearer tok-1");
    // A 401 for a request sent before the credential was fetched changes nothing.
    config.invalidate_after_401(sent);
    assert_eq!(header(&config).await, "Bearer tok-1");
    // A 401 with the current credential refreshes it once.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let sent = Instant::now();
    config.invalidate_after_401(sent);
    config.invalidate_after_401(sent);
    assert_eq!(header(&config).await, "Bearer tok-2");
    assert_eq!(header(&config).await, "Bearer tok-2");
    assert_eq!(plugin.runs(), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_plugin_run() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[("SLEEP", "0.2")]);
    let results = futures_join(&config, 5).await;
    assert!(results.iter().all(|h| h == "Bearer tok-1"), "{results:?}");
    assert_eq!(plugin.runs(), 1);
}

async fn futures_join(config: &Config, n: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let config = config.clone();
        tasks.spawn(async move { header(&config).await });
    }
    let mut out = Vec::new();
    while let Some(result) = tasks.join_next().await {
        out.push(result.unwrap());
    }
    out
}

#[tokio::test]
async fn plugin_client_certificate_is_used_for_tls() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[("CERT", "1")]);
    assert!(config.auth_header().await.unwrap().is_none(), "no token, no header");
    let identity = config.client_certificate().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(identity.cert.bytes()).contains("C1"));
    assert!(String::from_utf8_lossy(identity.key.bytes()).contains("K1"));
    assert!(!format!("{identity:?}").contains("K1"));
}

#[tokio::test]
async fn missing_command_shows_the_install_hint() {
    let text = "current-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://k'}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user:\n    exec:\n      command: rkube-no-such-plugin-xyz\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n      installHint: \"Install it with: brew install \\e[1mxyz\\e[0m\"\n";
    let config = Config::from_kubeconfig_str(text, &KubeconfigOptions::default()).unwrap();
    let err = config.auth_header().await.unwrap_err();
    assert!(matches!(err, ConfigError::ExecNotFound { .. }), "{err}");
    let shown = err.to_string();
    assert!(shown.contains("rkube-no-such-plugin-xyz not found"), "{shown}");
    assert!(shown.contains("brew install"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "escape codes neutralised: {shown}");
}

#[tokio::test]
async fn failing_and_garbage_plugins_give_errors() {
    let plugin = Plugin::new();
    let config = plugin.config(V1, Some("Never"), &[("FAIL", "1")]);
    let err = config.auth_header().await.unwrap_err();
    assert!(matches!(err, ConfigError::ExecFailed { code: 3, .. }), "{err}");

    let config = plugin.config(V1, Some("Never"), &[("GARBAGE", "1")]);
    let err = config.auth_header().await.unwrap_err();
    assert!(matches!(err, ConfigError::ExecOutput { .. }), "{err}");
    assert!(err.to_string().contains("decoding stdout"), "{err}");
}

#[test]
fn exec_stanza_validation_names_the_field() {
    let plugin = Plugin::new();
    // v1 requires interactiveMode.
    let text = plugin.kubeconfig(V1, None, &[], "");
    let err = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("users[0].user.exec.interactiveMode"), "{err}");
    let text = plugin.kubeconfig("client.authentication.k8s.io/v1alpha1", Some("Never"), &[], "");
    let err = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("users[0].user.exec.apiVersion"), "{err}");
    let text = plugin.kubeconfig(V1, Some("Sometimes"), &[], "");
    let err = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("interactiveMode"), "{err}");
}

#[cfg(unix)]
#[tokio::test]
async fn relative_plugin_path_resolves_against_the_kubeconfig() {
    use std::os::unix::fs::PermissionsExt;
    let plugin = Plugin::new();
    let bin = plugin.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("plugin");
    std::fs::copy(plugin.dir.path().join("plugin.sh"), &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = plugin
        .kubeconfig(V1, Some("Never"), &[], "")
        .replace("command: /bin/sh", "command: ./bin/plugin")
        .replace(&format!("args: ['{}']", plugin.dir.path().join("plugin.sh").display()), "args: []");
    let file = write(plugin.dir.path(), "kubeconfig", &text);
    let config = Config::from_kubeconfig_file(&file, &KubeconfigOptions::default()).unwrap();
    // Another test's fork may briefly hold the new script open for writing (ETXTBSY).
    let mut last = None;
    for _ in 0..20 {
        match config.auth_header().await {
            Ok(h) => {
                last = Some(h.unwrap().to_str().unwrap().to_owned());
                break;
            }
            Err(ConfigError::ExecIo { source, .. }) if source.raw_os_error() == Some(26) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(last.as_deref(), Some("Bearer tok-1"));
}
