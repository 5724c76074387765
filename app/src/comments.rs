//! Comments on findings: markdown with @mentions of people (the part of their email before
//! the @) and teams (their slug). Stored as written, shown as sanitised HTML
//! (`markdown::render_with_mentions`: a mention of a team, or of someone who may see the
//! finding, links to their findings); an author may edit their comment for a short while,
//! and every comment and edit is in the audit trail.

use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// How long an author may edit a comment.
pub const EDIT_WINDOW_MINUTES: i64 = 15;
/// Longest comment accepted.
pub const BODY_MAX: usize = 20_000;

/// A comment as a page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: i64,
    pub author_email: String,
    pub author_name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub edited_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Sanitised HTML rendered from the markdown.
    pub html: String,
    /// The markdown as written, for its author's edit box; empty for everyone else.
    pub source: String,
    /// Whether the viewer may still edit it (their own, within the edit window).
    pub editable: bool,
}

/// Adds a comment to a finding (anyone whose role may comment on its project).
#[server(endpoint = "add_comment")]
pub async fn add_comment(finding_id: i64, body: String) -> Result<i64, AppError> {
    // signed in first, then the text, then the finding: the order of the answers people see
    crate::auth::require_user().await?;
    let body = checked_body(&body)?;
    let user = crate::access::require_on_finding(finding_id, crate::workflow::Action::Comment)
        .await?
        .user;
    let ctx = crate::server_context::server_context()?;
    let mentions = crate::markdown::mentions(&body);
    Ok(db::insert(&ctx.pool, finding_id, user.id, &body, &mentions).await?)
}

/// Changes a comment: its author only, within [`EDIT_WINDOW_MINUTES`] of writing it.
#[server(endpoint = "edit_comment")]
pub async fn edit_comment(comment_id: i64, body: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    // Visibility before anything else: another team's comment answers exactly like one
    // that does not exist, whatever else is wrong with the request.
    let no_such_comment = || AppError::not_found("No such comment.");
    let finding_id = db::finding_of(&ctx.pool, comment_id)
        .await?
        .ok_or_else(no_such_comment)?;
    crate::access::require_on_finding(finding_id, crate::workflow::Action::View)
        .await
        .map_err(|err| match err.kind {
            crate::error::ErrorKind::NotFound => no_such_comment(),
            _ => err,
        })?;
    let body = checked_body(&body)?;
    match db::edit(&ctx.pool, comment_id, user.id, &body).await? {
        db::Edit::Done => Ok(()),
        db::Edit::NotFound => Err(no_such_comment()),
        db::Edit::NotAuthor => Err(AppError::forbidden("Only its author may edit a comment.")),
        db::Edit::TooLate => Err(AppError::conflict(format!(
            "Comments can be edited for {EDIT_WINDOW_MINUTES} minutes; add a new one instead."
        ))),
    }
}

/// A finding's comments, oldest first (anyone who may view its project).
#[server(endpoint = "list_comments")]
pub async fn list_comments(finding_id: i64) -> Result<Vec<CommentView>, AppError> {
    let viewer = crate::access::require_on_finding(finding_id, crate::workflow::Action::View)
        .await?
        .user;
    let ctx = crate::server_context::server_context()?;
    let now = chrono::Utc::now();
    let window = chrono::Duration::minutes(EDIT_WINDOW_MINUTES);
    Ok(db::list(&ctx.pool, finding_id)
        .await?
        .into_iter()
        .map(|(author_id, mut comment, source)| {
            // a little short of the window, so a form opened at the edge is not refused
            comment.editable = author_id == viewer.id
                && now - comment.created_at < window - chrono::Duration::seconds(30);
            if author_id == viewer.id {
                comment.source = source;
            }
            comment
        })
        .collect())
}

#[cfg(feature = "ssr")]
fn checked_body(body: &str) -> Result<String, AppError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > BODY_MAX {
        return Err(AppError::invalid(format!(
            "A comment has 1 to {BODY_MAX} characters."
        )));
    }
    Ok(body.to_string())
}

