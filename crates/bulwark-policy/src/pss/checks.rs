//! The checks, one function per upstream `CheckPodFn` (kubernetes/pod-security-admission
//! `policy/check_*.go`), over the pod as JSON. Reasons and details are upstream's, byte for
//! byte. A check returns `None` when it allows the pod.
//!
//! Go's zero values are the model for absent fields: a missing or `null` field is nil, a bool
//! that is not `true` is false, a number that is not a number is 0. The API server would refuse
//! a mistyped field before admission; here it counts as unset, never as an error that skips a
//! check.

use serde_json::Value;
use std::collections::BTreeSet;

/// A denial: upstream's `ForbiddenReason` and `ForbiddenDetail`.
pub(super) type Denial = Option<(String, String)>;

/// A field that is present and not `null` (Go's non-nil pointer).
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn is_true(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool) == Some(true)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Strings of a JSON array (others skipped, as Go would have refused them).
fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

/// `visitContainers`: init containers, containers, then ephemeral containers.
fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |k| spec.get(k).and_then(Value::as_array).into_iter().flatten())
        .filter(|c| c.is_object())
}

fn name(c: &Value) -> &str {
    str_of(c, "name")
}

/// A container's (non-nil) securityContext.
fn sc(c: &Value) -> Option<&Value> {
    field(c, "securityContext")
}

fn pod_sc(spec: &Value) -> Option<&Value> {
    field(spec, "securityContext")
}

/// `joinQuote`: each item in double quotes (no escaping), joined by `, `.
pub(super) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, n: usize) -> &'a str {
    if n == 1 {
        singular
    } else {
        plural
    }
}

/// Go's `%q` (strconv.Quote) for the strings PSA quotes: escapes quotes, backslashes and
/// control characters.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn deny(reason: impl Into<String>, detail: impl Into<String>) -> Denial {
    Some((reason.into(), detail.into()))
}

/// "container \"a\"" / "containers \"a\", \"b\"".
fn containers_phrase<S: AsRef<str>>(names: &[S]) -> String {
    format!("{} {}", pluralize("container", "containers", names.len()), join_quote(names))
}

fn sorted(set: &BTreeSet<String>) -> Vec<String> {
    set.iter().cloned().collect()
}

/// `relaxPolicyForUserNamespacePod`: `spec.hostUsers: false`.
fn user_namespace_pod(spec: &Value) -> bool {
    spec.get("hostUsers").and_then(Value::as_bool) == Some(false)
}

/// `spec.os.name: windows` (the 1.25 relaxations of restricted checks).
fn windows_pod(spec: &Value) -> bool {
    field(spec, "os").is_some_and(|os| str_of(os, "name") == "windows")
}

// ---------------------------------------------------------------- baseline

pub(super) fn app_armor_profile_1_0(meta: &Value, spec: &Value) -> Denial {
    let allowed_type = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let mut bad_setters: Vec<String> = Vec::new();
    let mut bad_values = BTreeSet::new();
    if let Some(p) = pod_sc(spec).and_then(|s| field(s, "appArmorProfile")) {
        let t = str_of(p, "type");
        if !allowed_type(t) {
            bad_setters.push("pod".into());
            bad_values.insert(t.to_string());
        }
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(p) = sc(c).and_then(|s| field(s, "appArmorProfile")) {
            let t = str_of(p, "type");
            if !allowed_type(t) {
                bad_containers.push(name(c));
                bad_values.insert(t.to_string());
            }
        }
    }
    if !bad_containers.is_empty() {
        bad_setters.push(containers_phrase(&bad_containers));
    }
    let mut forbidden_annotations = Vec::new();
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        for (k, v) in annotations {
            if !k.starts_with("container.apparmor.security.beta.kubernetes.io/") {
                continue;
            }
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            let allowed = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
            if !allowed {
                forbidden_annotations.push(format!("{k}={}", go_quote(&v)));
            }
        }
    }
    let mut bad_value_list = sorted(&bad_values);
    if !forbidden_annotations.is_empty() {
        forbidden_annotations.sort();
        let n = forbidden_annotations.len();
        bad_value_list.extend(forbidden_annotations);
        bad_setters.push(pluralize("annotation", "annotations", n).into());
    }
    if bad_setters.is_empty() {
        return None;
    }
    deny(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", bad_value_list.len()),
        format!("{} must not set AppArmor profile type to {}", bad_setters.join(" and "), join_quote(&bad_value_list)),
    )
}

