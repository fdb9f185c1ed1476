//! The second factor: TOTP enrolment (RFC 6238) with recovery codes, and the login step.

use crate::auth::{safe_next, Visitor};
use crate::error::AppError;
use crate::form::Errors;
use crate::layout::Layout;
use crate::page::html;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use guichet_store::compte;
use guichet_store::trace::Trace;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "compte/securite.html")]
struct TotpPage {
    layout: Layout,
    enabled: bool,
    required: bool,
    secret: String,
    qr_svg: String,
    errors: Errors,
    recovery_codes: Option<Vec<String>>,
    next: String,
}

fn qr_svg(data: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(data.as_bytes())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Drop the XML prologue: the SVG is inlined in the page. role=img + title for screen readers.
    let svg = svg
        .split_once("<svg")
        .map(|(_, rest)| {
            format!("<svg role=\"img\" aria-label=\"Code QR du second facteur\"{rest}")
        })
        .unwrap_or(svg);
    Ok(svg)
}

async fn page(state: &AppState, visitor: &Visitor, errors: Errors) -> Result<Response, AppError> {
    let user = visitor.signed_in()?;
    if user.totp_enabled && !visitor.mfa_done() {
        return Ok(Redirect::to("/connexion/second-facteur").into_response());
    }
    let mut secret = String::new();
    let mut svg = String::new();
    if !user.totp_enabled {
        // A pending secret survives reloads, so that a scanned code stays valid.
        secret = match compte::totp_secret(&state.db, user.id).await? {
            Some(s) => s,
            None => {
                let s = compte::new_totp_secret();
                compte::set_pending_totp(&state.db, user.id, &s).await?;
                s
            }
        };
        svg = qr_svg(&compte::totp_url(&secret, &user.email)?)?;
    }
    let status = errors.status();
    let page = TotpPage {
        layout: Layout::for_visitor(state, visitor).await,
        enabled: user.totp_enabled,
        required: user.kind == compte::Kind::Agent,
        secret,
        qr_svg: svg,
        errors,
        recovery_codes: None,
        next: String::new(),
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn totp_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, AppError> {
    page(&state, &visitor, Errors::default()).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

fn now_s() -> u64 {
    (guichet_store::now_ms() / 1000) as u64
}

pub async fn totp_enable(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    if user.totp_enabled {
        return Ok(Redirect::to("/compte/securite").into_response());
    }
    let old = visitor.current_session()?.clone();
    // Privilege change: a new session, with the second factor done.
    let enabled = compte::enable_totp(
        &state.db,
        user.id,
        &f.code,
        now_s(),
        &old.id_hash,
        crate::compte::opening(&visitor, user.id, true),
        Trace::of(visitor.event(None, "second_facteur.activation")),
    )
    .await?;
    let Some((codes, token, new_session)) = enabled else {
        let mut errors = Errors::default();
        errors.add("code", "Ce code n'est pas le bon. Vérifiez l'heure de votre téléphone et saisissez le code affiché maintenant.");
        return page(&state, &visitor, errors).await;
    };
    visitor.set_session(&state, &token).await?;
    visitor.session = Some(new_session);
    let mut user = user;
    user.totp_enabled = true;
    visitor.user = Some(user.clone());
    let page = TotpPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        enabled: true,
        required: false,
        secret: String::new(),
        qr_svg: String::new(),
        errors: Errors::default(),
        recovery_codes: Some(codes),
        next: if visitor.is_agent() {
            "/admin".into()
        } else {
            "/compte".into()
        },
    };
    Ok(visitor.finish(html(&page)?))
}

#[derive(Template)]
#[template(path = "compte/second-facteur.html")]
struct SecondFactorPage {
    layout: Layout,
    errors: Errors,
    suite: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    suite: Option<String>,
}

pub async fn second_factor_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if visitor.mfa_done() || visitor.user.as_ref().is_some_and(|u| !u.totp_enabled) {
        return Ok(Redirect::to("/compte").into_response());
    }
    html(&SecondFactorPage {
        layout: Layout::for_visitor(&state, &visitor).await,
        errors: Errors::default(),
        suite: safe_next(q.suite.as_deref()),
    })
}

pub async fn second_factor(
    State(state): State<AppState>,
    mut visitor: Visitor,
    Query(q): Query<NextQuery>,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let user = visitor.signed_in()?.clone();
    let old = visitor.current_session()?.clone();
    let now = guichet_store::now_ms();
    let suite = safe_next(q.suite.as_deref());
    // Whoever reaches this step knows the password: failures count for the account from any
    // network, so six digits cannot be tried from many.
    let subject = format!("second-facteur:{}", user.email);
    let throttled = matches!(
        guichet_store::throttle::check(&state.db, &subject, None, now).await?,
        guichet_domain::throttle::Verdict::Wait { .. }
    );
    let passed = if throttled {
        None
    } else {
        compte::pass_second_factor(
            &state.db,
            user.id,
            &f.code,
            now_s(),
            &old.id_hash,
            crate::compte::opening(&visitor, user.id, true),
            Trace::of(visitor.event(None, "connexion.second_facteur")),
        )
        .await?
    };
    let Some((token, new_session)) = passed else {
        let failed = Trace::of(visitor.event(None, "second_facteur.echec"));
        guichet_store::throttle::record_failure(&state.db, &subject, None, now, failed, None)
            .await?;
        let mut errors = Errors::default();
        errors.add(
            "code",
            if throttled {
                "Trop de tentatives. Par sécurité, réessayez dans quelques minutes."
            } else {
                "Code incorrect ou déjà utilisé. Saisissez le code affiché maintenant par votre application."
            },
        );
        let page = SecondFactorPage {
            layout: Layout::for_visitor(&state, &visitor).await,
            errors,
            suite,
        };
        let status = if throttled {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::UNAUTHORIZED
        };
        return Ok((status, html(&page)?).into_response());
    };
    visitor.set_session(&state, &token).await?;
    visitor.session = Some(new_session);
    let target = suite.unwrap_or_else(|| {
        if visitor.is_agent() {
            "/admin".into()
        } else {
            "/compte".into()
        }
    });
    Ok(visitor.finish(Redirect::to(&target).into_response()))
}
