//! The life of a dossier: states, who may move it where, and the tacit decision at the deadline.
//!
//! brouillon → déposé → en instruction → accepté | refusé | sans suite, with a correction loop
//! (en instruction → en correction → en instruction when the usager resubmits), withdrawal by the
//! usager before a decision, and reopening by an admin.

pub mod etape;

use crate::delai::{self, Delai};
use crate::demarche::TacitRule;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    Brouillon,
    Depose,
    EnInstruction,
    EnCorrection,
    Accepte,
    Refuse,
    SansSuite,
}

impl State {
    pub const ALL: [State; 7] = [
        Self::Brouillon,
        Self::Depose,
        Self::EnInstruction,
        Self::EnCorrection,
        Self::Accepte,
        Self::Refuse,
        Self::SansSuite,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Depose => "depose",
            Self::EnInstruction => "en_instruction",
            Self::EnCorrection => "en_correction",
            Self::Accepte => "accepte",
            Self::Refuse => "refuse",
            Self::SansSuite => "sans_suite",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Brouillon => "brouillon",
            Self::Depose => "déposé",
            Self::EnInstruction => "en instruction",
            Self::EnCorrection => "en attente de correction",
            Self::Accepte => "accepté",
            Self::Refuse => "refusé",
            Self::SansSuite => "classé sans suite",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Accepte | Self::Refuse | Self::SansSuite)
    }

    /// The usager may still change their answers.
    pub fn editable_by_usager(self) -> bool {
        matches!(self, Self::Brouillon | Self::Depose | Self::EnCorrection)
    }
}

/// What someone asks to do to a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The usager submits (or resubmits after a correction).
    Submit,
    /// The usager withdraws their request.
    Withdraw,
    StartInstruction,
    /// Back to the usager, with what to correct.
    RequestCorrection {
        message: String,
    },
    /// With the conditions of the acceptance, if any (they go in the decision letter).
    Accept {
        conditions: String,
    },
    Refuse {
        reason: String,
    },
    Close {
        reason: String,
    },
    /// An admin reopens a decided dossier.
    Reopen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Usager,
    Agent,
    Admin,
    /// The platform itself (the tacit decision job).
    Systeme,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("impossible depuis l'état « {} »", .0.label())]
    NotFromHere(State),
    #[error("action réservée à un autre rôle")]
    NotYours,
    #[error("le motif est obligatoire")]
    ReasonRequired,
}

/// The state after an action, or why it cannot happen.
pub fn transition(from: State, action: &Action, actor: Actor) -> Result<State, TransitionError> {
    use Action as A;
    use State as S;
    let agent = matches!(actor, Actor::Agent | Actor::Admin);
    let to = match (action, from) {
        (A::Submit, S::Brouillon | S::Depose) if actor == Actor::Usager => S::Depose,
        (A::Submit, S::EnCorrection) if actor == Actor::Usager => S::EnInstruction,
        (A::Withdraw, S::Brouillon | S::Depose | S::EnInstruction | S::EnCorrection)
            if actor == Actor::Usager =>
        {
            S::SansSuite
        }
        (A::StartInstruction, S::Depose) if agent => S::EnInstruction,
        (A::RequestCorrection { message }, S::Depose | S::EnInstruction) if agent => {
            if message.trim().is_empty() {
                return Err(TransitionError::ReasonRequired);
            }
            S::EnCorrection
        }
        (A::Accept { .. }, S::EnInstruction) if agent => S::Accepte,
        (A::Refuse { reason }, S::EnInstruction) if agent => {
            if reason.trim().is_empty() {
                return Err(TransitionError::ReasonRequired);
            }
            S::Refuse
        }
        (A::Close { reason }, S::Depose | S::EnInstruction | S::EnCorrection) if agent => {
            if reason.trim().is_empty() {
                return Err(TransitionError::ReasonRequired);
            }
            S::SansSuite
        }
        (A::Reopen, S::Accepte | S::Refuse | S::SansSuite) if actor == Actor::Admin => {
            S::EnInstruction
        }
        (
            A::Submit
            | A::Withdraw
            | A::StartInstruction
            | A::RequestCorrection { .. }
            | A::Accept { .. }
            | A::Refuse { .. }
            | A::Close { .. }
            | A::Reopen,
            _,
        ) => {
            let wrong_actor = match action {
                A::Submit | A::Withdraw => actor != Actor::Usager,
                A::Reopen => actor != Actor::Admin,
                _ => !agent,
            };
            return Err(if wrong_actor {
                TransitionError::NotYours
            } else {
                TransitionError::NotFromHere(from)
            });
        }
    };
    Ok(to)
}