const CAPABILITIES_ALLOWED_1_0: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn capabilities_baseline_1_0(_meta: &Value, spec: &Value) -> Denial {
    let mut bad_containers = Vec::new();
    let mut non_default = BTreeSet::new();
    for c in containers(spec) {
        let Some(caps) = sc(c).and_then(|s| field(s, "capabilities")) else { continue };
        let mut valid = true;
        for cap in strings(caps.get("add")) {
            if !CAPABILITIES_ALLOWED_1_0.contains(&cap) {
                valid = false;
                non_default.insert(cap.to_string());
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    deny(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad_containers),
            join_quote(&sorted(&non_default))
        ),
    )
}

pub(super) fn host_namespaces_1_0(_meta: &Value, spec: &Value) -> Denial {
    // In this order, not sorted (upstream appends to a slice).
    let set: Vec<&str> =
        [("hostNetwork", "hostNetwork=true"), ("hostPID", "hostPID=true"), ("hostIPC", "hostIPC=true")]
            .into_iter()
            .filter(|(key, _)| is_true(spec, key))
            .map(|(_, text)| text)
            .collect();
    if set.is_empty() {
        return None;
    }
    deny("host namespaces", set.join(", "))
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec.get("volumes").and_then(Value::as_array).into_iter().flatten().filter(|v| v.is_object())
}

pub(super) fn host_path_volumes_1_0(_meta: &Value, spec: &Value) -> Denial {
    let host: Vec<&str> = volumes(spec).filter(|v| field(v, "hostPath").is_some()).map(name).collect();
    if host.is_empty() {
        return None;
    }
    deny("hostPath volumes", format!("{} {}", pluralize("volume", "volumes", host.len()), join_quote(&host)))
}

pub(super) fn host_ports_1_0(_meta: &Value, spec: &Value) -> Denial {
    let mut bad_containers = Vec::new();
    let mut ports = BTreeSet::new();
    for c in containers(spec) {
        let mut valid = true;
        for p in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
            let hp = p.get("hostPort").and_then(Value::as_i64).unwrap_or(0);
            if hp != 0 {
                valid = false;
                ports.insert(hp.to_string());
            }
        }
        if !valid {
            bad_containers.push(name(c));
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let n = bad_containers.len();
    deny(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&bad_containers),
            pluralize("uses", "use", n),
            pluralize("hostPort", "hostPorts", ports.len()),
            sorted(&ports).join(", ")
        ),
    )
}

fn probe_hosts(handler: Option<&Value>, out: &mut Vec<String>) {
    let Some(h) = handler else { return };
    for kind in ["httpGet", "tcpSocket"] {
        if let Some(x) = field(h, kind) {
            let host = str_of(x, "host");
            if !host.is_empty() {
                out.push(host.to_string());
            }
        }
    }
}

pub(super) fn host_probes_and_host_lifecycle_1_34(_meta: &Value, spec: &Value) -> Denial {
    let mut bad_containers = BTreeSet::new();
    let mut forbidden = BTreeSet::new();
    for c in containers(spec) {
        let mut hosts = Vec::new();
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            probe_hosts(field(c, probe), &mut hosts);
        }
        if let Some(lc) = field(c, "lifecycle") {
            probe_hosts(field(lc, "postStart"), &mut hosts);
            probe_hosts(field(lc, "preStop"), &mut hosts);
        }
        if !hosts.is_empty() {
            bad_containers.insert(name(c).to_string());
            forbidden.extend(hosts);
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let n = bad_containers.len();
    deny(
        "probe or lifecycle host",
        format!(
            "{} {} {} {}",
            containers_phrase(&sorted(&bad_containers)),
            pluralize("uses", "use", n),
            pluralize("probe or lifecycle host", "probe or lifecycle hosts", forbidden.len()),
            join_quote(&sorted(&forbidden))
        ),
    )
}

pub(super) fn privileged_1_0(_meta: &Value, spec: &Value) -> Denial {
    let bad: Vec<&str> =
        containers(spec).filter(|c| sc(c).is_some_and(|s| is_true(s, "privileged"))).map(name).collect();
    if bad.is_empty() {
        return None;
    }
    deny("privileged", format!("{} must not set securityContext.privileged=true", containers_phrase(&bad)))
}

pub(super) fn proc_mount_1_0(_meta: &Value, spec: &Value) -> Denial {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    for c in containers(spec) {
        let Some(pm) = sc(c).and_then(|s| field(s, "procMount")) else { continue };
        let pm = pm.as_str().map(str::to_string).unwrap_or_else(|| pm.to_string());
        if pm != "Default" {
            bad.push(name(c));
            types.insert(pm);
        }
    }
    if bad.is_empty() {
        return None;
    }
    deny(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(&sorted(&types))
        ),
    )
}

