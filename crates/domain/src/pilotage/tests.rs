use super::grille::{grille, service, Mesures, Niveau, Service};
use super::*;

// 2026-03-31 23:30 in Paris (summer time started on 29 March): 21:30 UTC.
const END_OF_MARCH_PARIS: i64 = 1_774_992_600_000;
const DAY: i64 = 86_400_000;

fn deposited(at: i64) -> Faits {
    Faits {
        state: State::Depose,
        canal: Canal::EnLigne,
        submitted_at: Some(at),
        decided_at: None,
        deadline_at: Some(at + 60 * DAY),
        tacit: false,
        asked_again: Some(2),
    }
}

#[test]
fn months_are_paris_months() {
    assert_eq!(month_of(END_OF_MARCH_PARIS), "2026-03");
    // Ninety minutes later it is April in Paris, still March in UTC.
    assert_eq!(month_of(END_OF_MARCH_PARIS + 90 * 60_000), "2026-04");
    assert_eq!(months_before("2026-03", 11), "2025-04");
    assert_eq!(months_before("2026-01", 1), "2025-12");
    assert_eq!(
        months("2025-11", "2026-02"),
        ["2025-11", "2025-12", "2026-01", "2026-02"]
    );
}

#[test]
fn a_deposit_counts_once_and_a_decision_moves_nothing_of_it() {
    let before = deposited(END_OF_MARCH_PARIS);
    let first = difference(None, Some(&before));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].month, "2026-03");
    assert_eq!(first[0].comptes.deposited, 1);
    assert_eq!(first[0].comptes.measured, 1);
    assert_eq!(first[0].comptes.asked_again, 2);

    let decided_at = END_OF_MARCH_PARIS + 10 * DAY;
    let after = Faits {
        state: State::Accepte,
        decided_at: Some(decided_at),
        ..before.clone()
    };
    let change = difference(Some(&before), Some(&after));
    assert_eq!(change.len(), 1, "{change:?}");
    let c = &change[0];
    assert_eq!(c.month, "2026-04");
    assert_eq!(c.comptes.deposited, 0);
    assert_eq!(
        (
            c.comptes.decided,
            c.comptes.accepted,
            c.comptes.within_deadline
        ),
        (1, 1, 1)
    );
    assert_eq!(c.delay, Some((10, 1)));

    // Reopened: the decision is taken back, exactly.
    let reopened = difference(Some(&after), Some(&before));
    assert_eq!(reopened[0].comptes.decided, -1);
    assert_eq!(reopened[0].delay, Some((10, -1)));
}

#[test]
fn a_late_tacit_refusal_counts_as_such() {
    let before = deposited(END_OF_MARCH_PARIS);
    let after = Faits {
        state: State::Refuse,
        decided_at: Some(END_OF_MARCH_PARIS + 61 * DAY),
        tacit: true,
        ..before.clone()
    };
    let c = &difference(Some(&before), Some(&after))[0];
    assert_eq!((c.comptes.refused, c.comptes.tacit), (1, 1));
    assert_eq!((c.comptes.with_deadline, c.comptes.within_deadline), (1, 0));
    assert_eq!(c.delay, Some((61, 1)));
}

#[test]
fn drafts_count_nothing() {
    let draft = Faits {
        state: State::Brouillon,
        submitted_at: None,
        ..deposited(0)
    };
    assert!(difference(None, Some(&draft)).is_empty());
}

