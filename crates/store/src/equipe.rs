//! Agents of a collectivité: roles and invitations.

use crate::db::Db;
use crate::secret::hash_token;
use crate::trace::Trace;
use guichet_domain::role::Role;
use sqlx::Row;

/// Invitation links work for seven days.
pub const INVITATION_LIFETIME_MS: i64 = 7 * 24 * 3_600_000;

/// Roles of a user in every collectivité: (collectivité id, role).
pub async fn roles_of(db: &Db, user_id: i64) -> anyhow::Result<Vec<(i64, Role)>> {
    let rows = sqlx::query(
        "SELECT tenant_id, role FROM memberships WHERE user_id = $1 ORDER BY tenant_id, role",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let role: String = r.try_get(1)?;
        if let Some(role) = Role::from_code(&role) {
            out.push((r.try_get(0)?, role));
        }
    }
    Ok(out)
}

/// Gives a role (the demo, tests and tools; the team page uses `change_role`).
pub async fn grant(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    role: Role,
    granted_by: Option<i64>,
) -> anyhow::Result<()> {
    db.write(move |conn| {
        Box::pin(async move { grant_in(conn, tenant_id, user_id, role, granted_by).await })
    })
    .await
}

async fn grant_in(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    user_id: i64,
    role: Role,
    granted_by: Option<i64>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO memberships (tenant_id, user_id, role, granted_by, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id, role) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(role.code())
    .bind(granted_by)
    .bind(crate::now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives (`grant`) or takes back a role of an agent of the collectivité, with its trace; the
/// agent's sessions are closed, so that the new rights apply everywhere at once.
pub async fn change_role(
    db: &Db,
    tenant_id: i64,
    user_id: i64,
    role: Role,
    grant: bool,
    by: Option<i64>,
    trace: Trace,
) -> anyhow::Result<()> {
    crate::trace::commit(db, trace, move |conn| {
        Box::pin(async move {
            if grant {
                grant_in(conn, tenant_id, user_id, role, by).await?;
            } else {
                sqlx::query(
                    "DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2 AND role = $3",
                )
                .bind(tenant_id)
                .bind(user_id)
                .bind(role.code())
                .execute(&mut *conn)
                .await?;
            }
            crate::session::delete_all_in(conn, user_id).await?;
            Ok(())
        })
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub totp_enabled: bool,
}

pub async fn members(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.display_name, m.role, u.totp_enabled_at FROM memberships m
         JOIN users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 AND u.deleted_at IS NULL ORDER BY u.display_name, u.id, m.role",
    )
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<Member> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let role = Role::from_code(&r.try_get::<String, _>(3)?);
        match out.last_mut() {
            Some(m) if m.user_id == id => m.roles.extend(role),
            _ => out.push(Member {
                user_id: id,
                email: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                display_name: r.try_get(2)?,
                roles: role.into_iter().collect(),
                totp_enabled: r.try_get::<Option<i64>, _>(4)?.is_some(),
            }),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub tenant_id: i64,
    pub email: String,
    pub roles: Vec<Role>,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

/// An invitation from `SELECT id, tenant_id, email, roles, expires_at, accepted_at`.
fn invitation_from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Invitation> {
    Ok(Invitation {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        email: r.try_get(2)?,
        roles: parse_roles(&r.try_get::<String, _>(3)?),
        expires_at: r.try_get(4)?,
        accepted_at: r.try_get(5)?,
    })
}

fn parse_roles(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::from_code).collect()
}

/// A pending, unexpired invitation for this token.
pub async fn find_invitation(db: &Db, token: &str, now: i64) -> anyhow::Result<Option<Invitation>> {
    let row = sqlx::query(
        "SELECT id, tenant_id, email, roles, expires_at, accepted_at FROM invitations
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(invitation_from_row).transpose()
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Invitee {
    /// An account that exists (its password checked by the caller).
    Existing(crate::compte::User),
    /// A new agent account: its name and password.
    New { name: String, password: String },
}

/// An invitation accepted, in one commit: the invitation used (None if it was used meanwhile),
/// the agent's account (created with a confirmed address: the link reached it), its roles, a new
/// session in place of the visitor's, the trace.
pub async fn accept(
    db: &Db,
    invitation: &Invitation,
    invitee: Invitee,
    old_session: Option<&str>,
    opening: crate::session::Opening,
    trace: Trace,
) -> anyhow::Result<Option<(crate::compte::User, String, crate::session::Session)>> {
    let (existing, new) = match invitee {
        Invitee::Existing(u) => (Some(u), None),
        Invitee::New { name, password } => (
            None,
            Some((name, crate::compte::hash_password(&password).await?)),
        ),
    };
    let invitation = invitation.clone();
    let old = old_session.map(str::to_string);
    crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let used = sqlx::query(
                "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL",
            )
            .bind(crate::now_ms())
            .bind(invitation.id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
                == 1;
            if !used {
                return Ok(None);
            }
            let user = match (existing, new) {
                (Some(u), _) => u,
                (None, Some((name, hash))) => {
                    let u = crate::compte::insert_in(
                        conn,
                        crate::compte::Kind::Agent,
                        &invitation.email,
                        &name,
                        Some(&hash),
                    )
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("adresse déjà utilisée"))?;
                    crate::compte::mark_confirmed_in(conn, u.id).await?;
                    u
                }
                (None, None) => return Ok(None),
            };
            for role in &invitation.roles {
                grant_in(conn, invitation.tenant_id, user.id, *role, None).await?;
            }
            if let Some(old) = &old {
                crate::session::delete_in(conn, old).await?;
            }
            let opening = crate::session::Opening {
                user_id: user.id,
                ..opening
            };
            let (token, session) = crate::session::create_in(conn, &opening).await?;
            Ok(Some((user, token, session)))
        })
    })
    .await
}

pub async fn pending_invitations(
    db: &Db,
    tenant_id: i64,
    now: i64,
) -> anyhow::Result<Vec<Invitation>> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, email, roles, expires_at, accepted_at FROM invitations
         WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC",
    )
    .bind(tenant_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(invitation_from_row).collect()
}

/// A group of agents of a collectivité (e.g. "Service urbanisme"); dossiers can be assigned to it.
#[derive(Debug, Clone)]
pub struct Equipe {
    pub id: i64,
    pub name: String,
    pub member_ids: Vec<i64>,
}

/// Creates a team with its trace (whose entries name it); `None` if the collectivité already
/// has a team of that name.
pub async fn create_equipe(
    db: &Db,
    tenant_id: i64,
    name: &str,
    trace: Trace,
) -> anyhow::Result<Option<i64>> {
    let name = name.to_string();
    db.write(move |conn| {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO teams (tenant_id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id",
            )
            .bind(tenant_id)
            .bind(&name)
            .bind(crate::now_ms())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(id) = row.map(|r| r.try_get::<i64, _>(0)).transpose()? else {
                return Ok(None);
            };
            let mut trace = trace;
            for e in trace.events_mut() {
                e.object_id = Some(id.to_string());
            }
            trace.write(conn).await?;
            Ok(Some(id))
        })
    })
    .await
}