pub const DAY_MS: i64 = 86_400_000;

/// When the instruction deadline expires: the end of its last day, Paris time, counted from the
/// day of the last complete deposit (`crate::delai`).
pub fn deadline(complete_since_ms: i64, delay: Option<Delai>) -> Option<i64> {
    delay.map(|d| delai::expiry(complete_since_ms, d))
}

/// The deadline of a dossier corrected at `now` whose clock stopped at `suspended_at`, when the
/// démarche says the clock resumes: the days that were left run again from today.
pub fn resumed_deadline(deadline_ms: i64, suspended_at_ms: i64, now_ms: i64) -> i64 {
    let stopped = delai::paris_day(suspended_at_ms);
    let last = delai::last_day(deadline_ms);
    let left = stopped
        .until(last)
        .map(|s| s.get_days())
        .unwrap_or(0)
        .max(0);
    let today = delai::paris_day(now_ms);
    delai::end_of_day(
        today
            .checked_add(jiff::Span::new().days(i64::from(left)))
            .unwrap_or(today),
    )
}

/// What the accusé de réception says will happen at the deadline (CRPA art. L112-11 and
/// R112-5): the day the request is réputée acceptée or rejetée and, for a rejection, the means
/// and time of appeal. The decision is born when the last day ends, so the day named is the next
/// one.
pub fn tacit_notice(rule: TacitRule, deadline_at: Option<i64>, collectivite: &str) -> TacitNotice {
    let Some(due) = deadline_at else {
        return TacitNotice {
            outcome: "Aucun délai n'est fixé : le service vous répondra.".into(),
            appeal: None,
        };
    };
    let day = delai::jour_long(delai::paris_day(due));
    let last = delai::jour_long(delai::last_day(due));
    match rule {
        TacitRule::Accord => TacitNotice {
            outcome: format!(
                "Sans décision du service au plus tard le {last}, votre demande sera réputée acceptée le {day} (le silence vaut accord)."
            ),
            appeal: None,
        },
        TacitRule::Rejet => TacitNotice {
            outcome: format!(
                "Sans décision du service au plus tard le {last}, votre demande sera réputée rejetée le {day} (le silence vaut rejet)."
            ),
            appeal: Some(format!(
                "Vous pourrez contester ce rejet dans les deux mois qui suivent le {day} : par un recours gracieux auprès de {collectivite}, ou par un recours devant le tribunal administratif (aussi en ligne sur www.telerecours.fr). Dans ce même délai, vous pouvez demander les motifs du rejet ; ils vous seront communiqués dans le mois, et le délai de recours court alors de nouveau deux mois à partir de leur réception."
            )),
        },
        TacitRule::Aucune => TacitNotice {
            outcome: format!("Le service vous répondra au plus tard le {last}."),
            appeal: None,
        },
    }
}

/// What the accusé de réception says of the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacitNotice {
    pub outcome: String,
    pub appeal: Option<String>,
}

