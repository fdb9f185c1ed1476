//! The route table: every route with its access rule. The router is built from it, and the test
//! suite walks it, so a new route is covered by the authorization and security tests at once.

use crate::auth::{authorize, Access};
use crate::AppState;
use axum::handler::Handler;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use guichet_domain::role::Permission as P;

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

#[derive(Default)]
pub struct RouteTable {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl RouteTable {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> Self {
        let route = route.layer(axum::middleware::from_fn(move |req, next| {
            authorize(access, req, next)
        }));
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("GET", path, access, get(handler))
    }

    pub fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add("POST", path, access, post(handler))
    }

    /// The table as JSON, for tools outside the Rust code (the browser suite).
    pub fn to_json(&self) -> serde_json::Value {
        self.specs
            .iter()
            .map(|s| {
                let access = match s.access {
                    Access::Public => "public".to_string(),
                    Access::PasswordDone => "password_done".to_string(),
                    Access::SignedIn => "signed_in".to_string(),
                    Access::Tenant(p) => format!("tenant:{p:?}"),
                    Access::Operator => "operator".to_string(),
                    Access::Aidant => "aidant".to_string(),
                    Access::Api(scope) => format!("api:{scope}"),
                    Access::Demo => "demo".to_string(),
                    Access::ApiKeyInRequest => "api_key_in_request".to_string(),
                };
                serde_json::json!({"method": s.method, "path": s.path, "access": access})
            })
            .collect()
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// Every route of the application.
pub fn table() -> RouteTable {
    use crate::{api, assets, health, pages::*};
    use Access::*;
    RouteTable::default()
        // Public pages
        .get("/", Public, home::page)
        // Open311 GeoReport v2 (API key checked by the handler, as the spec wants it in the body)
        .get("/open311/v2/{file}", Public, crate::open311::root)
        .post(
            "/open311/v2/{file}",
            ApiKeyInRequest,
            crate::open311::create,
        )
        .get(
            "/open311/v2/services/{file}",
            Public,
            crate::open311::service_definition,
        )
        .get(
            "/open311/v2/requests/{file}",
            Public,
            crate::open311::one_request,
        )
        .get("/open311/v2/tokens/{file}", Public, crate::open311::token)
        .get("/recherche", Public, recherche::page)
        .get("/signalements/nouveau", Public, signalement::form)
        .post("/signalements", Public, signalement::submit)
        .get("/signalements/merci", Public, signalement::thanks)
        .get(
            "/signalements/confirmation/{token}",
            Public,
            signalement::confirm,
        )
        .get(
            "/signalements/suivre/{token}",
            Public,
            signalement::confirm_follow,
        )
        .get("/signalements/photos/{file}", Public, signalement::photo)
        .get("/signalements/{name}", Public, signalement::show)
        .post(
            "/signalements/{name}/moi-aussi",
            Public,
            signalement::me_too,
        )
        .get(
            "/communes/{name}/signalements",
            Public,
            signalement::of_commune,
        )
        .post("/communes/{name}/alertes", SignedIn, signalement::alerts)
        .get(
            "/collectivites/{slug}/signalements",
            Public,
            signalement::of_tenant,
        )
        .get("/recherche/suggestions", Public, recherche::suggestions)
        .get("/collectivites", Public, collectivite::list)
        .get("/collectivites/{slug}", Public, collectivite::page)
        .get("/accessibilite", Public, accessibilite::page)
        .get("/mentions-legales", Public, legal::notice)
        .get("/donnees-personnelles", Public, legal::privacy)
        .get("/conditions-d-utilisation", Public, legal::terms)
        .get("/healthz", Public, health::healthz)
        .get("/metrics", Public, health::metrics)
        .get("/static/{file}", Public, assets::serve_asset)
        // Accounts
        .get("/inscription", Public, compte::signup_form)
        .post("/inscription", Public, compte::signup)
        .get(
            "/inscription/confirmation/{token}",
            Public,
            compte::confirm_email,
        )
        .get("/connexion", Public, compte::login_form)
        .post("/connexion", Public, compte::login)
        .get(
            "/connexion/second-facteur",
            PasswordDone,
            securite::second_factor_form,
        )
        .post(
            "/connexion/second-facteur",
            PasswordDone,
            securite::second_factor,
        )
        .post("/deconnexion", Public, compte::logout)
        .get("/deconnexion/fin", Public, crate::oidc::logged_out)
        .get("/connexion/{name}", Public, crate::oidc::start)
        .get("/connexion/{name}/retour", Public, crate::oidc::callback)
        .get("/mot-de-passe-oublie", Public, compte::forgot_form)
        .post("/mot-de-passe-oublie", Public, compte::forgot)
        .get("/mot-de-passe/nouveau/{token}", Public, compte::reset_form)
        .post("/mot-de-passe/nouveau/{token}", Public, compte::reset)
        .get("/compte", SignedIn, compte::account)
        .post("/compte/mot-de-passe", SignedIn, compte::change_password)
        .post("/compte/courriel", SignedIn, compte::change_email)
        .get(
            "/compte/courriel/confirmation/{token}",
            Public,
            compte::confirm_new_email,
        )
        .get("/suivi", Public, guichet::track)
        .get("/compte/rattacher", SignedIn, guichet::claim_form)
        .post("/compte/rattacher", SignedIn, guichet::claim)
        .get("/aidant/guichet", Aidant, guichet::aidant_form)
        .post("/aidant/guichet", Aidant, guichet::aidant_open)
        .get(
            "/admin/{tenant}/guichet",
            Tenant(P::ProcessDossiers),
            guichet::agent_form,
        )
        .post(
            "/admin/{tenant}/guichet",
            Tenant(P::ProcessDossiers),
            guichet::agent_open,
        )
        .get("/compte/mandats", SignedIn, aidants::mine)
        .post(
            "/compte/mandats/{id}/revocation",
            SignedIn,
            aidants::revoke_by_usager,
        )
        .get("/mandats/verification", Public, aidants::verify)
        .get("/aidant", Aidant, aidants::space)
        .post("/aidant/mandats", Aidant, aidants::create)
        .get("/aidant/mandats/{id}", Aidant, aidants::show)
        .post("/aidant/mandats/{id}/agir", Aidant, aidants::act)
        .post(
            "/aidant/mandats/{id}/revocation",
            Aidant,
            aidants::revoke_by_aidant,
        )
        .post("/aidant/arreter", SignedIn, aidants::stop)
        .get("/operateur/aidants", Operator, aidants::operator_structures)
        .post(
            "/operateur/aidants/structures",
            Operator,
            aidants::operator_add_structure,
        )
        .post(
            "/operateur/aidants/membres",
            Operator,
            aidants::operator_add_aidant,
        )
        .get(
            "/admin/{tenant}/aidants",
            Tenant(P::ManageTeam),
            aidants::tenant_structures,
        )
        .post(
            "/admin/{tenant}/aidants/structures",
            Tenant(P::ManageTeam),
            aidants::tenant_add_structure,
        )
        .post(
            "/admin/{tenant}/aidants/membres",
            Tenant(P::ManageTeam),
            aidants::tenant_add_aidant,
        )
        .get("/compte/profil", SignedIn, profil::show)
        .post("/compte/profil", SignedIn, profil::save)
        .get("/compte/acces", SignedIn, profil::accesses)
        .get("/compte/documents", SignedIn, coffre::show)
        .post("/compte/documents", SignedIn, coffre::add)
        .get("/compte/documents/{file}", SignedIn, coffre::download)
        .post(
            "/compte/documents/{file}/suppression",
            SignedIn,
            coffre::remove,
        )
        .get("/compte/sessions", SignedIn, compte::sessions)
        .post(
            "/compte/sessions/fermer-tout",
            SignedIn,
            compte::logout_everywhere,
        )
        .get("/compte/suppression", SignedIn, compte::delete_form)
        .post("/compte/suppression", SignedIn, compte::delete)
        .get("/compte/securite", PasswordDone, securite::totp_page)
        .post("/compte/securite", PasswordDone, securite::totp_enable)
        // Filing a dossier
        .get("/demarches/{tenant}/{slug}", Public, depot::page)
        .post(
            "/demarches/{tenant}/{slug}/dossiers",
            SignedIn,
            depot::start,
        )
        .get("/dossiers", SignedIn, depot::mine)
        .get("/dossiers/{id}", SignedIn, depot::view)
        .get(
            "/dossiers/{id}/accuse.pdf",
            SignedIn,
            courrier::usager_accuse,
        )
        .get(
            "/dossiers/{id}/decision.pdf",
            SignedIn,
            courrier::usager_decision,
        )
        .get("/dossiers/{id}/etapes/{step}", SignedIn, depot::step)
        .post("/dossiers/{id}/etapes/{step}", SignedIn, depot::save_step)
        .get("/dossiers/{id}/recapitulatif", SignedIn, depot::review)
        .post("/dossiers/{id}/depot", SignedIn, depot::submit)
        .post("/dossiers/{id}/retrait", SignedIn, depot::withdraw)
        .post("/dossiers/{id}/profil", SignedIn, profil::save_back)
        .post("/dossiers/{id}/messages", SignedIn, echanges::from_usager)
        .get("/dossiers/{id}/fichiers/{file}", SignedIn, depot::file)
        .get("/invitation/{token}", Public, equipe::invitation_form)
        .post("/invitation/{token}", Public, equipe::accept_invitation)
        // Back office of a collectivité
        .get("/admin", SignedIn, admin::index)
        .get("/admin/{tenant}", Tenant(P::BackOffice), admin::home)
        .get(
            "/admin/{tenant}/equipe",
            Tenant(P::ManageTeam),
            equipe::page,
        )
        .post(
            "/admin/{tenant}/equipe/invitations",
            Tenant(P::ManageTeam),
            equipe::invite,
        )
        .post(
            "/admin/{tenant}/equipe/roles",
            Tenant(P::ManageTeam),
            equipe::change_role,
        )
        .post(
            "/admin/{tenant}/equipes",
            Tenant(P::ManageTeam),
            equipe::create_team,
        )
        .post(
            "/admin/{tenant}/equipes/{id}/membres",
            Tenant(P::ManageTeam),
            equipe::change_team_member,
        )
        .get(
            "/admin/{tenant}/journal",
            Tenant(P::ViewJournal),
            journal::page,
        )
        .get(
            "/admin/{tenant}/journal.csv",
            Tenant(P::ViewJournal),
            journal::export,
        )
        .get(
            "/admin/{tenant}/demarches",
            Tenant(P::DesignDemarches),
            conception::list,
        )
        .post(
            "/admin/{tenant}/demarches",
            Tenant(P::DesignDemarches),
            conception::import,
        )
        .get(
            "/admin/{tenant}/demarches/{id}",
            Tenant(P::DesignDemarches),
            conception::show,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/brouillon",
            Tenant(P::DesignDemarches),
            conception::save,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/publication",
            Tenant(P::DesignDemarches),
            conception::publish,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/fermeture",
            Tenant(P::DesignDemarches),
            conception::close,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/reouverture",
            Tenant(P::DesignDemarches),
            conception::reopen,
        )
        .get(
            "/admin/{tenant}/demarches/{id}/export",
            Tenant(P::DesignDemarches),
            conception::export,
        )
        .get(
            "/admin/{tenant}/signalements",
            Tenant(P::ModerateSignalements),
            traitement::list,
        )
        .post(
            "/admin/{tenant}/signalements/lot",
            Tenant(P::ModerateSignalements),
            traitement::bulk,
        )
        .get(
            "/admin/{tenant}/signalements/categories",
            Tenant(P::ConfigureSignalements),
            categories::show,
        )
        .post(
            "/admin/{tenant}/signalements/categories",
            Tenant(P::ConfigureSignalements),
            categories::add,
        )
        .post(
            "/admin/{tenant}/signalements/categories/{id}",
            Tenant(P::ConfigureSignalements),
            categories::save,
        )
        .get(
            "/admin/{tenant}/signalements/export/{file}",
            Tenant(P::ModerateSignalements),
            traitement::export,
        )
        .get(
            "/admin/{tenant}/signalements/{id}",
            Tenant(P::ModerateSignalements),
            traitement::show,
        )
        .get(
            "/admin/{tenant}/signalements/{id}/photos/{file}",
            Tenant(P::ModerateSignalements),
            traitement::photo,
        )
        .post(
            "/admin/{tenant}/signalements/{id}/etat",
            Tenant(P::ModerateSignalements),
            traitement::change,
        )
        .post(
            "/admin/{tenant}/signalements/{id}/transfert",
            Tenant(P::ModerateSignalements),
            traitement::transfer,
        )
        .get(
            "/admin/{tenant}/modeles",
            Tenant(P::DesignDemarches),
            modeles::catalogue,
        )
        .post(
            "/admin/{tenant}/modeles/{id}/adoption",
            Tenant(P::DesignDemarches),
            modeles::adopt,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/modele",
            Tenant(P::DesignDemarches),
            modeles::publish,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/mise-a-jour",
            Tenant(P::DesignDemarches),
            modeles::update,
        )
        .post(
            "/admin/{tenant}/demarches/nouvelle",
            Tenant(P::DesignDemarches),
            conception::create,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/webhook",
            Tenant(P::DesignDemarches),
            conception::webhook,
        )
        .get(
            "/admin/{tenant}/demarches/{id}/editeur",
            Tenant(P::DesignDemarches),
            editeur::show,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/reglages",
            Tenant(P::DesignDemarches),
            editeur::settings,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/pages",
            Tenant(P::DesignDemarches),
            editeur::add_page,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/pages/{page}",
            Tenant(P::DesignDemarches),
            editeur::page_action,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/champs",
            Tenant(P::DesignDemarches),
            editeur::add_field,
        )
        .get(
            "/admin/{tenant}/demarches/{id}/editeur/champs/{field}",
            Tenant(P::DesignDemarches),
            editeur::edit_field,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/champs/{field}",
            Tenant(P::DesignDemarches),
            editeur::update_field,
        )
        .post(
            "/admin/{tenant}/demarches/{id}/editeur/champs/{field}/actions",
            Tenant(P::DesignDemarches),
            editeur::field_action,
        )
        .get(
            "/admin/{tenant}/dossiers",
            Tenant(P::ProcessDossiers),
            instruction::queue,
        )
        .post(
            "/admin/{tenant}/dossiers/lot",
            Tenant(P::ProcessDossiers),
            instruction::bulk,
        )
        .get(
            "/admin/{tenant}/dossiers/{id}",
            Tenant(P::ProcessDossiers),
            instruction::show,
        )
        .post(
            "/admin/{tenant}/dossiers/{id}/action",
            Tenant(P::ProcessDossiers),
            instruction::act,
        )
        .post(
            "/admin/{tenant}/dossiers/{id}/messages",
            Tenant(P::ProcessDossiers),
            echanges::from_agent,
        )
        .post(
            "/admin/{tenant}/dossiers/{id}/attribution",
            Tenant(P::ProcessDossiers),
            instruction::assign,
        )
        .get(
            "/admin/{tenant}/dossiers/{id}/accuse.pdf",
            Tenant(P::ProcessDossiers),
            courrier::agent_accuse,
        )
        .get(
            "/admin/{tenant}/dossiers/{id}/decision.pdf",
            Tenant(P::ProcessDossiers),
            courrier::agent_decision,
        )
        .get(
            "/admin/{tenant}/dossiers.csv",
            Tenant(P::ProcessDossiers),
            export::csv,
        )
        .get(
            "/admin/{tenant}/dossiers.xlsx",
            Tenant(P::ProcessDossiers),
            export::xlsx,
        )
        .get(
            "/admin/{tenant}/dossiers/{id}/fichiers.zip",
            Tenant(P::ProcessDossiers),
            instruction::files_zip,
        )
        .get(
            "/admin/{tenant}/dossiers/{id}/fichiers/{file}",
            Tenant(P::ProcessDossiers),
            instruction::file,
        )
        .get(
            "/admin/{tenant}/jetons",
            Tenant(P::ManageApiTokens),
            jetons::page,
        )
        .post(
            "/admin/{tenant}/jetons",
            Tenant(P::ManageApiTokens),
            jetons::create,
        )
        .post(
            "/admin/{tenant}/jetons/{id}/revocation",
            Tenant(P::ManageApiTokens),
            jetons::revoke,
        )
        // The operator (région)
        .get("/operateur", Operator, operateur::page)
        .get("/operateur/journal", Operator, operateur::journal)
        .post("/operateur/collectivites", Operator, adhesion::add)
        .get("/operateur/collectivites/{slug}", Operator, adhesion::show)
        .post(
            "/operateur/collectivites/{slug}/invitations",
            Operator,
            adhesion::invite,
        )
        .post(
            "/operateur/collectivites/{slug}/invitations/{id}/renvoi",
            Operator,
            adhesion::resend,
        )
        .post(
            "/operateur/collectivites/{slug}/invitations/{id}/revocation",
            Operator,
            adhesion::revoke,
        )
        .get("/operateur/referentiel", Operator, referentiel::page)
        .get(
            "/operateur/referentiel/competences.csv",
            Operator,
            referentiel::export_csv,
        )
        .post(
            "/operateur/referentiel/competences",
            Operator,
            referentiel::save_competence,
        )
        .post(
            "/operateur/referentiel/competences/import",
            Operator,
            referentiel::import_csv,
        )
        .post(
            "/operateur/referentiel/exceptions",
            Operator,
            referentiel::save_override,
        )
        .get(
            "/operateur/referentiel/exceptions.csv",
            Operator,
            referentiel::export_overrides_csv,
        )
        .post(
            "/operateur/referentiel/exceptions/import",
            Operator,
            referentiel::import_overrides_csv,
        )
        .post(
            "/operateur/referentiel/services",
            Operator,
            referentiel::save_service,
        )
        .post(
            "/operateur/referentiel/synonymes",
            Operator,
            referentiel::save_synonyms,
        )
        // API
        .get("/api/v1/moi", Api("*"), api::me)
        .get("/api/v1/openapi.json", Public, api::openapi)
        .get(
            "/api/v1/demarches",
            Api("dossiers:lecture"),
            api::list_demarches,
        )
        .get(
            "/api/v1/demarches/{id}/dossiers",
            Api("dossiers:lecture"),
            api::list_dossiers,
        )
        .get(
            "/api/v1/dossiers/{id}",
            Api("dossiers:lecture"),
            api::get_dossier,
        )
        .post(
            "/api/v1/dossiers/{id}/etat",
            Api("dossiers:ecriture"),
            api::change_state,
        )
        .post(
            "/api/v1/dossiers/{id}/messages",
            Api("dossiers:ecriture"),
            api::send_message,
        )
        // Demo only
        .get("/demo/courriels", Demo, demo::mails)
        .get("/demo/courriels/{name}", Demo, demo::mail)
}
