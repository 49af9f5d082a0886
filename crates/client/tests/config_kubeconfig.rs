//! Kubeconfig loading, merging and resolution: client-go's loader and client-config cases
//! re-expressed, plus property tests over arbitrary input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rkube_client::config::{Auth, Config, ConfigError, InClusterOptions, Kubeconfig, KubeconfigOptions, LoadingRules};

const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn rules(files: &[&Path]) -> LoadingRules {
    LoadingRules { explicit_path: None, precedence: files.iter().map(|p| p.to_path_buf()).collect() }
}

/// A user, a cluster and a context named after `tag`, in the shape of client-go's test fixtures.
fn single(user: &str, token: &str, cluster: &str, server: &str, context: &str, ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nusers:\n- name: {user}\n  user:\n    token: {token}\nclusters:\n- name: {cluster}\n  cluster:\n    server: {server}\ncontexts:\n- name: {context}\n  context:\n    cluster: {cluster}\n    user: {user}\n    namespace: {ns}\n"
    )
}

fn alfa() -> String {
    single("red-user", "red-token", "cow-cluster", "http://cow.org:8080", "federal-context", "hammer-ns")
}

/// Conflicts with `alfa` on red-user and cow-cluster, and adds yellow-user, donkey-cluster
/// and a current-context.
const CONFLICT_ALFA: &str = "users:\n- name: red-user\n  user:\n    token: a-different-red-token\n- name: yellow-user\n  user:\n    token: yellow-token\nclusters:\n- name: cow-cluster\n  cluster:\n    server: http://a-different-cow.org:8080\n    insecure-skip-tls-verify: true\n    disable-compression: true\n- name: donkey-cluster\n  cluster:\n    server: http://donkey.org:8080\n    insecure-skip-tls-verify: true\ncurrent-context: federal-context\n";

fn token_of(config: &Kubeconfig, user: &str) -> String {
    let user = config.auth_info(user).expect("user present");
    user.user.token.as_ref().unwrap().expose().to_owned()
}

#[test]
fn explicit_path_must_exist_and_error_names_it() {
    let err = LoadingRules::default().with_explicit_path("bogus_file").load().unwrap_err();
    assert!(matches!(err, ConfigError::ExplicitKubeconfigMissing(_)));
    assert!(err.to_string().contains("bogus_file"), "{err}");
}

#[test]
fn missing_files_in_the_list_are_skipped() {
    let loaded = rules(&[Path::new("/nonexistent/bogus1"), Path::new("/nonexistent/bogus2")]).load().unwrap();
    assert!(loaded.config.is_empty());
    assert_eq!(loaded.missing.len(), 2);
    assert!(loaded.found.is_empty());
}

#[test]
fn unparsable_file_and_directory_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = write(dir.path(), "bogus", "bogus value");
    let err = LoadingRules::default().with_explicit_path(&bogus).load().unwrap_err();
    assert!(err.to_string().contains(&bogus.display().to_string()), "{err}");

    let err = LoadingRules::default().with_explicit_path(dir.path()).load().unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");

    // In the merged list a present but broken file is an error too, not skipped.
    let good = write(dir.path(), "good", &alfa());
    let err = rules(&[&good, &bogus]).load().unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
}

#[test]
fn explicit_path_is_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let explicit = write(dir.path(), "cmdline", &alfa());
    let env_file = write(dir.path(), "env", CONFLICT_ALFA);
    let loaded = rules(&[&env_file]).with_explicit_path(&explicit).load().unwrap();
    let config = loaded.config;
    assert_eq!(token_of(&config, "red-user"), "red-token");
    assert!(config.auth_info("yellow-user").is_none());
    assert!(config.cluster("donkey-cluster").is_none());
    assert_eq!(config.current_context, None, "current-context of the env file ignored");
}

#[test]
fn explicit_current_context_wins_over_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let explicit = write(dir.path(), "cmdline", "current-context: any-context-value\n");
    let env_file = write(dir.path(), "env", "current-context: a-different-context\n");
    let loaded = rules(&[&env_file]).with_explicit_path(&explicit).load().unwrap();
    assert_eq!(loaded.config.current_context.as_deref(), Some("any-context-value"));
}

