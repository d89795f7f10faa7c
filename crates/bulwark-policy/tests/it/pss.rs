//! The Pod Security Standards against pod-security-admission's own fixtures (every level and
//! version in `../shared`), and the parsing of levels, versions, namespace labels and the
//! PodSecurityConfiguration.

use bulwark_policy::dialect::{Policy, Request, UserInfo};
use bulwark_policy::pss::{
    evaluate_pod, Level, LevelVersion, Modes, PodSecurity, PodSecurityConfiguration, Version, MAX_MINOR,
};
use bulwark_policy::Outcome;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The substring upstream's fixture test requires in a denial, per check (the fixtures'
/// README); checks not listed have none.
fn expected_substring(check: &str) -> Option<&'static str> {
    Some(match check {
        "apparmorprofile" => "forbidden AppArmor profile",
        "capabilities_baseline" => "capabilities",
        "capabilities_restricted" => "unrestricted capabilities",
        "hostnamespaces" => "host namespaces",
        "hostpathvolumes" => "hostPath",
        "hostports" => "hostPort",
        "hostprobesandhostlifecycle" => "probe or lifecycle host",
        "procmount" => "procMount",
        "restrictedvolumes" => "restricted volume types",
        "selinuxoptions" => "seLinuxOptions",
        "seccompprofile_baseline" | "seccompprofile_restricted" => "seccompProfile",
        "sysctls" => "forbidden sysctl",
        "windowshostprocess" => "hostProcess",
        _ => return None,
    })
}

#[test]
fn every_pss_fixture_is_allowed_or_denied_as_upstream_with_its_message() {
    let root = bulwark_testkit::shared().join("data/admission/pss");
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap()).unwrap();
    let mut evaluated = 0;
    let mut denied = 0;
    let mut disagreements = Vec::new();
    for entry in &manifest {
        let path = entry["path"].as_str().unwrap();
        let lv: LevelVersion =
            format!("{}:{}", entry["level"].as_str().unwrap(), entry["version"].as_str().unwrap()).parse().unwrap();
        let expect_allow = match entry["expect"].as_str().unwrap() {
            "allow" => true,
            "deny" => false,
            other => panic!("{path}: expect {other}"),
        };
        // The folder is the expectation: the manifest must agree with it.
        assert_eq!(path.contains("/pass/"), expect_allow, "{path}");
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let docs = bulwark_policy::yaml::documents(path, &text).unwrap();
        assert_eq!(docs.len(), 1, "{path}");
        let results =
            PodSecurity::enforcing(lv).evaluate(&Request { file: path, object: &docs[0], ..Default::default() });
        assert!(!results.is_empty(), "{path}: no results");
        evaluated += 1;
        let failures: Vec<&str> =
            results.iter().filter(|r| r.result == Outcome::Fail).map(|r| r.message.as_str()).collect();
        let allowed = failures.is_empty();
        // Upstream's aggregate detail: "reason (detail), reason (detail)".
        let message = failures.join(", ");
        if allowed != expect_allow {
            disagreements.push(format!("{path} at {lv}: expected {}, got {message:?}", entry["expect"]));
            continue;
        }
        if !allowed {
            denied += 1;
            if let Some(sub) = expected_substring(entry["check"].as_str().unwrap()) {
                if !message.contains(sub) {
                    disagreements.push(format!("{path} at {lv}: message {message:?} lacks {sub:?}"));
                }
            }
        }
    }
    eprintln!("PSS fixtures: {evaluated} evaluated, {denied} denied, {} disagreements", disagreements.len());
    for d in &disagreements {
        eprintln!("DISAGREEMENT {d}");
    }
    assert_eq!(evaluated, 2260, "fixtures evaluated");
    assert_eq!(manifest.len(), 2260);
    assert!(denied > 1000, "{denied} denials");
    assert_eq!(disagreements.len(), 0, "{} disagreements", disagreements.len());
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"}, "spec": spec})
}

fn restricted_pod() -> Value {
    pod(json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "x", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
    }))
}

