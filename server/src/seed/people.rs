//! The seed's teams, people and projects (a statement per table), the back-dating of what
//! the ingest store stamped with the time of writing, and people's work on the findings:
//! states, risk acceptances, assignments and comments, each kind in one set-based
//! statement with its audit events, back-dated to a time after the finding was first seen.
//!
//! Which findings people worked on is chosen from bytes of their fingerprints (SHA-256
//! digests of the seed and the finding's place), so the same seed picks the same findings
//! whatever ids the database gave them.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::Plan;

/// The ids the database gave the plan's teams, people and projects, in plan order.
pub struct EstateIds {
    pub teams: Vec<i64>,
    pub users: Vec<i64>,
    pub projects: Vec<i64>,
}

pub async fn create_estate(pool: &PgPool, plan: &Plan) -> anyhow::Result<EstateIds> {
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM teams WHERE slug = ANY($1)")
        .bind(&plan.teams)
        .fetch_one(pool)
        .await?;
    if taken > 0 {
        anyhow::bail!(
            "this database already has the seed's teams ({} …): seed an empty database",
            plan.teams[0]
        );
    }
    let hash = tokio::task::spawn_blocking(|| app::auth::password::hash(super::SEED_PASSWORD))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing the seed password: {e}"))?;
    let mut tx = pool.begin().await?;
    let team_names: Vec<String> = plan.teams.iter().map(|t| super::title_case(t)).collect();
    let teams: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO teams (slug, name, created_at)
         SELECT slug, name, now() - interval '400 days'
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(slug, name, n)
          ORDER BY n
         RETURNING id",
    )
    .bind(&plan.teams)
    .bind(&team_names)
    .fetch_all(&mut *tx)
    .await
    .context("creating the seed's teams")?;
    let emails: Vec<&str> = plan.people.iter().map(|p| p.email.as_str()).collect();
    let names: Vec<&str> = plan.people.iter().map(|p| p.name.as_str()).collect();
    let admins: Vec<bool> = plan.people.iter().map(|p| p.is_admin).collect();
    let security_all: Vec<bool> = plan.people.iter().map(|p| p.security_all_teams).collect();
    let users: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, is_admin, security_all_teams,
                            created_at)
         SELECT email, name, $5, admin, security_all, now() - interval '390 days'
           FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[])
                WITH ORDINALITY AS t(email, name, admin, security_all, n)
          ORDER BY n
         RETURNING id",
    )
    .bind(&emails)
    .bind(&names)
    .bind(&admins)
    .bind(&security_all)
    .bind(&hash)
    .fetch_all(&mut *tx)
    .await
    .context("creating the seed's people (is one of their emails taken?)")?;
    let (mut m_team, mut m_user, mut m_role) = (Vec::new(), Vec::new(), Vec::new());
    for (person, &user) in plan.people.iter().zip(&users) {
        for &(team, role) in &person.teams {
            m_team.push(teams[team]);
            m_user.push(user);
            m_role.push(role);
        }
    }
    sqlx::query(
        "INSERT INTO team_members (team_id, user_id, role, added_at)
         SELECT t, u, r::team_role, now() - interval '380 days'
           FROM unnest($1::int8[], $2::int8[], $3::text[]) AS m(t, u, r)
         ON CONFLICT DO NOTHING",
    )
    .bind(&m_team)
    .bind(&m_user)
    .bind(&m_role)
    .execute(&mut *tx)
    .await?;
    let slugs: Vec<&str> = plan.projects.iter().map(|p| p.slug.as_str()).collect();
    let pnames: Vec<&str> = plan.projects.iter().map(|p| p.name.as_str()).collect();
    let owners: Vec<i64> = plan.projects.iter().map(|p| teams[p.team]).collect();
    let created: Vec<DateTime<Utc>> = plan.projects.iter().map(|p| p.created).collect();
    let projects: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO projects (slug, name, team_id, created_at)
         SELECT slug, name, team, created
           FROM unnest($1::text[], $2::text[], $3::int8[], $4::timestamptz[])
                WITH ORDINALITY AS t(slug, name, team, created, n)
          ORDER BY n
         RETURNING id",
    )
    .bind(&slugs)
    .bind(&pnames)
    .bind(&owners)
    .bind(&created)
    .fetch_all(&mut *tx)
    .await
    .context("creating the seed's projects (is one of their slugs taken?)")?;
    tx.commit().await?;
    Ok(EstateIds {
        teams,
        users,
        projects,
    })
}