#[test]
fn first_file_to_set_current_context_wins() {
    let dir = tempfile::tempdir().unwrap();
    let none = write(dir.path(), "none", &alfa());
    let first = write(dir.path(), "first", "current-context: first\n");
    let second = write(dir.path(), "second", "current-context: second\n");
    let config = rules(&[&none, &first, &second]).load().unwrap().config;
    assert_eq!(config.current_context.as_deref(), Some("first"));
}

#[test]
fn merge_with_conflict_keeps_whole_first_entries() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "first", &alfa());
    let second = write(dir.path(), "second", CONFLICT_ALFA);
    let config = rules(&[&first, &second]).load().unwrap().config;

    assert_eq!(token_of(&config, "red-user"), "red-token", "first red-user wins");
    assert_eq!(token_of(&config, "yellow-user"), "yellow-token", "new names are added");
    let cow = &config.cluster("cow-cluster").unwrap().cluster;
    assert_eq!(cow.server.as_deref(), Some("http://cow.org:8080"));
    assert_eq!(cow.insecure_skip_tls_verify, None, "later entry's fields are discarded, not mixed in");
    assert_eq!(cow.disable_compression, None);
    assert!(config.cluster("donkey-cluster").is_some());
    assert_eq!(config.current_context.as_deref(), Some("federal-context"), "set only by the second file");
    // Entries remember where they came from.
    assert_eq!(config.auth_info("yellow-user").unwrap().origin.file.as_deref(), Some(second.as_path()));
    assert_eq!(config.auth_info("red-user").unwrap().origin.file.as_deref(), Some(first.as_path()));
}

#[test]
fn merge_everything_without_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        write(dir.path(), "a", &alfa()),
        write(
            dir.path(),
            "b",
            &single("black-user", "black-token", "pig-cluster", "http://pig.org:8080", "queen-anne-context", "saw-ns"),
        ),
        write(
            dir.path(),
            "c",
            &single(
                "green-user",
                "green-token",
                "horse-cluster",
                "http://horse.org:8080",
                "shaker-context",
                "chisel-ns",
            ),
        ),
        write(
            dir.path(),
            "d",
            &single(
                "blue-user",
                "blue-token",
                "chicken-cluster",
                "http://chicken.org:8080",
                "gothic-context",
                "plane-ns",
            ),
        ),
    ];
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let config = rules(&refs).load().unwrap().config;
    assert_eq!(config.auth_infos.len(), 4);
    assert_eq!(config.clusters.len(), 4);
    assert_eq!(config.contexts.len(), 4);
    let names: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["federal-context", "queen-anne-context", "shaker-context", "gothic-context"]);
}

#[test]
fn empty_file_and_only_current_context_load() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty", "");
    let only = write(dir.path(), "only", "current-context: any-context-value\n");
    let config = rules(&[&empty, &only]).load().unwrap().config;
    assert!(config.clusters.is_empty() && config.auth_infos.is_empty() && config.contexts.is_empty());
    assert_eq!(config.current_context.as_deref(), Some("any-context-value"));
}

#[test]
fn duplicate_names_are_errors_naming_the_entry() {
    let cases = [
        (
            "clusters",
            "clusters:\n- name: kc\n  cluster: {server: 'https://a'}\n- name: kc\n  cluster: {server: 'https://b'}\n",
        ),
        (
            "contexts",
            "contexts:\n- name: ctx\n  context: {cluster: a, user: b}\n- name: ctx\n  context: {cluster: c, user: d}\n",
        ),
        ("users", "users:\n- name: u\n  user: {tokenFile: /a}\n- name: u\n  user: {tokenFile: /b}\n"),
        ("extensions", "extensions:\n- name: e\n  extension: {bytes: test}\n- name: e\n  extension: {bytes: other}\n"),
    ];
    for (list, text) in cases {
        let err = Kubeconfig::from_yaml(text).unwrap_err().to_string();
        assert!(err.contains(&format!("{list}[1].name")) && err.contains("duplicate name"), "{list}: {err}");
    }
}

