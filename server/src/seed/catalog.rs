//! What the seed's findings say: per layer, the scanners that report it and the rules,
//! CVEs, packages, images and workloads they name. Every choice is a pure function of the
//! seed and the finding's place (project, layer, index), so a scan that reports a finding
//! again reports exactly the same content (and costs the store nothing), and the same
//! `--seed` builds the same estate.

use app::domain::{Layer, Severity};

use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::{Asset, AssetKind, NewFinding};

/// A 64-bit mix of the values (SplitMix64 steps): the seed's only source of chance.
pub fn mix(values: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for &v in values {
        h ^= v;
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

/// A number in `0..n` from `h`.
pub fn pick(h: u64, n: usize) -> usize {
    ((h >> 11) % n.max(1) as u64) as usize
}

/// A fraction in `0..1` from `h`.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

pub const LAYERS: [Layer; 7] = [
    Layer::Code,
    Layer::Dependency,
    Layer::Image,
    Layer::ClusterConfig,
    Layer::Secret,
    Layer::Dast,
    Layer::Runtime,
];

/// How a typical project's findings split across the layers (parts per thousand).
pub fn layer_weight(layer: Layer) -> u32 {
    match layer {
        Layer::Dependency => 340,
        Layer::Image => 330,
        Layer::Code => 130,
        Layer::ClusterConfig => 90,
        Layer::Secret => 30,
        Layer::Dast => 40,
        Layer::Runtime => 40,
    }
}

/// The scanners that report a layer (scanner id, version), one chosen per project.
pub fn scanners(layer: Layer) -> &'static [(&'static str, &'static str)] {
    match layer {
        Layer::Code => &[
            ("semgrep", "1.95.0"),
            ("semgrep", "1.95.0"),
            ("codeql", "2.19.3"),
            ("bandit", "1.7.10"),
        ],
        Layer::Dependency => &[
            ("trivy", "0.57.1"),
            ("osv-scanner", "1.9.1"),
            ("snyk", "1.1294.0"),
            ("npm-audit", "10.9.0"),
        ],
        Layer::Image => &[("trivy", "0.57.1"), ("grype", "0.84.0")],
        Layer::ClusterConfig => &[
            ("kube-linter", "0.7.1"),
            ("trivy-operator", "0.23.0"),
            ("kubescape", "3.0.19"),
            ("checkov", "3.2.300"),
        ],
        Layer::Secret => &[("gitleaks", "8.21.2"), ("trufflehog", "3.84.1")],
        Layer::Dast => &[("zap", "2.15.0"), ("nuclei", "3.3.5")],
        Layer::Runtime => &[("falco", "0.39.1")],
    }
}

/// The scan target of a project's layer.
pub fn target(layer: Layer, project: &str, team: &str) -> String {
    match layer {
        Layer::Code | Layer::Dependency | Layer::Secret => format!("github.com/acme/{project}"),
        Layer::Image => format!("registry.acme.example/{team}/{project}"),
        Layer::ClusterConfig => format!("prod-eu-1/{team}"),
        Layer::Dast => format!("https://{project}.acme.example"),
        Layer::Runtime => "prod-eu-1".into(),
    }
}

/// Severity by layer: most findings are medium or low; secrets are rarely anything but
/// high or critical. (critical, high, medium, low) in percent; the rest is info.
fn severity_mix(layer: Layer) -> [u32; 4] {
    match layer {
        Layer::Secret => [30, 60, 10, 0],
        Layer::Code => [2, 14, 44, 32],
        Layer::Dependency | Layer::Image => [4, 17, 40, 31],
        Layer::ClusterConfig => [1, 14, 45, 30],
        Layer::Dast => [1, 8, 40, 40],
        Layer::Runtime => [5, 25, 40, 30],
    }
}

/// A finding's severity as its scanner reports it.
pub fn severity(seed: u64, project: u64, layer: Layer, index: u64) -> Severity {
    let roll = (mix(&[seed, project, layer as u64, index, 1]) % 100) as u32;
    let [c, h, m, l] = severity_mix(layer);
    if roll < c {
        Severity::Critical
    } else if roll < c + h {
        Severity::High
    } else if roll < c + h + m {
        Severity::Medium
    } else if roll < c + h + m + l {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// What one project is, for the content of its findings.
pub struct ProjectNames<'a> {
    pub seed: u64,
    pub index: u64,
    pub slug: &'a str,
    pub team: &'a str,
}

/// The finding at `index` of a project's layer, as `scanner` reports it.
pub fn finding(p: &ProjectNames<'_>, layer: Layer, scanner: &str, index: u64) -> NewFinding {
    let h = mix(&[p.seed, p.index, layer as u64, index, 2]);
    let severity = severity(p.seed, p.index, layer, index);
    let mut fp = Fingerprint::new("seed/v1");
    fp.push(&p.seed.to_string())
        .push(p.slug)
        .push(layer.as_str())
        .push(&index.to_string());
    let fingerprint = fp.finish();
    let mut f = match layer {
        Layer::Code => code(p, h, index),
        Layer::Dependency => dependency(p, h, index),
        Layer::Image => image(p, h, index),
        Layer::ClusterConfig => cluster_config(p, h, index),
        Layer::Secret => secret(p, h, index),
        Layer::Dast => dast(p, h, index),
        Layer::Runtime => runtime(p, h, index),
    };
    f.fingerprint = fingerprint;
    f.layer = layer;
    f.severity = severity;
    if f.description.is_empty() {
        f.description = format!("Reported by {scanner}.");
    }
    f
}

fn blank(title: String) -> NewFinding {
    NewFinding::new([0; 32], Layer::Code, Severity::Info, title)
}

const MODULES: &[&str] = &[
    "api",
    "auth",
    "billing",
    "checkout",
    "orders",
    "users",
    "search",
    "reports",
    "admin",
    "webhooks",
    "notifications",
    "inventory",
    "payments",
    "export",
    "import",
    "sessions",
];
const FILES: &[(&str, &str)] = &[
    ("views", "py"),
    ("handlers", "go"),
    ("controller", "ts"),
    ("service", "java"),
    ("routes", "js"),
    ("models", "py"),
    ("client", "go"),
    ("utils", "ts"),
    ("Repository", "java"),
    ("middleware", "js"),
];

/// (rule id, title, CWE, remediation)
const CODE_RULES: &[(&str, &str, &str, &str)] = &[
    (
        "python.django.security.injection.sql.sql-injection-db-cursor-execute",
        "User-controlled data reaches cursor.execute() without parameters",
        "CWE-89",
        "Pass values as query parameters.",
    ),
    (
        "javascript.express.security.audit.xss.direct-response-write",
        "Request data written to the response without escaping",
        "CWE-79",
        "Render through the template engine, which escapes.",
    ),
    (
        "python.lang.security.audit.dangerous-subprocess-use",
        "subprocess called with shell=True and request data",
        "CWE-78",
        "Pass an argument list and shell=False.",
    ),
    (
        "javascript.lang.security.audit.path-traversal.path-join-resolve-traversal",
        "File path built from request data",
        "CWE-22",
        "Resolve the path and check it stays under the base folder.",
    ),
    (
        "java.lang.security.audit.crypto.use-of-md5",
        "MD5 used for a security-relevant hash",
        "CWE-328",
        "Use SHA-256 or a password hash.",
    ),
    (
        "go.lang.security.audit.net.use-tls.use-tls",
        "HTTP server listens without TLS",
        "CWE-319",
        "Serve over TLS.",
    ),
    (
        "python.lang.security.deserialization.pickle.avoid-pickle",
        "Untrusted data deserialised with pickle",
        "CWE-502",
        "Use a data format such as JSON.",
    ),
    (
        "java.spring.security.audit.spring-csrf-disabled",
        "CSRF protection disabled",
        "CWE-352",
        "Keep CSRF protection on for browser sessions.",
    ),
    (
        "go.lang.security.audit.crypto.math_random.math-random-used",
        "math/rand used for a security value",
        "CWE-338",
        "Use crypto/rand.",
    ),
    (
        "javascript.lang.security.audit.prototype-pollution.prototype-pollution-loop",
        "Object keys from input assigned in a loop (prototype pollution)",
        "CWE-1321",
        "Reject __proto__ and constructor keys.",
    ),
    (
        "python.flask.security.audit.debug-enabled",
        "Debug mode enabled in an application setting",
        "CWE-489",
        "Turn debug off outside development.",
    ),
    (
        "python.requests.security.disabled-cert-validation",
        "TLS certificate validation disabled (verify=False)",
        "CWE-295",
        "Keep certificate validation on.",
    ),
    (
        "js/regex-injection",
        "Regular expression built from user input",
        "CWE-730",
        "Escape input before building a pattern.",
    ),
    (
        "py/clear-text-logging-sensitive-data",
        "Sensitive data written to the log in clear text",
        "CWE-532",
        "Redact secrets before logging.",
    ),
    (
        "java/ssrf",
        "Server-side request to a URL from request data",
        "CWE-918",
        "Allow-list the hosts the server may call.",
    ),
    (
        "go/unsafe-quoting",
        "String quoted by hand in a shell command",
        "CWE-78",
        "Pass arguments without a shell.",
    ),
];

fn code(p: &ProjectNames<'_>, h: u64, index: u64) -> NewFinding {
    let (rule, title, cwe, fix) = CODE_RULES[pick(h, CODE_RULES.len())];
    let module = MODULES[pick(h >> 7, MODULES.len())];
    let (file, ext) = FILES[pick(h >> 13, FILES.len())];
    let path = format!("{module}/{file}_{}.{ext}", index / 40);
    let line = 10 + (mix(&[h, 3]) % 600) as i32;
    let mut f = blank(title.to_string());
    f.rule_id = rule.to_string();
    f.aliases = vec![cwe.to_string()];
    f.remediation = fix.to_string();
    f.description = format!("{title} in {module}. Found in {}.", p.slug);
    f.location = format!("{path}:{line}");
    f.file_path = Some(path);
    f.line = Some(line);
    f.asset = Some(Asset {
        kind: AssetKind::Repository,
        key: format!("github.com/acme/{}", p.slug),
    });
    f
}

/// Well-known vulnerabilities: (CVE, package, installed, fixed, title).
const KNOWN_CVES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "CVE-2021-44228",
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "2.15.0",
        "Log4Shell: remote code execution via JNDI lookups",
    ),
    (
        "CVE-2022-22965",
        "org.springframework:spring-beans",
        "5.3.17",
        "5.3.18",
        "Spring4Shell: remote code execution via data binding",
    ),
    (
        "CVE-2023-44487",
        "golang.org/x/net",
        "0.15.0",
        "0.17.0",
        "HTTP/2 rapid reset denial of service",
    ),
    (
        "CVE-2024-6345",
        "setuptools",
        "68.0.0",
        "70.0.0",
        "remote code execution via package_index download functions",
    ),
    (
        "CVE-2023-50782",
        "cryptography",
        "41.0.3",
        "42.0.0",
        "Bleichenbacher timing oracle in RSA decryption",
    ),
    (
        "CVE-2024-35195",
        "requests",
        "2.31.0",
        "2.32.0",
        "verify=False persists across a Session",
    ),
    (
        "CVE-2022-42889",
        "org.apache.commons:commons-text",
        "1.9",
        "1.10.0",
        "Text4Shell: code execution via string interpolation",
    ),
    (
        "CVE-2023-26136",
        "tough-cookie",
        "4.1.2",
        "4.1.3",
        "prototype pollution in cookie memstore",
    ),
    (
        "CVE-2022-25883",
        "semver",
        "7.5.1",
        "7.5.2",
        "regular expression denial of service",
    ),
    (
        "CVE-2024-29041",
        "express",
        "4.18.2",
        "4.19.2",
        "open redirect in malformed URLs",
    ),
    (
        "CVE-2023-45133",
        "@babel/traverse",
        "7.22.5",
        "7.23.2",
        "arbitrary code execution when compiling crafted code",
    ),
    (
        "CVE-2024-4068",
        "braces",
        "3.0.2",
        "3.0.3",
        "excessive memory use on imbalanced braces",
    ),
    (
        "CVE-2022-24999",
        "qs",
        "6.10.3",
        "6.10.4",
        "prototype pollution in query parsing",
    ),
    (
        "CVE-2021-23337",
        "lodash",
        "4.17.20",
        "4.17.21",
        "command injection via template",
    ),
    (
        "CVE-2024-37891",
        "urllib3",
        "1.26.18",
        "1.26.19",
        "Proxy-Authorization header kept on cross-origin redirects",
    ),
    (
        "CVE-2024-34064",
        "jinja2",
        "3.1.3",
        "3.1.4",
        "HTML attribute injection via xmlattr",
    ),
    (
        "CVE-2023-39325",
        "golang.org/x/net",
        "0.13.0",
        "0.17.0",
        "HTTP/2 stream resets cause excessive work",
    ),
    (
        "CVE-2024-24790",
        "stdlib",
        "1.21.9",
        "1.21.11",
        "net/netip misclassifies IPv4-mapped IPv6 addresses",
    ),
    (
        "CVE-2024-22243",
        "org.springframework:spring-web",
        "6.1.3",
        "6.1.4",
        "open redirect and SSRF via UriComponentsBuilder",
    ),
    (
        "CVE-2023-46604",
        "org.apache.activemq:activemq-client",
        "5.17.5",
        "5.17.6",
        "remote code execution via OpenWire",
    ),
];