#[test]
fn levels_and_versions_parse_as_upstream_and_errors_name_the_text() {
    let lv = |s: &str| s.parse::<LevelVersion>();
    assert_eq!(lv("restricted").unwrap(), LevelVersion { level: Level::Restricted, version: Version::Latest });
    assert_eq!(lv("restricted:v1.30").unwrap().version, Version::Minor(30));
    assert_eq!(lv("baseline:latest").unwrap(), LevelVersion { level: Level::Baseline, version: Version::Latest });
    assert_eq!(lv("privileged:v1.0").unwrap().version, Version::Minor(0));
    for bad in ["Restricted", "restricted:1.30", "restricted:v1.030", "restricted:v2.1", "restricted:v1.", "strict", ""]
    {
        let err = lv(bad).unwrap_err().to_string();
        let shown = bad.rsplit(':').next().unwrap();
        assert!(err.contains(&format!("{shown:?}")) || err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
    assert!(lv("restricted:v1.99999999999").is_err());
    // Versions past the newest clamp to it: v1.99 is latest.
    let p = restricted_pod();
    let (meta, spec) = (&p["metadata"], &p["spec"]);
    let latest = evaluate_pod(lv("restricted").unwrap(), meta, spec);
    assert_eq!(evaluate_pod(lv("restricted:v1.99").unwrap(), meta, spec), latest);
    assert_eq!(evaluate_pod(lv(&format!("restricted:v1.{MAX_MINOR}")).unwrap(), meta, spec), latest);
    assert!(latest.iter().all(|r| r.allowed), "{latest:?}");
    assert!(evaluate_pod(lv("privileged").unwrap(), meta, spec).is_empty());
}

#[test]
fn version_specific_behaviour_follows_the_registry() {
    let lv = |s: &str| s.parse::<LevelVersion>().unwrap();
    let ids = |s: &str, p: &Value| -> Vec<&'static str> {
        evaluate_pod(lv(s), &p["metadata"], &p["spec"]).iter().map(|r| r.id).collect()
    };
    let p = restricted_pod();
    // Seccomp: baseline's annotation check before 1.19, restricted's field check from 1.19.
    assert!(ids("restricted:v1.18", &p).contains(&"seccompProfile_baseline"));
    assert!(!ids("restricted:v1.18", &p).contains(&"seccompProfile_restricted"));
    assert!(ids("restricted:v1.19", &p).contains(&"seccompProfile_restricted"));
    assert!(!ids("restricted:v1.19", &p).contains(&"seccompProfile_baseline"));
    // restrictedVolumes replaces hostPathVolumes at restricted; both levels keep the others.
    assert!(!ids("restricted:v1.0", &p).contains(&"hostPathVolumes"));
    assert!(ids("baseline:v1.0", &p).contains(&"hostPathVolumes"));
    assert!(!ids("baseline:v1.0", &p).contains(&"allowPrivilegeEscalation"));
    assert!(!ids("restricted:v1.7", &p).contains(&"allowPrivilegeEscalation"));
    assert!(ids("restricted:v1.8", &p).contains(&"allowPrivilegeEscalation"));
    assert!(!ids("baseline:v1.33", &p).contains(&"hostProbesAndHostLifecycle"));
    assert!(ids("baseline:v1.34", &p).contains(&"hostProbesAndHostLifecycle"));
    assert!(ids("restricted:v1.35", &p).contains(&"procMount_restricted"));
    assert!(!ids("restricted:v1.35", &p).contains(&"procMount"));
    assert!(ids("restricted:v1.34", &p).contains(&"procMount"));

    // A Windows pod without Linux-only fields: denied before 1.25, allowed from 1.25.
    let windows = pod(json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "image": "x"}]}));
    let denied = |s: &str| {
        evaluate_pod(lv(s), &windows["metadata"], &windows["spec"]).into_iter().filter(|r| !r.allowed).count()
    };
    assert_eq!(denied("restricted:v1.24"), 3);
    assert_eq!(denied("restricted:v1.25"), 0);

    // Sysctls: the 1.37 additions only from 1.37.
    let sysctl = pod(json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat", "value": "1"}]},
        "containers": [{"name": "c"}]}));
    let sysctl_denied = |s: &str| evaluate_pod(lv(s), &sysctl["metadata"], &sysctl["spec"]).iter().any(|r| !r.allowed);
    assert!(sysctl_denied("baseline:v1.36"));
    assert!(!sysctl_denied("baseline:v1.37"));
    assert!(!sysctl_denied("baseline:latest"));

    // User namespaces relax baseline's procMount and restricted's runAsNonRoot from 1.35.
    let userns = pod(json!({"hostUsers": false, "containers": [{"name": "c", "securityContext": {
        "procMount": "Unmasked", "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}}]}));
    let failing = |s: &str| -> Vec<&'static str> {
        evaluate_pod(lv(s), &userns["metadata"], &userns["spec"]).iter().filter(|r| !r.allowed).map(|r| r.id).collect()
    };
    assert_eq!(failing("baseline:v1.34"), ["procMount"]);
    assert!(failing("baseline:v1.35").is_empty());
    assert_eq!(failing("restricted:v1.34"), ["procMount", "runAsNonRoot"]);
    assert_eq!(failing("restricted:v1.35"), ["procMount_restricted"]);
}

#[test]
fn messages_are_upstreams_reason_and_detail() {
    let p = pod(json!({
        "hostNetwork": true, "hostPID": true,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "ok", "emptyDir": {}}],
        "containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}], "securityContext": {"privileged": true,
              "capabilities": {"add": ["NET_RAW", "CHOWN"]}}},
            {"name": "b", "securityContext": {"allowPrivilegeEscalation": true}}
        ]
    }));
    let lv: LevelVersion = "restricted:v1.30".parse().unwrap();
    let results = PodSecurity::enforcing(lv).evaluate(&Request { file: "p.yaml", object: &p, ..Default::default() });
    let msg = |rule: &str| results.iter().find(|r| r.rule == rule).map(|r| (r.result, r.message.clone())).unwrap();
    assert_eq!(
        msg("allowPrivilegeEscalation"),
        (
            Outcome::Fail,
            "allowPrivilegeEscalation != false (containers \"a\", \"b\" must set securityContext.allowPrivilegeEscalation=false)".into()
        )
    );
    assert_eq!(msg("hostNamespaces").1, "host namespaces (hostNetwork=true, hostPID=true)");
    let all = pod(json!({"hostIPC": true, "hostPID": true, "hostNetwork": true, "containers": []}));
    let r = evaluate_pod("baseline".parse().unwrap(), &all["metadata"], &all["spec"]);
    assert_eq!(
        r.iter().find(|c| c.id == "hostNamespaces").unwrap().detail,
        "hostNetwork=true, hostPID=true, hostIPC=true"
    );
    assert_eq!(msg("hostPorts").1, "hostPort (container \"a\" uses hostPort 8080)");
    assert_eq!(msg("privileged").1, "privileged (container \"a\" must not set securityContext.privileged=true)");
    assert_eq!(
        msg("restrictedVolumes").1,
        "restricted volume types (volume \"h\" uses restricted volume type \"hostPath\")"
    );
    assert_eq!(
        msg("capabilities_restricted").1,
        "unrestricted capabilities (containers \"a\", \"b\" must set securityContext.capabilities.drop=[\"ALL\"]; container \"a\" must not include \"CHOWN\", \"NET_RAW\" in securityContext.capabilities.add)"
    );
    assert_eq!(
        msg("runAsNonRoot").1,
        "runAsNonRoot != true (pod or containers \"a\", \"b\" must set securityContext.runAsNonRoot=true)"
    );
    assert_eq!(msg("sysctls"), (Outcome::Pass, String::new()));
    assert!(results.iter().all(|r| r.policy == "pod-security" && r.file == "p.yaml"));
    assert_eq!(results[0].resource.to_string(), "Pod/team/p");

    // Non-pod kinds give nothing; a Deployment's and a CronJob's templates are checked.
    let cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"}});
    assert!(PodSecurity::enforcing(lv).evaluate(&Request { object: &cm, ..Default::default() }).is_empty());
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "j"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}}}}}});
    let r =
        PodSecurity::enforcing("baseline".parse().unwrap()).evaluate(&Request { object: &cron, ..Default::default() });
    assert_eq!(
        r.iter().filter(|r| r.result == Outcome::Fail).map(|r| r.rule.as_str()).collect::<Vec<_>>(),
        ["privileged"]
    );
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), v.to_string())).collect()
}

