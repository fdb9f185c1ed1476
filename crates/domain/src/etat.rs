//! The platform's state as residents see it (`/etat`): each service working, disturbed, under
//! announced maintenance or unavailable, and the maintenances the operator announces.

/// The services a resident relies on, as they name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Demarches,
    Signalements,
    Connexion,
    Courriels,
    Fichiers,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Self::Demarches,
        Self::Signalements,
        Self::Connexion,
        Self::Courriels,
        Self::Fichiers,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Demarches => "demarches",
            Self::Signalements => "signalements",
            Self::Connexion => "connexion",
            Self::Courriels => "courriels",
            Self::Fichiers => "fichiers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Demarches => "Démarches en ligne et suivi des dossiers",
            Self::Signalements => "Signalements",
            Self::Connexion => "Connexion (compte, FranceConnect)",
            Self::Courriels => "Envoi des courriels",
            Self::Fichiers => "Pièces jointes",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// What a resident is told about a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Normal,
    Perturbe,
    Maintenance,
    Indisponible,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Normal => "Fonctionne normalement",
            Self::Perturbe => "Perturbé",
            Self::Maintenance => "En maintenance",
            Self::Indisponible => "Indisponible",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Perturbe => "perturbe",
            Self::Maintenance => "maintenance",
            Self::Indisponible => "indisponible",
        }
    }
}

/// A maintenance announced by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub id: i64,
    pub services: Vec<Service>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub message: String,
}

impl Maintenance {
    pub fn current(&self, now: i64) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

pub const MESSAGE_MAX: usize = 500;

/// What the platform measured of itself, the moment the page is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probes {
    /// The database answers.
    pub database: bool,
    /// The file store answers.
    pub files: bool,
    /// Age of the oldest mail waiting to be sent (ms), if any.
    pub oldest_mail_ms: Option<i64>,
}

/// A mail waiting longer than this means sending is disturbed.
pub const MAIL_LATE_MS: i64 = 15 * 60 * 1000;

/// The state of a service: unavailable if what it needs does not answer, in maintenance during an
/// announced maintenance, disturbed when it works slowly.
pub fn status_of(
    service: Service,
    probes: &Probes,
    maintenances: &[Maintenance],
    now: i64,
) -> Status {
    if !probes.database {
        return Status::Indisponible;
    }
    if service == Service::Fichiers && !probes.files {
        return Status::Indisponible;
    }
    if maintenances
        .iter()
        .any(|m| m.current(now) && m.services.contains(&service))
    {
        return Status::Maintenance;
    }
    if service == Service::Courriels && probes.oldest_mail_ms.is_some_and(|age| age > MAIL_LATE_MS)
    {
        return Status::Perturbe;
    }
    Status::Normal
}

/// Why an announcement is refused, by field.
pub fn check(
    services: &[Service],
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    message: &str,
    now: i64,
) -> Vec<(&'static str, &'static str)> {
    let mut problems = Vec::new();
    if services.is_empty() {
        problems.push(("services", "Cochez au moins un service concerné."));
    }
    if starts_at.is_none() {
        problems.push((
            "debut_jour",
            "Indiquez le début, par exemple 2026-12-15 et 22:00.",
        ));
    }
    match (starts_at, ends_at) {
        (_, None) => problems.push((
            "fin_jour",
            "Indiquez la fin, par exemple 2026-12-16 et 02:00.",
        )),
        (Some(s), Some(e)) if e <= s => {
            problems.push(("fin_jour", "La fin doit venir après le début."))
        }
        (_, Some(e)) if e <= now => problems.push(("fin_jour", "La fin doit être dans le futur.")),
        _ => {}
    }
    let message = message.trim();
    if message.is_empty() {
        problems.push(("message", "Expliquez aux usagers ce qui se passe."));
    } else if message.chars().count() > MESSAGE_MAX {
        problems.push(("message", "500 caractères au plus."));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maintenance(services: Vec<Service>, starts_at: i64, ends_at: i64) -> Maintenance {
        Maintenance {
            id: 1,
            services,
            starts_at,
            ends_at,
            message: "Mise à jour".into(),
        }
    }

    #[test]
    fn a_service_is_in_maintenance_only_while_announced_and_unavailable_above_all() {
        let ok = Probes {
            database: true,
            files: true,
            oldest_mail_ms: None,
        };
        let m = [maintenance(vec![Service::Demarches], 100, 200)];
        assert_eq!(status_of(Service::Demarches, &ok, &m, 50), Status::Normal);
        assert_eq!(
            status_of(Service::Demarches, &ok, &m, 100),
            Status::Maintenance
        );
        assert_eq!(
            status_of(Service::Signalements, &ok, &m, 150),
            Status::Normal
        );
        assert_eq!(status_of(Service::Demarches, &ok, &m, 200), Status::Normal);
        let down = Probes {
            database: false,
            ..ok
        };
        assert_eq!(
            status_of(Service::Demarches, &down, &m, 150),
            Status::Indisponible
        );
        let no_files = Probes { files: false, ..ok };
        assert_eq!(
            status_of(Service::Fichiers, &no_files, &[], 0),
            Status::Indisponible
        );
        assert_eq!(
            status_of(Service::Demarches, &no_files, &[], 0),
            Status::Normal
        );
        let late = Probes {
            oldest_mail_ms: Some(MAIL_LATE_MS + 1),
            ..ok
        };
        assert_eq!(
            status_of(Service::Courriels, &late, &[], 0),
            Status::Perturbe
        );
        let recent = Probes {
            oldest_mail_ms: Some(60_000),
            ..ok
        };
        assert_eq!(
            status_of(Service::Courriels, &recent, &[], 0),
            Status::Normal
        );
    }

    #[test]
    fn an_announcement_names_services_a_future_end_after_its_start_and_a_message() {
        assert!(check(&[Service::Demarches], Some(10), Some(20), "Mise à jour", 5).is_empty());
        let fields = |p: Vec<(&'static str, &'static str)>| {
            p.into_iter().map(|(f, _)| f).collect::<Vec<_>>()
        };
        assert_eq!(fields(check(&[], Some(10), Some(20), "x", 5)), ["services"]);
        assert_eq!(
            fields(check(&[Service::Fichiers], Some(20), Some(10), "x", 5)),
            ["fin_jour"]
        );
        assert_eq!(
            fields(check(&[Service::Fichiers], Some(1), Some(2), "x", 5)),
            ["fin_jour"]
        );
        assert_eq!(
            fields(check(&[Service::Fichiers], None, Some(20), "x", 5)),
            ["debut_jour"]
        );
        assert_eq!(
            fields(check(&[Service::Fichiers], Some(10), Some(20), "  ", 5)),
            ["message"]
        );
        assert_eq!(
            fields(check(
                &[Service::Fichiers],
                Some(10),
                Some(20),
                &"é".repeat(501),
                5
            )),
            ["message"]
        );
    }
}