#[test]
fn relative_paths_resolve_against_each_files_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir1 = root.path().join("one");
    let dir2 = root.path().join("two").join("nested");
    let file1 = write(
        &dir1,
        ".kubeconfig",
        "clusters:\n- name: relative-server-1\n  cluster:\n    certificate-authority: ../relative/ca\n- name: absolute-server-1\n  cluster:\n    certificate-authority: /abs/ca\nusers:\n- name: relative-user-1\n  user:\n    client-certificate: relative/client/cert\n    client-key: ../relative/client/key\n    tokenFile: tok\n- name: absolute-user-1\n  user:\n    client-certificate: /abs/client/cert\n    client-key: /abs/client/key\n- name: relative-cmd-1\n  user:\n    exec:\n      command: ../relative/client/cmd\n- name: absolute-cmd-1\n  user:\n    exec:\n      command: /abs/client/cmd\n- name: PATH-cmd-1\n  user:\n    exec:\n      command: cmd\n",
    );
    let file2 = write(
        &dir2,
        ".kubeconfig",
        "clusters:\n- name: relative-server-2\n  cluster:\n    certificate-authority: ../relative/ca2\nusers:\n- name: relative-user-2\n  user:\n    client-certificate: relative/client/cert2\n    client-key: ../relative/client/key2\n",
    );
    let config = rules(&[&file1, &file2]).load().unwrap().config;
    let ca = |name: &str| config.cluster(name).unwrap().cluster.certificate_authority.clone().unwrap();
    let user = |name: &str| config.auth_info(name).unwrap().user.clone();
    let s = |p: PathBuf| p.display().to_string();

    assert_eq!(ca("relative-server-1"), s(root.path().join("relative/ca")));
    assert_eq!(ca("relative-server-2"), s(root.path().join("two/relative/ca2")));
    assert_eq!(ca("absolute-server-1"), "/abs/ca");
    let u1 = user("relative-user-1");
    assert_eq!(u1.client_certificate.unwrap(), s(dir1.join("relative/client/cert")));
    assert_eq!(u1.client_key.unwrap(), s(root.path().join("relative/client/key")));
    assert_eq!(u1.token_file.unwrap(), s(dir1.join("tok")));
    let u2 = user("relative-user-2");
    assert_eq!(u2.client_certificate.unwrap(), s(dir2.join("relative/client/cert2")));
    assert_eq!(u2.client_key.unwrap(), s(root.path().join("two/relative/client/key2")));
    assert_eq!(user("absolute-user-1").client_key.unwrap(), "/abs/client/key");
    assert_eq!(user("relative-cmd-1").exec.unwrap().command, s(root.path().join("relative/client/cmd")));
    assert_eq!(user("absolute-cmd-1").exec.unwrap().command, "/abs/client/cmd");
    assert_eq!(user("PATH-cmd-1").exec.unwrap().command, "cmd", "bare commands are looked up in PATH");
}

#[test]
fn relative_kubeconfig_path_in_kubeconfig_env_resolves() {
    // A relative KUBECONFIG entry is relative to the current directory; the paths inside
    // it still come out absolute.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cfg", "clusters:\n- name: c\n  cluster:\n    certificate-authority: ca.pem\n");
    let config = Kubeconfig::read_file(&file).unwrap();
    let ca = config.cluster("c").unwrap().cluster.certificate_authority.clone().unwrap();
    assert!(Path::new(&ca).is_absolute());
    assert_eq!(ca, dir.path().join("ca.pem").display().to_string());
}

// ---- resolution: context selection and overrides ----

fn tls_kubeconfig(dir: &Path) -> String {
    let ca = write(dir, "ca.pem", CA_PEM);
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\nclusters:\n- name: prod\n  cluster:\n    server: https://prod.example.com:6443\n    certificate-authority: {}\n    tls-server-name: prod-internal\n- name: staging\n  cluster:\n    server: https://staging.example.com\n    certificate-authority-data: {}\n    proxy-url: http://proxy.corp:3128\nusers:\n- name: alice\n  user:\n    token: alice-token\n- name: bob\n  user:\n    username: bob\n    password: bob-password\ncontexts:\n- name: main\n  context:\n    cluster: prod\n    user: alice\n    namespace: apps\n- name: other\n  context:\n    cluster: staging\n    user: bob\n",
        ca.display(),
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"
    )
}