pub(super) fn proc_mount_1_35_baseline(meta: &Value, spec: &Value) -> Denial {
    if user_namespace_pod(spec) {
        return None;
    }
    proc_mount_1_0(meta, spec)
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

fn se_linux_options(spec: &Value, allowed: &[&str]) -> Denial {
    let mut bad_setters: Vec<String> = Vec::new();
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |opts: &Value| {
        let mut ok = true;
        let t = str_of(opts, "type");
        if !allowed.contains(&t) {
            ok = false;
            bad_types.insert(t.to_string());
        }
        if !str_of(opts, "user").is_empty() {
            ok = false;
            set_user = true;
        }
        if !str_of(opts, "role").is_empty() {
            ok = false;
            set_role = true;
        }
        ok
    };
    if let Some(o) = pod_sc(spec).and_then(|s| field(s, "seLinuxOptions")) {
        if !valid(o) {
            bad_setters.push("pod".into());
        }
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(o) = sc(c).and_then(|s| field(s, "seLinuxOptions")) {
            if !valid(o) {
                bad_containers.push(name(c));
            }
        }
    }
    if !bad_containers.is_empty() {
        bad_setters.push(containers_phrase(&bad_containers));
    }
    if bad_setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !bad_types.is_empty() {
        bad_data.push(format!("{} {}", pluralize("type", "types", bad_types.len()), join_quote(&sorted(&bad_types))));
    }
    if set_user {
        bad_data.push("user may not be set".to_string());
    }
    if set_role {
        bad_data.push("role may not be set".to_string());
    }
    deny(
        "seLinuxOptions",
        format!("{} set forbidden securityContext.seLinuxOptions: {}", bad_setters.join(" and "), bad_data.join("; ")),
    )
}

pub(super) fn se_linux_options_1_0(_meta: &Value, spec: &Value) -> Denial {
    se_linux_options(spec, SELINUX_TYPES_1_0)
}

pub(super) fn se_linux_options_1_31(_meta: &Value, spec: &Value) -> Denial {
    se_linux_options(spec, SELINUX_TYPES_1_31)
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_seccomp(t: &str) -> bool {
    matches!(t, "Localhost" | "RuntimeDefault")
}

fn valid_seccomp_annotation(v: &str) -> bool {
    v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
}

/// The seccomp annotations (policy versions before 1.19).
pub(super) fn seccomp_profile_baseline_1_0(meta: &Value, spec: &Value) -> Denial {
    let annotations = meta.get("annotations").and_then(Value::as_object);
    let value_of = |k: &str| {
        annotations.and_then(|a| a.get(k)).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
    };
    let mut forbidden = BTreeSet::new();
    if let Some(v) = value_of(SECCOMP_POD_ANNOTATION) {
        if !valid_seccomp_annotation(&v) {
            forbidden.insert(format!("{SECCOMP_POD_ANNOTATION}={}", go_quote(&v)));
        }
    }
    for c in containers(spec) {
        let key = format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", name(c));
        if let Some(v) = value_of(&key) {
            if !valid_seccomp_annotation(&v) {
                forbidden.insert(format!("{key}={}", go_quote(&v)));
            }
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    deny(
        "seccompProfile",
        format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", forbidden.len()),
            sorted(&forbidden).join(", ")
        ),
    )
}

/// Explicitly bad `seccompProfile.type` values: (setters, values, containers without one,
/// whether the pod sets a valid one).
fn seccomp_fields(spec: &Value) -> (Vec<String>, BTreeSet<String>, Vec<String>, bool) {
    let mut bad_setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut pod_set = false;
    if let Some(p) = pod_sc(spec).and_then(|s| field(s, "seccompProfile")) {
        let t = str_of(p, "type");
        if valid_seccomp(t) {
            pod_set = true;
        } else {
            bad_setters.push("pod".to_string());
            bad_values.insert(t.to_string());
        }
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(spec) {
        match sc(c).and_then(|s| field(s, "seccompProfile")) {
            Some(p) => {
                let t = str_of(p, "type");
                if !valid_seccomp(t) {
                    explicit.push(name(c).to_string());
                    bad_values.insert(t.to_string());
                }
            }
            None => {
                if !pod_set {
                    implicit.push(name(c).to_string());
                }
            }
        }
    }
    if !explicit.is_empty() {
        bad_setters.push(containers_phrase(&explicit));
    }
    (bad_setters, bad_values, implicit, pod_set)
}

fn seccomp_explicit_denial(bad_setters: &[String], bad_values: &BTreeSet<String>) -> Denial {
    deny(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            bad_setters.join(" and "),
            join_quote(&sorted(bad_values))
        ),
    )
}

pub(super) fn seccomp_profile_baseline_1_19(_meta: &Value, spec: &Value) -> Denial {
    let (bad_setters, bad_values, _, _) = seccomp_fields(spec);
    if bad_setters.is_empty() {
        return None;
    }
    seccomp_explicit_denial(&bad_setters, &bad_values)
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"];

fn sysctls(spec: &Value, allowed: &[&[&str]]) -> Denial {
    let forbidden: Vec<&str> = pod_sc(spec)
        .map(|s| {
            s.get("sysctls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|x| str_of(x, "name"))
                .filter(|n| !allowed.iter().any(|set| set.contains(n)))
                .collect()
        })
        .unwrap_or_default();
    if forbidden.is_empty() {
        return None;
    }
    deny("forbidden sysctls", forbidden.join(", "))
}

pub(super) fn sysctls_1_0(_meta: &Value, spec: &Value) -> Denial {
    sysctls(spec, &[SYSCTLS_1_0])
}
pub(super) fn sysctls_1_27(_meta: &Value, spec: &Value) -> Denial {
    sysctls(spec, &[SYSCTLS_1_0, SYSCTLS_1_27])
}
pub(super) fn sysctls_1_29(_meta: &Value, spec: &Value) -> Denial {
    sysctls(spec, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}
pub(super) fn sysctls_1_32(_meta: &Value, spec: &Value) -> Denial {
    sysctls(spec, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32])
}
pub(super) fn sysctls_1_37(_meta: &Value, spec: &Value) -> Denial {
    sysctls(spec, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32, SYSCTLS_1_37])
}

pub(super) fn windows_host_process_1_0(_meta: &Value, spec: &Value) -> Denial {
    let host_process = |s: &Value| field(s, "windowsOptions").is_some_and(|w| is_true(w, "hostProcess"));
    let bad: Vec<&str> = containers(spec).filter(|c| sc(c).is_some_and(host_process)).map(name).collect();
    let mut setters = Vec::new();
    if pod_sc(spec).is_some_and(host_process) {
        setters.push("pod".to_string());
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    deny(
        "hostProcess",
        format!("{} must not set securityContext.windowsOptions.hostProcess=true", setters.join(" and ")),
    )
}

// ---------------------------------------------------------------- restricted

pub(super) fn allow_privilege_escalation_1_8(_meta: &Value, spec: &Value) -> Denial {
    let bad: Vec<&str> = containers(spec)
        .filter(|c| match sc(c).and_then(|s| field(s, "allowPrivilegeEscalation")) {
            None => true,
            // Go: a nil pointer or *true; a mistyped value decodes to neither here, so it is
            // not `false` either.
            Some(v) => v.as_bool() != Some(false),
        })
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    deny(
        "allowPrivilegeEscalation != false",
        format!("{} must set securityContext.allowPrivilegeEscalation=false", containers_phrase(&bad)),
    )
}

pub(super) fn allow_privilege_escalation_1_25(meta: &Value, spec: &Value) -> Denial {
    if windows_pod(spec) {
        return None;
    }
    allow_privilege_escalation_1_8(meta, spec)
}

pub(super) fn capabilities_restricted_1_22(_meta: &Value, spec: &Value) -> Denial {
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden_caps = BTreeSet::new();
    for c in containers(spec) {
        let Some(caps) = sc(c).and_then(|s| field(s, "capabilities")) else {
            missing_drop_all.push(name(c));
            continue;
        };
        if !strings(caps.get("drop")).any(|d| d == "ALL") {
            missing_drop_all.push(name(c));
        }
        let mut added = false;
        for a in strings(caps.get("add")) {
            if a != "NET_BIND_SERVICE" {
                added = true;
                forbidden_caps.insert(a.to_string());
            }
        }
        if added {
            adding_forbidden.push(name(c));
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop_all)
        ));
    }
    if !adding_forbidden.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding_forbidden),
            join_quote(&sorted(&forbidden_caps))
        ));
    }
    if details.is_empty() {
        return None;
    }
    deny("unrestricted capabilities", details.join("; "))
}