/// Moves each scan to its planned time, and with it its scope's last scan time and the
/// fixes it made (which the store stamped with the time of writing).
pub async fn back_date_scans(pool: &PgPool, scans: &[(i64, DateTime<Utc>)]) -> anyhow::Result<()> {
    for batch in scans.chunks(20_000) {
        let (ids, times): (Vec<i64>, Vec<DateTime<Utc>>) = batch.iter().copied().unzip();
        sqlx::query(
            "UPDATE scans s SET received_at = t.at
               FROM unnest($1::int8[], $2::timestamptz[]) AS t(id, at)
              WHERE s.id = t.id",
        )
        .bind(&ids)
        .bind(&times)
        .execute(pool)
        .await?;
    }
    sqlx::query(
        "UPDATE scopes c SET last_scan_at = s.received_at
           FROM scans s WHERE s.id = c.last_scan_id AND c.last_scan_at <> s.received_at",
    )
    .execute(pool)
    .await?;
    // a fixed finding was fixed by the last scan that closed it
    sqlx::query(
        "UPDATE findings f SET fixed_at = s.received_at
           FROM (SELECT DISTINCT ON (subject_id) subject_id, scan_id
                   FROM audit_events
                  WHERE action = 'fixed_by_scan' AND subject_type = 'finding'
                  ORDER BY subject_id, id DESC) e
           JOIN scans s ON s.id = e.scan_id
          WHERE f.id = e.subject_id AND f.state = 'fixed'",
    )
    .execute(pool)
    .await
    .context("back-dating fixes")?;
    Ok(())
}

/// Who may act on each team's findings, by kind of work: (team, kind, slot, count, user),
/// `kind` 'dev' (developers and ops: assignments, progress, comments) or 'sec' (security:
/// confirmations, false positives, risk acceptances).
async fn actors(tx: &mut sqlx::PgConnection, plan: &Plan, ids: &EstateIds) -> anyhow::Result<()> {
    let (mut team, mut kind, mut user) = (Vec::new(), Vec::new(), Vec::new());
    for (person, &uid) in plan.people.iter().zip(&ids.users) {
        for &(t, role) in &person.teams {
            let k = match role {
                "developer" | "ops" => "dev",
                "security" => "sec",
                _ => continue,
            };
            team.push(ids.teams[t]);
            kind.push(k);
            user.push(uid);
        }
    }
    sqlx::query(
        "CREATE TEMP TABLE seed_actors (team_id int8, kind text, slot int4, n int4, user_id int8,
                                        PRIMARY KEY (team_id, kind, slot)) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO seed_actors (team_id, kind, slot, n, user_id)
         SELECT team_id, kind, (row_number() OVER w - 1)::int4,
                (count(*) OVER (PARTITION BY team_id, kind))::int4, user_id
           FROM unnest($1::int8[], $2::text[], $3::int8[]) AS a(team_id, kind, user_id)
         WINDOW w AS (PARTITION BY team_id, kind ORDER BY user_id)",
    )
    .bind(&team)
    .bind(&kind)
    .bind(&user)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A person of the finding's team for `kind` of work, chosen by a byte of its
/// fingerprint (see [`actors`]); NULL when the team has none.
fn actor(kind: &str, byte: u8) -> String {
    format!(
        "(SELECT a.user_id FROM seed_actors a
           WHERE a.team_id = p.team_id AND a.kind = '{kind}'
             AND a.slot = get_byte(f.fingerprint, {byte}) % a.n)"
    )
}

/// When a person acted on finding `f`: some days after it was first seen, never in the
/// future (`{days}` days at most, chosen by a byte of the fingerprint).
fn acted_at(byte: u8, days: u32) -> String {
    format!(
        "least(f.first_seen_at + make_interval(hours => 2 + get_byte(f.fingerprint, {byte}) * {days} * 24 / 256),
               now() - interval '1 hour')"
    )
}