#[tokio::test]
async fn current_context_and_context_override() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    assert_eq!(config.cluster_url.to_string(), "https://prod.example.com:6443/");
    assert_eq!(config.default_namespace, "apps");
    assert_eq!(config.tls_server_name.as_deref(), Some("prod-internal"));
    assert_eq!(config.root_ca.as_ref().unwrap().bytes(), CA_PEM.as_bytes());
    assert_eq!(config.root_ca.as_ref().unwrap().path(), Some(dir.path().join("ca.pem").as_path()));
    assert!(!config.insecure_skip_tls_verify);
    assert_eq!((config.qps, config.burst), (5.0, 10));
    let header = config.auth_header().await.unwrap().unwrap();
    assert_eq!(header.to_str().unwrap(), "Bearer alice-token");

    let options = KubeconfigOptions { context: Some("other".into()), ..Default::default() };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.cluster_url.host(), Some("staging.example.com"));
    assert_eq!(config.default_namespace, "default");
    assert_eq!(config.root_ca.as_ref().unwrap().bytes(), CA_PEM.as_bytes(), "inline data decoded");
    assert_eq!(config.proxy_url.as_ref().unwrap().to_string(), "http://proxy.corp:3128/");
    assert_eq!(
        config.proxy_for(&config.cluster_url).unwrap().to_string(),
        "http://proxy.corp:3128/",
        "proxy-url wins over the environment"
    );
    let header = config.auth_header().await.unwrap().unwrap();
    assert_eq!(header.to_str().unwrap(), "Basic Ym9iOmJvYi1wYXNzd29yZA==");
}

#[test]
fn cluster_user_namespace_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let options = KubeconfigOptions {
        cluster: Some("staging".into()),
        user: Some("bob".into()),
        namespace: Some("override-ns".into()),
        ..Default::default()
    };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.cluster_url.host(), Some("staging.example.com"));
    assert!(matches!(config.auth, Auth::Basic { ref username, .. } if username == "bob"));
    assert_eq!(config.default_namespace, "override-ns");
}

#[test]
fn server_override_clears_tls_server_name_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let options = KubeconfigOptions { server: Some("https://other.example.com:8443".into()), ..Default::default() };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.cluster_url.to_string(), "https://other.example.com:8443/");
    assert_eq!(config.tls_server_name, None);

    let options = KubeconfigOptions {
        server: Some("https://other.example.com:8443".into()),
        tls_server_name: Some("named".into()),
        ..Default::default()
    };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.tls_server_name.as_deref(), Some("named"));

    let options = KubeconfigOptions { tls_server_name: Some("only-name".into()), ..Default::default() };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.tls_server_name.as_deref(), Some("only-name"));
}

#[test]
fn insecure_override_clears_ca_and_ca_override_replaces_data() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let options = KubeconfigOptions { insecure_skip_tls_verify: true, ..Default::default() };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert!(config.insecure_skip_tls_verify);
    assert!(config.root_ca.is_none());

    let other_ca = write(dir.path(), "other-ca.pem", "OTHER");
    let options = KubeconfigOptions {
        context: Some("other".into()),
        certificate_authority: Some(other_ca.clone()),
        ..Default::default()
    };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    assert_eq!(config.root_ca.as_ref().unwrap().bytes(), b"OTHER");
    assert_eq!(config.root_ca.unwrap().path(), Some(other_ca.as_path()));
}

#[tokio::test]
async fn token_override_replaces_user_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let options =
        KubeconfigOptions { context: Some("other".into()), token: Some("flag-token".into()), ..Default::default() };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    let header = config.auth_header().await.unwrap().unwrap();
    assert_eq!(header.to_str().unwrap(), "Bearer flag-token");
}

#[test]
fn missing_context_cluster_and_user_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = tls_kubeconfig(dir.path());
    let err = |options: KubeconfigOptions| Config::from_kubeconfig_str(&text, &options).unwrap_err();
    let e = err(KubeconfigOptions { context: Some("nope-ctx".into()), ..Default::default() });
    assert!(matches!(e, ConfigError::ContextNotFound(ref n) if n == "nope-ctx"), "{e}");
    let e = err(KubeconfigOptions { cluster: Some("nope-cluster".into()), ..Default::default() });
    assert!(e.to_string().contains("nope-cluster"), "{e}");
    let e = err(KubeconfigOptions { user: Some("nope-user".into()), ..Default::default() });
    assert!(e.to_string().contains("nope-user"), "{e}");

    // A current-context naming a context that does not exist is an error too.
    let e = Config::from_kubeconfig_str("current-context: ghost\n", &KubeconfigOptions::default()).unwrap_err();
    assert!(e.to_string().contains("ghost"), "{e}");
    // And a context naming a missing cluster.
    let e = Config::from_kubeconfig_str(
        "current-context: c\ncontexts:\n- name: c\n  context: {cluster: lost, user: ''}\n",
        &KubeconfigOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::ClusterNotFound(ref n) if n == "lost"), "{e}");
}