/// Well-known OS package vulnerabilities in images: (CVE, package, installed, fixed, title).
const IMAGE_CVES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "CVE-2023-45853",
        "zlib1g",
        "1:1.2.13.dfsg-1",
        "",
        "heap overflow in MiniZip zipOpenNewFileInZip4_64",
    ),
    (
        "CVE-2024-3094",
        "xz-utils",
        "5.6.0-0.2",
        "5.6.1+really5.4.5-1",
        "backdoor in liblzma",
    ),
    (
        "CVE-2023-4863",
        "libwebp7",
        "1.2.4-0.2",
        "1.2.4-0.2+deb12u1",
        "heap buffer overflow in WebP lossless decoding",
    ),
    (
        "CVE-2023-38545",
        "curl",
        "7.88.1-10",
        "7.88.1-10+deb12u4",
        "SOCKS5 heap buffer overflow",
    ),
    (
        "CVE-2024-21626",
        "runc",
        "1.1.7",
        "1.1.12",
        "container breakout via leaked file descriptor",
    ),
    (
        "CVE-2024-6387",
        "openssh-client",
        "1:9.2p1-2",
        "1:9.2p1-2+deb12u3",
        "regreSSHion: signal handler race in sshd",
    ),
    (
        "CVE-2023-4911",
        "libc6",
        "2.36-9",
        "2.36-9+deb12u3",
        "Looney Tunables: buffer overflow in ld.so",
    ),
    (
        "CVE-2024-2961",
        "libc6",
        "2.36-9+deb12u3",
        "2.36-9+deb12u7",
        "out-of-bounds write in iconv ISO-2022-CN-EXT",
    ),
    (
        "CVE-2023-5363",
        "libssl3",
        "3.0.11-1",
        "3.0.11-1~deb12u2",
        "key and IV length changes ignored",
    ),
    (
        "CVE-2024-45490",
        "libexpat1",
        "2.5.0-1",
        "2.5.0-1+deb12u1",
        "negative length passed to XML_ParseBuffer",
    ),
    (
        "CVE-2023-2650",
        "openssl",
        "3.0.8-1",
        "3.0.9-1",
        "slow processing of ASN.1 object identifiers",
    ),
    (
        "CVE-2024-0727",
        "libssl3",
        "3.0.11-1",
        "3.0.13-1~deb12u1",
        "NULL dereference on malformed PKCS12 files",
    ),
];