/// The decision the law takes by itself when the deadline passed without one, if any. While the
/// usager is asked to correct, the dossier is incomplete and the clock does not run.
pub fn tacit_decision(
    state: State,
    deadline_at: Option<i64>,
    rule: TacitRule,
    now_ms: i64,
) -> Option<State> {
    if !matches!(state, State::Depose | State::EnInstruction) {
        return None;
    }
    let expired = deadline_at.is_some_and(|d| now_ms >= d);
    match (expired, rule) {
        (true, TacitRule::Accord) => Some(State::Accepte),
        (true, TacitRule::Rejet) => Some(State::Refuse),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use State as S;

    #[test]
    fn the_normal_path_and_the_correction_loop() {
        assert_eq!(
            transition(S::Brouillon, &A::Submit, Actor::Usager),
            Ok(S::Depose)
        );
        assert_eq!(
            transition(S::Depose, &A::StartInstruction, Actor::Agent),
            Ok(S::EnInstruction)
        );
        let correction = A::RequestCorrection {
            message: "Joignez un justificatif récent.".into(),
        };
        assert_eq!(
            transition(S::EnInstruction, &correction, Actor::Agent),
            Ok(S::EnCorrection)
        );
        assert_eq!(
            transition(S::EnCorrection, &A::Submit, Actor::Usager),
            Ok(S::EnInstruction)
        );
        assert_eq!(
            transition(
                S::EnInstruction,
                &A::Accept {
                    conditions: String::new()
                },
                Actor::Agent
            ),
            Ok(S::Accepte)
        );
        assert_eq!(
            transition(S::Accepte, &A::Reopen, Actor::Admin),
            Ok(S::EnInstruction)
        );
    }

    #[test]
    fn refusals_need_a_reason_and_roles_are_respected() {
        assert_eq!(
            transition(
                S::EnInstruction,
                &A::Refuse { reason: " ".into() },
                Actor::Agent
            ),
            Err(TransitionError::ReasonRequired)
        );
        assert_eq!(
            transition(
                S::EnInstruction,
                &A::Accept {
                    conditions: String::new()
                },
                Actor::Usager
            ),
            Err(TransitionError::NotYours)
        );
        assert_eq!(
            transition(S::Accepte, &A::Reopen, Actor::Agent),
            Err(TransitionError::NotYours)
        );
        assert_eq!(
            transition(
                S::Brouillon,
                &A::Accept {
                    conditions: String::new()
                },
                Actor::Agent
            ),
            Err(TransitionError::NotFromHere(S::Brouillon))
        );
        assert_eq!(
            transition(S::Accepte, &A::Withdraw, Actor::Usager),
            Err(TransitionError::NotFromHere(S::Accepte))
        );
    }

    #[test]
    fn the_tacit_rule_applies_at_the_end_of_the_last_day_only_while_complete() {
        let paris = |y, m, d, h| {
            delai::paris()
                .to_timestamp(jiff::civil::date(y, m, d).at(h, 0, 0, 0))
                .expect("a Paris time")
                .as_millisecond()
        };
        let deposit = paris(2026, 12, 1, 10);
        let due = deadline(deposit, Some(Delai::mois(2)));
        assert_eq!(due, Some(paris(2027, 2, 2, 0)));
        let before = paris(2027, 2, 1, 23) + 59 * 60_000;
        let at = paris(2027, 2, 2, 0);
        assert_eq!(
            tacit_decision(S::EnInstruction, due, TacitRule::Accord, before),
            None
        );
        assert_eq!(
            tacit_decision(S::EnInstruction, due, TacitRule::Accord, at),
            Some(S::Accepte)
        );
        assert_eq!(
            tacit_decision(S::Depose, due, TacitRule::Rejet, at),
            Some(S::Refuse)
        );
        assert_eq!(
            tacit_decision(S::EnCorrection, due, TacitRule::Accord, at),
            None
        );
        assert_eq!(
            tacit_decision(S::EnInstruction, due, TacitRule::Aucune, at),
            None
        );
        assert_eq!(tacit_decision(S::Accepte, due, TacitRule::Rejet, at), None);
        assert_eq!(
            tacit_decision(S::EnInstruction, None, TacitRule::Accord, at),
            None
        );
    }

    #[test]
    fn the_accuse_names_the_day_of_the_tacit_decision_and_the_appeal() {
        let deposit = delai::paris()
            .to_timestamp(jiff::civil::date(2026, 12, 1).at(10, 0, 0, 0))
            .expect("a Paris time")
            .as_millisecond();
        let due = deadline(deposit, Some(Delai::mois(2)));
        let accord = tacit_notice(TacitRule::Accord, due, "Dijon");
        assert!(
            accord.outcome.contains("au plus tard le 1er février 2027"),
            "{}",
            accord.outcome
        );
        assert!(
            accord
                .outcome
                .contains("réputée acceptée le 2 février 2027"),
            "{}",
            accord.outcome
        );
        assert_eq!(accord.appeal, None);
        let rejet = tacit_notice(TacitRule::Rejet, due, "Dijon");
        assert!(rejet.outcome.contains("réputée rejetée le 2 février 2027"));
        let appeal = rejet.appeal.expect("means of appeal");
        assert!(
            appeal.contains("deux mois") && appeal.contains("recours gracieux auprès de Dijon")
        );
        assert!(appeal.contains("tribunal administratif"));
    }

    #[test]
    fn a_resumed_clock_keeps_the_days_that_were_left() {
        let paris = |y, m, d| {
            delai::paris()
                .to_timestamp(jiff::civil::date(y, m, d).at(9, 0, 0, 0))
                .expect("a Paris time")
                .as_millisecond()
        };
        // Due at the end of 1 February; stopped on 11 January with 21 days left; corrected on
        // 20 January: due at the end of 10 February.
        let due = deadline(paris(2026, 12, 1), Some(Delai::mois(2))).expect("due");
        let resumed = resumed_deadline(due, paris(2027, 1, 11), paris(2027, 1, 20));
        assert_eq!(delai::last_day(resumed), jiff::civil::date(2027, 2, 10));
    }
}
