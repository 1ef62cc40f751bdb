#!/usr/bin/env python3
"""Offline checks of deploy/ that need a parser (run by scripts/check-deploy.sh).

    check_deploy.py terraform   DIR            parse every .tf (python-hcl2), cross-check references
    check_deploy.py userdata    DIR OUT        render DIR/user_data.sh.tftpl as main.tf would, to OUT
    check_deploy.py kubernetes  DIR SCHEMAS    schema-check every manifest (the Prometheus Operator's
                                               kinds against SCHEMAS/<kind>-v1.json), cross-check them
                                               (DIR may be an overlay of its parent: sharded/, ha-pair/)
    check_deploy.py configmap   FILE KEY OUT   write a ConfigMap's data[KEY] to OUT
    check_deploy.py compose     CONFIG_YAML    the resolved compose file: mounts exist, images pinned
    check_deploy.py dockerfile  FILE           COPY sources exist and .dockerignore keeps them
    check_deploy.py canaries    DIR SCHEMAS    the validators reject known-bad input (no silent pass)

Every failure is printed as `FILE: message`; the exit status is 1 if there was any.
Files the other parts of the stack provide (prometheus/prometheus.yml, grafana/,
deploy/alertmanager/) may be absent on a branch: a mount of one of those is reported
as pending, not as a failure.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PENDING_OK = ("prometheus/prometheus.yml", "grafana/provisioning", "grafana/dashboards",
              "deploy/alertmanager")
errors: list[str] = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def unquote(s):
    return s[1:-1] if isinstance(s, str) and len(s) >= 2 and s[0] == s[-1] == '"' else s


# --- Terraform --------------------------------------------------------------------

def blocks(doc, kind):
    """(type, name, body) of every `kind "type" "name" {}` block of a parsed file."""
    for entry in doc.get(kind, []):
        for typ, named in entry.items():
            for name, body in named.items():
                yield unquote(typ), unquote(name), body


def check_terraform(directory):
    import hcl2

    directory = Path(directory)
    files = sorted(directory.glob("*.tf"))
    if not files:
        fail(directory, "no .tf files")
        return
    declared = {"var": set(), "local": set(), "resource": set(), "data": set()}
    texts = {}
    for path in files:
        texts[path] = path.read_text()
        try:
            doc = hcl2.loads(texts[path])
        except Exception as e:  # the parser's own exception types vary by version
            fail(path, f"does not parse as HCL2: {e}")
            continue
        collect_terraform(path, doc, declared)
    for path, text in texts.items():
        check_references(path, strip_comments(text), declared)
    check_file_calls(directory, texts)


def collect_terraform(path, doc, declared):
    for entry in doc.get("variable", []):
        for name, body in entry.items():
            declared["var"].add(unquote(name))
            for key in ("description", "type"):
                if key not in body:
                    fail(path, f"variable {unquote(name)} has no {key}")
    for entry in doc.get("output", []):
        for name, body in entry.items():
            if "description" not in body:
                fail(path, f"output {unquote(name)} has no description")
    for entry in doc.get("locals", []):
        declared["local"].update(k for k in entry if not k.startswith("__"))
    for typ, name, _ in blocks(doc, "resource"):
        declared["resource"].add(f"{typ}.{name}")
    for typ, name, _ in blocks(doc, "data"):
        declared["data"].add(f"{typ}.{name}")
    for entry in doc.get("terraform", []):
        for providers in entry.get("required_providers", []):
            for name, spec in providers.items():
                if name.startswith("__"):
                    continue
                if not isinstance(spec, dict) or "version" not in spec:
                    fail(path, f"provider {name} has no version constraint")


def strip_comments(text):
    return "\n".join(re.sub(r"(^|\s)(#|//).*$", "", line) for line in text.splitlines())


def check_references(path, text, declared):
    """var.X, local.X, data.T.N and T.N (resources) must be declared in the module."""
    for name in re.findall(r"\bvar\.([A-Za-z0-9_]+)", text):
        if name not in declared["var"]:
            fail(path, f"var.{name} is not declared")
    for name in re.findall(r"\blocal\.([A-Za-z0-9_]+)", text):
        if name not in declared["local"]:
            fail(path, f"local.{name} is not declared")
    for ref in re.findall(r"\bdata\.([a-z0-9_]+\.[A-Za-z0-9_]+)", text):
        if ref not in declared["data"]:
            fail(path, f"data.{ref} is not declared")
    for ref in re.findall(r"(?<![.\w\"])(aws_[a-z0-9_]+\.[A-Za-z0-9_]+)", text):
        if ref not in declared["resource"]:
            fail(path, f"{ref} is not declared")


def check_file_calls(directory, texts):
    """file()/templatefile() paths exist; templatefile gets exactly the template's variables."""
    for path, text in texts.items():
        for rel in re.findall(r'(?:file|templatefile)\("\$\{path\.module\}/([^"]+)"', text):
            if not (directory / rel).is_file():
                fail(path, f"{rel} (relative to the module) does not exist")
        for rel, args in re.findall(r'templatefile\("\$\{path\.module\}/([^"]+)",\s*\{(.*?)\n\s*\}\)',
                                    text, re.S):
            template = directory / rel
            if not template.is_file():
                continue
            given = set(re.findall(r"^\s*([a-z0-9_]+)\s*=", args, re.M))
            used = set(re.findall(r"\$\{([a-z0-9_]+)\}", template.read_text()))
            for name in sorted(used - given):
                fail(template, f"uses ${{{name}}}, which templatefile() does not pass")
            for name in sorted(given - used):
                fail(path, f"passes {name} to {rel}, which does not use it")
    try:
        json.loads((ROOT / "deploy/iam-policy.json").read_text())
    except (OSError, ValueError) as e:
        fail("deploy/iam-policy.json", f"not JSON: {e}")


