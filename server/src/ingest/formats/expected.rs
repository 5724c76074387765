//! What each format's fixtures read as, in one table: the report's header (scanner,
//! version, how many findings and skipped items) and every finding's [`summary`] line, in
//! report order; and which bodies each format's `sniff` claims, in another. A format
//! module's own tests check what a line does not show (aliases, references, descriptions,
//! identities, refusals).

use super::test_support::{fixture, header, summaries, summary};
use crate::ingest::ReportFormat;

/// One fixture and what it reads as.
struct Case {
    format: &'static dyn ReportFormat,
    fixture: &'static [u8],
    header: (&'static str, Option<&'static str>, usize, usize),
    findings: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        format: &super::bandit::Bandit,
        fixture: fixture!("bandit", "report.json"),
        header: ("bandit", None, 8, 0),
        findings: &[
            "B602 High Code | subprocess call with shell=True identified, security issue. | at billing/tasks.py:12 | file billing/tasks.py:12",
            "B105 Low Code | Possible hardcoded password: 'changeme' | at billing/settings.py:31 | file billing/settings.py:31",
            "B301 Medium Code | Pickle and modules that wrap it can be unsafe when used to deserialize untrusted data, possible security issue. | at billing/cache.py:5 | file billing/cache.py:5",
            "B324 Low Code | Use of weak MD5 hash for security. Consider usedforsecurity=False | at billing/cache.py:7 | file billing/cache.py:7",
            "B324 Low Code | Use of weak MD5 hash for security. Consider usedforsecurity=False | at billing/cache.py:7 | file billing/cache.py:7",
            "B101 Info Code | Use of assert detected. The enclosed code will be removed when compiling to optimised byte code. | at tests/test_admin.py:2 | file tests/test_admin.py:2",
            "B506 Medium Code | Use of unsafe yaml load. | at billing/config.py:40 | file billing/config.py:40",
            "B307 Info Code | Odd entry with undefined levels. | at billing/calc.py:9 | file billing/calc.py:9",
        ],
    },
    Case {
        format: &super::bosun::BosunJson,
        fixture: fixture!("bosun", "license-check.json"),
        header: ("license-check", Some("0.3.0"), 3, 0),
        findings: &[
            "LIC-GPL High Dependency | GPL-3.0 dependency in a proprietary service | at go.mod:12 | file go.mod:12 | pkg example.org/gpl-lib 1.4.2 -> 2.0.0",
            "NET-PUBLIC Critical Dast | Service reachable from the internet without authentication | at payments/Deployment/api | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "IMG-ROOT Medium Image | Image runs as root | at registry.example:5000/app:1.4@sha256:0123abcd | image registry.example:5000/app:1.4@sha256:0123abcd | asset Image registry.example:5000/app",
        ],
    },
    Case {
        format: &super::checkov::Checkov,
        fixture: fixture!("checkov", "multi-framework.json"),
        header: ("Checkov", Some("3.2.255"), 5, 0),
        findings: &[
            "CKV_AWS_18 Low ClusterConfig | Ensure the S3 bucket has access logging enabled | at infra/s3.tf:1 | file infra/s3.tf:1",
            "CKV_AWS_19 High ClusterConfig | Ensure all data stored in the S3 bucket is securely encrypted at rest | at infra/s3.tf:1 | file infra/s3.tf:1",
            "CKV_AWS_144 Medium ClusterConfig | Ensure that S3 bucket has cross-region replication enabled | at infra/s3.tf:1 | file infra/s3.tf:1",
            "CKV_K8S_20 Medium ClusterConfig | Containers should not run with allowPrivilegeEscalation | at deploy/api.yaml:1 | file deploy/api.yaml:1 | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "CKV_K8S_40 Critical ClusterConfig | Containers should run as a high UID to avoid host conflict | at deploy/api.yaml:1 | file deploy/api.yaml:1 | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
        ],
    },
    // 4 shell events in payments-api (two pods of one Deployment), 1 in web, 1 host-level;
    // Notice is low
    Case {
        format: &super::falco::Falco,
        fixture: fixture!("falco", "shell-in-container.ndjson"),
        header: ("Falco", None, 3, 0),
        findings: &[
            "Terminal shell in container Low Runtime | Terminal shell in container | at payments/payments-api | image registry.acme.io/payments-api | k8s payments/-/payments-api | asset Workload payments/payments-api",
            "Terminal shell in container Low Runtime | Terminal shell in container | at web/web-frontend | image registry.acme.io/web-frontend | k8s web/-/web-frontend | asset Workload web/web-frontend",
            "Linux Kernel Module Injection Detected Critical Runtime | Linux Kernel Module Injection Detected | at node-c / insmod | asset Host node-c",
        ],
    },
    // 4 leaks, one secret in 2 commits
    Case {
        format: &super::gitleaks::Gitleaks,
        fixture: fixture!("gitleaks", "v8.json"),
        header: ("gitleaks", None, 3, 0),
        findings: &[
            "aws-access-token High Secret | AWS Access Key in deploy/terraform/provider.tf | at deploy/terraform/provider.tf:7 | file deploy/terraform/provider.tf:7 | url https://github.com/acme/payments/blob/1f0c1c1d7e52b6a1b0e3f6d1a8c4c2e9a0b1c2d3/deploy/terraform/provider.tf#L7",
            "private-key High Secret | Private Key in certs/server.key | at certs/server.key:1 | file certs/server.key:1",
            "generic-api-key High Secret | Generic API Key in src/payments/client.py | at src/payments/client.py:12 | file src/payments/client.py:12",
        ],
    },
    Case {
        format: &super::gitleaks::Gitleaks,
        fixture: fixture!("gitleaks", "v7.json"),
        header: ("gitleaks", None, 2, 0),
        findings: &[
            "Password in YAML High Secret | Password in YAML in config/db.yaml | at config/db.yaml:14 | file config/db.yaml:14 | asset Repository https://git.acme.example/shop/inventory | url https://git.acme.example/shop/inventory/blob/4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e/config/db.yaml#L14",
            "Asymmetric Private Key High Secret | Asymmetric Private Key in tls/key.pem | at tls/key.pem | file tls/key.pem | asset Repository inventory",
        ],
    },
    // DL3048 is style: low, as Hadolint's SARIF (`note`) says it; the last finding's
    // Windows path is normalised
    Case {
        format: &super::hadolint::Hadolint,
        fixture: fixture!("hadolint", "two-dockerfiles.json"),
        header: ("Hadolint", None, 7, 0),
        findings: &[
            "DL3007 Medium Image | Using latest is prone to errors if the image will ever update. Pin the version explicitly to a release tag | at services/api/Dockerfile:1 | file services/api/Dockerfile:1",
            "DL3008 Medium Image | Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>` | at services/api/Dockerfile:6 | file services/api/Dockerfile:6",
            "DL3015 Low Image | Avoid additional packages by specifying `--no-install-recommends` | at services/api/Dockerfile:6 | file services/api/Dockerfile:6",
            "SC2086 Low Image | Double quote to prevent globbing and word splitting. | at services/api/Dockerfile:11 | file services/api/Dockerfile:11",
            "DL3000 High Image | Use absolute WORKDIR | at services/api/Dockerfile:14 | file services/api/Dockerfile:14",
            "DL3048 Low Image | Invalid label key. | at services/worker/Dockerfile:3 | file services/worker/Dockerfile:3",
            "DL3008 Medium Image | Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get install <package>=<version>` | at services/worker/Dockerfile:9 | file services/worker/Dockerfile:9",
        ],
    },
    Case {
        format: &super::kube_bench::KubeBench,
        fixture: fixture!("kube_bench", "node-report.json"),
        header: ("kube-bench", None, 3, 0),
        findings: &[
            "4.1.1 Medium ClusterConfig | 4.1.1 Ensure that the kubelet service file permissions are set to 600 or more restrictive (Automated) | at node: CIS 4.1.1 | asset Cluster cluster",
            "4.1.9 Info ClusterConfig | 4.1.9 If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive (Automated) | at node: CIS 4.1.9 | asset Cluster cluster",
            "4.2.1 Medium ClusterConfig | 4.2.1 Ensure that the --anonymous-auth argument is set to false (Automated) | at node: CIS 4.2.1 | asset Cluster cluster",
        ],
    },
    Case {
        format: &super::kube_hunter::KubeHunter,
        fixture: fixture!("kube_hunter", "pod-hunt.json"),
        header: ("kube-hunter", None, 4, 0),
        findings: &[
            "KHV050 Low Dast | Read access to pod's service account token | at Local to Pod | asset Cluster cluster",
            " Medium Dast | CAP_NET_RAW Enabled | at Local to Pod | asset Cluster cluster",
            "KHV036 High Dast | Anonymous Authentication | at 192.168.49.2:10250 | asset Host 192.168.49.2:10250",
            "KHV002 Medium Dast | K8s Version Disclosure | at 192.168.49.2:8443 | asset Host 192.168.49.2:8443",
        ],
    },
    Case {
        format: &super::kube_linter::KubeLinter,
        fixture: fixture!("kube_linter", "lint.json"),
        header: ("KubeLinter", Some("v0.6.8"), 4, 0),
        findings: &[
            "no-read-only-root-fs Medium ClusterConfig | no-read-only-root-fs | at payments/Deployment/api (deploy/payments/api.yaml) | file deploy/payments/api.yaml | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "no-read-only-root-fs Medium ClusterConfig | no-read-only-root-fs | at payments/Deployment/api (deploy/payments/api.yaml) | file deploy/payments/api.yaml | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "privileged-container Medium ClusterConfig | privileged-container | at payments/Deployment/api (deploy/payments/api.yaml) | file deploy/payments/api.yaml | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "dangling-service Medium ClusterConfig | dangling-service | at Service/legacy (deploy/legacy/service.yaml) | file deploy/legacy/service.yaml | k8s -/Service/legacy | asset Workload Service/legacy",
        ],
    },
    Case {
        format: &super::kubeaudit::Kubeaudit,
        fixture: fixture!("kubeaudit", "cluster-audit.jsonl"),
        header: ("kubeaudit", None, 7, 0),
        findings: &[
            "PrivilegedTrue High ClusterConfig | privileged is set to 'true' in container SecurityContext | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "CapabilityAdded High ClusterConfig | Capability \"NET_ADMIN\" added | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "CapabilityAdded High ClusterConfig | Capability \"SYS_TIME\" added | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "AppArmorAnnotationMissing High ClusterConfig | AppArmor annotation missing | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "LimitsNotSet Medium ClusterConfig | Resource limits not set | at payments/StatefulSet/queue (container worker) | k8s payments/StatefulSet/queue | asset Workload payments/StatefulSet/queue",
            "DeprecatedAPIUsed Info ClusterConfig | policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+, introduced in v1.8+ | at PodSecurityPolicy/restricted | k8s -/PodSecurityPolicy/restricted | asset Workload PodSecurityPolicy/restricted",
            "MissingDefaultDenyIngressAndEgressNetworkPolicy High ClusterConfig | Namespace is missing a default deny ingress and egress NetworkPolicy | at payments/Namespace/payments | k8s payments/Namespace/payments | asset Workload payments/Namespace/payments",
        ],
    },
    Case {
        format: &super::kubescape::Kubescape,
        fixture: fixture!("kubescape", "cluster-scan.json"),
        header: ("Kubescape", Some("v3.0.8"), 4, 0),
        findings: &[
            "C-0016 Medium ClusterConfig | Allow privilege escalation | at payments/Deployment/api | k8s payments/Deployment/api | asset Workload prod-eu/payments/Deployment/api",
            "C-0057 High ClusterConfig | Privileged container | at payments/Deployment/api | k8s payments/Deployment/api | asset Workload prod-eu/payments/Deployment/api",
            "C-0262 Critical ClusterConfig | Anonymous access enabled | at payments/Deployment/api | k8s payments/Deployment/api | asset Workload prod-eu/payments/Deployment/api",
            "C-0034 Low ClusterConfig | Automatic mapping of service account | at payments/ServiceAccount/default | k8s payments/ServiceAccount/default | asset Workload prod-eu/payments/ServiceAccount/default",
        ],
    },
    Case {
        format: &super::nuclei::Nuclei,
        fixture: fixture!("nuclei", "scan.jsonl"),
        header: ("Nuclei", None, 6, 0),
        findings: &[
            "git-config Medium Dast | Git Configuration - Detect | at https://shop.example.com/.git/config | asset Url https://shop.example.com | url https://shop.example.com/.git/config",
            "http-missing-security-headers Info Dast | HTTP Missing Security Headers: strict-transport-security | at https://shop.example.com/ | asset Url https://shop.example.com | url https://shop.example.com/",
            "http-missing-security-headers Info Dast | HTTP Missing Security Headers: content-security-policy | at https://shop.example.com/ | asset Url https://shop.example.com | url https://shop.example.com/",
            "CVE-2021-41773 Critical Dast | Apache 2.4.49 - Path Traversal | at http://legacy.example.com:8080/cgi-bin/.%2e/.%2e/etc/passwd | asset Url http://legacy.example.com:8080 | url http://legacy.example.com:8080/cgi-bin/.%2e/.%2e/etc/passwd",
            "openssh-detect Low Dast | OpenSSH Service - Detect | at legacy.example.com:22 | asset Host legacy.example.com",
            "weird-template Info Dast | Template With Unknown Severity | at example.com | asset Host example.com",
        ],
    },
    Case {
        format: &super::popeye::Popeye,
        fixture: fixture!("popeye", "cluster-lint.json"),
        header: ("Popeye", None, 6, 0),
        findings: &[
            "POP-501 Medium ClusterConfig | Unhealthy 2 desired but have 0 available | at payments/Deployment/api | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "POP-101 Low ClusterConfig | Image tagged \"latest\" in use | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "POP-108 Low ClusterConfig | Unnamed port 8080 | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "POP-108 Low ClusterConfig | Unnamed port 9090 | at payments/Deployment/api (container api) | k8s payments/Deployment/api | asset Workload payments/Deployment/api",
            "POP-400 Info ClusterConfig | Used? Unable to locate resource reference | at payments/ConfigMap/legacy-settings | k8s payments/ConfigMap/legacy-settings | asset Workload payments/ConfigMap/legacy-settings",
            "POP-400 Info ClusterConfig | Used? Unable to locate resource reference | at ClusterRole/ci-deployer | k8s -/ClusterRole/ci-deployer | asset Workload ClusterRole/ci-deployer",
        ],
    },
    // 6 results, two of them md5 on one line: two findings
    Case {
        format: &super::semgrep::Semgrep,
        fixture: fixture!("semgrep", "report.json"),
        header: ("semgrep", Some("1.85.0"), 6, 0),
        findings: &[
            "python.django.security.injection.sql.sql-injection-using-raw High Code | Detected user input flowing into a raw SQL query | at shop/views.py:42 | file shop/views.py:42",
            "python.lang.security.audit.insecure-hash-algorithms.insecure-hash-algorithm-md5 Medium Code | Detected MD5 hash algorithm which is considered insecure | at shop/utils.py:7 | file shop/utils.py:7",
            "python.lang.security.audit.insecure-hash-algorithms.insecure-hash-algorithm-md5 Medium Code | Detected MD5 hash algorithm which is considered insecure | at shop/utils.py:7 | file shop/utils.py:7",
            "generic.ci.audit.debug-flag Low Code | DEBUG is enabled | at settings/base.py:3 | file settings/base.py:3",
            "javascript.express.security.audit.xss.direct-response-write Low Code | User data flows into res.send | at web/server.js:88 | file web/server.js:88",
            "go.lang.security.audit.crypto.use-of-weak-rsa-key Critical Code | RSA key size below 2048 bits | at cmd/keys.go:15 | file cmd/keys.go:15",
        ],
    },
    // 5 entries, lodash via 2 paths; severityWithCritical beats severity
    Case {
        format: &super::snyk::Snyk,
        fixture: fixture!("snyk", "project.json"),
        header: ("snyk", None, 4, 0),
        findings: &[
            "SNYK-JS-LODASH-1018905 Medium Dependency | lodash@4.17.15: Regular Expression Denial of Service (ReDoS) | at services/shop/package-lock.json (lodash) | file services/shop/package-lock.json | pkg lodash 4.17.15 -> 4.17.21",
            "SNYK-JS-JSONWEBTOKEN-3180022 High Dependency | jsonwebtoken@8.5.1: Improper Authentication | at services/shop/package-lock.json (jsonwebtoken) | file services/shop/package-lock.json | pkg jsonwebtoken 8.5.1 -> 9.0.0",
            "SNYK-JS-MINIMIST-2429795 Critical Dependency | minimist@1.2.5: Prototype Pollution | at services/shop/package-lock.json (minimist) | file services/shop/package-lock.json | pkg minimist 1.2.5 -> 1.2.6",
            "SNYK-JS-TINY-1 Low Dependency | tiny@1.0.0: Information Exposure | at services/shop/package-lock.json (tiny) | file services/shop/package-lock.json | pkg tiny 1.0.0",
        ],
    },
    // libssl3 and openssl are two installed packages; the app's semver is one more
    Case {
        format: &super::snyk::Snyk,
        fixture: fixture!("snyk", "container.json"),
        header: ("snyk", None, 3, 0),
        findings: &[
            "SNYK-DEBIAN12-OPENSSL-6048819 Medium Image | openssl/libssl3@3.0.11-1~deb12u1: CVE-2023-5678 | at registry.acme.example/shop/api:2.3.1 (openssl/libssl3) | pkg openssl/libssl3 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2 | image registry.acme.example/shop/api:2.3.1 | asset Image registry.acme.example/shop/api",
            "SNYK-DEBIAN12-OPENSSL-6048819 Medium Image | openssl@3.0.11-1~deb12u1: CVE-2023-5678 | at registry.acme.example/shop/api:2.3.1 (openssl) | pkg openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2 | image registry.acme.example/shop/api:2.3.1 | asset Image registry.acme.example/shop/api",
            "SNYK-JS-SEMVER-3247795 Medium Dependency | semver@7.3.8: Regular Expression Denial of Service (ReDoS) | at /app/package.json (semver) | file /app/package.json | pkg semver 7.3.8 -> 7.5.2 | image registry.acme.example/shop/api:2.3.1 | asset Image registry.acme.example/shop/api",
        ],
    },
    // the passed KSV001 is no finding
    Case {
        format: &super::trivy_operator::TrivyOperator,
        fixture: fixture!("trivy_operator", "configauditreport.json"),
        header: ("Trivy Operator", Some("0.57.0"), 2, 0),
        findings: &[
            "KSV012 Medium ClusterConfig | Runs as root user | at shop/Deployment/api | k8s shop/Deployment/api | asset Workload shop/Deployment/api",
            "KSV014 Low ClusterConfig | Root file system is not read-only | at shop/Deployment/api | k8s shop/Deployment/api | asset Workload shop/Deployment/api",
        ],
    },
    // 4 lines, one secret in 2 commits; verified is critical, unverified high
    Case {
        format: &super::trufflehog::Trufflehog,
        fixture: fixture!("trufflehog", "v3.jsonl"),
        header: ("trufflehog", None, 3, 0),
        findings: &[
            "AWS Critical Secret | AWS secret (verified) in deploy/env.sh | at deploy/env.sh:3 | file deploy/env.sh:3 | asset Repository https://github.com/acme/payments.git",
            "URI High Secret | URI secret (unverified) in docs/setup.md | at docs/setup.md:12 | file docs/setup.md:12 | asset Repository https://github.com/acme/payments.git",
            "Slack High Secret | Slack secret (unverified) in /srv/app/config/slack.json | at /srv/app/config/slack.json:2 | file /srv/app/config/slack.json:2",
        ],
    },
    // high entropy is medium
    Case {
        format: &super::trufflehog::Trufflehog,
        fixture: fixture!("trufflehog", "v2.jsonl"),
        header: ("trufflehog", None, 3, 0),
        findings: &[
            "Generic Secret High Secret | Generic Secret in app/settings.py | at app/settings.py | file app/settings.py",
            "RSA private key High Secret | RSA private key in ops/id_rsa | at ops/id_rsa | file ops/id_rsa",
            "High Entropy Medium Secret | High Entropy in app/settings.py | at app/settings.py | file app/settings.py",
        ],
    },
    // 6 advisory lines, one repeated
    Case {
        format: &super::yarn_audit::YarnAudit,
        fixture: fixture!("yarn_audit", "v1.jsonl"),
        header: ("yarn audit", None, 5, 0),
        findings: &[
            "GHSA-xvch-5gv4-984h Critical Dependency | minimist: Prototype Pollution in minimist | at minimist@1.2.5 | pkg minimist 1.2.5 -> >=9.9.9 | url https://github.com/advisories/GHSA-xvch-5gv4-984h",
            "npm:1324 High Dependency | handlebars: Arbitrary Code Execution | at handlebars@4.0.11 | pkg handlebars 4.0.11 -> >=9.9.9 | url https://npmjs.com/advisories/1324",
            "npm:77 Medium Dependency | tiny: Moderate thing | at tiny@1.0.0 | pkg tiny 1.0.0 -> >=9.9.9 | url https://npmjs.com/advisories/77",
            "npm:78 Low Dependency | tinier: Low thing | at tinier@1.0.0 | pkg tinier 1.0.0 -> >=9.9.9 | url https://npmjs.com/advisories/78",
            "npm:79 Info Dependency | tiniest: Info thing | at tiniest@1.0.0 | pkg tiniest 1.0.0 -> >=9.9.9 | url https://npmjs.com/advisories/79",
        ],
    },
    Case {
        format: &super::yarn_audit::YarnAudit,
        fixture: fixture!("yarn_audit", "berry.jsonl"),
        header: ("yarn audit", None, 2, 0),
        findings: &[
            "GHSA-wf5p-g6vw-rhxx Medium Dependency | axios: Axios Cross-Site Request Forgery Vulnerability | at axios@0.27.2 | pkg axios 0.27.2 | url https://github.com/advisories/GHSA-wf5p-g6vw-rhxx",
            "request (deprecation) Medium Dependency | request: request has been deprecated, see https://github.com/request/request/issues/3142 | at request@2.88.2 | pkg request 2.88.2",
        ],
    },
    Case {
        format: &super::zap::Zap,
        fixture: fixture!("zap", "baseline.xml"),
        header: ("OWASP ZAP", Some("2.15.0"), 5, 0),
        findings: &[
            "40018 High Dast | SQL Injection | at https://shop.example.com/search?q=shoes | asset Url https://shop.example.com | url https://shop.example.com/search?q=shoes",
            "10020-1 Medium Dast | Missing Anti-clickjacking Header | at https://shop.example.com/ | asset Url https://shop.example.com | url https://shop.example.com/",
            "10010 Low Dast | Cookie No HttpOnly Flag | at https://shop.example.com/login | asset Url https://shop.example.com | url https://shop.example.com/login",
            "10020-1 Medium Dast | Missing Anti-clickjacking Header | at http://legacy.example.com:8080/ | asset Url http://legacy.example.com:8080 | url http://legacy.example.com:8080/",
            "10027 Info Dast | Information Disclosure - Suspicious Comments | at http://legacy.example.com:8080/static/app.js | asset Url http://legacy.example.com:8080 | url http://legacy.example.com:8080/static/app.js",
        ],
    },
    // 2 vulnerabilities, 1 failed check (the PASS DS001 is skipped), 1 secret
    Case {
        format: &super::trivy::Trivy,
        fixture: fixture!("trivy", "filesystem.json"),
        header: ("Trivy", None, 4, 0),
        findings: &[
            "CVE-2023-32681 Medium Dependency | CVE-2023-32681 in requests 2.25.1 | at services/api/requirements.txt | file services/api/requirements.txt | pkg requests 2.25.1 -> 2.31.0",
            "CVE-2024-35195 Medium Dependency | CVE-2024-35195 in requests 2.25.1 | at services/api/requirements.txt | file services/api/requirements.txt | pkg requests 2.25.1 -> 2.32.0",
            "DS002 High ClusterConfig | Image user should not be 'root' | at Dockerfile | file Dockerfile",
            "aws-access-key-id Critical Secret | AWS Access Key ID in deploy/env.sh | at deploy/env.sh:3 | file deploy/env.sh:3",
        ],
    },
    Case {
        format: &super::trivy::Trivy,
        fixture: fixture!("trivy", "k8s_old.json"),
        header: ("Trivy", None, 3, 0),
        findings: &[
            "CVE-2023-2650 Medium Image | CVE-2023-2650 in openssl 3.0.9-1 | at shop/Deployment/web (docker.io/library/nginx:1.25.0) | pkg openssl 3.0.9-1 -> 3.0.9-2 | image docker.io/library/nginx:1.25.0 | k8s shop/Deployment/web | asset Workload prod-eu/shop/Deployment/web",
            "KSV001 Medium ClusterConfig | Process can elevate its own privileges | at shop/Deployment/web | line 12 | k8s shop/Deployment/web | asset Workload prod-eu/shop/Deployment/web",
            "KSV012 Medium ClusterConfig | Runs as root user | at shop/Deployment/worker | line 12 | k8s shop/Deployment/worker | asset Workload prod-eu/shop/Deployment/worker",
        ],
    },
    Case {
        format: &super::trivy::Trivy,
        fixture: fixture!("trivy", "k8s_resources.json"),
        header: ("Trivy", None, 3, 0),
        findings: &[
            "KSV012 Medium ClusterConfig | Runs as root user | at shop/Deployment/web | image nginx:1.25.0 | k8s shop/Deployment/web | asset Workload staging/shop/Deployment/web",
            "KSV012 Medium ClusterConfig | Runs as root user | at shop/StatefulSet/db | k8s shop/StatefulSet/db | asset Workload staging/shop/StatefulSet/db",
            "KSV046 Critical ClusterConfig | Manage all resources | at ClusterRole/admin-ish | k8s -/ClusterRole/admin-ish | asset Workload staging/ClusterRole/admin-ish",
        ],
    },
    Case {
        format: &super::trivy::Trivy,
        fixture: fixture!("trivy", "legacy.json"),
        header: ("Trivy", None, 2, 0),
        findings: &[
            "CVE-2011-3374 Low Image | CVE-2011-3374 in apt 1.8.2.3 | at debian:10 | pkg apt 1.8.2.3 | image debian:10 | asset Image debian:10",
            "GHSA-pxg6-pf52-xh8x Low Dependency | GHSA-pxg6-pf52-xh8x in cookie 0.4.0 | at app/package-lock.json | file app/package-lock.json | pkg cookie 0.4.0 -> 0.7.0",
        ],
    },
];