#[test]
fn namespace_labels_resolve_as_policy_to_evaluate() {
    let lv = |s: &str| s.parse::<LevelVersion>().unwrap();
    let d = Modes::default();
    // No labels: the defaults.
    assert_eq!(d.from_labels(&BTreeMap::new()), (d, vec![]));
    // Missing version: latest; warn follows an explicit stricter enforce level and version.
    let (m, e) = d.from_labels(&labels(&[("enforce", "baseline"), ("enforce-version", "v1.28")]));
    assert!(e.is_empty());
    assert_eq!(m.enforce, lv("baseline:v1.28"));
    assert_eq!(m.warn, lv("baseline:v1.28"));
    assert_eq!(m.audit, lv("privileged:latest"));
    // An explicit warn level is kept (and its version defaults to latest).
    let (m, _) = d.from_labels(&labels(&[
        ("enforce", "restricted"),
        ("warn", "baseline"),
        ("audit", "restricted"),
        ("audit-version", "v1.25"),
    ]));
    assert_eq!(m.warn, lv("baseline:latest"));
    assert_eq!(m.audit, lv("restricted:v1.25"));
    // Bad values: enforce fails closed (restricted), audit and warn open (privileged), a bad
    // version is latest; each is an error naming the label and the value; warn does not follow
    // a bad enforce level.
    let (m, e) = d.from_labels(&labels(&[("enforce", "strict"), ("audit", "loud"), ("warn-version", "1.2")]));
    assert_eq!(m.enforce, lv("restricted:latest"));
    assert_eq!(m.audit.level, Level::Privileged);
    assert_eq!(m.warn, lv("privileged:latest"));
    let text: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(text[0].contains("pod-security.kubernetes.io/enforce") && text[0].contains("\"strict\""), "{text:?}");
    assert!(text[2].contains("warn-version") && text[2].contains("\"1.2\""), "{text:?}");
    let (m, e) = d.from_labels(&labels(&[("enforce", "baseline"), ("enforce-version", "v1.x")]));
    assert_eq!(m.enforce, lv("baseline:latest"));
    assert_eq!(e.len(), 1);

    // Through the policy: enforce fails, audit/warn warn; a bad label is reported.
    let policy = PodSecurity::default();
    let p = pod(json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}));
    let run = |l: &BTreeMap<String, String>| {
        policy.evaluate(&Request { object: &p, namespace_labels: Some(l), ..Default::default() })
    };
    let outcome = |r: &[bulwark_policy::RuleResult], rule: &str| r.iter().find(|x| x.rule == rule).map(|x| x.result);
    let r = run(&labels(&[("enforce", "baseline")]));
    assert_eq!(outcome(&r, "privileged"), Some(Outcome::Fail));
    let r = run(&labels(&[("warn", "restricted")]));
    assert_eq!(outcome(&r, "privileged"), Some(Outcome::Warn));
    assert_eq!(outcome(&r, "runAsNonRoot"), Some(Outcome::Warn));
    let r = run(&labels(&[("enforce", "baseline"), ("audit", "restricted")]));
    assert_eq!(outcome(&r, "privileged"), Some(Outcome::Fail));
    assert_eq!(outcome(&r, "runAsNonRoot"), Some(Outcome::Warn));
    let r = run(&labels(&[("enforce", "nope")]));
    assert_eq!(outcome(&r, "namespace-labels"), Some(Outcome::Warn));
    assert_eq!(outcome(&r, "runAsNonRoot"), Some(Outcome::Fail));
    assert!(run(&labels(&[("audit", "privileged")])).is_empty());
    assert!(policy.evaluate(&Request { object: &p, ..Default::default() }).is_empty());
}