#[test]
fn empty_config_is_an_error_but_server_override_works() {
    let e = Config::from_kubeconfig_str("", &KubeconfigOptions::default()).unwrap_err();
    assert!(matches!(e, ConfigError::EmptyConfig { .. }), "{e}");
    let options = KubeconfigOptions { server: Some("http://localhost:8080".into()), ..Default::default() };
    let config = Config::from_kubeconfig_str("", &options).unwrap();
    assert_eq!(config.cluster_url.to_string(), "http://localhost:8080/");
    assert_eq!(config.default_namespace, "default");
}

#[test]
fn malformed_values_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "config",
        "current-context: c\nclusters:\n- name: ok\n  cluster: {server: 'https://ok'}\n- name: bad\n  cluster:\n    server: 'https://exa mple.com'\ncontexts:\n- name: c\n  context: {cluster: bad, user: ''}\n",
    );
    let err = Config::from_kubeconfig_file(&file, &KubeconfigOptions::default()).unwrap_err().to_string();
    let expected = format!("kubeconfig {}: clusters[1].cluster.server: invalid URL", file.display());
    assert!(err.starts_with(&expected), "{err}");

    let cases = [
        (
            "clusters:\n- name: a\n  cluster:\n    insecure-skip-tls-verify: maybe\n",
            "clusters[0].cluster.insecure-skip-tls-verify",
        ),
        ("users:\n- name: a\n  user:\n    as-groups: notalist\n", "users[0].user.as-groups"),
        ("contexts: 7\n", "contexts"),
        ("apiVersion: v2\n", "apiVersion"),
        ("kind: Pod\n", "kind"),
    ];
    for (text, field) in cases {
        let file = write(dir.path(), "case", text);
        let err = Kubeconfig::read_file(&file).unwrap_err().to_string();
        let expected = format!("kubeconfig {}: {field}:", file.display());
        assert!(err.starts_with(&expected), "{text:?}: {err}");
    }

    let bad_data = "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k\n    certificate-authority-data: '!!notbase64'\ncontexts:\n- name: c\n  context: {cluster: k, user: ''}\n";
    let err = Config::from_kubeconfig_str(bad_data, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(
        err.starts_with("kubeconfig <memory>: clusters[0].cluster.certificate-authority-data: invalid base64"),
        "{err}"
    );

    let bad_proxy = "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k\n    proxy-url: 'ftp://'\ncontexts:\n- name: c\n  context: {cluster: k, user: ''}\n";
    let err = Config::from_kubeconfig_str(bad_proxy, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("clusters[0].cluster.proxy-url"), "{err}");
}

fn with_user(user_yaml: &str) -> String {
    format!(
        "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k.example\nusers:\n- name: u\n  user:\n{user_yaml}contexts:\n- name: c\n  context: {{cluster: k, user: u}}\n"
    )
}

#[tokio::test]
async fn client_certificate_files_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write(dir.path(), "client.crt", "CERT-1");
    let key = write(dir.path(), "client.key", "KEY-1");
    let text = with_user(&format!("    client-certificate: {}\n    client-key: {}\n", cert.display(), key.display()));
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    let identity = config.client_certificate().await.unwrap().unwrap();
    assert_eq!(identity.cert.bytes(), b"CERT-1");
    assert_eq!(identity.key.path(), Some(key.as_path()));
    // Rotated on disk: the next call reads the new files.
    std::fs::write(&cert, "CERT-2").unwrap();
    std::fs::write(&key, "KEY-2").unwrap();
    let identity = config.client_certificate().await.unwrap().unwrap();
    assert_eq!((identity.cert.bytes(), identity.key.bytes()), (&b"CERT-2"[..], &b"KEY-2"[..]));

    // Inline data (base64 of "CERT" / "KEY").
    let text = with_user("    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n");
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    let identity = config.client_certificate().await.unwrap().unwrap();
    assert_eq!((identity.cert.bytes(), identity.key.bytes()), (&b"CERT"[..], &b"KEY"[..]));

    // A certificate without key, or both file and data, is an error naming the field.
    let err = Config::from_kubeconfig_str(
        &with_user("    client-certificate-data: Q0VSVA==\n"),
        &KubeconfigOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("users[0].user.client-key"), "{err}");
    let both = with_user(&format!(
        "    client-certificate: {}\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n",
        cert.display()
    ));
    let err = Config::from_kubeconfig_str(&both, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("users[0].user.client-certificate-data"), "{err}");
}