def render_user_data(directory, out):
    """The template with the values main.tf passes by default, for bash -n and shellcheck."""
    directory = Path(directory)
    values = {
        "binary_url": "https://artifacts.example.com/outpost",
        "binary_sha256": "0" * 64,
        "config": (ROOT / "probes.toml").read_text(),
        "unit": (ROOT / "deploy/systemd/outpost.service").read_text(),
        "region": "ap-southeast-1",
        "listen_port": "9465",
    }
    text = (directory / "user_data.sh.tftpl").read_text()
    Path(out).write_text(re.sub(r"\$\{([a-z0-9_]+)\}", lambda m: values[m.group(1)], text))


# --- Kubernetes -------------------------------------------------------------------

def load_manifests(directory):
    import yaml

    manifests = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            fail(path, f"not YAML: {e}")
            continue
        manifests[path] = docs
    return manifests


def build_overlay(directory, manifests):
    """What `kubectl apply -k DIR` applies, for the overlays this repository has: the
    parent's manifests when `..` is a resource, its patches applied (a `$patch: delete`
    removes the object it names; a strategic merge of a Deployment's replicas and pod
    affinity is applied as such), then this directory's own. No kustomize binary is
    needed offline for that much, and anything else in a patch is refused."""
    import yaml

    kustomization = next((d for docs in manifests.values() for d in docs
                          if d.get("kind") == "Kustomization"), None)
    if not kustomization or ".." not in kustomization.get("resources", []):
        return manifests
    base = {path: [d for d in docs if d.get("kind") != "Kustomization"]
            for path, docs in load_manifests(Path(directory).parent).items()}
    for entry in kustomization.get("patches", []):
        patch = yaml.safe_load(entry.get("patch", "")) or {}
        key = (patch.get("kind"), patch.get("metadata", {}).get("name"))
        targets = [(p, d) for p, docs in base.items() for d in docs
                   if (d.get("kind"), d.get("metadata", {}).get("name")) == key]
        if not targets:
            fail(Path(directory) / "kustomization.yaml", f"a patch names {key}, which the base does not have")
            continue
        for path, doc in targets:
            if patch.get("$patch") == "delete":
                base[path] = [d for d in base[path] if d is not doc]
            else:
                merge(doc, patch, Path(directory) / "kustomization.yaml")
    return {**base, **manifests}