pub(super) fn capabilities_restricted_1_25(meta: &Value, spec: &Value) -> Denial {
    if windows_pod(spec) {
        return None;
    }
    capabilities_restricted_1_22(meta, spec)
}

pub(super) fn restricted_volumes_1_0(_meta: &Value, spec: &Value) -> Denial {
    // The allowed sources, then the restricted ones in upstream's order (its detail names the
    // first restricted source a volume has).
    const ALLOWED: &[&str] = &[
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    const RESTRICTED: &[&str] = &[
        "hostPath",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "nfs",
        "iscsi",
        "glusterfs",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "fc",
        "azureFile",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "portworxVolume",
        "photonPersistentDisk",
        "scaleIO",
        "storageos",
    ];
    let mut bad_volumes = Vec::new();
    let mut bad_types = BTreeSet::new();
    for v in volumes(spec) {
        if ALLOWED.iter().any(|k| field(v, k).is_some()) {
            continue;
        }
        // A volume with no source is an emptyDir: the API server defaults it so
        // (`SetDefaults_Volume`) before admission sees it.
        let has_source = v.as_object().is_some_and(|o| o.iter().any(|(k, x)| k != "name" && !x.is_null()));
        if !has_source {
            continue;
        }
        bad_volumes.push(name(v));
        let t = RESTRICTED.iter().find(|k| field(v, k).is_some()).copied().unwrap_or("unknown");
        bad_types.insert(t.to_string());
    }
    if bad_volumes.is_empty() {
        return None;
    }
    let n = bad_volumes.len();
    deny(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", n),
            join_quote(&bad_volumes),
            pluralize("uses", "use", n),
            pluralize("restricted volume type", "restricted volume types", bad_types.len()),
            join_quote(&sorted(&bad_types))
        ),
    )
}