#[test]
fn pod_security_configuration_defaults_and_exemptions() {
    let yaml = r#"
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: v1.30
      warn: restricted
    exemptions:
      usernames: [system:serviceaccount:ci:deployer]
      runtimeClasses: [kata]
      namespaces: [kube-system]
"#;
    let doc = &bulwark_policy::yaml::documents("admission.yaml", yaml).unwrap()[0];
    let config = PodSecurityConfiguration::from_value("admission.yaml", doc).unwrap();
    assert_eq!(config.defaults.enforce, "baseline:v1.30".parse().unwrap());
    assert_eq!(config.defaults.warn, "restricted:latest".parse().unwrap());
    assert_eq!(config.defaults.audit, "privileged:latest".parse().unwrap());
    assert_eq!(config.exemptions.usernames, ["system:serviceaccount:ci:deployer"]);
    assert_eq!(config.exemptions.runtime_classes, ["kata"]);
    assert_eq!(config.exemptions.namespaces, ["kube-system"]);

    let policy = PodSecurity::new(config);
    let bad = |ns: &str, rc: Option<&str>| {
        let mut p = pod(json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}));
        p["metadata"]["namespace"] = json!(ns);
        if let Some(rc) = rc {
            p["spec"]["runtimeClassName"] = json!(rc);
        }
        p
    };
    let outcomes = |p: &Value, user: Option<&UserInfo>| -> Vec<Outcome> {
        policy.evaluate(&Request { object: p, user, ..Default::default() }).iter().map(|r| r.result).collect()
    };
    assert!(outcomes(&bad("team", None), None).contains(&Outcome::Fail));
    let exempt_ns = outcomes(&bad("kube-system", None), None);
    assert!(!exempt_ns.is_empty() && exempt_ns.iter().all(|o| *o == Outcome::Skip));
    assert!(outcomes(&bad("team", Some("kata")), None).iter().all(|o| *o == Outcome::Skip));
    let deployer = UserInfo { username: "system:serviceaccount:ci:deployer".into(), groups: vec![] };
    assert!(outcomes(&bad("team", None), Some(&deployer)).iter().all(|o| *o == Outcome::Skip));
    let other = UserInfo { username: "alice".into(), groups: vec![] };
    assert!(outcomes(&bad("team", None), Some(&other)).contains(&Outcome::Fail));

    // Errors name the input and the field.
    let bad_config = |text: &str| {
        let doc = &bulwark_policy::yaml::documents("c.yaml", text).unwrap()[0];
        PodSecurityConfiguration::from_value("c.yaml", doc).unwrap_err().to_string()
    };
    let head = "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n";
    let e = bad_config(&format!("{head}defaults:\n  enforce: strict\n"));
    assert!(e.starts_with("c.yaml") && e.contains("defaults.enforce") && e.contains("\"strict\""), "{e}");
    let e = bad_config(&format!("{head}defaults:\n  enforce-version: v1\n"));
    assert!(e.contains("defaults.enforce-version") && e.contains("\"v1\""), "{e}");
    let e = bad_config(&format!("{head}exemptions:\n  groups: [x]\n"));
    assert!(e.contains("exemptions.groups") && e.contains("not supported"), "{e}");
    let e = bad_config(&format!("{head}exemptions:\n  namespaces: [\"\"]\n"));
    assert!(e.contains("exemptions.namespaces"), "{e}");
    let e = bad_config("apiVersion: pod-security.admission.config.k8s.io/v1beta1\nkind: PodSecurityConfiguration\n");
    assert!(e.contains("v1beta1"), "{e}");
    // No defaults: privileged everywhere, so nothing is checked.
    let doc = &bulwark_policy::yaml::documents("c.yaml", head).unwrap()[0];
    let empty = PodSecurityConfiguration::from_value("c.yaml", doc).unwrap();
    assert!(empty.defaults.fully_privileged());
}