pub async fn equipes(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Equipe>> {
    let rows = sqlx::query(
        "SELECT t.id, t.name, m.user_id FROM teams t LEFT JOIN team_members m ON m.team_id = t.id
         WHERE t.tenant_id = $1 ORDER BY t.name, t.id, m.user_id",
    )
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<Equipe> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let member: Option<i64> = r.try_get(2)?;
        if out.last().map(|t| t.id) != Some(id) {
            out.push(Equipe {
                id,
                name: r.try_get(1)?,
                member_ids: Vec::new(),
            });
        }
        if let (Some(m), Some(t)) = (member, out.last_mut()) {
            t.member_ids.push(m);
        }
    }
    Ok(out)
}

/// Adds or removes an agent, with its trace; false (and nothing written) if the team is not
/// the collectivité's.
pub async fn set_equipe_member(
    db: &Db,
    tenant_id: i64,
    team_id: i64,
    user_id: i64,
    member: bool,
    trace: Trace,
) -> anyhow::Result<bool> {
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let owned = sqlx::query("SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(team_id)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
            if !owned {
                return Ok(None);
            }
            let sql = if member {
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT (team_id, user_id) DO NOTHING"
            } else {
                "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2"
            };
            sqlx::query(sql)
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            Ok(Some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// An invitation to send: the link's token is made by the caller's `invite_traced` call.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub tenant_id: i64,
    pub email: String,
    pub roles: Vec<Role>,
    /// The inviting account; none when the operator invites from the command line.
    pub invited_by: Option<i64>,
}

/// Names the invitation in the trace's journal entries.
fn on_invitation(trace: &mut Trace, id: i64) {
    for e in trace.events_mut() {
        e.object_type = Some("invitation".into());
        e.object_id = Some(id.to_string());
    }
}

/// Creates an invitation with its trace (its journal entry, and the e-mail carrying the link
/// made from `token`, `secret::random_token`) in one commit: no invitation without its trace, no
/// mail for an invitation that was not written. Returns its id.
pub async fn invite(
    db: &Db,
    invitation: NewInvitation,
    token: &str,
    trace: Trace,
) -> anyhow::Result<i64> {
    let hash = hash_token(token);
    db.write(move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let codes: Vec<&str> = invitation.roles.iter().map(|r| r.code()).collect();
            let id: i64 = sqlx::query(
                "INSERT INTO invitations (tenant_id, email, roles, token_hash, invited_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(invitation.tenant_id)
            .bind(&invitation.email)
            .bind(codes.join(","))
            .bind(&hash)
            .bind(invitation.invited_by.unwrap_or(0))
            .bind(now)
            .bind(now + INVITATION_LIFETIME_MS)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            let mut trace = trace;
            on_invitation(&mut trace, id);
            trace.write(conn).await?;
            Ok(id)
        })
    })
    .await
}