const DEP_PACKAGES: &[(&str, &str)] = &[
    ("lodash", "package-lock.json"),
    ("axios", "package-lock.json"),
    ("minimist", "package-lock.json"),
    ("jsonwebtoken", "package-lock.json"),
    ("ws", "package-lock.json"),
    ("django", "requirements.txt"),
    ("pyyaml", "requirements.txt"),
    ("pillow", "requirements.txt"),
    ("flask", "requirements.txt"),
    ("github.com/gin-gonic/gin", "go.sum"),
    ("google.golang.org/grpc", "go.sum"),
    ("github.com/golang-jwt/jwt/v4", "go.sum"),
    ("com.fasterxml.jackson.core:jackson-databind", "pom.xml"),
    ("io.netty:netty-codec-http", "pom.xml"),
    ("org.yaml:snakeyaml", "pom.xml"),
    ("rack", "Gemfile.lock"),
    ("nokogiri", "Gemfile.lock"),
];
const VULN_KINDS: &[&str] = &[
    "denial of service via crafted input",
    "regular expression denial of service",
    "prototype pollution",
    "server-side request forgery",
    "improper certificate validation",
    "path traversal when extracting archives",
    "information disclosure in error messages",
    "arbitrary code execution via deserialisation",
    "HTTP request smuggling",
    "cross-site scripting in rendered output",
];
const OS_PACKAGES: &[&str] = &[
    "libssl3",
    "openssl",
    "zlib1g",
    "libc6",
    "curl",
    "libcurl4",
    "libexpat1",
    "libxml2",
    "libsqlite3-0",
    "libgnutls30",
    "tar",
    "perl-base",
    "ncurses-base",
    "libtasn1-6",
    "gzip",
    "libkrb5-3",
    "libpam0g",
    "libsystemd0",
    "bash",
    "busybox",
    "musl",
    "libcrypto3",
];