#[tokio::test]
async fn token_file_wins_over_token_and_missing_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", "file-token\n");
    let text = with_user(&format!("    token: inline-token\n    tokenFile: {}\n", token.display()));
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    assert!(matches!(config.auth, Auth::TokenFile(_)));
    assert_eq!(config.auth_header().await.unwrap().unwrap().to_str().unwrap(), "Bearer file-token");

    let text = with_user("    tokenFile: /nonexistent/token\n");
    let err = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/token"), "{err}");
}

#[test]
fn token_and_basic_together_are_rejected() {
    let text = with_user("    token: t\n    username: u\n    password: p\n");
    let err = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("more than one authentication method"), "{err}");
}

#[test]
fn impersonation_from_kubeconfig_and_override() {
    let text = with_user(
        "    token: t\n    as: jane\n    as-uid: '42'\n    as-groups: [devs, ops]\n    as-user-extra:\n      scopes: [read]\n",
    );
    let config = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default()).unwrap();
    let imp = config.impersonate.clone().unwrap();
    assert_eq!(imp.user, "jane");
    assert_eq!(imp.uid.as_deref(), Some("42"));
    assert_eq!(imp.groups, ["devs", "ops"]);
    assert_eq!(imp.extra["scopes"], ["read"]);

    let options = KubeconfigOptions {
        impersonate: Some("joe".into()),
        impersonate_groups: vec!["g".into()],
        ..Default::default()
    };
    let config = Config::from_kubeconfig_str(&text, &options).unwrap();
    let imp = config.impersonate.unwrap();
    assert_eq!((imp.user.as_str(), imp.groups.as_slice(), imp.uid), ("joe", &["g".to_owned()][..], None));

    let err = Config::from_kubeconfig_str(&with_user("    as-groups: [devs]\n"), &KubeconfigOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("without impersonating a user"), "{err}");
}

#[test]
fn credentials_are_not_used_over_plain_http() {
    let text = "current-context: c\nclusters:\n- name: k\n  cluster: {server: 'http://k:8080'}\nusers:\n- name: u\n  user: {token: t, as: jane}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
    let config = Config::from_kubeconfig_str(text, &KubeconfigOptions::default()).unwrap();
    assert!(matches!(config.auth, Auth::None));
    assert_eq!(config.impersonate.unwrap().user, "jane", "impersonation still applies");
}

#[test]
fn insecure_only_when_set_and_never_with_a_ca() {
    let base = "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: ''}\nclusters:\n- name: k\n  cluster:\n    server: https://k\n";
    let config = Config::from_kubeconfig_str(base, &KubeconfigOptions::default()).unwrap();
    assert!(!config.insecure_skip_tls_verify);
    let config = Config::from_kubeconfig_str(
        &format!("{base}    insecure-skip-tls-verify: true\n"),
        &KubeconfigOptions::default(),
    )
    .unwrap();
    assert!(config.insecure_skip_tls_verify);
    let both = format!("{base}    insecure-skip-tls-verify: true\n    certificate-authority-data: QUJD\n");
    let err = Config::from_kubeconfig_str(&both, &KubeconfigOptions::default()).unwrap_err().to_string();
    assert!(err.contains("insecure"), "{err}");
}

#[test]
fn type_errors_in_secret_fields_do_not_quote_the_value() {
    let err = Kubeconfig::from_yaml("users:\n- name: u\n  user:\n    password: 9876543210\n").unwrap_err().to_string();
    assert!(err.contains("users[0].user.password"), "{err}");
    assert!(!err.contains("9876543210"), "{err}");
}

#[test]
fn legacy_auth_provider_is_a_clear_error() {
    let err = Config::from_kubeconfig_str(
        &with_user("    auth-provider:\n      name: gcp\n      config:\n        access-token: SECRET-AP\n"),
        &KubeconfigOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("users[0].user.auth-provider") && err.contains("exec"), "{err}");
    assert!(!err.contains("SECRET-AP"));
}