/// Sends a pending invitation again: a new link from `token` (the old one stops working), valid
/// seven days from now, with its trace. False if it is no longer pending.
pub async fn resend(
    db: &Db,
    tenant_id: i64,
    invitation_id: i64,
    token: &str,
    trace: Trace,
) -> anyhow::Result<bool> {
    let hash = hash_token(token);
    let mut trace = trace;
    on_invitation(&mut trace, invitation_id);
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let now = crate::now_ms();
            let changed = sqlx::query(
                "UPDATE invitations SET token_hash = $1, expires_at = $2
                 WHERE tenant_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(&hash)
            .bind(now + INVITATION_LIFETIME_MS)
            .bind(tenant_id)
            .bind(invitation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok((changed == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Revokes a pending invitation (its link stops working), with its trace. False if it was no
/// longer pending.
pub async fn revoke_invitation(
    db: &Db,
    tenant_id: i64,
    invitation_id: i64,
    trace: Trace,
) -> anyhow::Result<bool> {
    let mut trace = trace;
    on_invitation(&mut trace, invitation_id);
    let done = crate::trace::commit_if(db, trace, move |conn| {
        Box::pin(async move {
            let changed = sqlx::query(
                "UPDATE invitations SET revoked_at = $1
                 WHERE tenant_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(crate::now_ms())
            .bind(tenant_id)
            .bind(invitation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok((changed == 1).then_some(()))
        })
    })
    .await?;
    Ok(done.is_some())
}

/// Invitations not yet accepted nor revoked, expired ones included (so they can be sent again).
pub async fn open_invitations(db: &Db, tenant_id: i64) -> anyhow::Result<Vec<Invitation>> {
    let rows = sqlx::query(
        "SELECT id, tenant_id, email, roles, expires_at, accepted_at FROM invitations
         WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY id DESC",
    )
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(invitation_from_row).collect()
}

/// How many admins each collectivité has: (collectivité id, count), collectivités without one absent.
pub async fn admin_counts(db: &Db) -> anyhow::Result<std::collections::HashMap<i64, i64>> {
    let rows = sqlx::query(
        "SELECT tenant_id, COUNT(*) FROM memberships WHERE role = $1 GROUP BY tenant_id",
    )
    .bind(Role::Admin.code())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