#[test]
fn delays_fall_in_buckets_and_quantiles_read_them_back() {
    assert_eq!(delay_bucket(0), 0);
    assert_eq!(delay_bucket(60), 60);
    assert_eq!(delay_bucket(61), 61);
    assert_eq!(delay_bucket(67), 61);
    assert_eq!(delay_bucket(68), 68);
    assert_eq!(delay_bucket(200), 182);
    assert_eq!(delay_bucket(5000), 730);
    let h = [(3, 5), (10, 4), (40, 1)];
    assert_eq!(quantile(&h, 0.5), Some(3));
    assert_eq!(quantile(&h, 0.9), Some(10));
    assert_eq!(quantile(&h, 1.0), Some(40));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn small_counts_are_withheld() {
    assert_eq!(public_count(0), Some(0));
    assert_eq!(public_count(4), None);
    assert_eq!(public_count(5), Some(5));
    assert_eq!(share(1, 4), None);
    assert_eq!(percent(share(3, 8).unwrap_or_default()), "37,5 %");
}

#[test]
fn the_grid_uses_the_national_thresholds() {
    let m = Mesures {
        published: true,
        franceconnect: true,
        ratings: 99,
        rating_sum: 990,
        measured: 10,
        asked_again: 0,
        deposited_online: 8,
        deposited: 10,
        accessibility_rate: Some(100),
        axe: Some((40, 0)),
    };
    let platform = Service {
        requests: 100_000,
        failed: 50,
        total_ms: 3_000_000,
        axe: Some((40, 0)),
    };
    let mut g = grille(&m);
    g.extend(service(&platform));
    let level = |name: &str| {
        g.iter()
            .find(|c| c.name == name)
            .map(|c| c.niveau)
            .expect(name)
    };
    // 99 answers: not shown yet.
    assert_eq!(level("Satisfaction des usagers"), Niveau::NonMesure);
    assert_eq!(level("Dites-le-nous une fois"), Niveau::Atteint);
    assert_eq!(level("Accessibilité"), Niveau::Atteint);
    // 99.95 % available, 30 ms on average.
    assert_eq!(level("Disponibilité"), Niveau::Atteint);
    assert_eq!(level("Temps de réponse"), Niveau::Atteint);

    let m = Mesures {
        ratings: 100,
        rating_sum: 700,
        asked_again: 4,
        accessibility_rate: Some(99),
        ..m
    };
    let mut g = grille(&m);
    g.extend(service(&Service {
        failed: 200,
        ..platform
    }));
    let level = |name: &str| g.iter().find(|c| c.name == name).map(|c| c.niveau);
    assert_eq!(level("Satisfaction des usagers"), Some(Niveau::Partiel));
    assert_eq!(level("Dites-le-nous une fois"), Some(Niveau::Partiel));
    // Only a total conformity counts.
    assert_eq!(level("Accessibilité"), Some(Niveau::Partiel));
    assert_eq!(
        level("Contrôle automatique de l'accessibilité"),
        Some(Niveau::Atteint)
    );
    // 99.8 %: under 99.9.
    assert_eq!(level("Disponibilité"), Some(Niveau::Partiel));
}

#[test]
fn a_transferred_signalement_moves_its_counts() {
    use crate::signalement::State as S;
    let made = FaitsSignalement {
        tenant_id: 1,
        category_id: 7,
        commune_insee: "21231".into(),
        state: S::AConfirmer,
        created_at: END_OF_MARCH_PARIS,
        resolved_at: None,
    };
    // Not public yet: nothing.
    assert!(signalement_difference(None, Some(&made)).is_empty());
    let confirmed = FaitsSignalement {
        state: S::Nouveau,
        ..made.clone()
    };
    let d = signalement_difference(Some(&made), Some(&confirmed));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0 .3, "2026-03");
    assert_eq!(d[0].1.reported, 1);
    let moved = FaitsSignalement {
        tenant_id: 2,
        ..confirmed.clone()
    };
    let d = signalement_difference(Some(&confirmed), Some(&moved));
    let by_tenant: Vec<(i64, i64)> = d.iter().map(|(k, c)| (k.0, c.reported)).collect();
    assert_eq!(by_tenant, [(1, -1), (2, 1)]);
    let resolved = FaitsSignalement {
        state: S::Resolu,
        resolved_at: Some(END_OF_MARCH_PARIS + 3 * DAY),
        ..moved.clone()
    };
    let d = signalement_difference(Some(&moved), Some(&resolved));
    assert_eq!(
        d[0].1,
        ComptesSignalement {
            reported: 0,
            resolved: 1,
            rejected: 0,
            resolution_days: 3
        }
    );
}