#[test]
fn debug_output_never_shows_secrets() {
    let text = "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k\n    proxy-url: http://proxyuser:PROXY-SECRET@proxy:3128\nusers:\n- name: u\n  user:\n    token: TOKEN-SECRET\n- name: b\n  user:\n    username: bob\n    password: PASSWORD-SECRET\n- name: k\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZLVNFQ1JFVA==\n- name: e\n  user:\n    exec:\n      command: plugin\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n      env:\n      - name: API_KEY\n        value: ENV-SECRET\n- name: ap\n  user:\n    auth-provider:\n      name: oidc\n      config:\n        id-token: AP-SECRET\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n";
    let secrets =
        ["TOKEN-SECRET", "PASSWORD-SECRET", "S0VZLVNFQ1JFVA", "KEY-SECRET", "ENV-SECRET", "AP-SECRET", "PROXY-SECRET"];
    let kubeconfig = Kubeconfig::from_yaml(text).unwrap();
    let shown = format!("{kubeconfig:?} {kubeconfig:#?}");
    for user in ["u", "b", "k", "e"] {
        let options = KubeconfigOptions { user: Some(user.into()), ..Default::default() };
        let config = Config::from_custom_kubeconfig(&kubeconfig, &options).unwrap();
        let shown = format!("{config:?} {config:#?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "user {user}: {secret} in {shown}");
        }
    }
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn writes_a_kubeconfig_that_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let original = Kubeconfig::from_yaml(&tls_kubeconfig(dir.path())).unwrap();
    let file = write(dir.path(), "written", &original.to_yaml().unwrap());
    let again = Kubeconfig::read_file(&file).unwrap();
    assert_eq!(again.clusters.len(), 2);
    assert_eq!(again.auth_info("alice").unwrap().user.token.as_ref().unwrap().expose(), "alice-token");
}

// ---- infer ----

#[test]
fn infer_lists_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules(&[&dir.path().join("missing-config")]);
    let incluster = InClusterOptions {
        service_account_dir: dir.path().join("sa"),
        service_host: None,
        service_port: None,
        pod_namespace: None,
    };
    let err = Config::infer_from(&rules, &incluster).unwrap_err();
    let ConfigError::InferFailed { tried } = &err else { panic!("{err}") };
    assert_eq!(tried.len(), 2, "{err}");
    assert!(tried[0].contains("missing-config"), "{err}");
    assert!(tried[1].contains("KUBERNETES_SERVICE_HOST"), "{err}");
}

#[test]
fn infer_prefers_kubeconfig_then_in_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let sa = dir.path().join("sa");
    write(&sa, "token", "sa-token");
    let incluster = InClusterOptions {
        service_account_dir: sa,
        service_host: Some("10.0.0.1".into()),
        service_port: Some("443".into()),
        pod_namespace: None,
    };
    let kubeconfig = write(
        dir.path(),
        "config",
        &alfa().replace("kind: Config\n", "kind: Config\ncurrent-context: federal-context\n"),
    );
    let config = Config::infer_from(&rules(&[&kubeconfig]), &incluster).unwrap();
    assert_eq!(config.cluster_url.host(), Some("cow.org"));

    let config = Config::infer_from(&rules(&[&dir.path().join("none")]), &incluster).unwrap();
    assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:443/");

    // A kubeconfig that exists but is broken is reported, not skipped.
    let broken = write(dir.path(), "broken", "clusters: [");
    let err = Config::infer_from(&rules(&[&broken]), &incluster).unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
}

// ---- property tests ----

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://h:6443".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("~".to_owned()),
        Just("true".to_owned()),
        Just("QUJD".to_owned()),
        "[a-z0-9:/. -]{0,12}",
    ]
}

