//! Resources and policy documents as read from files: where each came from, and where the
//! pod-bearing kinds keep their pod.

use crate::error::PolicyError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// One document of an input file.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file (`-` for standard input).
    pub file: String,
    /// Its place in the file's stream, from 1.
    pub index: usize,
    pub value: Value,
}

impl Document {
    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or_default()
    }
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
    /// "kyverno.io/v1 ClusterPolicy disallow-x", for errors.
    pub fn label(&self) -> String {
        describe(&self.value)
    }
}

/// A JSON value's type as OpenAPI schemas name it (`integer` for whole numbers).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An object named for errors: "templates.gatekeeper.sh/v1 ConstraintTemplate k8spsp".
pub fn describe(object: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    format!("{} {} {}", s(&object["apiVersion"]), s(&object["kind"]), s(&object["metadata"]["name"]))
}

/// An object's labels (`metadata.labels`, string values only).
pub fn labels(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

/// The kinds that carry a pod template, and where (Kyverno's auto-generation and
/// pod-security-admission check the same ones).
pub const POD_CONTROLLERS: &[&str] =
    &["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController", "PodTemplate"];

/// A pod-bearing object's pod: (metadata, spec). None for other kinds or a malformed object.
pub fn pod_template(object: &Value) -> Option<(&Value, &Value)> {
    let template = match object["kind"].as_str()? {
        "Pod" => object,
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            &object["spec"]["template"]
        }
        "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
        "PodTemplate" => &object["template"],
        _ => return None,
    };
    let spec = template.get("spec")?;
    spec.is_object().then_some((&template["metadata"], spec))
}

/// Every document under `paths`: files, directories (recursively, `.yaml`, `.yml` and `.json`,
/// in name order) and `-` for standard input, one at a time. `kind: List` (and `*List`) objects
/// are opened into their items, as kubectl does.
pub fn read_paths(paths: &[PathBuf]) -> impl Iterator<Item = Result<Document, PolicyError>> + '_ {
    paths.iter().flat_map(|p| match files(p) {
        Ok(files) => Box::new(files.into_iter().flat_map(read_file)) as Box<dyn Iterator<Item = _>>,
        Err(e) => Box::new(std::iter::once(Err(e))),
    })
}

/// The files a path names: itself, or the YAML and JSON files under a directory, sorted.
pub fn files(path: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    if path.as_os_str() == "-" || !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| PolicyError::input(dir.display().to_string(), e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| PolicyError::input(dir.display().to_string(), e.to_string()))?;
            let p = entry.path();
            // Symlinks are not followed into directories: a loop would never end.
            let ft = entry.file_type().map_err(|e| PolicyError::input(p.display().to_string(), e.to_string()))?;
            if ft.is_dir() {
                dirs.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One file's documents (`-`: standard input), lists opened.
pub fn read_file(path: PathBuf) -> Box<dyn Iterator<Item = Result<Document, PolicyError>>> {
    let name = path.display().to_string();
    let reader: Box<dyn std::io::BufRead> = if path.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(&path) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => return Box::new(std::iter::once(Err(PolicyError::input(name, e.to_string())))),
        }
    };
    let mut index = 0;
    Box::new(crate::yaml::stream(name.clone(), reader).flat_map(move |doc| {
        index += 1;
        let file = name.clone();
        let docs: Vec<Result<Document, PolicyError>> = match doc {
            Err(e) => vec![Err(e)],
            Ok(value) => {
                open_list(value).into_iter().map(|value| Ok(Document { file: file.clone(), index, value })).collect()
            }
        };
        docs
    }))
}

fn open_list(value: Value) -> Vec<Value> {
    let is_list =
        value["kind"].as_str().is_some_and(|k| k == "List" || k.ends_with("List")) && value["items"].is_array();
    if !is_list {
        return vec![value];
    }
    match value {
        Value::Object(mut o) => match o.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