/// People's work, back-dated. Every statement picks by fingerprint bytes among the seed's
/// own projects.
pub async fn work(pool: &PgPool, plan: &Plan, ids: &EstateIds, _seed: u64) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    actors(&mut tx, plan, ids).await?;
    let projects = &ids.projects;
    // states: (target, fingerprint byte 4 range, who, reason)
    let moves: [(&str, u8, u8, &str, &str); 4] = [
        ("confirmed", 0, 26, "sec", "Reproduced; real issue."),
        ("in_progress", 26, 42, "dev", "Working on it."),
        (
            "false_positive",
            42,
            50,
            "sec",
            "Not reachable: the input is validated upstream.",
        ),
        (
            "risk_accepted",
            50,
            56,
            "sec",
            "Compensating control in place until the migration ships.",
        ),
    ];
    for (to, lo, hi, who, reason) in moves {
        let by = actor(who, 5);
        let at = acted_at(6, 20);
        // risk acceptances: a quarter expire within 14 days, the rest within six months
        let until = "CASE WHEN get_byte(f.fingerprint, 7) < 64
                          THEN now() + make_interval(hours => 24 + get_byte(f.fingerprint, 8) * 12 * 24 / 256)
                          ELSE now() + make_interval(days => 15 + get_byte(f.fingerprint, 8) * 165 / 256) END";
        let sql = format!(
            "WITH pick AS (
                SELECT f.id, f.project_id, f.state, {by} AS actor, {at} AS acted, {until} AS until
                  FROM findings f JOIN projects p ON p.id = f.project_id
                 WHERE f.project_id = ANY($1) AND f.state IN ('open', 'reopened')
                   AND get_byte(f.fingerprint, 4) >= {lo} AND get_byte(f.fingerprint, 4) < {hi}
                 FOR UPDATE OF f
             ), changed AS (
                UPDATE findings f SET state = '{to}',
                       risk_accepted_until = CASE WHEN '{to}' = 'risk_accepted' THEN pick.until END,
                       risk_accepted_by = CASE WHEN '{to}' = 'risk_accepted' THEN pick.actor END
                  FROM pick WHERE f.id = pick.id AND pick.actor IS NOT NULL
                RETURNING f.id
             )
             INSERT INTO audit_events (at, actor_user_id, project_id, subject_type, subject_id,
                                       action, before, after, reason)
             SELECT pick.acted, pick.actor, pick.project_id, 'finding', pick.id, 'state_changed',
                    jsonb_build_object('state', pick.state),
                    jsonb_strip_nulls(jsonb_build_object('state', '{to}',
                        'risk_accepted_until', CASE WHEN '{to}' = 'risk_accepted' THEN pick.until END)),
                    $2
               FROM pick JOIN changed ON changed.id = pick.id"
        );
        sqlx::query(&sql)
            .bind(projects)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seeding {to} findings"))?;
    }
    // the database started each acceptance's SLA pause now (trigger); it began when accepted
    sqlx::query(
        "UPDATE findings f SET risk_accepted_at = e.at
           FROM (SELECT DISTINCT ON (subject_id) subject_id, at FROM audit_events
                  WHERE action = 'state_changed' AND after->>'state' = 'risk_accepted'
                    AND project_id = ANY($1)
                  ORDER BY subject_id, id DESC) e
          WHERE f.id = e.subject_id AND f.state = 'risk_accepted'",
    )
    .bind(projects)
    .execute(&mut *tx)
    .await?;
    // assignments: about one active finding in forty, to a developer of the owning team
    let by = actor("dev", 9);
    let at = acted_at(10, 10);
    sqlx::query(&format!(
        "WITH pick AS (
            SELECT f.id, f.project_id, f.assignee_user_id, f.assignee_team_id, {by} AS assignee,
                   {at} AS acted
              FROM findings f JOIN projects p ON p.id = f.project_id
             WHERE f.project_id = ANY($1)
               AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened', 'risk_accepted')
               AND get_byte(f.fingerprint, 11) < 7
             FOR UPDATE OF f
         ), changed AS (
            UPDATE findings f SET assignee_user_id = pick.assignee
              FROM pick WHERE f.id = pick.id AND pick.assignee IS NOT NULL
            RETURNING f.id
         )
         INSERT INTO audit_events (at, actor_user_id, project_id, subject_type, subject_id,
                                   action, before, after, reason)
         SELECT pick.acted, pick.assignee, pick.project_id, 'finding', pick.id, 'assigned',
                jsonb_build_object('user_id', pick.assignee_user_id, 'team_id', pick.assignee_team_id),
                jsonb_build_object('user_id', pick.assignee, 'team_id', pick.assignee_team_id),
                NULL
           FROM pick JOIN changed ON changed.id = pick.id"
    ))
    .bind(projects)
    .execute(&mut *tx)
    .await
    .context("seeding assignments")?;
    // comments: one on about one finding in thirty, a reply on a third of those
    const BODIES: &[&str] = &[
        "Confirmed on staging; fix is in review.",
        "This comes from the base image. Bumping it in the next release.",
        "Not exploitable here: the endpoint is internal only. Leaving it open until we are sure.",
        "Upgrading breaks the client API; planning it for next sprint.",
        "Is this the same as the one we fixed in the worker last month?",
        "Rotated the credential and purged it from the history.",
        "Added a regression test; the scanner should close it on the next run.",
        "Needs a decision from security before we accept this risk.",
    ];
    let bodies: Vec<&str> = BODIES.to_vec();
    for (reply, threshold, byte) in [(false, 9u8, 12u8), (true, 3, 13)] {
        let by = actor(if reply { "sec" } else { "dev" }, byte);
        let at = acted_at(byte, if reply { 30 } else { 15 });
        sqlx::query(&format!(
            "WITH pick AS (
                SELECT f.id, f.project_id, {by} AS author, {at} AS acted,
                       ($2::text[])[1 + get_byte(f.fingerprint, 14) % cardinality($2::text[])] AS body
                  FROM findings f JOIN projects p ON p.id = f.project_id
                 WHERE f.project_id = ANY($1) AND get_byte(f.fingerprint, 15) < {threshold}
             ), added AS (
                INSERT INTO comments (finding_id, author_id, body, created_at)
                SELECT id, author, body, least(acted + interval '{offset}', now() - interval '5 minutes')
                  FROM pick WHERE author IS NOT NULL
                RETURNING id, finding_id, author_id, body, created_at
             )
             INSERT INTO audit_events (at, actor_user_id, project_id, subject_type, subject_id,
                                       action, after)
             SELECT a.created_at, a.author_id, pick.project_id, 'finding', a.finding_id, 'commented',
                    jsonb_build_object('comment_id', a.id, 'body', a.body)
               FROM added a JOIN pick ON pick.id = a.finding_id",
            offset = if reply { "1 day" } else { "0 s" },
        ))
        .bind(projects)
        .bind(&bodies)
        .execute(&mut *tx)
        .await
        .context("seeding comments")?;
    }
    tx.commit().await?;
    Ok(())
}