/// Upstream's own unit-test expectations (`policy/check_*_test.go`) for the detail strings.
#[test]
fn details_match_upstreams_unit_tests() {
    let detail = |lv: &str, id: &str, spec: Value, annotations: Value| -> (String, String) {
        let meta = json!({"name": "p", "annotations": annotations});
        let r = evaluate_pod(lv.parse().unwrap(), &meta, &spec);
        let r = r.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} not at {lv}"));
        assert!(!r.allowed, "{id} allowed");
        (r.reason, r.detail)
    };
    let none = json!({});
    let c = |name: &str, sc: Value| json!({"name": name, "securityContext": sc});

    assert_eq!(
        detail("restricted:v1.22", "capabilities_restricted", json!({"containers": [
            c("a", json!({"capabilities": {"add": ["FOO", "BAR"]}})),
            c("b", json!({"capabilities": {"add": ["BAR", "BAZ"]}})),
            c("c", json!({"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}})),
        ]}), none.clone()),
        ("unrestricted capabilities".into(), "containers \"a\", \"b\" must set securityContext.capabilities.drop=[\"ALL\"]; containers \"a\", \"b\", \"c\" must not include \"BAR\", \"BAZ\", \"CHOWN\", \"FOO\" in securityContext.capabilities.add".into())
    );
    let selinux = json!({"securityContext": {"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}}, "containers": [
        c("a", json!({"seLinuxOptions": {"type": "container_t"}})),
        c("d", json!({"seLinuxOptions": {"type": "container_engine_t"}})),
        c("e", json!({"seLinuxOptions": {"type": "bar"}})),
        c("f", json!({"seLinuxOptions": {"user": "bar"}})),
        c("g", json!({"seLinuxOptions": {"role": "baz"}})),
    ]});
    assert_eq!(
        detail("baseline:v1.31", "seLinuxOptions", selinux.clone(), none.clone()).1,
        "pod and containers \"e\", \"f\", \"g\" set forbidden securityContext.seLinuxOptions: types \"bar\", \"foo\"; user may not be set; role may not be set"
    );
    // Before 1.31 container_engine_t is forbidden too.
    assert!(detail("baseline:v1.30", "seLinuxOptions", selinux, none.clone()).1.contains("\"d\", \"e\""));
    assert_eq!(
        detail(
            "baseline",
            "seLinuxOptions",
            json!({"securityContext": {"seLinuxOptions": {"role": "bad"}}}),
            none.clone()
        )
        .1,
        "pod set forbidden securityContext.seLinuxOptions: role may not be set"
    );
    let types = [
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
        "photonPersistentDisk",
        "portworxVolume",
        "scaleIO",
        "storageos",
    ];
    let mut volumes: Vec<Value> = [
        "emptyDir",
        "secret",
        "persistentVolumeClaim",
        "downwardAPI",
        "configMap",
        "projected",
        "csi",
        "ephemeral",
        "image",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| json!({"name": format!("a{}", i + 1), *t: {}}))
    .collect();
    volumes.extend(types.iter().enumerate().map(|(i, t)| json!({"name": format!("b{}", i + 1), *t: {}})));
    volumes.push(json!({"name": "c1", "someFutureSource": {}}));
    assert_eq!(
        detail("restricted", "restrictedVolumes", json!({"volumes": volumes}), none.clone()),
        ("restricted volume types".into(), "volumes \"b1\", \"b2\", \"b3\", \"b4\", \"b5\", \"b6\", \"b7\", \"b8\", \"b9\", \"b10\", \"b11\", \"b12\", \"b13\", \"b14\", \"b15\", \"b16\", \"b17\", \"b18\", \"b19\", \"b20\", \"b21\", \"c1\" use restricted volume types \"awsElasticBlockStore\", \"azureDisk\", \"azureFile\", \"cephfs\", \"cinder\", \"fc\", \"flexVolume\", \"flocker\", \"gcePersistentDisk\", \"gitRepo\", \"glusterfs\", \"hostPath\", \"iscsi\", \"nfs\", \"photonPersistentDisk\", \"portworxVolume\", \"quobyte\", \"rbd\", \"scaleIO\", \"storageos\", \"unknown\", \"vsphereVolume\"".into())
    );
    assert_eq!(
        detail("baseline:v1.18", "seccompProfile_baseline", json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}), json!({
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/a": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/b": "unknown",
        })).1,
        "forbidden annotations container.seccomp.security.alpha.kubernetes.io/a=\"unconfined\", container.seccomp.security.alpha.kubernetes.io/b=\"unknown\", seccomp.security.alpha.kubernetes.io/pod=\"unconfined\""
    );
    assert_eq!(
        detail("baseline", "seccompProfile_baseline", json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [
            c("a", Value::Null), c("c", json!({"seccompProfile": {"type": "Unconfined"}})), c("d", json!({"seccompProfile": {"type": "Unconfined"}})),
            c("e", json!({"seccompProfile": {"type": "RuntimeDefault"}})),
        ]}), none.clone()).1,
        "pod and containers \"c\", \"d\" must not set securityContext.seccompProfile.type to \"Unconfined\""
    );
    assert_eq!(
        detail(
            "baseline",
            "windowsHostProcess",
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [
                c("a", Value::Null), c("c", json!({"windowsOptions": {}})), c("d", json!({"windowsOptions": {"hostProcess": false}})),
                c("e", json!({"windowsOptions": {"hostProcess": true}})), c("f", json!({"windowsOptions": {"hostProcess": true}})),
            ]}),
            none.clone()
        ),
        (
            "hostProcess".into(),
            "pod and containers \"e\", \"f\" must not set securityContext.windowsOptions.hostProcess=true".into()
        )
    );
    assert_eq!(
        detail(
            "baseline",
            "procMount",
            json!({"hostUsers": true, "containers": [
                c("a", Value::Null), c("c", json!({"procMount": "Default"})), c("d", json!({"procMount": "Unmasked"})), c("e", json!({"procMount": "other"})),
            ]}),
            none.clone()
        ),
        (
            "procMount".into(),
            "containers \"d\", \"e\" must not set securityContext.procMount to \"Unmasked\", \"other\"".into()
        )
    );
    assert_eq!(
        detail("baseline", "appArmorProfile", json!({"containers": []}), json!({
            "container.apparmor.security.beta.kubernetes.io/": "bogus",
            "container.apparmor.security.beta.kubernetes.io/a": "",
            "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/d": "localhost/foo",
            "container.apparmor.security.beta.kubernetes.io/e": "unconfined",
        })),
        ("forbidden AppArmor profiles".into(), "annotations must not set AppArmor profile type to \"container.apparmor.security.beta.kubernetes.io/=\"bogus\"\", \"container.apparmor.security.beta.kubernetes.io/e=\"unconfined\"\"".into())
    );
    assert_eq!(
        detail(
            "baseline",
            "appArmorProfile",
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [
            c("foo", json!({"appArmorProfile": {"type": "RuntimeDefault"}}))]}),
            none.clone()
        ),
        ("forbidden AppArmor profile".into(), "pod must not set AppArmor profile type to \"Unconfined\"".into())
    );
    assert_eq!(
        detail(
            "baseline",
            "hostProbesAndHostLifecycle",
            json!({"containers": [
                {"name": "valid"},
                {"name": "invalid1", "livenessProbe": {"httpGet": {"host": "a.com"}}},
                {"name": "invalid2", "lifecycle": {"preStop": {"tcpSocket": {"host": "b.com"}}}, "startupProbe": {"httpGet": {"host": "a.com"}}},
            ]}),
            none.clone()
        ),
        (
            "probe or lifecycle host".into(),
            "containers \"invalid1\", \"invalid2\" use probe or lifecycle hosts \"a.com\", \"b.com\"".into()
        )
    );
    assert_eq!(
        detail("restricted", "runAsUser", json!({"securityContext": {"runAsUser": 0}, "containers": [c("a", json!({"runAsUser": 0})), c("b", json!({"runAsUser": 1}))]}), none.clone()).1,
        "pod and container \"a\" must not set runAsUser=0"
    );
    assert_eq!(
        detail("baseline", "sysctls", json!({"securityContext": {"sysctls": [{"name": "a"}, {"name": "b"}]}}), none).1,
        "a, b"
    );
}