/// A CVE id that is the same for the same `h` (spread over 2019–2024).
fn cve(h: u64) -> String {
    format!("CVE-20{}-{}", 19 + pick(h, 6), 1000 + pick(h >> 9, 48_000))
}

fn vulnerability(
    cve_id: String,
    package: String,
    installed: String,
    fixed: Option<String>,
    title: String,
    location: String,
) -> NewFinding {
    let mut f = blank(format!("{package} {installed}: {title}"));
    f.references = vec![format!("https://nvd.nist.gov/vuln/detail/{cve_id}")];
    f.remediation = match &fixed {
        Some(v) => format!("Upgrade {package} to {v} or later."),
        None => format!("No fixed version of {package} yet; track the advisory."),
    };
    f.aliases = vec![cve_id.clone()];
    f.rule_id = cve_id;
    f.package_name = Some(package);
    f.package_version = Some(installed);
    f.fixed_version = fixed;
    f.location = location;
    f
}

fn dependency(p: &ProjectNames<'_>, h: u64, index: u64) -> NewFinding {
    let dir = if index < 200 {
        String::new()
    } else {
        format!("services/{}/", MODULES[pick(h >> 21, MODULES.len())])
    };
    let mut f = if pick(h, 5) == 0 {
        let (id, pkg, installed, fixed, title) = KNOWN_CVES[pick(h >> 5, KNOWN_CVES.len())];
        let manifest = manifest_of(pkg);
        vulnerability(
            id.into(),
            pkg.into(),
            installed.into(),
            Some(fixed.into()),
            title.into(),
            format!("{dir}{manifest}"),
        )
    } else {
        let (pkg, manifest) = DEP_PACKAGES[pick(h >> 5, DEP_PACKAGES.len())];
        let minor = pick(h >> 17, 30);
        vulnerability(
            cve(h >> 3),
            pkg.into(),
            format!("{}.{minor}.{}", 1 + pick(h >> 27, 4), pick(h >> 31, 10)),
            Some(format!("{}.{}.0", 1 + pick(h >> 27, 4), minor + 1)),
            VULN_KINDS[pick(h >> 37, VULN_KINDS.len())].into(),
            format!("{dir}{manifest}"),
        )
    };
    f.file_path = Some(f.location.clone());
    f.asset = Some(Asset {
        kind: AssetKind::Repository,
        key: format!("github.com/acme/{}", p.slug),
    });
    f
}

