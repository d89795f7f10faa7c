//! Kyverno's auto-generation of pod-controller rules (pkg/autogen/v1): a rule written for
//! Pods also gets `autogen-NAME` for DaemonSet, Deployment, Job, StatefulSet, ReplicaSet and
//! ReplicationController and `autogen-cronjob-NAME` for CronJob, with the pattern moved under
//! the pod template and `request.object.spec`/`metadata` references shifted to it.

use serde_json::{json, Map, Value};

pub const ANNOTATION: &str = "pod-policies.kyverno.io/autogen-controllers";
/// The controllers of a rule generated for pod controllers (CronJob has its own rule).
const CONTROLLERS: &[&str] = &["DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController"];

/// The filters of a match/exclude block: `any`, `all`, or the block itself (legacy form).
fn filters(block: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = Vec::new();
    for k in ["any", "all"] {
        out.extend(block.get(k).and_then(Value::as_array).into_iter().flatten());
    }
    if block.get("resources").is_some() {
        out.push(block);
    }
    out
}

fn kinds(filter: &Value) -> Vec<&str> {
    filter["resources"]["kinds"].as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

fn contains_pod(kinds: &[&str]) -> bool {
    kinds.iter().any(|k| *k == "Pod" || k.ends_with("/Pod"))
}

/// Kyverno's `CanAutoGen`: whether the policy's rules may be generated for controllers.
fn can_autogen(rules: &[Value]) -> bool {
    let mut needed = false;
    for rule in rules {
        let m = &rule["mutate"];
        if m.get("patchesJson6902").is_some() || rule.get("generate").is_some() {
            return false;
        }
        if m["foreach"].as_array().into_iter().flatten().any(|f| f.get("patchesJson6902").is_some()) {
            return false;
        }
        for block in [&rule["match"], &rule["exclude"]] {
            for f in filters(block) {
                let r = &f["resources"];
                let k = kinds(f);
                if r.get("name").is_some_and(|n| n.as_str().is_some_and(|s| !s.is_empty()))
                    || r["names"].as_array().is_some_and(|n| !n.is_empty())
                    || r.get("selector").is_some_and(|s| !s.is_null())
                    || r["annotations"].as_object().is_some_and(|a| !a.is_empty())
                    || (k.len() > 1 && contains_pod(&k))
                {
                    return false;
                }
                needed = needed || contains_pod(&k);
            }
        }
    }
    needed
}

/// The rules of a policy with the generated ones appended (Kyverno's ComputeRules).
pub fn compute_rules(policy: &Value) -> Vec<Value> {
    let rules: Vec<Value> = policy["spec"]["rules"].as_array().cloned().unwrap_or_default();
    let applies = can_autogen(&rules);
    let annotation = policy["metadata"]["annotations"][ANNOTATION].as_str();
    let controllers: Vec<String> = match annotation {
        _ if !applies => return rules,
        None => "DaemonSet,Deployment,Job,StatefulSet,ReplicaSet,ReplicationController,CronJob"
            .split(',')
            .map(str::to_string)
            .collect(),
        Some(a) => a.split(',').map(|s| s.trim().to_string()).collect(),
    };
    if controllers.is_empty() || controllers.iter().any(|c| c == "none") {
        return rules;
    }
    let joined = controllers.join(",");
    let mut out = rules.clone();
    for rule in &rules {
        let Some(base) = for_controllers(rule, &joined) else { continue };
        if let Some(r) = shift_references(&base, "Pod").and_then(|r| shift_cel(r, "Pod")) {
            out.push(r);
        }
        if joined.contains("CronJob") || joined.contains("all") {
            let name = autogen_name("autogen-cronjob", rule["name"].as_str().unwrap_or_default());
            if let Some(cron) = generate(&name, &base, "jobTemplate", &["CronJob".to_string()], true) {
                if let Some(r) = shift_references(&cron, "Cronjob").and_then(|r| shift_cel(r, "Cronjob")) {
                    out.push(r);
                }
            }
        }
    }
    out
}

fn autogen_name(prefix: &str, name: &str) -> String {
    let mut n = format!("{prefix}-{name}");
    if n.len() > 63 {
        let mut cut = 63;
        while !n.is_char_boundary(cut) {
            cut -= 1;
        }
        n.truncate(cut);
    }
    n
}

/// Kyverno's generateRuleForControllers (before references are shifted).
fn for_controllers(rule: &Value, controllers: &str) -> Option<Value> {
    let name = rule["name"].as_str().unwrap_or_default();
    if name.starts_with("autogen-") || controllers.is_empty() {
        return None;
    }
    let match_kinds: Vec<&str> = filters(&rule["match"]).into_iter().flat_map(kinds).collect();
    let exclude_kinds: Vec<&str> = filters(&rule["exclude"]).into_iter().flat_map(kinds).collect();
    if !contains_pod(&match_kinds) || (!exclude_kinds.is_empty() && !contains_pod(&exclude_kinds)) {
        return None;
    }
    let list: Vec<String> = if controllers == "all" {
        CONTROLLERS.iter().map(|s| s.to_string()).collect()
    } else {
        let valid: Vec<String> =
            controllers.split(',').filter(|c| CONTROLLERS.contains(c)).map(str::to_string).collect();
        if valid.is_empty() {
            controllers.split(',').map(str::to_string).collect()
        } else {
            valid
        }
    };
    let mut list = list;
    list.sort();
    generate(&autogen_name("autogen", name), rule, "template", &list, false)
}

/// Kyverno's generateRule: the copy with its kinds replaced and its validation wrapped under
/// `spec.<tpl_key>`; None when the rule has nothing that can be generated.
fn generate(name: &str, rule: &Value, tpl_key: &str, new_kinds: &[String], all_filters: bool) -> Option<Value> {
    let mut r = rule.clone();
    let obj = r.as_object_mut()?;
    obj.insert("name".into(), json!(name));
    let kinds_v = json!(new_kinds);
    let replace = |block: &mut Value, is_exclude: bool| {
        let Some(b) = block.as_object_mut() else { return };
        let key = if b.get("any").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            Some("any")
        } else if b.get("all").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            Some("all")
        } else {
            None
        };
        match key {
            Some(k) => {
                for f in b.get_mut(k).and_then(Value::as_array_mut).into_iter().flatten() {
                    let has_pod = contains_pod(&kinds(f));
                    if all_filters || has_pod {
                        if let Some(res) = f.get_mut("resources").and_then(Value::as_object_mut) {
                            res.insert("kinds".into(), kinds_v.clone());
                        }
                    }
                }
            }
            None => {
                if let Some(res) = b.get_mut("resources").and_then(Value::as_object_mut) {
                    let non_empty = res.get("kinds").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
                    if !is_exclude || non_empty {
                        res.insert("kinds".into(), kinds_v.clone());
                    }
                } else if !is_exclude {
                    b.insert("resources".into(), json!({"kinds": kinds_v.clone()}));
                }
            }
        }
    };
    if let Some(m) = obj.get_mut("match") {
        replace(m, false);
    }
    if let Some(e) = obj.get_mut("exclude") {
        replace(e, true);
    }
    let wrap = |p: &Value| json!({"spec": {tpl_key: p}});
    if let Some(v) = obj.get("validate").and_then(Value::as_object).cloned() {
        let mut nv = Map::new();
        for k in ["message", "failureAction", "failureActionOverrides", "allowExistingViolations"] {
            if let Some(x) = v.get(k) {
                nv.insert(k.into(), x.clone());
            }
        }
        if let Some(p) = v.get("pattern") {
            nv.insert("pattern".into(), wrap(p));
        } else if let Some(d) = v.get("deny") {
            nv.insert("deny".into(), d.clone());
        } else if let Some(ps) = v.get("podSecurity") {
            nv.insert("podSecurity".into(), ps.clone());
        } else if let Some(Value::Array(ps)) = v.get("anyPattern") {
            nv.insert("anyPattern".into(), Value::Array(ps.iter().map(wrap).collect()));
        } else if let Some(f) = v.get("foreach") {
            nv.insert("foreach".into(), f.clone());
        } else if v.get("cel").is_some() || v.get("assert").is_some() {
            return Some(r);
        } else {
            return None;
        }
        obj.insert("validate".into(), Value::Object(nv));
        return Some(r);
    }
    if let Some(m) = obj.get("mutate").and_then(Value::as_object).cloned() {
        // Kyverno's generateRule: the strategic merge patch moved under the template; a
        // foreach keeps its list, context, preconditions and order, its patch moved too.
        if let Some(p) = m.get("patchStrategicMerge") {
            obj.insert("mutate".into(), json!({"patchStrategicMerge": wrap(p)}));
            return Some(r);
        }
        if let Some(Value::Array(list)) = m.get("foreach").filter(|f| f.as_array().is_some_and(|a| !a.is_empty())) {
            let fe: Vec<Value> = list
                .iter()
                .map(|f| {
                    let mut nf = Map::new();
                    for k in ["list", "context", "preconditions", "order"] {
                        if let Some(x) = f.get(k) {
                            nf.insert(k.into(), x.clone());
                        }
                    }
                    if let Some(p) = f.get("patchStrategicMerge") {
                        nf.insert("patchStrategicMerge".into(), wrap(p));
                    }
                    Value::Object(nf)
                })
                .collect();
            obj.insert("mutate".into(), json!({"foreach": fe}));
            return Some(r);
        }
        return Some(r);
    }
    if obj.get("verifyImages").is_some() {
        // Not evaluated (refused at compile time), but generated as Kyverno does so that
        // the generated names are the same.
        return Some(r);
    }
    None
}