#[cfg(feature = "ssr")]
pub mod db {
    use std::collections::HashMap;

    use sqlx::PgPool;

    use super::{CommentView, EDIT_WINDOW_MINUTES};
    use crate::markdown::Mentioned;

    /// Stores a comment, the people and teams it mentions (handles that name nobody are
    /// ignored), its audit event and the mentioned's notifications ([`crate::outbox`]);
    /// returns its id.
    pub async fn insert(
        pool: &PgPool,
        finding_id: i64,
        author_id: i64,
        body: &str,
        mentions: &[String],
    ) -> Result<i64, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar!(
            "INSERT INTO comments (finding_id, author_id, body) VALUES ($1, $2, $3) RETURNING id",
            finding_id,
            author_id,
            body,
        )
        .fetch_one(&mut *tx)
        .await?;
        let audit_event: i64 = sqlx::query_scalar!(
            "INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id,
                                       action, after)
             SELECT $2, f.project_id, 'finding', f.id, 'commented',
                    jsonb_build_object('comment_id', $3::int8, 'body', $4::text)
               FROM findings f WHERE f.id = $1
             RETURNING id",
            finding_id,
            author_id,
            id,
            body,
        )
        .fetch_one(&mut *tx)
        .await?;
        // the mentioned, and their notifications: people only if they may see the finding
        // (a mention must not mail a finding to someone outside its project)
        let queue = crate::outbox::QUEUE;
        let visible = crate::access::db::project_visible_to("m.user_id");
        sqlx::query(&format!(
            "WITH mentioned AS (
                INSERT INTO comment_mentions (comment_id, user_id, team_id)
                SELECT $1, id, NULL FROM users WHERE split_part(email, '@', 1) = ANY($2)
                UNION ALL
                SELECT $1, NULL, id FROM teams WHERE slug = ANY($2)
                RETURNING user_id, team_id
             )
             {queue}
             SELECT 'mentioned', m.user_id, m.team_id, $3, $4, p.id, f.id
               FROM mentioned m
               JOIN findings f ON f.id = $5
               JOIN projects p ON p.id = f.project_id
              WHERE m.team_id IS NOT NULL
                 OR (m.user_id <> $3 AND {visible})"
        ))
        .bind(id)
        .bind(mentions)
        .bind(author_id)
        .bind(audit_event)
        .bind(finding_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The finding a comment is on.
    pub async fn finding_of(pool: &PgPool, comment_id: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar!("SELECT finding_id FROM comments WHERE id = $1", comment_id)
            .fetch_optional(pool)
            .await
    }

    pub enum Edit {
        Done,
        NotFound,
        NotAuthor,
        TooLate,
    }

    /// Replaces a comment's body when `editor` wrote it within the edit window; the audit
    /// event keeps the text before and after.
    pub async fn edit(
        pool: &PgPool,
        comment_id: i64,
        editor: i64,
        body: &str,
    ) -> Result<Edit, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let found = sqlx::query!(
            r#"SELECT c.author_id, c.created_at > now() - make_interval(mins => $2) AS "in_window!",
                      c.body, f.project_id
                 FROM comments c JOIN findings f ON f.id = c.finding_id
                WHERE c.id = $1 FOR UPDATE OF c"#,
            comment_id,
            EDIT_WINDOW_MINUTES as i32,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((author, in_window, before, project_id)) =
            found.map(|r| (r.author_id, r.in_window, r.body, r.project_id))
        else {
            return Ok(Edit::NotFound);
        };
        if author != editor {
            return Ok(Edit::NotAuthor);
        }
        if !in_window {
            return Ok(Edit::TooLate);
        }
        sqlx::query!(
            "UPDATE comments SET body = $2, edited_at = now() WHERE id = $1",
            comment_id,
            body,
        )
        .execute(&mut *tx)
        .await?;
        // whom it mentions is what it now says ("my work" lists mentions); an edit notifies
        // no one, so a comment cannot be edited into a second round of mail
        sqlx::query("DELETE FROM comment_mentions WHERE comment_id = $1")
            .bind(comment_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO comment_mentions (comment_id, user_id, team_id)
             SELECT $1, id, NULL FROM users WHERE split_part(email, '@', 1) = ANY($2)
             UNION ALL
             SELECT $1, NULL, id FROM teams WHERE slug = ANY($2)",
        )
        .bind(comment_id)
        .bind(crate::markdown::mentions(body))
        .execute(&mut *tx)
        .await?;
        let event = crate::audit::Event::new("comment", comment_id, "edited")
            .by(Some(editor))
            .in_project(Some(project_id))
            .before(serde_json::json!({ "body": before }))
            .after(serde_json::json!({ "body": body }));
        crate::audit::record(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Edit::Done)
    }

    struct Row {
        id: i64,
        author_id: i64,
        email: String,
        display_name: String,
        created_at: chrono::DateTime<chrono::Utc>,
        edited_at: Option<chrono::DateTime<chrono::Utc>>,
        body: String,
    }

    /// Each comment with its author's id and its markdown; its mentions of people who may
    /// see the finding, and of teams, are links ([`mentioned`]).
    pub async fn list(
        pool: &PgPool,
        finding_id: i64,
    ) -> Result<Vec<(i64, CommentView, String)>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as!(
            Row,
            "SELECT c.id, c.author_id, u.email, u.display_name, c.created_at, c.edited_at, c.body
               FROM comments c JOIN users u ON u.id = c.author_id
              WHERE c.finding_id = $1 ORDER BY c.created_at, c.id",
            finding_id,
        )
        .fetch_all(pool)
        .await?;
        let handles: Vec<String> = rows
            .iter()
            .flat_map(|r| crate::markdown::mentions(&r.body))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let known = mentioned(pool, finding_id, &handles).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let view = CommentView {
                    id: r.id,
                    author_email: r.email,
                    author_name: r.display_name,
                    created_at: r.created_at,
                    edited_at: r.edited_at,
                    html: crate::markdown::render_with_mentions(&r.body, &known),
                    source: String::new(),
                    editable: false,
                };
                (r.author_id, view, r.body)
            })
            .collect())
    }

    /// Whom `handles` name, as the comments on `finding_id` link them: teams, and people
    /// who may see the finding (the part of their email before the @; the lowest id when
    /// two share it). Anyone else is not linked: they were not told of the comment, and a
    /// link would tell its readers that such an account exists. A person wins over a team
    /// of the same name.
    pub async fn mentioned(
        pool: &PgPool,
        finding_id: i64,
        handles: &[String],
    ) -> Result<HashMap<String, Mentioned>, sqlx::Error> {
        let mut known = HashMap::new();
        if handles.is_empty() {
            return Ok(known);
        }
        let teams: Vec<String> = sqlx::query_scalar("SELECT slug FROM teams WHERE slug = ANY($1)")
            .bind(handles)
            .fetch_all(pool)
            .await?;
        for slug in teams {
            known.insert(slug.clone(), Mentioned::Team { slug });
        }
        let visible = crate::access::db::project_visible_to("u.id");
        let people: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT DISTINCT ON (handle) split_part(u.email, '@', 1) AS handle, u.id
               FROM users u
               JOIN findings f ON f.id = $2
               JOIN projects p ON p.id = f.project_id
              WHERE split_part(u.email, '@', 1) = ANY($1) AND {visible}
              ORDER BY handle, u.id"
        ))
        .bind(handles)
        .bind(finding_id)
        .fetch_all(pool)
        .await?;
        for (handle, id) in people {
            known.insert(handle, Mentioned::Person { id });
        }
        Ok(known)
    }
}
