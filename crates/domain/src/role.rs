//! Roles within a collectivité and what each permits. Deny by default: a permission is granted
//! only by a role listed here.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Role {
    /// Manages the collectivité: team, démarches, settings, journal.
    Admin,
    /// Processes dossiers.
    Instructeur,
    /// Moderates and processes signalements.
    Moderateur,
    /// Publishes open data.
    Publication,
    /// Runs the platform for the région (only on the operating région).
    Operateur,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Reach the collectivité's back office at all.
    BackOffice,
    ManageEquipe,
    /// Design, publish and close démarches.
    DesignDemarches,
    ViewJournal,
    ManageJetons,
    ProcessDossiers,
    ModerateSignalements,
    /// Adjust the categories of signalements (own categories, extra questions, moderation).
    ConfigureSignalements,
    PublishData,
    /// Run the council: assemblies, members, sessions, votes, publication of délibérations.
    ManageConseil,
    /// Platform-wide operation: onboarding collectivités, platform health and indicators.
    OperatePlatform,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::Instructeur,
        Self::Moderateur,
        Self::Publication,
        Self::Operateur,
    ];

    /// The roles an admin can give within an ordinary collectivité.
    pub const TENANT_ROLES: [Role; 4] = [
        Self::Admin,
        Self::Instructeur,
        Self::Moderateur,
        Self::Publication,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Instructeur => "instructeur",
            Self::Moderateur => "moderateur",
            Self::Publication => "publication",
            Self::Operateur => "operateur",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "Administrateur",
            Self::Instructeur => "Instructeur",
            Self::Moderateur => "Modérateur",
            Self::Publication => "Publication des données",
            Self::Operateur => "Opérateur de la plateforme",
        }
    }

    pub fn grants(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Self::Admin => matches!(
                permission,
                P::BackOffice
                    | P::ManageEquipe
                    | P::DesignDemarches
                    | P::ViewJournal
                    | P::ManageJetons
                    | P::ConfigureSignalements
                    | P::ManageConseil
            ),
            Self::Instructeur => matches!(
                permission,
                P::BackOffice | P::ProcessDossiers | P::ManageJetons
            ),
            Self::Moderateur => matches!(permission, P::BackOffice | P::ModerateSignalements),
            Self::Publication => matches!(permission, P::BackOffice | P::PublishData),
            Self::Operateur => matches!(
                permission,
                P::BackOffice | P::OperatePlatform | P::ViewJournal | P::ManageEquipe
            ),
        }
    }
}

/// Whether any of these roles grants the permission.
pub fn allowed(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.grants(permission))
}

/// The permission an API scope acts with: a token can do through the API only what its owner's
/// roles let them do in the pages.
pub fn scope_permission(scope: &str) -> Option<Permission> {
    match scope {
        "dossiers:lecture" | "dossiers:ecriture" => Some(Permission::ProcessDossiers),
        "signalements:lecture" | "signalements:ecriture" => Some(Permission::ModerateSignalements),
        // An application that files reports for the public (FixMyStreet-like): set up by those
        // who configure the collectivité's signalements.
        "open311" => Some(Permission::ConfigureSignalements),
        _ => None,
    }
}

/// What a token may do now: a scope it was given, that its owner's current roles in the
/// token's collectivité still allow (a demotion takes effect at the token's next use).
pub fn token_allows(token_scopes: &[String], owner_roles: &[Role], scope: &str) -> bool {
    token_scopes.iter().any(|s| s == scope)
        && scope_permission(scope).is_some_and(|p| allowed(owner_roles, p))
}

/// A token lives at most a year.
pub const TOKEN_MAX_DAYS: u32 = 365;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_exceeds_its_owner_s_roles() {
        let scopes = vec!["dossiers:ecriture".to_string()];
        assert!(token_allows(
            &scopes,
            &[Role::Instructeur],
            "dossiers:ecriture"
        ));
        // An admin without the instructeur role cannot decide through the API either.
        assert!(!token_allows(&scopes, &[Role::Admin], "dossiers:ecriture"));
        // Demoted to modérateur: the token stops writing on dossiers.
        assert!(!token_allows(
            &scopes,
            &[Role::Moderateur],
            "dossiers:ecriture"
        ));
        // A scope not given stays closed whatever the roles.
        assert!(!token_allows(
            &scopes,
            &[Role::Instructeur],
            "dossiers:lecture"
        ));
        assert!(!token_allows(&scopes, &[Role::Instructeur], "inconnue"));
    }

    #[test]
    fn each_role_gets_only_its_permissions() {
        assert!(allowed(&[Role::Instructeur], Permission::ProcessDossiers));
        assert!(!allowed(&[Role::Instructeur], Permission::ManageEquipe));
        assert!(!allowed(&[Role::Moderateur], Permission::ProcessDossiers));
        assert!(allowed(&[Role::Admin], Permission::ViewJournal));
        assert!(!allowed(&[Role::Admin], Permission::OperatePlatform));
        assert!(!allowed(&[], Permission::BackOffice), "no role, no access");
    }
}