pub(super) fn run_as_non_root_1_0(_meta: &Value, spec: &Value) -> Denial {
    let mut bad_setters: Vec<String> = Vec::new();
    let mut pod_non_root = false;
    if let Some(v) = pod_sc(spec).and_then(|s| field(s, "runAsNonRoot")) {
        if v.as_bool() == Some(true) {
            pod_non_root = true;
        } else {
            bad_setters.push("pod".into());
        }
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in containers(spec) {
        match sc(c).and_then(|s| field(s, "runAsNonRoot")) {
            Some(v) => {
                if v.as_bool() != Some(true) {
                    explicit.push(name(c));
                }
            }
            None => {
                if !pod_non_root {
                    implicit.push(name(c));
                }
            }
        }
    }
    if !explicit.is_empty() {
        bad_setters.push(containers_phrase(&explicit));
    }
    if !bad_setters.is_empty() {
        return deny(
            "runAsNonRoot != true",
            format!("{} must not set securityContext.runAsNonRoot=false", bad_setters.join(" and ")),
        );
    }
    if !implicit.is_empty() {
        return deny(
            "runAsNonRoot != true",
            format!("pod or {} must set securityContext.runAsNonRoot=true", containers_phrase(&implicit)),
        );
    }
    None
}

pub(super) fn run_as_non_root_1_35(meta: &Value, spec: &Value) -> Denial {
    if user_namespace_pod(spec) {
        return None;
    }
    run_as_non_root_1_0(meta, spec)
}

fn is_zero(v: Option<&Value>) -> bool {
    v.and_then(Value::as_f64) == Some(0.0)
}

pub(super) fn run_as_user_1_23(_meta: &Value, spec: &Value) -> Denial {
    let mut bad_setters: Vec<String> = Vec::new();
    if pod_sc(spec).is_some_and(|s| is_zero(field(s, "runAsUser"))) {
        bad_setters.push("pod".into());
    }
    let bad: Vec<&str> =
        containers(spec).filter(|c| sc(c).is_some_and(|s| is_zero(field(s, "runAsUser")))).map(name).collect();
    if !bad.is_empty() {
        bad_setters.push(containers_phrase(&bad));
    }
    if bad_setters.is_empty() {
        return None;
    }
    deny("runAsUser=0", format!("{} must not set runAsUser=0", bad_setters.join(" and ")))
}

pub(super) fn run_as_user_1_35(meta: &Value, spec: &Value) -> Denial {
    if user_namespace_pod(spec) {
        return None;
    }
    run_as_user_1_23(meta, spec)
}

pub(super) fn seccomp_profile_restricted_1_19(_meta: &Value, spec: &Value) -> Denial {
    let (bad_setters, bad_values, implicit, _) = seccomp_fields(spec);
    if !bad_setters.is_empty() {
        return seccomp_explicit_denial(&bad_setters, &bad_values);
    }
    if !implicit.is_empty() {
        return deny(
            "seccompProfile",
            format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                containers_phrase(&implicit)
            ),
        );
    }
    None
}

pub(super) fn seccomp_profile_restricted_1_25(meta: &Value, spec: &Value) -> Denial {
    if windows_pod(spec) {
        return None;
    }
    seccomp_profile_restricted_1_19(meta, spec)
}
