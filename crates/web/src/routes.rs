//! The route table: every route with its access rule. The router is built from it, and the test
//! suite walks it, so a new route is covered by the authorization and security tests at once.

use crate::api::BearerAuth;
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
                    Access::DossierOwner => "dossier_owner".to_string(),
                    Access::Collectivite(p) => format!("collectivite:{p:?}"),
                    Access::Operator => "operator".to_string(),
                    Access::Aidant => "aidant".to_string(),
                    Access::Elu => "elu".to_string(),
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

/// The description of the REST API, assembled from the handlers of each capability.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Guichet", version = "1", description = "API REST de Guichet pour les logiciels des collectivités. Authentification : jeton d'API d'un agent (en-tête Authorization: Bearer gch_…), limité à sa collectivité et à ses portées."),
    paths(
        crate::jeton::api::me_doc,
        crate::demarche::api::list_demarches,
        crate::dossier::api::list_dossiers,
        crate::dossier::api::get_dossier,
        crate::dossier::api::change_state,
        crate::dossier::api::send_message,
    ),
    components(schemas(
        crate::api::ApiError,
        crate::api::ApiErrorBody,
        crate::demarche::api::ApiDemarche,
        crate::dossier::api::ApiDossier,
        crate::dossier::api::ApiDossierPage,
        crate::dossier::api::StateChange,
        crate::dossier::api::StateAction,
        crate::dossier::api::MessageIn,
        crate::jeton::api::Me,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// `/api/v1/openapi.json`.
pub async fn openapi() -> axum::response::Response {
    use axum::response::IntoResponse;
    use utoipa::OpenApi;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        ApiDoc::openapi().to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}

/// Every route of the application.
pub fn table() -> RouteTable {
    use crate::{
        accueil, assets, coffre, collectivite, competence, compte, conseil, demarche, demo,
        donnees, dossier, equipe, etat, health, jeton, journal, mandat, participation, pilotage,
        profil, recherche, signalement,
    };
    use Access::*;
    RouteTable::default()
        // Public pages
        .get("/", Public, accueil::page)
        // Open311 GeoReport v2 (API key checked by the handler, as the spec wants it in the body)
        .get(
            "/open311/v2/{file}",
            Public,
            crate::signalement::open311::root,
        )
        .post(
            "/open311/v2/{file}",
            ApiKeyInRequest,
            crate::signalement::open311::create,
        )
        .get(
            "/open311/v2/services/{file}",
            Public,
            crate::signalement::open311::service_definition,
        )
        .get(
            "/open311/v2/requests/{file}",
            Public,
            crate::signalement::open311::one_request,
        )
        .get(
            "/open311/v2/tokens/{file}",
            Public,
            crate::signalement::open311::token,
        )
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
            signalement::of_collectivite,
        )
        .get("/recherche/suggestions", Public, recherche::suggestions)
        .get("/collectivites", Public, collectivite::list)
        .get("/collectivites/{slug}", Public, collectivite::page)
        .get("/accessibilite", Public, accueil::accessibilite::page)
        .get("/mentions-legales", Public, accueil::mentions::notice)
        .get("/donnees-personnelles", Public, accueil::mentions::privacy)
        .get(
            "/conditions-d-utilisation",
            Public,
            accueil::mentions::terms,
        )
        // Open data
        .get("/donnees", Public, donnees::portal)
        .get("/donnees/catalogue", Public, donnees::catalogue::negotiated)
        .get("/donnees/schemas/{file}", Public, donnees::schema)
        .get(
            "/donnees/schemas/{owner}/{file}",
            Public,
            donnees::given_schema,
        )
        .get("/donnees/{owner}", Public, donnees::catalogue::platform)
        .get("/donnees/{owner}/{file}", Public, donnees::dataset)
        .get("/observatoire", Public, pilotage::region)
        .get(
            "/conseil/{collectivite}",
            Public,
            conseil::publication::public,
        )
        .get(
            "/conseil/{collectivite}/deliberations.csv",
            Public,
            conseil::publication::scdl,
        )
        .get(
            "/conseil/{collectivite}/deliberations/{numero}",
            Public,
            conseil::publication::pdf,
        )
        .get(
            "/conseil/{collectivite}/proces-verbaux/{id}",
            Public,
            conseil::proces_verbal::pdf,
        )
        .get(
            "/convocation/{token}",
            Public,
            conseil::publication::convocation,
        )
        .get(
            "/convocation/{token}/annexes/{id}",
            Public,
            conseil::annexes::for_convocation,
        )
        .get("/participation/{collectivite}", Public, participation::list)
        .get(
            "/participation/{collectivite}/budgets/{id}",
            Public,
            participation::budget::show,
        )
        .post(
            "/participation/{collectivite}/budgets/{id}/projets",
            SignedIn,
            participation::budget::propose,
        )
        .post(
            "/participation/{collectivite}/budgets/{id}/vote",
            SignedIn,
            participation::budget::vote,
        )
        .get(
            "/participation/{collectivite}/petitions/nouvelle",
            SignedIn,
            participation::petition::new_form,
        )
        .post(
            "/participation/{collectivite}/petitions",
            SignedIn,
            participation::petition::create,
        )
        .get(
            "/participation/{collectivite}/petitions/{id}",
            Public,
            participation::petition::show,
        )
        .post(
            "/participation/{collectivite}/petitions/{id}/signer",
            SignedIn,
            participation::petition::sign,
        )
        .get(
            "/participation/{collectivite}/consultations/{id}",
            Public,
            participation::show,
        )
        .post(
            "/participation/{collectivite}/consultations/{id}",
            SignedIn,
            participation::answer,
        )
        .get(
            "/participation/{collectivite}/consultations/{id}/resultats.csv",
            Public,
            participation::results_csv,
        )
        .get("/observatoire/modeles/{id}", Public, pilotage::modele)
        .get(
            "/observatoire/{collectivite}",
            Public,
            pilotage::collectivite,
        )
        .get(
            "/observatoire/{collectivite}/{demarche}",
            Public,
            pilotage::demarche,
        )
        .get("/healthz", Public, health::healthz)
        .get("/etat", Public, etat::page)
        .get("/operateur/etat", Operator, etat::operator)
        .post("/operateur/etat", Operator, etat::save)
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
        .get("/.well-known/jwks.json", Public, compte::oidc::jwks)
        .get(
            "/connexion/second-facteur",
            PasswordDone,
            compte::securite::second_factor_form,
        )
        .post(
            "/connexion/second-facteur",
            PasswordDone,
            compte::securite::second_factor,
        )
        .post("/deconnexion", Public, compte::logout)
        .get("/deconnexion/fin", Public, crate::compte::oidc::logged_out)
        .get("/connexion/{name}", Public, crate::compte::oidc::start)
        .get(
            "/connexion/{name}/retour",
            Public,
            crate::compte::oidc::callback,
        )
        .get("/mot-de-passe-oublie", Public, compte::forgot_form)
        .post("/mot-de-passe-oublie", Public, compte::forgot)
        .get("/mot-de-passe/nouveau/{token}", Public, compte::reset_form)
        .post("/mot-de-passe/nouveau/{token}", Public, compte::reset)
        .get("/compte", SignedIn, compte::account)
        .get("/elu", Elu, conseil::espace::page)
        .get(
            "/elu/{collectivite}/seances/{id}/annexes/{annexe}",
            Elu,
            conseil::annexes::for_member,
        )
        .post(
            "/elu/{collectivite}/deliberations/{id}/signer",
            Elu,
            conseil::espace::sign,
        )
        .post("/compte/mot-de-passe", SignedIn, compte::change_password)
        .post("/compte/courriel", SignedIn, compte::change_email)
        .get(
            "/compte/courriel/confirmation/{token}",
            Public,
            compte::confirm_new_email,
        )
        .get("/suivi", Public, dossier::comptoir::track)
        .get("/compte/rattacher", SignedIn, dossier::comptoir::claim_form)
        .post("/compte/rattacher", SignedIn, dossier::comptoir::claim)
        .get("/aidant/guichet", Aidant, dossier::comptoir::aidant_form)
        .post("/aidant/guichet", Aidant, dossier::comptoir::aidant_open)
        .get(
            "/admin/{collectivite}/guichet",
            Collectivite(P::ProcessDossiers),
            dossier::comptoir::agent_form,
        )
        .post(
            "/admin/{collectivite}/guichet",
            Collectivite(P::ProcessDossiers),
            dossier::comptoir::agent_open,
        )
        .get("/compte/mandats", SignedIn, mandat::mine)
        .post(
            "/compte/mandats/{id}/revocation",
            SignedIn,
            mandat::revoke_by_usager,
        )
        .get("/mandats/verification", Public, mandat::verify)
        .get("/aidant", Aidant, mandat::space)
        .post("/aidant/mandats", Aidant, mandat::create)
        .get(
            "/aidant/mandats/demandes/{id}",
            Aidant,
            mandat::show_request,
        )
        .post(
            "/aidant/mandats/demandes/{id}/code",
            Aidant,
            mandat::consent_code,
        )
        .get(
            "/mandats/revocation/{token}",
            Public,
            mandat::revocation_form,
        )
        .post(
            "/mandats/revocation/{token}",
            Public,
            mandat::revoke_by_link,
        )
        .get("/aidant/mandats/{id}", Aidant, mandat::show)
        .post("/aidant/mandats/{id}/agir", Aidant, mandat::act)
        .post(
            "/aidant/mandats/{id}/revocation",
            Aidant,
            mandat::revoke_by_aidant,
        )
        .post("/aidant/arreter", SignedIn, mandat::stop)
        .get("/operateur/aidants", Operator, mandat::operator_structures)
        .post(
            "/operateur/aidants/structures",
            Operator,
            mandat::operator_add_structure,
        )
        .post(
            "/operateur/aidants/membres",
            Operator,
            mandat::operator_add_aidant,
        )
        .get(
            "/admin/{collectivite}/aidants",
            Collectivite(P::ManageEquipe),
            mandat::collectivite_structures,
        )
        .post(
            "/admin/{collectivite}/aidants/structures",
            Collectivite(P::ManageEquipe),
            mandat::collectivite_add_structure,
        )
        .post(
            "/admin/{collectivite}/aidants/membres",
            Collectivite(P::ManageEquipe),
            mandat::collectivite_add_aidant,
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
        .get(
            "/compte/securite",
            PasswordDone,
            compte::securite::totp_page,
        )
        .post(
            "/compte/securite",
            PasswordDone,
            compte::securite::totp_enable,
        )
        // Filing a dossier
        .get(
            "/demarches/{collectivite}/{slug}",
            Public,
            dossier::depot::page,
        )
        .post(
            "/demarches/{collectivite}/{slug}/dossiers",
            SignedIn,
            dossier::depot::start,
        )
        .get("/dossiers", SignedIn, dossier::depot::mine)
        .post(
            "/demarches/{collectivite}/{slug}/sans-compte",
            Public,
            dossier::depot::start_without_account,
        )
        .get(
            "/dossiers/invitation/{token}",
            Public,
            dossier::depot::invitation,
        )
        .get("/dossiers/{id}", DossierOwner, dossier::depot::view)
        .get(
            "/dossiers/{id}/accuse.pdf",
            DossierOwner,
            dossier::courrier::usager_accuse,
        )
        .get(
            "/dossiers/{id}/decision.pdf",
            DossierOwner,
            dossier::courrier::usager_decision,
        )
        .get(
            "/dossiers/{id}/etapes/{step}",
            DossierOwner,
            dossier::depot::step,
        )
        .post(
            "/dossiers/{id}/etapes/{step}",
            DossierOwner,
            dossier::depot::save_step,
        )
        .get(
            "/dossiers/{id}/recapitulatif",
            DossierOwner,
            dossier::depot::review,
        )
        .post("/dossiers/{id}/depot", DossierOwner, dossier::depot::submit)
        .post(
            "/dossiers/{id}/satisfaction",
            DossierOwner,
            pilotage::satisfaction::rate,
        )
        .post("/dossiers/{id}/retrait", SignedIn, dossier::depot::withdraw)
        .post("/dossiers/{id}/profil", SignedIn, profil::save_back)
        .post(
            "/dossiers/{id}/messages",
            SignedIn,
            dossier::echanges::from_usager,
        )
        .get(
            "/dossiers/{id}/fichiers/{file}",
            DossierOwner,
            dossier::depot::file,
        )
        .get("/invitation/{token}", Public, equipe::invitation_form)
        .post("/invitation/{token}", Public, equipe::accept_invitation)
        // Back office of a collectivité
        .get("/admin", SignedIn, collectivite::admin::index)
        .get(
            "/admin/{collectivite}",
            Collectivite(P::BackOffice),
            collectivite::admin::home,
        )
        .get(
            "/admin/{collectivite}/equipe",
            Collectivite(P::ManageEquipe),
            equipe::page,
        )
        .post(
            "/admin/{collectivite}/equipe/invitations",
            Collectivite(P::ManageEquipe),
            equipe::invite,
        )
        .post(
            "/admin/{collectivite}/equipe/roles",
            Collectivite(P::ManageEquipe),
            equipe::change_role,
        )
        .post(
            "/admin/{collectivite}/equipes",
            Collectivite(P::ManageEquipe),
            equipe::create_equipe,
        )
        .post(
            "/admin/{collectivite}/equipes/{id}/membres",
            Collectivite(P::ManageEquipe),
            equipe::change_equipe_member,
        )
        .get(
            "/admin/{collectivite}/conseil",
            Collectivite(P::ManageConseil),
            conseil::page,
        )
        .get(
            "/admin/{collectivite}/participation",
            Collectivite(P::ManageConseil),
            participation::admin,
        )
        .post(
            "/admin/{collectivite}/participation/consultations",
            Collectivite(P::ManageConseil),
            participation::create,
        )
        .post(
            "/admin/{collectivite}/participation/budgets",
            Collectivite(P::ManageConseil),
            participation::budget::create,
        )
        .get(
            "/admin/{collectivite}/participation/budgets/{id}",
            Collectivite(P::ManageConseil),
            participation::budget::admin,
        )
        .post(
            "/admin/{collectivite}/participation/budgets/{id}/projets/{projet}/examen",
            Collectivite(P::ManageConseil),
            participation::budget::review,
        )
        .post(
            "/admin/{collectivite}/participation/budgets/{id}/projets/{projet}/suivi",
            Collectivite(P::ManageConseil),
            participation::budget::follow_up,
        )
        .post(
            "/admin/{collectivite}/participation/reglages",
            Collectivite(P::ManageConseil),
            participation::petition::settings,
        )
        .post(
            "/admin/{collectivite}/participation/petitions/{id}/reponse",
            Collectivite(P::ManageConseil),
            participation::petition::answer,
        )
        .post(
            "/admin/{collectivite}/conseil/assemblees",
            Collectivite(P::ManageConseil),
            conseil::create_assemblee,
        )
        .post(
            "/admin/{collectivite}/conseil/assemblees/{id}/elus",
            Collectivite(P::ManageConseil),
            conseil::add_elu,
        )
        .post(
            "/admin/{collectivite}/conseil/assemblees/{id}/seances",
            Collectivite(P::ManageConseil),
            conseil::create_seance,
        )
        .get(
            "/admin/{collectivite}/conseil/seances/{id}",
            Collectivite(P::ManageConseil),
            conseil::seance::page,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/points",
            Collectivite(P::ManageConseil),
            conseil::seance::add_point,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/points/{point}/retirer",
            Collectivite(P::ManageConseil),
            conseil::seance::remove_point,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/convoquer",
            Collectivite(P::ManageConseil),
            conseil::seance::convene,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/ouvrir",
            Collectivite(P::ManageConseil),
            conseil::seance::open,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/presence",
            Collectivite(P::ManageConseil),
            conseil::seance::presence,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/points/{point}/vote",
            Collectivite(P::ManageConseil),
            conseil::seance::vote,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/cloturer",
            Collectivite(P::ManageConseil),
            conseil::seance::close,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/reconvoquer",
            Collectivite(P::ManageConseil),
            conseil::seance::reconvene,
        )
        .post(
            "/admin/{collectivite}/conseil/deliberations/{id}/publier",
            Collectivite(P::ManageConseil),
            conseil::publication::publish,
        )
        .get(
            "/admin/{collectivite}/conseil/deliberations/{id}/legalite.zip",
            Collectivite(P::ManageConseil),
            conseil::legalite::bundle,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/points/{point}/annexes",
            Collectivite(P::ManageConseil),
            conseil::annexes::add,
        )
        .get(
            "/admin/{collectivite}/conseil/seances/{id}/annexes/{annexe}",
            Collectivite(P::ManageConseil),
            conseil::annexes::for_secretariat,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/proces-verbal",
            Collectivite(P::ManageConseil),
            conseil::proces_verbal::draft,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/proces-verbaux/{seance}/arreter",
            Collectivite(P::ManageConseil),
            conseil::proces_verbal::adopt,
        )
        .post(
            "/admin/{collectivite}/conseil/seances/{id}/proces-verbal/publier",
            Collectivite(P::ManageConseil),
            conseil::proces_verbal::publish,
        )
        .get(
            "/admin/{collectivite}/observatoire",
            Collectivite(P::PublishData),
            pilotage::admin::page,
        )
        .post(
            "/admin/{collectivite}/observatoire/accessibilite",
            Collectivite(P::PublishData),
            pilotage::admin::declare,
        )
        .get(
            "/admin/{collectivite}/donnees",
            Collectivite(P::PublishData),
            donnees::admin::page,
        )
        .post(
            "/admin/{collectivite}/donnees",
            Collectivite(P::PublishData),
            donnees::admin::upload,
        )
        .get(
            "/admin/{collectivite}/donnees/patrimoine",
            Collectivite(P::PublishData),
            donnees::patrimoine::page,
        )
        .post(
            "/admin/{collectivite}/donnees/patrimoine",
            Collectivite(P::PublishData),
            donnees::patrimoine::save,
        )
        .get(
            "/admin/{collectivite}/journal",
            Collectivite(P::ViewJournal),
            journal::page,
        )
        .get(
            "/admin/{collectivite}/journal.csv",
            Collectivite(P::ViewJournal),
            journal::export,
        )
        .get(
            "/admin/{collectivite}/demarches",
            Collectivite(P::DesignDemarches),
            demarche::conception::list,
        )
        .post(
            "/admin/{collectivite}/demarches",
            Collectivite(P::DesignDemarches),
            demarche::conception::import,
        )
        .get(
            "/admin/{collectivite}/demarches/{id}",
            Collectivite(P::DesignDemarches),
            demarche::conception::show,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/brouillon",
            Collectivite(P::DesignDemarches),
            demarche::conception::save,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/publication",
            Collectivite(P::DesignDemarches),
            demarche::conception::publish,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/fermeture",
            Collectivite(P::DesignDemarches),
            demarche::conception::close,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/reouverture",
            Collectivite(P::DesignDemarches),
            demarche::conception::reopen,
        )
        .get(
            "/admin/{collectivite}/demarches/{id}/export",
            Collectivite(P::DesignDemarches),
            demarche::conception::export,
        )
        .get(
            "/admin/{collectivite}/signalements",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::list,
        )
        .post(
            "/admin/{collectivite}/signalements/lot",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::bulk,
        )
        .get(
            "/admin/{collectivite}/signalements/categories",
            Collectivite(P::ConfigureSignalements),
            signalement::categories::show,
        )
        .post(
            "/admin/{collectivite}/signalements/categories",
            Collectivite(P::ConfigureSignalements),
            signalement::categories::add,
        )
        .post(
            "/admin/{collectivite}/signalements/categories/{id}",
            Collectivite(P::ConfigureSignalements),
            signalement::categories::save,
        )
        .get(
            "/admin/{collectivite}/signalements/export/{file}",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::export,
        )
        .get(
            "/admin/{collectivite}/signalements/{id}",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::show,
        )
        .get(
            "/admin/{collectivite}/signalements/{id}/photos/{file}",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::photo,
        )
        .post(
            "/admin/{collectivite}/signalements/{id}/etat",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::change,
        )
        .post(
            "/admin/{collectivite}/signalements/{id}/transfert",
            Collectivite(P::ModerateSignalements),
            signalement::traitement::transfer,
        )
        .get(
            "/admin/{collectivite}/modeles",
            Collectivite(P::DesignDemarches),
            demarche::modele::catalogue,
        )
        .post(
            "/admin/{collectivite}/modeles/{id}/adoption",
            Collectivite(P::DesignDemarches),
            demarche::modele::adopt,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/modele",
            Collectivite(P::DesignDemarches),
            demarche::modele::publish,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/mise-a-jour",
            Collectivite(P::DesignDemarches),
            demarche::modele::update,
        )
        .post(
            "/admin/{collectivite}/demarches/nouvelle",
            Collectivite(P::DesignDemarches),
            demarche::conception::create,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/webhook",
            Collectivite(P::DesignDemarches),
            demarche::conception::webhook,
        )
        .get(
            "/admin/{collectivite}/demarches/{id}/editeur",
            Collectivite(P::DesignDemarches),
            demarche::editeur::show,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/reglages",
            Collectivite(P::DesignDemarches),
            demarche::editeur::settings,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/pages",
            Collectivite(P::DesignDemarches),
            demarche::editeur::add_page,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/regles",
            Collectivite(P::DesignDemarches),
            demarche::editeur::add_rule,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/regles/{index}/suppression",
            Collectivite(P::DesignDemarches),
            demarche::editeur::remove_rule,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/pages/{page}",
            Collectivite(P::DesignDemarches),
            demarche::editeur::page_action,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/champs",
            Collectivite(P::DesignDemarches),
            demarche::editeur::add_field,
        )
        .get(
            "/admin/{collectivite}/demarches/{id}/editeur/champs/{field}",
            Collectivite(P::DesignDemarches),
            demarche::editeur::edit_field,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/champs/{field}",
            Collectivite(P::DesignDemarches),
            demarche::editeur::update_field,
        )
        .post(
            "/admin/{collectivite}/demarches/{id}/editeur/champs/{field}/actions",
            Collectivite(P::DesignDemarches),
            demarche::editeur::field_action,
        )
        .get(
            "/admin/{collectivite}/dossiers",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::queue,
        )
        .post(
            "/admin/{collectivite}/dossiers/lot",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::bulk,
        )
        .get(
            "/admin/{collectivite}/dossiers/{id}",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::show,
        )
        .post(
            "/admin/{collectivite}/dossiers/{id}/action",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::act,
        )
        .post(
            "/admin/{collectivite}/dossiers/{id}/avis",
            Collectivite(P::ProcessDossiers),
            dossier::avis::request,
        )
        .get("/avis/{token}", Public, dossier::avis::show)
        .post("/avis/{token}", Public, dossier::avis::answer)
        .post(
            "/admin/{collectivite}/dossiers/{id}/annotations",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::annotate,
        )
        .post(
            "/admin/{collectivite}/dossiers/{id}/messages",
            Collectivite(P::ProcessDossiers),
            dossier::echanges::from_agent,
        )
        .post(
            "/admin/{collectivite}/dossiers/{id}/attribution",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::assign,
        )
        .get(
            "/admin/{collectivite}/dossiers/{id}/accuse.pdf",
            Collectivite(P::ProcessDossiers),
            dossier::courrier::agent_accuse,
        )
        .get(
            "/admin/{collectivite}/dossiers/{id}/decision.pdf",
            Collectivite(P::ProcessDossiers),
            dossier::courrier::agent_decision,
        )
        .get(
            "/admin/{collectivite}/dossiers.csv",
            Collectivite(P::ProcessDossiers),
            dossier::export::csv,
        )
        .get(
            "/admin/{collectivite}/dossiers.xlsx",
            Collectivite(P::ProcessDossiers),
            dossier::export::xlsx,
        )
        .get(
            "/admin/{collectivite}/dossiers.zip",
            Collectivite(P::ProcessDossiers),
            dossier::export::zip,
        )
        .get(
            "/admin/{collectivite}/dossiers/{id}/fichiers.zip",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::files_zip,
        )
        .get(
            "/admin/{collectivite}/dossiers/{id}/fichiers/{file}",
            Collectivite(P::ProcessDossiers),
            dossier::instruction::file,
        )
        .get(
            "/admin/{collectivite}/jetons",
            Collectivite(P::ManageJetons),
            jeton::page,
        )
        .post(
            "/admin/{collectivite}/jetons",
            Collectivite(P::ManageJetons),
            jeton::create,
        )
        .post(
            "/admin/{collectivite}/jetons/{id}/revocation",
            Collectivite(P::ManageJetons),
            jeton::revoke,
        )
        // The operator (région)
        .get("/operateur", Operator, collectivite::operateur::page)
        .get(
            "/operateur/journal",
            Operator,
            collectivite::operateur::journal,
        )
        .post(
            "/operateur/collectivites",
            Operator,
            collectivite::adhesion::add,
        )
        .get(
            "/operateur/collectivites/{slug}",
            Operator,
            collectivite::adhesion::show,
        )
        .post(
            "/operateur/collectivites/{slug}/invitations",
            Operator,
            collectivite::adhesion::invite,
        )
        .post(
            "/operateur/collectivites/{slug}/invitations/{id}/renvoi",
            Operator,
            collectivite::adhesion::resend,
        )
        .post(
            "/operateur/collectivites/{slug}/invitations/{id}/revocation",
            Operator,
            collectivite::adhesion::revoke,
        )
        .get("/operateur/referentiel", Operator, competence::page)
        .get(
            "/operateur/referentiel/competences.csv",
            Operator,
            competence::export_csv,
        )
        .post(
            "/operateur/referentiel/competences",
            Operator,
            competence::save_competence,
        )
        .post(
            "/operateur/referentiel/competences/import",
            Operator,
            competence::import_csv,
        )
        .post(
            "/operateur/referentiel/exceptions",
            Operator,
            competence::save_override,
        )
        .get(
            "/operateur/referentiel/exceptions.csv",
            Operator,
            competence::export_overrides_csv,
        )
        .post(
            "/operateur/referentiel/exceptions/import",
            Operator,
            competence::import_overrides_csv,
        )
        .post(
            "/operateur/referentiel/services",
            Operator,
            competence::save_service,
        )
        .post(
            "/operateur/referentiel/synonymes",
            Operator,
            competence::save_synonyms,
        )
        // API
        .get("/api/v1/moi", Api("*"), jeton::api::me)
        .get("/api/v1/openapi.json", Public, openapi)
        .get(
            "/api/v1/demarches",
            Api("dossiers:lecture"),
            demarche::api::list_demarches,
        )
        .get(
            "/api/v1/demarches/{id}/dossiers",
            Api("dossiers:lecture"),
            dossier::api::list_dossiers,
        )
        .get(
            "/api/v1/dossiers/{id}",
            Api("dossiers:lecture"),
            dossier::api::get_dossier,
        )
        .post(
            "/api/v1/dossiers/{id}/etat",
            Api("dossiers:ecriture"),
            dossier::api::change_state,
        )
        .post(
            "/api/v1/dossiers/{id}/messages",
            Api("dossiers:ecriture"),
            dossier::api::send_message,
        )
        // Demo only
        .get("/demo/courriels", Demo, demo::mails)
        .get("/demo/courriels/{name}", Demo, demo::mail)
}