fn manifest_of(package: &str) -> &'static str {
    if package.contains(':') {
        "pom.xml"
    } else if package.contains('/') || package == "stdlib" {
        "go.sum"
    } else if matches!(
        package,
        "setuptools" | "cryptography" | "requests" | "urllib3" | "jinja2"
    ) {
        "requirements.txt"
    } else {
        "package-lock.json"
    }
}

fn image(p: &ProjectNames<'_>, h: u64, _index: u64) -> NewFinding {
    let repository = format!("registry.acme.example/{}/{}", p.team, p.slug);
    let tag = format!("1.{}.0", pick(mix(&[p.seed, p.index, 9]), 40));
    let image = format!("{repository}:{tag}");
    let mut f = if pick(h, 6) == 0 {
        let (id, pkg, installed, fixed, title) = IMAGE_CVES[pick(h >> 5, IMAGE_CVES.len())];
        vulnerability(
            id.into(),
            pkg.into(),
            installed.into(),
            (!fixed.is_empty()).then(|| fixed.to_string()),
            title.into(),
            image.clone(),
        )
    } else {
        let pkg = OS_PACKAGES[pick(h >> 5, OS_PACKAGES.len())];
        let fixed = pick(h >> 45, 4) != 0;
        vulnerability(
            cve(h >> 3),
            pkg.into(),
            format!(
                "{}.{}-{}",
                1 + pick(h >> 27, 3),
                pick(h >> 31, 20),
                pick(h >> 35, 9)
            ),
            fixed.then(|| {
                format!(
                    "{}.{}-{}+deb12u1",
                    1 + pick(h >> 27, 3),
                    pick(h >> 31, 20),
                    pick(h >> 35, 9)
                )
            }),
            VULN_KINDS[pick(h >> 37, VULN_KINDS.len())].into(),
            image.clone(),
        )
    };
    f.image = Some(image);
    f.asset = Some(Asset {
        kind: AssetKind::Image,
        key: repository,
    });
    f
}