/// A format, a body, and whether the format's `sniff` claims it: each format claims its own
/// reports and leaves those of others (SARIF logs naming the same tool among them).
const SNIFFS: &[(&dyn ReportFormat, &[u8], bool)] = &[
    // bandit: sniffs bandit only
    (
        &super::bandit::Bandit,
        fixture!("bandit", "report.json"),
        true,
    ),
    (
        &super::bandit::Bandit,
        br#"{"results": [], "errors": []}"#,
        false,
    ),
    (
        &super::bandit::Bandit,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    // checkov: sniffs checkov only
    (
        &super::checkov::Checkov,
        fixture!("checkov", "multi-framework.json"),
        true,
    ),
    (
        &super::checkov::Checkov,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::checkov::Checkov,
        br#"{"summaryDetails":{},"results":[]}"#,
        false,
    ),
    // dependency_check: sniffs dependency check only
    (
        &super::dependency_check::DependencyCheck,
        fixture!("dependency_check", "report.xml"),
        true,
    ),
    (
        &super::dependency_check::DependencyCheck,
        br#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.4"/>"#,
        false,
    ),
    (
        &super::dependency_check::DependencyCheck,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::dependency_check::DependencyCheck,
        br#"<OWASPZAPReport version="2.11"/>"#,
        false,
    ),
    // gitleaks: sniffs gitleaks only
    (
        &super::gitleaks::Gitleaks,
        fixture!("gitleaks", "v8.json"),
        true,
    ),
    (
        &super::gitleaks::Gitleaks,
        fixture!("gitleaks", "v7.json"),
        true,
    ),
    (&super::gitleaks::Gitleaks, b"null", true),
    (
        &super::gitleaks::Gitleaks,
        br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gitleaks"}}}]}"#,
        false,
    ),
    (
        &super::gitleaks::Gitleaks,
        br#"{"SourceMetadata":{},"DetectorName":"AWS","Raw":"x"}"#,
        false,
    ),
    (
        &super::gitleaks::Gitleaks,
        br#"[{"check_id":"x","path":"a.py"}]"#,
        false,
    ),
    // grype: sniffs grype only
    (&super::grype::Grype, fixture!("grype", "image.json"), true),
    (
        &super::grype::Grype,
        fixture!("grype", "directory_old.json"),
        true,
    ),
    (
        &super::grype::Grype,
        br#"{"matches":[],"source":{"type":"image","target":{"userInput":"busybox"}}}"#,
        true,
    ),
    (
        &super::grype::Grype,
        br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"grype"}}}]}"#,
        false,
    ),
    (
        &super::grype::Grype,
        br#"{"SchemaVersion":2,"Results":[]}"#,
        false,
    ),
    (
        &super::grype::Grype,
        br#"{"matches":[{"rule":"x"}]}"#,
        false,
    ),
    // hadolint: sniffs hadolint only
    (
        &super::hadolint::Hadolint,
        fixture!("hadolint", "two-dockerfiles.json"),
        true,
    ),
    (
        &super::hadolint::Hadolint,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::hadolint::Hadolint,
        br#"[{"check_type":"dockerfile","results":{}}]"#,
        false,
    ),
    (
        &super::hadolint::Hadolint,
        br#"{"code":"DL3008","level":"info","file":"D","line":1,"message":"m"}"#,
        false,
    ),
    // kube_bench: sniffs kube bench only
    (
        &super::kube_bench::KubeBench,
        fixture!("kube_bench", "node-report.json"),
        true,
    ),
    (
        &super::kube_bench::KubeBench,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::kube_bench::KubeBench,
        br#"[{"file":"Dockerfile","code":"DL3008","line":1}]"#,
        false,
    ),
    // kube_hunter: sniffs kube hunter only
    (
        &super::kube_hunter::KubeHunter,
        fixture!("kube_hunter", "pod-hunt.json"),
        true,
    ),
    (
        &super::kube_hunter::KubeHunter,
        br#"{"nodes": [], "services": [], "vulnerabilities": []}"#,
        true,
    ),
    (
        &super::kube_hunter::KubeHunter,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::kube_hunter::KubeHunter,
        br#"{"vulnerabilities": [{"id": "GHSA-1"}]}"#,
        false,
    ),
    // kubeaudit: sniffs kubeaudit only
    (
        &super::kubeaudit::Kubeaudit,
        fixture!("kubeaudit", "cluster-audit.jsonl"),
        true,
    ),
    (
        &super::kubeaudit::Kubeaudit,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::kubeaudit::Kubeaudit,
        br#"{"template-id":"x","host":"h","info":{}}"#,
        false,
    ),
    // kubescape: sniffs kubescape only
    (
        &super::kubescape::Kubescape,
        fixture!("kubescape", "cluster-scan.json"),
        true,
    ),
    (
        &super::kubescape::Kubescape,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::kubescape::Kubescape,
        br#"{"Controls":[{"node_type":"node","tests":[]}]}"#,
        false,
    ),
    // npm_audit: sniffs npm audit only
    (
        &super::npm_audit::NpmAudit,
        fixture!("npm_audit", "v6.json"),
        true,
    ),
    (
        &super::npm_audit::NpmAudit,
        fixture!("npm_audit", "v7.json"),
        true,
    ),
    (
        &super::npm_audit::NpmAudit,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::npm_audit::NpmAudit,
        br#"{"vulnerabilities":[],"packageManager":"npm","projectName":"x"}"#,
        false,
    ),
    (
        &super::npm_audit::NpmAudit,
        br#"{"type":"auditAdvisory","data":{"advisory":{}}}"#,
        false,
    ),
    // nuclei: sniffs nuclei only
    (
        &super::nuclei::Nuclei,
        fixture!("nuclei", "scan.jsonl"),
        true,
    ),
    (
        &super::nuclei::Nuclei,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::nuclei::Nuclei,
        br#"{"AuditResultName":"x","ResourceKind":"Pod","level":"error"}"#,
        false,
    ),
    // osv_scanner: sniffs osv scanner only
    (
        &super::osv_scanner::OsvScanner,
        fixture!("osv_scanner", "report.json"),
        true,
    ),
    (
        &super::osv_scanner::OsvScanner,
        br#"{"version":"2.1.0","runs":[{"results":[]}]}"#,
        false,
    ),
    (
        &super::osv_scanner::OsvScanner,
        br#"{"results":[{"check_id":"x","path":"a.py"}],"errors":[]}"#,
        false,
    ),
    (
        &super::osv_scanner::OsvScanner,
        br#"{"SchemaVersion":2,"Results":[]}"#,
        false,
    ),
    // popeye: sniffs popeye only
    (
        &super::popeye::Popeye,
        fixture!("popeye", "cluster-lint.json"),
        true,
    ),
    (
        &super::popeye::Popeye,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::popeye::Popeye,
        br#"{"summaryDetails":{},"results":[]}"#,
        false,
    ),
    // snyk: sniffs snyk only
    (&super::snyk::Snyk, fixture!("snyk", "project.json"), true),
    (&super::snyk::Snyk, fixture!("snyk", "container.json"), true),
    (
        &super::snyk::Snyk,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::snyk::Snyk,
        br#"{"auditReportVersion":2,"vulnerabilities":{}}"#,
        false,
    ),
    (&super::snyk::Snyk, br#"{"matches":[],"source":{}}"#, false),
    // trufflehog: sniffs trufflehog only
    (
        &super::trufflehog::Trufflehog,
        fixture!("trufflehog", "v3.jsonl"),
        true,
    ),
    (
        &super::trufflehog::Trufflehog,
        fixture!("trufflehog", "v2.jsonl"),
        true,
    ),
    (
        &super::trufflehog::Trufflehog,
        br#"{"version":"2.1.0","runs":[]}"#,
        false,
    ),
    (
        &super::trufflehog::Trufflehog,
        br#"[{"RuleID":"x","StartLine":1,"Secret":"s"}]"#,
        false,
    ),
    (
        &super::trufflehog::Trufflehog,
        br#"{"type":"auditAdvisory","data":{}}"#,
        false,
    ),
    // zap: sniffs zap only
    (&super::zap::Zap, fixture!("zap", "baseline.xml"), true),
    (&super::zap::Zap, br#"{"version":"2.1.0","runs":[]}"#, false),
    (&super::zap::Zap, br#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.4"/>"#, false),
    // cyclonedx: sniffs cyclonedx only
    (&super::cyclonedx::CycloneDx, fixture!("cyclonedx", "app.cdx.json"), true),
    (&super::cyclonedx::CycloneDx, fixture!("cyclonedx", "image_ext.cdx.xml"), true),
    (&super::cyclonedx::CycloneDx, fixture!("cyclonedx", "app14.cdx.xml"), true),
    (&super::cyclonedx::CycloneDx, br#"{"version":"2.1.0","runs":[]}"#, false),
    (&super::cyclonedx::CycloneDx, br#"{"matches":[],"source":{}}"#, false),
    (&super::cyclonedx::CycloneDx, br#"<?xml version="1.0"?><analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd"/>"#, false),
    // github_vulnerability: sniffs github only
    (&super::github_vulnerability::GithubVulnerability, fixture!("github_vulnerability", "graphql.json"), true),
    (&super::github_vulnerability::GithubVulnerability, fixture!("github_vulnerability", "dependabot_rest.json"), true),
    (&super::github_vulnerability::GithubVulnerability, fixture!("github_vulnerability", "code_scanning_rest.json"), true),
    (&super::github_vulnerability::GithubVulnerability, br#"{"version":"2.1.0","runs":[]}"#, false),
    (&super::github_vulnerability::GithubVulnerability, br#"{"auditReportVersion":2,"vulnerabilities":{}}"#, false),
    (&super::github_vulnerability::GithubVulnerability, br#"[{"RuleID":"x","StartLine":1,"Secret":"s"}]"#, false),
];

#[test]
fn every_format_sniffs_what_its_table_says() {
    for (i, (format, body, claims)) in SNIFFS.iter().enumerate() {
        let head = String::from_utf8_lossy(&body[..body.len().min(80)]);
        assert_eq!(
            format.sniff(body),
            *claims,
            "row {i}: {} on {head}",
            format.name()
        );
    }
}

#[test]
fn every_fixture_reads_as_its_table_says() {
    for (i, case) in CASES.iter().enumerate() {
        let report = case
            .format
            .parse(case.fixture)
            .unwrap_or_else(|e| panic!("case {i} ({}): {e}", case.format.name()));
        let name = case.format.name();
        assert_eq!(header(&report), case.header, "case {i} ({name})");
        assert_eq!(summaries(&report), case.findings, "case {i} ({name})");
    }
}

#[test]
fn a_summary_leaves_out_what_is_not_set() {
    let f = crate::ingest::NewFinding::new(
        [0; 32],
        app::domain::Layer::Code,
        app::domain::Severity::Low,
        "t",
    );
    assert_eq!(summary(&f), " Low Code | t");
}