fn kubeconfig_like() -> impl Strategy<Value = String> {
    let cluster_keys = prop::sample::select(vec![
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "insecure-skip-tls-verify",
        "proxy-url",
        "tls-server-name",
        "disable-compression",
    ]);
    let user_keys = prop::sample::select(vec![
        "token",
        "tokenFile",
        "username",
        "password",
        "client-certificate-data",
        "client-key-data",
        "as",
        "as-groups",
        "exec",
    ]);
    (
        prop::collection::vec((cluster_keys, field_value()), 0..4),
        prop::collection::vec((user_keys, field_value()), 0..4),
        prop::option::of("[a-z]{0,3}"),
        "[a-z]{0,3}",
        "[a-z]{0,3}",
    )
        .prop_map(|(cluster, user, current, ctx_cluster, ctx_user)| {
            let mut text = String::from("clusters:\n- name: k\n  cluster:\n");
            for (k, v) in cluster {
                text.push_str(&format!("    {k}: {v}\n"));
            }
            text.push_str("users:\n- name: u\n  user:\n");
            for (k, v) in user {
                text.push_str(&format!("    {k}: {v}\n"));
            }
            text.push_str(&format!(
                "contexts:\n- name: c\n  context:\n    cluster: '{ctx_cluster}'\n    user: '{ctx_user}'\n"
            ));
            if let Some(current) = current {
                text.push_str(&format!("current-context: '{current}'\n"));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_is_an_error_or_a_config_never_a_panic(text in "\\PC{0,200}") {
        match Kubeconfig::from_yaml(&text) {
            Ok(_) => {}
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.starts_with("kubeconfig <memory>:"), "{}", shown);
            }
        }
        let _ = Config::from_kubeconfig_str(&text, &KubeconfigOptions::default());
    }

    #[test]
    fn arbitrary_yaml_ish_text_never_panics(text in "[a-z:\\-\\[\\]{}'\" \n#&*!|>%@`,?]{0,120}") {
        if let Err(e) = Kubeconfig::from_yaml(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn kubeconfig_shaped_input_resolves_or_names_the_problem(text in kubeconfig_like()) {
        let options = KubeconfigOptions { context: Some("c".into()), ..Default::default() };
        if let Err(e) = Config::from_kubeconfig_str(&text, &options) {
            let shown = e.to_string();
            prop_assert!(!shown.is_empty());
            if let ConfigError::Kubeconfig { field, .. } = &e {
                prop_assert!(!field.is_empty() || shown.contains("YAML"), "{}", shown);
            }
        }
    }
}

// ---- real-world kubeconfigs ----

const EKS: &str = r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtUEVN
    server: https://ABC.gr7.us-west-2.eks.amazonaws.com
  name: arn:aws:eks:us-west-2:123:cluster/demo
contexts:
- context:
    cluster: arn:aws:eks:us-west-2:123:cluster/demo
    user: arn:aws:eks:us-west-2:123:cluster/demo
  name: arn:aws:eks:us-west-2:123:cluster/demo
current-context: arn:aws:eks:us-west-2:123:cluster/demo
kind: Config
preferences: {}
users:
- name: arn:aws:eks:us-west-2:123:cluster/demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-west-2
      - eks
      - get-token
      - --cluster-name
      - demo
      command: aws
      env: null
      interactiveMode: IfAvailable
      provideClusterInfo: false
"#;

const GKE: &str = r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0EtUEVN
    server: https://34.1.2.3
  name: gke_proj_europe-west1_demo
contexts:
- context:
    cluster: gke_proj_europe-west1_demo
    user: gke_proj_europe-west1_demo
  name: gke_proj_europe-west1_demo
current-context: gke_proj_europe-west1_demo
users:
- name: gke_proj_europe-west1_demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
"#;

const KIND_JSON: &str = r#"{
  "kind": "Config",
  "apiVersion": "v1",
  "preferences": {},
  "clusters": [{"name": "kind-kind", "cluster": {"server": "https://127.0.0.1:41234", "certificate-authority-data": "Q0EtUEVN"}}],
  "users": [{"name": "kind-kind", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}}],
  "contexts": [{"name": "kind-kind", "context": {"cluster": "kind-kind", "user": "kind-kind"}}],
  "current-context": "kind-kind"
}"#;

#[tokio::test]
async fn real_world_kubeconfigs_resolve() {
    let none = KubeconfigOptions::default();
    let eks = Config::from_kubeconfig_str(EKS, &none).unwrap();
    assert!(matches!(&eks.auth, Auth::Exec(e) if e.command() == "aws"));
    assert_eq!(eks.root_ca.as_ref().unwrap().bytes(), b"CA-PEM");

    let gke = Config::from_kubeconfig_str(GKE, &none).unwrap();
    let Auth::Exec(exec) = &gke.auth else { panic!("{gke:?}") };
    assert_eq!(exec.command(), "gke-gcloud-auth-plugin");

    let kind = Config::from_kubeconfig_str(KIND_JSON, &none).unwrap();
    assert_eq!(kind.cluster_url.to_string(), "https://127.0.0.1:41234/");
    let identity = kind.client_certificate().await.unwrap().unwrap();
    assert_eq!(identity.cert.bytes(), b"CERT");
    assert!(matches!(kind.auth, Auth::None));
}