/// (rule, title, remediation)
const K8S_RULES: &[(&str, &str, &str)] = &[
    (
        "run-as-non-root",
        "Container is not set to runAsNonRoot",
        "Set securityContext.runAsNonRoot: true.",
    ),
    (
        "no-read-only-root-fs",
        "Container does not have a read-only root file system",
        "Set readOnlyRootFilesystem: true.",
    ),
    (
        "unset-memory-requirements",
        "Container has no memory limit",
        "Set resources.limits.memory.",
    ),
    (
        "unset-cpu-requirements",
        "Container has no CPU request",
        "Set resources.requests.cpu.",
    ),
    (
        "privileged-container",
        "Container runs privileged",
        "Remove privileged: true.",
    ),
    (
        "privilege-escalation-container",
        "Container allows privilege escalation",
        "Set allowPrivilegeEscalation: false.",
    ),
    (
        "latest-tag",
        "Image uses the latest tag",
        "Pin the image to a version or digest.",
    ),
    (
        "host-network",
        "Pod uses the host network",
        "Remove hostNetwork: true.",
    ),
    (
        "sensitive-host-mounts",
        "Pod mounts a sensitive host path",
        "Avoid hostPath mounts of system folders.",
    ),
    (
        "drop-net-raw-capability",
        "Container does not drop NET_RAW",
        "Drop ALL capabilities and add back what is needed.",
    ),
    (
        "KSV012",
        "Runs as root user",
        "Set runAsNonRoot and a non-zero runAsUser.",
    ),
    (
        "KSV104",
        "Seccomp policies disabled",
        "Set a RuntimeDefault seccomp profile.",
    ),
];
const KINDS: &[&str] = &[
    "Deployment",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "DaemonSet",
];
const COMPONENTS: &[&str] = &[
    "api",
    "worker",
    "web",
    "scheduler",
    "consumer",
    "migrations",
    "gateway",
    "cache",
];

fn workload(p: &ProjectNames<'_>, h: u64) -> (String, String, String) {
    let kind = KINDS[pick(h >> 17, KINDS.len())];
    let name = format!("{}-{}", p.slug, COMPONENTS[pick(h >> 23, COMPONENTS.len())]);
    (p.team.to_string(), kind.to_string(), name)
}

fn cluster_config(p: &ProjectNames<'_>, h: u64, index: u64) -> NewFinding {
    let (rule, title, fix) = K8S_RULES[pick(h, K8S_RULES.len())];
    let (ns, kind, name) = workload(p, h);
    let container = COMPONENTS[pick(h >> 29, COMPONENTS.len())];
    let mut f = blank(format!(
        "{title}: container '{container}' in {kind} {ns}/{name}"
    ));
    f.rule_id = rule.to_string();
    f.remediation = fix.to_string();
    let path = format!(
        "deploy/{}/{}-{}.yaml",
        p.slug,
        kind.to_ascii_lowercase(),
        index / 12
    );
    f.location = format!("{ns}/{kind}/{name}");
    f.file_path = Some(path);
    f.asset = Some(Asset {
        kind: AssetKind::Workload,
        key: format!("prod-eu-1/{ns}/{kind}/{name}"),
    });
    f.k8s_namespace = Some(ns);
    f.k8s_kind = Some(kind);
    f.k8s_name = Some(name);
    f
}

