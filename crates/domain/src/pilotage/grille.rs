//! The observatoire's grid: each published démarche scored on the criteria of the State's
//! observatoire of essential démarches ("Vos démarches numériques essentielles"), with its
//! thresholds where it gives them: satisfaction shown from 100 answers, accessibility counted
//! only when total, availability above 99.9 %, pages under 0.4 s.

/// How a criterion stands. Shown as words, never by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Niveau {
    Atteint,
    Partiel,
    NonAtteint,
    /// Not enough data (or nothing declared) to judge.
    NonMesure,
    /// A figure given for information, without a threshold.
    Information,
}

impl Niveau {
    pub fn label(self) -> &'static str {
        match self {
            Self::Atteint => "Atteint",
            Self::Partiel => "Partiel",
            Self::NonAtteint => "Non atteint",
            Self::NonMesure => "Non mesuré",
            Self::Information => "Information",
        }
    }

    /// The CSS class of the badge.
    pub fn class(self) -> &'static str {
        match self {
            Self::Atteint => "niveau-atteint",
            Self::Partiel => "niveau-partiel",
            Self::NonAtteint => "niveau-non-atteint",
            Self::NonMesure | Self::Information => "niveau-neutre",
        }
    }
}

/// Satisfaction is shown from this many answers, as in the national observatoire.
pub const MIN_RATINGS: i64 = 100;

/// What the grid reads of a démarche and of the platform, over the period shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesures {
    pub published: bool,
    pub franceconnect: bool,
    pub ratings: i64,
    pub rating_sum: i64,
    /// Deposits measured for "Dites-le-nous une fois", and the fields they asked again.
    pub measured: i64,
    pub asked_again: i64,
    /// Deposits by channel: online, and in all.
    pub deposited_online: i64,
    pub deposited: i64,
    /// The collectivité's declared accessibility audit: conformity rate in percent.
    pub accessibility_rate: Option<i64>,
    /// The platform's automatic check (axe-core) of the pages a usager goes through: pages
    /// checked and violations found; None when it has not run on this version.
    pub axe: Option<(i64, i64)>,
}

/// The platform's own measures of its service: page requests served, those that failed (5xx),
/// their total time in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Service {
    pub requests: i64,
    pub failed: i64,
    pub total_ms: i64,
    /// The automatic accessibility check of the platform's pages (axe-core): pages checked and
    /// violations found.
    pub axe: Option<(i64, i64)>,
}

/// One line of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Critere {
    pub name: &'static str,
    pub value: String,
    pub niveau: Niveau,
}

fn decimal(x: f64, digits: usize) -> String {
    format!("{x:.digits$}").replace('.', ",")
}

