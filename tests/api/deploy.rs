//! The Kubernetes manifests, rendered by `kubectl kustomize`, match what the
//! binary really does: its port, health entries, environment variables and
//! commands; and they keep the restricted security settings.

use std::collections::HashSet;
use std::process::Command;

use badges::config::Cli;
use badges::server::{LIVENESS, READINESS};
use clap::{CommandFactory, Parser};
use serde::Deserialize;
use serde_yaml::Value;

fn render(overlay: &str) -> Option<Vec<Value>> {
    let dir = format!("{}/deploy/overlays/{overlay}", env!("CARGO_MANIFEST_DIR"));
    let out = match Command::new("kubectl").args(["kustomize", &dir]).output() {
        Ok(out) => out,
        Err(_) => {
            crate::common::skipped(
                "manifest test skipped: kubectl is not installed (CI has it and runs it)",
            );
            return None;
        }
    };
    assert!(
        out.status.success(),
        "kubectl kustomize {overlay}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        serde_yaml::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).unwrap())
            .collect(),
    )
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Every env var the binary reads: its flags' variables, plus the standard
/// ones of logging and OpenTelemetry.
fn known_env() -> HashSet<String> {
    fn walk(cmd: &clap::Command, out: &mut HashSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.insert(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out: HashSet<String> = [
        "RUST_LOG",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
    ]
    .map(String::from)
    .into();
    walk(&Cli::command(), &mut out);
    out
}

fn check_container(c: &Value, pod: &Value, known: &HashSet<String>, what: &str) {
    let args: Vec<String> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let argv: Vec<&str> = std::iter::once("badges")
        .chain(args.iter().map(String::as_str))
        .collect();
    Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{what}: the binary refuses {args:?}: {e}"));
    for env in c["env"].as_sequence().into_iter().flatten() {
        let name = env["name"].as_str().unwrap();
        assert!(
            known.contains(name),
            "{what}: the binary does not read {name}"
        );
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], Value::Bool(false), "{what}");
    assert_eq!(sc["readOnlyRootFilesystem"], Value::Bool(true), "{what}");
    assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{what}");
    assert!(
        c["resources"]["requests"].is_mapping() && c["resources"]["limits"].is_mapping(),
        "{what}: requests and limits"
    );
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], Value::Bool(true), "{what}");
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{what}");
}

#[test]
fn manifests_match_the_binary() {
    let known = known_env();
    for overlay in ["dev", "prod"] {
        let Some(docs) = render(overlay) else { return };
        let deployment = of_kind(&docs, "Deployment");
        assert_eq!(deployment.len(), 1, "{overlay}");
        let pod = &deployment[0]["spec"]["template"]["spec"];
        let server = &pod["containers"][0];
        check_container(server, pod, &known, &format!("{overlay} server"));
        for init in pod["initContainers"].as_sequence().into_iter().flatten() {
            check_container(init, pod, &known, &format!("{overlay} init"));
            assert_eq!(init["args"][0], "migrate");
        }

        // The port the binary listens on is the one probed and exposed.
        let listen = server["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "BADGES_LISTEN")
            .unwrap()["value"]
            .as_str()
            .unwrap();
        let port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(
            server["ports"][0]["containerPort"].as_u64(),
            Some(port),
            "{overlay}"
        );
        for (probe, entry) in [
            ("readinessProbe", READINESS),
            ("livenessProbe", LIVENESS),
            ("startupProbe", LIVENESS),
        ] {
            assert_eq!(
                server[probe]["grpc"]["port"].as_u64(),
                Some(port),
                "{overlay} {probe}"
            );
            assert_eq!(server[probe]["grpc"]["service"], entry, "{overlay} {probe}");
        }
        assert!(
            server["lifecycle"]["preStop"].is_mapping(),
            "{overlay}: preStop delay"
        );
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
        let server_grace: u64 = server["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "BADGES_SHUTDOWN_GRACE_SECONDS")
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let pre_stop = server["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or(0);
        assert!(
            pre_stop + server_grace < grace,
            "{overlay}: preStop + drain must fit the grace period"
        );

        let service = of_kind(&docs, "Service");
        assert_eq!(
            service[0]["spec"]["ports"][0]["targetPort"].as_u64(),
            Some(port),
            "{overlay}"
        );
        assert_eq!(
            service[0]["spec"]["ports"][0]["appProtocol"], "kubernetes.io/h2c",
            "{overlay}"
        );

        if overlay == "prod" {
            let job = of_kind(&docs, "Job");
            assert_eq!(job.len(), 1);
            let jpod = &job[0]["spec"]["template"]["spec"];
            check_container(&jpod["containers"][0], jpod, &known, "prod migrate job");
            assert_eq!(jpod["containers"][0]["args"][0], "migrate");
            assert_eq!(of_kind(&docs, "PodDisruptionBudget").len(), 1);
            assert_eq!(of_kind(&docs, "HorizontalPodAutoscaler").len(), 1);
            let secret_keys: Vec<&str> = server["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str())
                .collect();
            assert_eq!(
                secret_keys,
                ["badges", "badges"],
                "the database URL and the NATS URL come from the one Secret"
            );
        }
    }
}