def merge(doc, patch, where):
    """A strategic merge patch limited to maps (lists replaced whole)."""
    for key, value in patch.items():
        if key in ("apiVersion", "kind"):
            continue
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            merge(doc[key], value, where)
        elif isinstance(value, dict) and key not in doc:
            doc[key] = value
        elif isinstance(value, (dict, list)) and key in doc and not isinstance(doc[key], type(value)):
            fail(where, f"patch changes the type of {key}")
        else:
            doc[key] = value


# The Prometheus Operator's kinds, checked against a schema of ours (no CRD in the
# Kubernetes API's bundled schemas).
CRD_KINDS = ("ServiceMonitor", "Probe")


def crd_schemas(directory):
    return {kind: json.loads((Path(directory) / f"{kind.lower()}-v1.json").read_text()) for kind in CRD_KINDS}


def check_kubernetes(directory, schemas):
    import jsonschema
    import kubernetes_validate

    own = load_manifests(directory)
    manifests = build_overlay(directory, own)
    crds = crd_schemas(schemas)
    by_kind = {}
    for path, docs in manifests.items():
        for doc in docs:
            kind = doc.get("kind")
            by_kind.setdefault(kind, []).append((path, doc))
            if kind == "Kustomization":
                continue
            if kind in crds:
                for e in jsonschema.Draft7Validator(crds[kind]).iter_errors(doc):
                    fail(path, f"{kind} {'.'.join(map(str, e.absolute_path))}: {e.message}")
                continue
            try:
                # Bundled schemas of the Kubernetes API: no network. Strict = unknown
                # fields are errors, as `kubectl apply` (server-side field validation) has it.
                kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
            except kubernetes_validate.ValidationError as e:
                fail(path, f"{kind}: {'.'.join(map(str, e.path))}: {e.message}")
            except Exception as e:  # no schema for the kind, or an unreadable one
                fail(path, f"{kind}: not validated: {e}")
    check_kustomization(directory, own, by_kind)
    check_wiring(by_kind)
    check_pod_security(by_kind)
    check_sharding(by_kind)


def check_kustomization(directory, manifests, by_kind):
    for path, doc in by_kind.get("Kustomization", []):
        listed = set(doc.get("resources", [])) - {".."}
        present = {p.name for p, docs in manifests.items()
                   if any(d.get("kind") != "Kustomization" for d in docs)}
        for name in sorted(listed - present):
            fail(path, f"resources lists {name}, which is not a manifest in {directory}")
        for name in sorted(present - listed):
            fail(path, f"{name} is not in resources")


def one(by_kind, kind):
    found = by_kind.get(kind, [])
    if len(found) != 1:
        fail("deploy/kubernetes", f"expected one {kind}, found {len(found)}")
        return None, {}
    return found[0]


def workload(by_kind):
    """The one Deployment or StatefulSet that runs outpost."""
    found = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    if len(found) != 1:
        fail("deploy/kubernetes", f"expected one Deployment or StatefulSet, found {len(found)}")
        return None, {}
    return found[0]


def check_wiring(by_kind):
    """The pieces point at each other: labels, port names, the ConfigMap, the health paths."""
    dpath, deploy = workload(by_kind)
    mpath, monitor = one(by_kind, "ServiceMonitor")
    if not deploy or not monitor:
        return
    # The Service the ServiceMonitor scrapes through (a headless one may sit beside it).
    monitored = [(p, s) for p, s in by_kind.get("Service", [])
                 if subset(monitor["spec"]["selector"].get("matchLabels", {}), s["metadata"].get("labels", {}))]
    if len(monitored) != 1:
        fail(mpath, f"spec.selector selects {len(monitored)} Services, not one")
        return
    spath, service = monitored[0]
    pod = deploy["spec"]["template"]
    labels = pod["metadata"].get("labels", {})
    if not subset(deploy["spec"]["selector"].get("matchLabels", {}), labels):
        fail(dpath, "spec.selector does not match the pod template's labels")
    if not subset(service["spec"].get("selector", {}), labels):
        fail(spath, f"spec.selector does not select the {deploy['kind']}'s pods")
    container = pod["spec"]["containers"][0]
    port_names = {p.get("name") for p in container.get("ports", [])}
    for port in service["spec"]["ports"]:
        if port.get("targetPort") not in port_names | {p.get("containerPort") for p in container.get("ports", [])}:
            fail(spath, f"targetPort {port.get('targetPort')} is not a container port")
    service_ports = {p.get("name") for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"].get("endpoints", []):
        if endpoint.get("port") not in service_ports:
            fail(mpath, f"endpoint port {endpoint.get('port')} is not a Service port name")
    check_probe_paths(dpath, container)
    check_probe_resources(by_kind, service)
    configmaps = {d["metadata"]["name"] for _, d in by_kind.get("ConfigMap", [])}
    for volume in pod["spec"].get("volumes", []):
        name = volume.get("configMap", {}).get("name")
        if name and name not in configmaps:
            fail(dpath, f"volume uses ConfigMap {name}, which is not among the manifests")


# Pod Security Standards: what "restricted" (and "baseline") allow, for the checks below.
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}