/// Kyverno's updateFields: the rule's text with `request.object.spec` (and metadata, and
/// oldObject) pointing into the pod template.
fn shift_references(rule: &Value, kind: &str) -> Option<Value> {
    let mut text = serde_json::to_string(rule).ok()?;
    let rules: &[(&str, &str)] = if kind == "Pod" {
        &[
            ("request.object.spec", "request.object.spec.template.spec"),
            ("request.oldObject.spec", "request.oldObject.spec.template.spec"),
            ("request.object.metadata", "request.object.spec.template.metadata"),
            ("request.oldObject.metadata", "request.oldObject.spec.template.metadata"),
        ]
    } else {
        &[
            ("request.object.spec", "request.object.spec.jobTemplate.spec.template.spec"),
            ("request.oldObject.spec", "request.oldObject.spec.jobTemplate.spec.template.spec"),
            ("request.object.metadata", "request.object.spec.jobTemplate.spec.template.metadata"),
            ("request.oldObject.metadata", "request.oldObject.spec.jobTemplate.spec.template.metadata"),
        ]
    };
    for (from, to) in rules {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).ok()
}

/// Kyverno's updateCELFields for a rule with `validate.cel`: its text with `object.spec` (and
/// metadata, and oldObject) pointing into the pod template, replaced one after the other as
/// Go's `strings.ReplaceAll` calls do (so `oldObject.spec`, already rewritten by the first
/// replacement, is rewritten again: Kyverno's own behaviour, kept).
fn shift_cel(rule: Value, kind: &str) -> Option<Value> {
    if rule["validate"].get("cel").is_none() {
        return Some(rule);
    }
    let mut text = serde_json::to_string(&rule).ok()?;
    let rules: &[(&str, &str)] = if kind == "Pod" {
        &[
            ("object.spec", "object.spec.template.spec"),
            ("oldObject.spec", "oldObject.spec.template.spec"),
            ("object.metadata", "object.spec.template.metadata"),
            ("oldObject.metadata", "oldObject.spec.template.metadata"),
        ]
    } else {
        &[
            ("object.spec", "object.spec.jobTemplate.spec.template.spec"),
            ("oldObject.spec", "oldObject.spec.jobTemplate.spec.template.spec"),
            ("object.metadata", "object.spec.jobTemplate.spec.template.metadata"),
            ("oldObject.metadata", "oldObject.spec.jobTemplate.spec.template.metadata"),
        ]
    };
    for (from, to) in rules {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).ok()
}