#[test]
fn an_update_is_checked_only_when_it_changes_what_the_checks_see() {
    use bulwark_policy::Operation;
    let policy = PodSecurity::enforcing("baseline".parse().unwrap());
    let old = pod(json!({"containers": [{"name": "c", "image": "a", "securityContext": {"privileged": true}}]}));
    let eval = |new: &Value, op: Operation| {
        policy.evaluate(&Request { object: new, old_object: Some(&old), operation: op, ..Default::default() })
    };
    // A label change: allowed without evaluation, as upstream.
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"] = json!({"x": "y"});
    assert!(eval(&relabelled, Operation::Update).is_empty());
    // An image change: evaluated.
    let mut new_image = old.clone();
    new_image["spec"]["containers"][0]["image"] = json!("b");
    assert!(eval(&new_image, Operation::Update).iter().any(|r| r.result == Outcome::Fail));
    // An ephemeral container added: evaluated.
    let mut debug = old.clone();
    debug["spec"]["ephemeralContainers"] = json!([{"name": "dbg", "image": "busybox"}]);
    assert!(eval(&debug, Operation::Update).iter().any(|r| r.result == Outcome::Fail));
    // A create is always evaluated; delete and connect never.
    assert!(eval(&relabelled, Operation::Create).iter().any(|r| r.result == Outcome::Fail));
    assert!(eval(&relabelled, Operation::Delete).is_empty());
}