def check_pod_security(by_kind):
    """The namespace enforces Pod Security "restricted": the pod must pass it, or the
    API server rejects it (kubernetes-validate checks types, not this policy)."""
    levels = {d["metadata"]["name"]: d["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
              for _, d in by_kind.get("Namespace", [])}
    for path, deploy in by_kind.get("Deployment", []) + by_kind.get("StatefulSet", []):
        if levels.get(deploy["metadata"].get("namespace")) != "restricted":
            fail(path, "its namespace does not enforce Pod Security \"restricted\"")
        pod = deploy["spec"]["template"]["spec"]
        pod_ctx = pod.get("securityContext", {})
        for sysctl in pod_ctx.get("sysctls", []):
            if sysctl["name"] not in SAFE_SYSCTLS:
                fail(path, f"sysctl {sysctl['name']} is not a safe sysctl")
        for c in pod.get("containers", []):
            ctx = {**pod_ctx, **c.get("securityContext", {})}
            caps = c.get("securityContext", {}).get("capabilities", {})
            problems = {
                "allowPrivilegeEscalation is not false": ctx.get("allowPrivilegeEscalation") is not False,
                "runAsNonRoot is not true": ctx.get("runAsNonRoot") is not True,
                "capabilities do not drop ALL": "ALL" not in caps.get("drop", []),
                "adds a capability other than NET_BIND_SERVICE":
                    bool(set(caps.get("add", [])) - {"NET_BIND_SERVICE"}),
                "seccompProfile is not RuntimeDefault or Localhost":
                    ctx.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"),
            }
            for problem, bad in problems.items():
                if bad:
                    fail(path, f"container {c['name']}: {problem} (Pod Security \"restricted\")")


def check_probe_resources(by_kind, service):
    """A Probe's prober is outpost's Service (name.namespace.svc:port), its path
    /probe, and its module one of the ConfigMap's probes.toml."""
    import tomllib

    modules = set()
    for _, cm in by_kind.get("ConfigMap", []):
        for text in cm.get("data", {}).values():
            try:
                modules |= set(tomllib.loads(text).get("modules", {}))
            except tomllib.TOMLDecodeError:
                pass
    expected = f"{service['metadata']['name']}.{service['metadata'].get('namespace')}.svc"
    ports = {str(p.get("port")) for p in service["spec"].get("ports", [])}
    for path, probe in by_kind.get("Probe", []):
        spec = probe["spec"]
        host, _, port = spec["prober"]["url"].partition(":")
        if not (host == expected or host.startswith(expected + ".")) or port not in ports:
            fail(path, f"prober.url {spec['prober']['url']} is not {expected}:<a port of the Service>")
        if spec["prober"].get("path", "/probe") != "/probe":
            fail(path, "prober.path is not /probe")
        if spec.get("module") not in modules:
            fail(path, f"module {spec.get('module')!r} is not a module of the ConfigMap's probes.toml")


def check_sharding(by_kind):
    """A PodDisruptionBudget selects outpost's pods; a StatefulSet runs `--shard auto`
    with OUTPOST_SHARD_PEERS naming its headless, not-ready-publishing Service."""
    path, sts = workload(by_kind)
    if not sts:
        return
    labels = sts["spec"]["template"]["metadata"].get("labels", {})
    for ppath, pdb in by_kind.get("PodDisruptionBudget", []):
        if not subset(pdb["spec"].get("selector", {}).get("matchLabels", {}), labels):
            fail(ppath, "spec.selector does not select outpost's pods")
    if sts["kind"] != "StatefulSet":
        return
    if not by_kind.get("PodDisruptionBudget"):
        fail(path, "a sharded StatefulSet without a PodDisruptionBudget")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    if "--shard=auto" not in container.get("args", []):
        fail(path, "the StatefulSet's pods do not run --shard=auto")
    env = {e["name"]: e for e in container.get("env", [])}
    peers = env.get("OUTPOST_SHARD_PEERS", {}).get("value", "")
    name = sts["spec"].get("serviceName")
    namespace = sts["metadata"].get("namespace")
    headless = [s for _, s in by_kind.get("Service", []) if s["metadata"]["name"] == name]
    if not headless:
        fail(path, f"serviceName {name} is not among the Services")
        return
    service = headless[0]["spec"]
    if service.get("clusterIP") != "None" or service.get("publishNotReadyAddresses") is not True:
        fail(path, f"Service {name} must be headless (clusterIP: None) and publishNotReadyAddresses: "
                   "the peers are counted by its addresses, starting ones included")
    if not subset(service.get("selector", {}), labels):
        fail(path, f"Service {name} does not select the StatefulSet's pods")
    if peers.split(".")[:3] != [name, namespace, "svc"]:
        fail(path, f"OUTPOST_SHARD_PEERS={peers!r} is not {name}.{namespace}.svc...")
    ordinal = env.get("OUTPOST_SHARD_ORDINAL", {}).get("valueFrom", {}).get("fieldRef", {})
    if ordinal.get("fieldPath") != "metadata.labels['apps.kubernetes.io/pod-index']":
        fail(path, "OUTPOST_SHARD_ORDINAL is not the pod-index label")


def check_probe_paths(path, container):
    routes = (ROOT / "src/server/mod.rs").read_text()
    for probe in ("livenessProbe", "readinessProbe"):
        http_path = container.get(probe, {}).get("httpGet", {}).get("path")
        if not http_path:
            fail(path, f"{probe} has no httpGet path")
        elif f'"{http_path}"' not in routes:
            fail(path, f"{probe} path {http_path} is not a route of src/server/mod.rs")


def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())


