#!/usr/bin/env python3
"""Writes N pod-bearing Kubernetes resources as one YAML stream, for bench/policy.sh.

Deterministic (seeded). A mix of Pod, Deployment, StatefulSet, DaemonSet, Job and CronJob,
one to four containers each, with the fields the Pod Security Standards and the pod-security
policy sets look at varied at random, so that every check passes on some resources and fails
on others (about a third of the resources are fully restricted-compliant).

    bench/gen_pods.py N [SEED] > pods.yaml
"""
import json
import random
import sys

KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]
API = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}
IMAGES = ["nginx:1.27", "registry.example.com/team/app:v1.2.3", "ghcr.io/org/tool@sha256:" + "a" * 64,
          "busybox", "docker.io/library/python:3.12-slim", "quay.io/prometheus/node-exporter:v1.8.0"]


def container(r, i, compliant):
    c = {"name": f"c{i}", "image": r.choice(IMAGES),
         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}
    sc = {}
    if compliant or r.random() < 0.6:
        sc["allowPrivilegeEscalation"] = False
    if compliant or r.random() < 0.6:
        sc["runAsNonRoot"] = True
    if compliant or r.random() < 0.5:
        sc["capabilities"] = {"drop": ["ALL"]}
    elif r.random() < 0.3:
        sc["capabilities"] = {"add": [r.choice(["NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE", "CHOWN"])]}
    if compliant or r.random() < 0.5:
        sc["seccompProfile"] = {"type": "RuntimeDefault"}
    if not compliant and r.random() < 0.05:
        sc["privileged"] = True
    if not compliant and r.random() < 0.05:
        sc["runAsUser"] = 0
    if not compliant and r.random() < 0.03:
        sc["procMount"] = "Unmasked"
    if sc:
        c["securityContext"] = sc
    if not compliant and r.random() < 0.05:
        c["ports"] = [{"containerPort": 8080, "hostPort": 8080}]
    return c


def pod_spec(r, compliant):
    spec = {"containers": [container(r, i, compliant) for i in range(r.randint(1, 4))]}
    if r.random() < 0.3:
        spec["initContainers"] = [container(r, 9, compliant)]
    if not compliant and r.random() < 0.05:
        spec["hostNetwork"] = True
    if not compliant and r.random() < 0.05:
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/var/run"}}]
    else:
        spec["volumes"] = [{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "cfg"}}]
    if not compliant and r.random() < 0.03:
        spec["securityContext"] = {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "0"},
                                               {"name": "net.core.somaxconn", "value": "1024"}]}
    return spec


def resource(r, n):
    kind = KINDS[n % len(KINDS)]
    compliant = r.random() < 0.35
    labels = {"app": f"app-{n}", "team": r.choice(["a", "b", "c"])}
    meta = {"name": f"{kind.lower()}-{n}", "namespace": f"ns-{n % 20}", "labels": labels}
    template = {"metadata": {"labels": labels}, "spec": pod_spec(r, compliant)}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}
    if kind == "CronJob":
        template["spec"]["restartPolicy"] = "OnFailure"
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta,
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}}
    if kind == "Job":
        template["spec"]["restartPolicy"] = "Never"
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": {"template": template}}
    return {"apiVersion": API.get(kind, "apps/v1"), "kind": kind, "metadata": meta,
            "spec": {"selector": {"matchLabels": labels}, "template": template}}


def main():
    n = int(sys.argv[1])
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    for i in range(n):
        # JSON is YAML: one flow document per resource keeps the generator fast.
        out.write("---\n" + json.dumps(resource(r, i)) + "\n")


main()
