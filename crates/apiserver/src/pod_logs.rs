//! `pods/log` and `pods/eviction`. No containers run here, so a pod's log is whatever a test
//! wrote through [`ApiServer::append_pod_log`](crate::ApiServer::append_pod_log); `follow`
//! streams later appends until the pod is deleted or the client goes away. Evictions delete
//! the pod (no PodDisruptionBudgets are served, so none forbids it).

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use rkube_core::Status;
use rkube_core::query::QueryReader;
use serde_json::Value;
use tokio::sync::watch;

/// (namespace, pod, container) -> the log text so far.
type Key = (String, String, String);

/// Logs of every pod container, with change notification for `follow`.
#[derive(Default)]
pub struct PodLogs {
    logs: Mutex<HashMap<Key, watch::Sender<String>>>,
}

impl PodLogs {
    fn sender(&self, key: Key) -> watch::Sender<String> {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        logs.entry(key).or_insert_with(|| watch::channel(String::new()).0).clone()
    }

    /// Appends text to a container's log.
    pub fn append(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.sender((namespace.into(), pod.into(), container.into())).send_modify(|log| log.push_str(text));
    }

    /// Forgets a pod's logs (it was deleted); followers see their stream end.
    pub fn forget(&self, namespace: &str, pod: &str) {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).retain(|(ns, p, _), _| !(ns == namespace && p == pod));
    }

    /// The log request's answer: the text, or with `follow` a receiver for later text too.
    pub fn read(&self, pod: &Value, q: &QueryReader) -> Result<LogRead, Status> {
        let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
        let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let containers: Vec<&str> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| c.get("name")?.as_str()).collect())
            .unwrap_or_default();
        let container = match (q.get("container").filter(|c| !c.is_empty()), containers.as_slice()) {
            (Some(c), _) if containers.contains(&c) => c.to_string(),
            (Some(c), _) => {
                return Err(Status::bad_request(format!("container {c} is not valid for pod {name}")));
            }
            (None, [only]) => only.to_string(),
            (None, _) => {
                return Err(Status::bad_request(format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    containers.join(" ")
                )));
            }
        };
        let tail = q.int("tailLines").map_err(|e| Status::bad_request(e.to_string()))?;
        let follow = q.bool("follow").map_err(|e| Status::bad_request(e.to_string()))?.unwrap_or(false);
        let rx = self.sender((ns.into(), name.into(), container)).subscribe();
        let text = tail_lines(&rx.borrow(), tail);
        Ok(LogRead { text: Bytes::from(text), follow: follow.then_some(rx) })
    }
}

/// A log read.
pub struct LogRead {
    /// The log so far (or its last lines).
    pub text: Bytes,
    /// With `follow`: where later text arrives.
    pub follow: Option<watch::Receiver<String>>,
}

fn tail_lines(log: &str, tail: Option<i64>) -> String {
    match tail {
        Some(n) if n >= 0 => {
            let lines: Vec<&str> = log.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n as usize)..].concat()
        }
        _ => log.to_string(),
    }
}

/// Text appended since a follower last saw `seen` bytes of the log.
pub fn since(log: &str, seen: usize) -> &str {
    log.get(seen..).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: &[&str]) -> Value {
        let cs: Vec<Value> = containers.iter().map(|c| json!({"name": c, "image": "x"})).collect();
        json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": cs}})
    }

    #[test]
    fn reads_tails_and_validates_containers() {
        let logs = PodLogs::default();
        logs.append("ns", "p", "c", "one\ntwo\nthree\n");
        let q = QueryReader::parse("tailLines=2");
        assert_eq!(&logs.read(&pod(&["c"]), &q).unwrap().text[..], b"two\nthree\n");
        let both = pod(&["a", "b"]);
        let e = logs.read(&both, &QueryReader::parse("")).err().unwrap();
        assert_eq!(e.message, "a container name must be specified for pod p, choose one of: [a b]");
        assert!(logs.read(&both, &QueryReader::parse("container=z")).is_err());
        assert!(logs.read(&both, &QueryReader::parse("container=a")).unwrap().text.is_empty());
        assert_eq!(since("abc", 1), "bc");
    }
}
