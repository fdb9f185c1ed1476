//! Demo data: the région Bourgogne-Franche-Comté and some of its collectivités. Idempotent.

use guichet_domain::role::Role;
use guichet_domain::territory::EntityKind;
use guichet_store::account::{self, Kind};
use guichet_store::tenant::{self, Contact, Target};
use guichet_store::{team, territory, Db};

/// The password of every demo account (demo only; documented in the README).
pub const DEMO_PASSWORD: &str = "demo-guichet-2026";
pub const DEMO_USAGER: &str = "usager@demo.example";
pub const DEMO_OPERATOR: &str = "operateur@demo.example";

struct DemoTenant {
    target: Target,
    kind: EntityKind,
    code: &'static str,
    contact: Contact,
    operator: bool,
}

fn contact(email: &str, phone: &str, address: &str) -> Contact {
    Contact {
        email: Some(email.into()),
        phone: Some(phone.into()),
        address: Some(address.into()),
        website: None,
    }
}

/// The communes of the demo; their EPCI join too.
const DEMO_COMMUNES: &[(&str, &str, &str, &str)] = &[
    (
        "21231",
        "accueil@dijon.example",
        "03 80 00 00 01",
        "Hôtel de ville, place de la Libération, 21000 Dijon",
    ),
    (
        "71270",
        "accueil@macon.example",
        "03 85 00 00 02",
        "Hôtel de ville, rue Sigorgne, 71000 Mâcon",
    ),
    (
        "21603",
        "mairie@semur-en-auxois.example",
        "03 80 00 00 03",
        "Mairie, place Gaveau, 21140 Semur-en-Auxois",
    ),
];

pub async fn seed(db: &Db) -> anyhow::Result<()> {
    let mut wanted = vec![
        DemoTenant {
            target: Target::Region("27".into()),
            kind: EntityKind::Region,
            code: "27",
            contact: contact(
                "contact@bfc.example",
                "03 81 00 00 00",
                "4 square Castan, 25000 Besançon",
            ),
            operator: true,
        },
        DemoTenant {
            target: Target::Departement("21".into()),
            kind: EntityKind::Departement,
            code: "21",
            contact: contact(
                "contact@cotedor.example",
                "03 80 00 00 21",
                "53 bis rue de la Préfecture, 21000 Dijon",
            ),
            operator: false,
        },
        DemoTenant {
            target: Target::Departement("71".into()),
            kind: EntityKind::Departement,
            code: "71",
            contact: contact(
                "contact@saoneetloire.example",
                "03 85 00 00 71",
                "Espace Duhesme, 71000 Mâcon",
            ),
            operator: false,
        },
    ];
    let mut epcis = Vec::new();
    for (insee, email, phone, address) in DEMO_COMMUNES {
        wanted.push(DemoTenant {
            target: Target::Insee((*insee).into()),
            kind: EntityKind::Commune,
            code: insee,
            contact: contact(email, phone, address),
            operator: false,
        });
        if let Some(e) = territory::commune_details(db, insee)
            .await?
            .and_then(|d| d.epci)
        {
            epcis.push(e.siren);
        }
    }
    for t in wanted {
        if tenant::by_entity(db, t.kind, t.code).await?.is_none() {
            tenant::add(db, &t.target, &t.contact, t.operator).await?;
        }
    }
    for siren in &epcis {
        if tenant::by_entity(db, EntityKind::Epci, siren)
            .await?
            .is_none()
        {
            tenant::add(
                db,
                &Target::Siren(siren.clone()),
                &Contact::default(),
                false,
            )
            .await?;
        }
    }
    seed_accounts(db).await
}

/// The address of the demo agent of a collectivité.
pub fn agent_email(slug: &str) -> String {
    format!("agent.{slug}@demo.example")
}

async fn ensure_account(
    db: &Db,
    kind: Kind,
    email: &str,
    name: &str,
    totp: bool,
) -> anyhow::Result<i64> {
    let user = match account::by_email(db, email).await? {
        Some(u) => u,
        None => account::create(db, kind, email, name, Some(DEMO_PASSWORD))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    account::mark_email_confirmed(db, user.id).await?;
    if totp && !user.totp_enabled {
        account::force_totp(db, user.id, &account::demo_totp_secret(email)).await?;
    }
    Ok(user.id)
}

/// One usager, one agent per collectivité (with every role, so that each can be tried), one operator.
async fn seed_accounts(db: &Db) -> anyhow::Result<()> {
    ensure_account(db, Kind::Usager, DEMO_USAGER, "Camille Usager", false).await?;
    for t in tenant::list(db).await? {
        let email = agent_email(&t.slug);
        let id =
            ensure_account(db, Kind::Agent, &email, &format!("Agent {}", t.name), true).await?;
        for role in Role::TENANT_ROLES {
            team::grant(db, t.id, id, role, None).await?;
        }
        if t.is_operator {
            let op = ensure_account(
                db,
                Kind::Agent,
                DEMO_OPERATOR,
                "Opérateur de la région",
                true,
            )
            .await?;
            team::grant(db, t.id, op, Role::Operateur, None).await?;
            team::grant(db, t.id, op, Role::Admin, None).await?;
        }
    }
    Ok(())
}

pub async fn print_welcome(db: &Db, address: std::net::SocketAddr) -> anyhow::Result<()> {
    println!("Guichet (démo) : http://{address}/");
    println!("Collectivités de démonstration :");
    for t in tenant::list(db).await? {
        println!("  - {} : http://{address}/collectivites/{}", t.name, t.slug);
    }
    println!();
    println!("Comptes de démonstration (mot de passe de tous : {DEMO_PASSWORD}) :");
    println!("  - usager : {DEMO_USAGER}");
    println!(
        "  - opérateur : {DEMO_OPERATOR} (second facteur, clé TOTP {})",
        account::demo_totp_secret(DEMO_OPERATOR)
    );
    for t in tenant::list(db).await? {
        let email = agent_email(&t.slug);
        println!(
            "  - agent de {} (admin, instructeur, modérateur, publication) : {email} (clé TOTP {})",
            t.name,
            account::demo_totp_secret(&email)
        );
    }
    println!(
        "Codes du second facteur en cours et courriels envoyés : http://{address}/demo/courriels"
    );
    Ok(())
}
