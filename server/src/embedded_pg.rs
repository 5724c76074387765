//! Bosun's own PostgreSQL cluster, for when no `DATABASE_URL` is given.
//!
//! Uses the machine's PostgreSQL binaries (`initdb`, `pg_ctl`): found on PATH, under
//! `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu) or `/usr/local/pgsql/bin`. The cluster
//! lives in a folder that is kept between runs, listens on 127.0.0.1 only, on a free port,
//! with a generated password. PostgreSQL refuses to run as root, so when Bosun runs as root
//! the cluster runs as the `postgres` system user instead.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::{Gid, Uid, User};
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb on PATH, in /usr/lib/postgresql/*/bin \
         and /usr/local/pgsql/bin). Install them (Debian/Ubuntu: `apt-get install postgresql`; \
         Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`) or set DATABASE_URL"
    )]
    NoBinaries,
    #[error(
        "running as root, but there is no 'postgres' system user to run PostgreSQL as \
         (PostgreSQL refuses to run as root). Install the postgresql package, which creates it, \
         run Bosun as a normal user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgError {
    let what = what.into();
    move |e| PgError::Io(what, e)
}

/// A running cluster Bosun can connect to.
#[derive(Debug, Clone)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    /// Holds `pgdata/`, the password file and the server log.
    root: PathBuf,
    port: u16,
    password: String,
    run_as: Option<(Uid, Gid)>,
    /// False when the cluster was already running (another Bosun started it): leave it be.
    started_here: bool,
}

/// How the cluster is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal crash-safe settings, for data people keep.
    Durable,
    /// fsync off: for throwaway test clusters only, several times faster.
    Ephemeral,
}

impl EmbeddedPostgres {
    /// Starts (creating on first use) the cluster stored under `dir`.
    pub fn start(dir: &Path, durability: Durability) -> Result<EmbeddedPostgres, PgError> {
        let bin_dir = find_bin_dir().ok_or(PgError::NoBinaries)?;
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or(PgError::NoPostgresUser)?;
            Some((user.uid, user.gid))
        } else {
            None
        };
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let (root, relocated) = cluster_root(dir, run_as.is_some())?;
        if relocated {
            tracing::info!(cluster = %root.display(), "data folder is not reachable by the postgres user; keeping the cluster here instead");
        }
        fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;

        let mut pg = EmbeddedPostgres {
            bin_dir,
            root,
            port: 0,
            password: String::new(),
            run_as,
            started_here: false,
        };
        if !pg.pgdata().join("PG_VERSION").exists() {
            pg.init(durability)?;
        }
        pg.password = fs::read_to_string(pg.password_file())
            .map_err(io_err("reading the cluster password"))?
            .trim()
            .to_string();

        if let Some(port) = pg.running_port() {
            pg.port = port;
            tracing::info!(port, "embedded PostgreSQL already running");
            return Ok(pg);
        }
        pg.port = free_port()?;
        let log = pg.root.join("postgres.log");
        pg.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                pg.pgdata().as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                format!("-p {}", pg.port).as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        )
        .map_err(|e| match e {
            PgError::Command { what, detail } => PgError::Command {
                what,
                detail: format!("{detail}\n(server log: {})", log.display()),
            },
            other => other,
        })?;
        pg.started_here = true;
        tracing::info!(port = pg.port, dir = %pg.root.display(), "embedded PostgreSQL started");
        Ok(pg)
    }

    /// Stops a cluster this process started. A fast shutdown: open sessions are ended.
    pub fn stop(&self) -> Result<(), PgError> {
        if !self.started_here {
            return Ok(());
        }
        self.stop_now()
    }

    /// Stops the cluster stored under `dir`, whoever started it; with `remove`, deletes its
    /// files too (including a copy relocated under /var/lib/bosun).
    pub fn stop_dir(dir: &Path, remove: bool) -> Result<bool, PgError> {
        let pg = Self::start_less(dir)?;
        let was_running = pg.running_port().is_some();
        if was_running {
            pg.stop_now()?;
        }
        if remove {
            for path in [pg.root.as_path(), dir] {
                if path.exists() {
                    fs::remove_dir_all(path)
                        .map_err(io_err(format!("removing {}", path.display())))?;
                }
            }
        }
        Ok(was_running)
    }

    fn stop_now(&self) -> Result<(), PgError> {
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.pgdata().as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    /// A handle on an existing cluster folder without starting anything.
    fn start_less(dir: &Path) -> Result<EmbeddedPostgres, PgError> {
        let bin_dir = find_bin_dir().ok_or(PgError::NoBinaries)?;
        let run_as = if Uid::effective().is_root() {
            User::from_name("postgres")
                .ok()
                .flatten()
                .map(|u| (u.uid, u.gid))
        } else {
            None
        };
        let (root, _) = cluster_root(dir, run_as.is_some())?;
        Ok(EmbeddedPostgres {
            bin_dir,
            root,
            port: 0,
            password: String::new(),
            run_as,
            started_here: false,
        })
    }

    /// URL of a database in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn pgdata(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    fn password_file(&self) -> PathBuf {
        self.root.join("password")
    }

    fn init(&self, durability: Durability) -> Result<(), PgError> {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let password = hex::encode(bytes);
        // The password file is readable by its owner only; initdb reads it as that owner.
        let pwfile = self.root.join("password");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&pwfile)
            .map_err(io_err("writing the cluster password"))?;
        f.write_all(password.as_bytes())
            .map_err(io_err("writing the cluster password"))?;
        drop(f);
        if let Some((uid, gid)) = self.run_as {
            for path in [&self.root, &pwfile] {
                nix::unistd::chown(path, Some(uid), Some(gid))
                    .map_err(|e| PgError::Io(format!("chown {}", path.display()), e.into()))?;
            }
        }
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                self.pgdata().as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "--auth-host=scram-sha-256".as_ref(),
                "--auth-local=scram-sha-256".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        let mut settings = String::from(
            "\n# Bosun's embedded cluster: local TCP only, no unix socket to place.\n\
             listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
             max_connections = 100\nshared_buffers = '256MB'\n\
             # Ingest writes in bursts (a 100k-finding report is ~200 MB of WAL). With the\n\
             # default 1GB a checkpoint came every ~500 MB, and the writes after each one\n\
             # log whole index pages again (a 100k import that met one: 2.2 s, not 1.7 s).\n\
             max_wal_size = '4GB'\ncheckpoint_timeout = '15min'\n",
        );
        if durability == Durability::Ephemeral {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        fs::OpenOptions::new()
            .append(true)
            .open(self.pgdata().join("postgresql.conf"))
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(io_err("configuring the cluster"))?;
        Ok(())
    }

    /// The port of a server already running on this data folder, if any.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.pgdata())
            .arg("status")
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        // postmaster.pid: line 4 is the port
        let pid_file = fs::read_to_string(self.pgdata().join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(tool));
        cmd.current_dir(&self.root).env("LC_ALL", "C");
        // Own process group: a Ctrl-C in the terminal reaches Bosun, which then stops the
        // cluster cleanly, instead of PostgreSQL being interrupted underneath it.
        cmd.process_group(0);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) -> Result<(), PgError> {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .map_err(io_err(format!("running {tool}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PgError::Command {
                what: tool.to_string(),
                detail: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }
}

/// The directory holding `initdb` and `pg_ctl`, newest version first.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Some(bin);
    }
    let local = PathBuf::from("/usr/local/pgsql/bin");
    local.join("initdb").is_file().then_some(local)
}

/// Where the cluster for data folder `dir` lives: the folder itself, or, when PostgreSQL runs
/// as the `postgres` user and cannot reach it (a checkout under /root, mode 700), a stable
/// place under /var/lib/bosun (then `true`).
fn cluster_root(dir: &Path, as_postgres_user: bool) -> Result<(PathBuf, bool), PgError> {
    let root = fs::canonicalize(dir).map_err(io_err(format!("resolving {}", dir.display())))?;
    if as_postgres_user && !others_can_traverse(&root) {
        Ok((relocated_root(&root), true))
    } else {
        Ok((root, false))
    }
}

/// Whether every ancestor of `path` lets other users pass through (the `x` bit).
fn others_can_traverse(path: &Path) -> bool {
    path.ancestors().skip(1).all(|p| {
        fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    })
}

/// A stable place under /var/lib/bosun for a data folder the postgres user cannot reach.
fn relocated_root(original: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(original.as_os_str().as_encoded_bytes());
    PathBuf::from("/var/lib/bosun").join(format!("postgres-{}", &hex::encode(digest)[..16]))
}

fn free_port() -> Result<u16, PgError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port())
}