/// The grid of a démarche (the platform's service criteria apart: `service`).
pub fn grille(m: &Mesures) -> Vec<Critere> {
    let mut out = Vec::with_capacity(8);
    out.push(Critere {
        name: "Réalisable en ligne",
        value: if m.published { "Oui" } else { "Non" }.into(),
        niveau: if m.published {
            Niveau::Atteint
        } else {
            Niveau::NonAtteint
        },
    });
    out.push(if m.ratings >= MIN_RATINGS {
        let score = m.rating_sum as f64 / m.ratings as f64;
        Critere {
            name: "Satisfaction des usagers",
            value: format!("{} / 10 ({} avis)", decimal(score, 1), m.ratings),
            niveau: match score {
                s if s >= 8.0 => Niveau::Atteint,
                s if s >= 5.0 => Niveau::Partiel,
                _ => Niveau::NonAtteint,
            },
        }
    } else {
        Critere {
            name: "Satisfaction des usagers",
            value: format!("Moins de {MIN_RATINGS} avis"),
            niveau: Niveau::NonMesure,
        }
    });
    out.push(if m.measured >= super::SMALL {
        let per = m.asked_again as f64 / m.measured as f64;
        Critere {
            name: "Dites-le-nous une fois",
            value: if m.asked_again == 0 {
                "Aucune information connue redemandée".into()
            } else {
                format!(
                    "{} information(s) déjà connue(s) redemandée(s) par dossier en moyenne",
                    decimal(per, 2)
                )
            },
            niveau: match m.asked_again {
                0 => Niveau::Atteint,
                _ if per < 1.0 => Niveau::Partiel,
                _ => Niveau::NonAtteint,
            },
        }
    } else {
        Critere {
            name: "Dites-le-nous une fois",
            value: "Pas assez de dépôts mesurés".into(),
            niveau: Niveau::NonMesure,
        }
    });
    out.push(match m.accessibility_rate {
        Some(100) if m.axe.is_none_or(|(_, n)| n == 0) => Critere {
            name: "Accessibilité",
            value: "Totalement conforme (audit déclaré : 100 %)".into(),
            niveau: Niveau::Atteint,
        },
        Some(rate) => Critere {
            name: "Accessibilité",
            value: format!("Partiellement conforme (audit déclaré : {rate} %)"),
            niveau: if rate >= 50 {
                Niveau::Partiel
            } else {
                Niveau::NonAtteint
            },
        },
        None => Critere {
            name: "Accessibilité",
            value: "Aucun audit déclaré".into(),
            niveau: Niveau::NonAtteint,
        },
    });
    out.push(Critere {
        name: "FranceConnect",
        value: if m.franceconnect {
            "Proposé"
        } else {
            "Non proposé"
        }
        .into(),
        niveau: if m.franceconnect {
            Niveau::Atteint
        } else {
            Niveau::NonAtteint
        },
    });
    out.push(match super::share(m.deposited_online, m.deposited) {
        Some(p) => Critere {
            name: "Dossiers déposés en ligne",
            value: format!("{} des dossiers", super::percent(p)),
            niveau: Niveau::Information,
        },
        None => Critere {
            name: "Dossiers déposés en ligne",
            value: "Pas assez de dossiers".into(),
            niveau: Niveau::NonMesure,
        },
    });
    out
}

/// The criteria every démarche of the platform shares: availability, response time, and the
/// automatic accessibility check of its pages.
pub fn service(m: &Service) -> Vec<Critere> {
    let mut out = Vec::with_capacity(3);
    out.push(match m.axe {
        Some((pages, 0)) => Critere {
            name: "Contrôle automatique de l'accessibilité",
            value: format!("{pages} pages vérifiées avec axe-core, aucune erreur"),
            niveau: Niveau::Atteint,
        },
        Some((pages, n)) => Critere {
            name: "Contrôle automatique de l'accessibilité",
            value: format!("{n} erreur(s) sur {pages} pages vérifiées avec axe-core"),
            niveau: Niveau::NonAtteint,
        },
        None => Critere {
            name: "Contrôle automatique de l'accessibilité",
            value: "Pas encore mesuré".into(),
            niveau: Niveau::NonMesure,
        },
    });
    if m.requests > 0 {
        let available = 100.0 * (m.requests - m.failed) as f64 / m.requests as f64;
        out.push(Critere {
            name: "Disponibilité",
            value: format!("{} %", decimal(available, 2)),
            niveau: match available {
                a if a > 99.9 => Niveau::Atteint,
                a if a >= 99.0 => Niveau::Partiel,
                _ => Niveau::NonAtteint,
            },
        });
        let mean = m.total_ms as f64 / m.requests as f64 / 1000.0;
        out.push(Critere {
            name: "Temps de réponse",
            value: format!("{} s en moyenne", decimal(mean, 3)),
            niveau: match mean {
                t if t < 0.4 => Niveau::Atteint,
                t if t < 1.0 => Niveau::Partiel,
                _ => Niveau::NonAtteint,
            },
        });
    } else {
        for name in ["Disponibilité", "Temps de réponse"] {
            out.push(Critere {
                name,
                value: "Pas encore mesuré".into(),
                niveau: Niveau::NonMesure,
            });
        }
    }
    out
}