/// (rule, what was found)
const SECRET_RULES: &[(&str, &str)] = &[
    ("aws-access-token", "AWS access key"),
    ("stripe-access-token", "Stripe secret key"),
    ("github-pat", "GitHub personal access token"),
    ("slack-webhook-url", "Slack webhook URL"),
    ("private-key", "Private key"),
    ("generic-api-key", "Generic API key"),
    ("gcp-service-account", "GCP service account key"),
    ("jwt", "JSON Web Token"),
];
const SECRET_FILES: &[&str] = &[
    ".env.production",
    "config/settings.yaml",
    "deploy/values.yaml",
    "scripts/deploy.sh",
    "src/__fixtures__/client.json",
    "docker-compose.yml",
    "terraform/main.tf",
    "README.md",
];

fn secret(p: &ProjectNames<'_>, h: u64, index: u64) -> NewFinding {
    let (rule, what) = SECRET_RULES[pick(h, SECRET_RULES.len())];
    let file = SECRET_FILES[pick(h >> 9, SECRET_FILES.len())];
    let line = 1 + (index % 90) as i32;
    let mut f = blank(format!("{what} committed in {file}"));
    f.rule_id = rule.to_string();
    f.remediation = "Revoke the secret, issue a new one, and remove it from the history.".into();
    f.location = format!("{file}:{line}");
    f.file_path = Some(file.to_string());
    f.line = Some(line);
    f.asset = Some(Asset {
        kind: AssetKind::Repository,
        key: format!("github.com/acme/{}", p.slug),
    });
    f
}

/// (rule id, title, CWE)
const DAST_RULES: &[(&str, &str, &str)] = &[
    (
        "10038",
        "Content Security Policy (CSP) Header Not Set",
        "CWE-693",
    ),
    ("10020", "Missing Anti-clickjacking Header", "CWE-1021"),
    ("10011", "Cookie Without Secure Flag", "CWE-614"),
    (
        "10035",
        "Strict-Transport-Security Header Not Set",
        "CWE-319",
    ),
    ("40018", "SQL Injection", "CWE-89"),
    ("40012", "Cross Site Scripting (Reflected)", "CWE-79"),
    (
        "10036",
        "Server Leaks Version Information via \"Server\" HTTP Response Header Field",
        "CWE-200",
    ),
    ("10202", "Absence of Anti-CSRF Tokens", "CWE-352"),
    ("90022", "Application Error Disclosure", "CWE-200"),
    ("10021", "X-Content-Type-Options Header Missing", "CWE-693"),
    ("6", "Path Traversal", "CWE-22"),
];
const URL_PATHS: &[&str] = &[
    "login",
    "search",
    "api/v1/orders",
    "account",
    "admin",
    "checkout",
    "static/app.js",
    "reset-password",
];

fn dast(p: &ProjectNames<'_>, h: u64, index: u64) -> NewFinding {
    let (rule, title, cwe) = DAST_RULES[pick(h, DAST_RULES.len())];
    let path = URL_PATHS[pick(h >> 9, URL_PATHS.len())];
    let url = format!("https://{}.acme.example/{path}?v={}", p.slug, index / 8);
    let mut f = blank(title.to_string());
    f.rule_id = rule.to_string();
    f.aliases = vec![cwe.to_string()];
    f.remediation = "See the scanner's advice for this alert.".into();
    f.location = url.clone();
    f.asset = Some(Asset {
        kind: AssetKind::Url,
        key: format!("https://{}.acme.example", p.slug),
    });
    f.url = Some(url);
    f
}

const FALCO_RULES: &[&str] = &[
    "Terminal shell in container",
    "Write below etc",
    "Read sensitive file untrusted",
    "Launch Privileged Container",
    "Contact K8S API Server From Container",
    "Drop and execute new binary in container",
    "Packet socket created in container",
    "Outbound connection to an unexpected destination",
];

fn runtime(p: &ProjectNames<'_>, h: u64, _index: u64) -> NewFinding {
    let rule = FALCO_RULES[pick(h, FALCO_RULES.len())];
    let (ns, kind, name) = workload(p, h);
    let mut f = blank(format!("{rule} ({ns}/{name})"));
    f.rule_id = rule.to_string();
    f.remediation = "Investigate the process and the image it came from.".into();
    f.location = format!("{ns}/{kind}/{name}");
    f.asset = Some(Asset {
        kind: AssetKind::Workload,
        key: format!("prod-eu-1/{ns}/{kind}/{name}"),
    });
    f.k8s_namespace = Some(ns);
    f.k8s_kind = Some(kind);
    f.k8s_name = Some(name);
    f.occurrences = 1 + pick(h >> 41, 40) as u32;
    f
}