def extract_configmap(path, key, out):
    import yaml

    for doc in yaml.safe_load_all(Path(path).read_text()):
        if doc and doc.get("kind") == "ConfigMap" and key in doc.get("data", {}):
            Path(out).write_text(doc["data"][key])
            return
    fail(path, f"no ConfigMap with data.{key}")


# --- docker-compose ---------------------------------------------------------------

def check_compose(config_path):
    """The config as `docker-compose config` resolved it (absolute mount sources)."""
    import yaml

    config = yaml.safe_load(Path(config_path).read_text())
    for name, service in config.get("services", {}).items():
        image = service.get("image", "")
        if "build" not in service and (":" not in image or image.endswith(":latest")):
            fail("deploy/docker-compose.yml", f"service {name}: image {image!r} is not pinned to a tag")
        build = service.get("build")
        if build:
            dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                fail("deploy/docker-compose.yml", f"service {name}: {dockerfile} does not exist")
        for volume in service.get("volumes", []):
            check_mount(name, volume)
    check_demo_names(config)


def check_demo_names(config):
    """The host names that the mounted prometheus.yml and Grafana provisioning use
    resolve in the demo's network (service names and aliases), and Grafana's
    dashboard provider reads where the dashboards are mounted. Skipped for files
    not in the tree yet."""
    import yaml

    services = config.get("services", {})
    names = {"localhost"}
    for name, service in services.items():
        names.add(name)
        for net in (service.get("networks") or {}).values():
            names.update((net or {}).get("aliases", []))
    prom = ROOT / "prometheus/prometheus.yml"
    if prom.exists():
        for host, where in prometheus_hosts(yaml.safe_load(prom.read_text())):
            if host not in names:
                fail(prom.relative_to(ROOT), f"{where}: host {host} is not a service or alias of deploy/docker-compose.yml")
    for path in sorted((ROOT / "grafana/provisioning").glob("*/*.y*ml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for ds in doc.get("datasources", []):
            host = re.sub(r"^\w+://", "", ds.get("url", "")).split("/")[0].split(":")[0]
            if host and not host.startswith("$") and host not in names:
                fail(path.relative_to(ROOT), f"datasource url host {host} is not a compose service")
        for provider in doc.get("providers", []):
            wanted = provider.get("options", {}).get("path", "")
            mounts = [target for source, target in map(mount, services.get("grafana", {}).get("volumes", []))
                      if source == str(ROOT / "grafana/dashboards")]
            if wanted not in mounts:
                fail(path.relative_to(ROOT), f"provider path {wanted} is not where the compose file mounts grafana/dashboards ({mounts})")


def prometheus_hosts(doc):
    """(host, where) of every address Prometheus connects to: scrape targets (for
    /probe jobs, the __address__ that relabelling sets) and AlertManagers."""
    hosts = []
    for job in doc.get("scrape_configs", []):
        where = f"job {job.get('job_name')}"
        rewrites = [r.get("replacement", "") for r in job.get("relabel_configs", [])
                    if r.get("target_label") == "__address__"]
        if rewrites:
            hosts += [(a.rsplit(":", 1)[0], where) for a in rewrites]
            continue
        for static in job.get("static_configs", []):
            hosts += [(t.rsplit(":", 1)[0], where) for t in static.get("targets", [])]
    for am in doc.get("alerting", {}).get("alertmanagers", []):
        for static in am.get("static_configs", []):
            hosts += [(t.rsplit(":", 1)[0], "alertmanagers") for t in static.get("targets", [])]
    return hosts


def mount(volume):
    """(source, target) of a volume as `docker-compose config` writes it: the short
    "SRC:DST[:ro]" of docker-compose 1 (Debian 12), or the long form with `source`
    and `target` keys of docker-compose 2 (Debian 13)."""
    if isinstance(volume, str):
        parts = volume.split(":")
        return parts[0], parts[1] if len(parts) > 1 else ""
    return volume.get("source", ""), volume.get("target", "")


def check_mount(service, volume):
    source = mount(volume)[0]
    if not source.startswith("/") or source == "/":
        return  # a named volume, or node_exporter's view of the host
    path = Path(source)
    try:
        rel = path.relative_to(ROOT).as_posix()
    except ValueError:
        rel = source
    if path.exists():
        if rel == "prometheus" and not (path / "prometheus.yml").exists():
            print(f"check-deploy: pending: {service} mounts prometheus/, which has no prometheus.yml yet")
        return
    if rel in PENDING_OK:
        print(f"check-deploy: pending: {service} mounts {rel}, not in this tree yet")
    else:
        fail("deploy/docker-compose.yml", f"service {service}: mount source {rel} does not exist")


# --- Dockerfile -------------------------------------------------------------------

def check_dockerfile(path):
    """What the build copies from the context (the repository root) is there and not
    ignored; the health check's module is in the config it names."""
    text = Path(path).read_text().replace("\\\n", " ")
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in [w for w in words[1:-1] if not w.startswith("--")]:
            if not (ROOT / source).exists():
                fail(path, f"COPY {source}: not in the repository")
            elif any(Path(source).match(p) or source.startswith(p + "/") for p in ignored):
                fail(path, f"COPY {source}: excluded by .dockerignore")
    check_healthcheck(path, text)
    check_stub_targets(path, text)


def check_stub_targets(path, text):
    """The dependency layer builds against stub sources before src/ is copied: every
    target the manifest names must be stubbed there, or that layer fails to build."""
    import tomllib

    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    paths = [t["path"] for kind in ("bin", "test", "bench", "example")
             for t in manifest.get(kind, []) if "path" in t]
    if (ROOT / "build.rs").exists() or "build" in manifest.get("package", {}):
        paths.append("build.rs")
    for target in paths:
        if target not in text and target.removeprefix("src/") not in text:
            fail(path, f"the dependency layer does not stub {target}, which Cargo.toml names")


def check_healthcheck(path, text):
    match = re.search(r'HEALTHCHECK .*CMD \[(.*)\]', text)
    if not match:
        fail(path, "no HEALTHCHECK")
        return
    args = json.loads(f"[{match.group(1)}]")
    config = args[args.index("--config") + 1] if "--config" in args else None
    module = args[args.index("--module") + 1] if "--module" in args else None
    copies = dict(re.findall(r"^COPY (\S+) (\S+)$", text, re.M))
    source = next((src for src, dst in copies.items() if dst == config), None)
    if not source or not module:
        fail(path, "HEALTHCHECK does not name a --config copied into the image and a --module")
    elif f"[modules.{module}]" not in (ROOT / source).read_text():
        fail(path, f"HEALTHCHECK module {module} is not defined in {source}")


# --- Canaries -------------------------------------------------------------------

def check_canaries(directory, schemas):
    """Each validator must reject a known-bad variant of a shipped file: a tool update
    that quietly stopped checking (no schemas, lenient mode) would otherwise pass all."""
    import copy

    import hcl2
    import jsonschema
    import kubernetes_validate
    import yaml

    deploy = yaml.safe_load((Path(directory) / "deployment.yaml").read_text())
    bad = copy.deepcopy(deploy)
    bad["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystm"] = True
    try:
        kubernetes_validate.validate(bad, kubernetes_validate.latest_version(), strict=True)
        fail("canary", "kubernetes-validate accepted an unknown field in a Deployment")
    except kubernetes_validate.ValidationError:
        pass
    crds = crd_schemas(schemas)
    monitor = yaml.safe_load((Path(directory) / "servicemonitor.yaml").read_text())
    monitor["spec"]["endpoints"][0]["interval"] = "30 seconds"
    if jsonschema.Draft7Validator(crds["ServiceMonitor"]).is_valid(monitor):
        fail("canary", "the ServiceMonitor schema accepted interval '30 seconds'")
    probe = yaml.safe_load((Path(directory) / "probe.yaml").read_text())
    if not jsonschema.Draft7Validator(crds["Probe"]).is_valid(probe):
        fail("canary", "the Probe schema rejects the shipped probe.yaml")
    for path, value in ((("spec", "prober", "scheme"), "ftp"), (("spec", "prober", "uri"), "x"),
                        (("spec", "interval"), "30 seconds")):
        bad = copy.deepcopy(probe)
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        if jsonschema.Draft7Validator(crds["Probe"]).is_valid(bad):
            fail("canary", f"the Probe schema accepted {'.'.join(path)} = {value!r}")
    # The sharding wiring: a StatefulSet whose peers name is not its headless Service.
    sharded = Path(directory) / "sharded"
    built = build_overlay(sharded, load_manifests(sharded))
    by_kind = {}
    for path, docs in built.items():
        for doc in copy.deepcopy(docs):
            by_kind.setdefault(doc.get("kind"), []).append((path, doc))
    if not by_kind.get("StatefulSet") or by_kind.get("Deployment"):
        fail("canary", "the sharded overlay does not build to a StatefulSet alone")
    else:
        sts = by_kind["StatefulSet"][0][1]
        for e in sts["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if e["name"] == "OUTPOST_SHARD_PEERS":
                e["value"] = "outpost.outpost.svc.cluster.local"
        before = len(errors)
        check_sharding(by_kind)
        if len(errors) == before:
            fail("canary", "check_sharding accepted peers that are not the headless Service")
        del errors[before:]
    try:
        hcl2.loads('resource "aws_instance" "x" {\n')
        fail("canary", "python-hcl2 parsed an unclosed block")
    except Exception:  # the parser's own exception types vary by version
        pass


def main(argv):
    commands = {
        "terraform": check_terraform,
        "userdata": render_user_data,
        "kubernetes": check_kubernetes,
        "configmap": extract_configmap,
        "compose": check_compose,
        "dockerfile": check_dockerfile,
        "canaries": check_canaries,
    }
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    commands[argv[1]](*argv[2:])
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