/// Team names: the first `n`, numbered past the list's end.
pub fn team_slug(i: usize) -> String {
    const TEAMS: &[&str] = &[
        "payments",
        "checkout",
        "platform",
        "identity",
        "search",
        "mobile",
        "data",
        "growth",
        "billing",
        "logistics",
        "catalog",
        "support",
        "marketing",
        "infra",
        "security",
        "analytics",
        "messaging",
        "partners",
        "pricing",
        "orders",
        "accounts",
        "web",
        "ml",
        "risk",
        "compliance",
        "observability",
        "storage",
        "network",
        "devex",
        "reporting",
        "loyalty",
        "content",
        "media",
        "maps",
        "ads",
        "fulfilment",
        "returns",
        "onboarding",
        "notifications",
        "trust",
        "fraud",
        "ledger",
        "treasury",
        "payroll",
        "hr-tools",
        "warehouse",
        "recommendations",
        "experiments",
        "edge",
        "api-gateway",
    ];
    match TEAMS.get(i) {
        Some(name) => (*name).to_string(),
        None => format!("{}-{}", TEAMS[i % TEAMS.len()], i / TEAMS.len() + 1),
    }
}

pub const PROJECT_PARTS: &[&str] = &[
    "api",
    "web",
    "worker",
    "service",
    "gateway",
    "frontend",
    "backend",
    "sync",
    "jobs",
    "admin",
    "reports",
    "events",
    "cli",
    "sdk",
    "portal",
    "scheduler",
    "importer",
    "exporter",
    "auth",
    "proxy",
    "cache",
    "indexer",
    "mailer",
    "webhooks",
    "ledger",
    "store",
    "console",
    "operator",
    "pipeline",
    "dashboard",
];

pub const FIRST_NAMES: &[&str] = &[
    "ada",
    "alan",
    "grace",
    "linus",
    "margaret",
    "ken",
    "barbara",
    "dennis",
    "frances",
    "edsger",
    "radia",
    "tim",
    "hedy",
    "john",
    "katherine",
    "niklaus",
    "sophie",
    "guido",
    "annie",
    "bjarne",
    "joan",
    "donald",
    "lynn",
    "vint",
    "shafi",
    "leslie",
    "anita",
    "brian",
    "carol",
    "adele",
];
pub const LAST_NAMES: &[&str] = &[
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "thompson",
    "liskov",
    "ritchie",
    "allen",
    "dijkstra",
    "perlman",
    "berners",
    "lamarr",
    "backus",
    "johnson",
    "wirth",
    "wilson",
    "rossum",
    "easley",
    "stroustrup",
    "clarke",
    "knuth",
    "conway",
    "cerf",
    "goldwasser",
    "lamport",
    "borg",
    "kernighan",
    "shaw",
    "goldberg",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> ProjectNames<'static> {
        ProjectNames {
            seed: 7,
            index: 3,
            slug: "payments-api",
            team: "payments",
        }
    }

    #[test]
    fn the_same_place_gives_the_same_finding() {
        for layer in LAYERS {
            let a = finding(&names(), layer, "trivy", 42);
            let b = finding(&names(), layer, "trivy", 42);
            assert_eq!(a, b, "{layer:?}");
            let c = finding(&names(), layer, "trivy", 43);
            assert_ne!(a.fingerprint, c.fingerprint, "{layer:?}");
            assert!(!a.title.is_empty() && a.title.len() < 300, "{}", a.title);
        }
    }

    #[test]
    fn most_findings_are_medium_or_low() {
        let mut counts = [0usize; 5];
        for i in 0..10_000 {
            counts[severity(1, 1, Layer::Dependency, i) as usize] += 1;
        }
        assert!(counts[2] + counts[3] > 6_000, "{counts:?}");
        assert!(counts[0] > 100 && counts[0] < 1_000, "{counts:?}");
    }

    #[test]
    fn team_slugs_are_distinct_slugs() {
        let slugs: std::collections::HashSet<String> = (0..500).map(team_slug).collect();
        assert_eq!(slugs.len(), 500);
        assert!(slugs.iter().all(|s| s.len() <= 40 && !s.starts_with('-')));
    }
}
