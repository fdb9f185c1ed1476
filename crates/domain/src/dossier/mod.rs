//! The life of a dossier: states, who may move it where, and the tacit decision at the deadline.
//!
//! brouillon → déposé → en instruction → accepté | refusé | sans suite, with a correction loop
//! (en instruction → en correction → en instruction when the usager resubmits), withdrawal by the
//! usager before a decision, and reopening by an admin.

pub mod etape;

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

/// When the instruction deadline expires: `deadline_days` after the last complete deposit.
pub fn deadline(complete_since_ms: i64, deadline_days: Option<u32>) -> Option<i64> {
    deadline_days.map(|d| complete_since_ms + i64::from(d) * DAY_MS)
}

/// The decision the law takes by itself when the deadline passed without one, if any. While the
/// usager is asked to correct, the dossier is incomplete and the clock does not run.
pub fn tacit_decision(
    state: State,
    complete_since_ms: i64,
    deadline_days: Option<u32>,
    rule: TacitRule,
    now_ms: i64,
) -> Option<State> {
    if !matches!(state, State::Depose | State::EnInstruction) {
        return None;
    }
    let expired = deadline(complete_since_ms, deadline_days).is_some_and(|d| now_ms >= d);
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
    fn the_tacit_rule_applies_at_the_deadline_only_while_complete() {
        let deposit = 1_000 * DAY_MS;
        let before = deposit + 59 * DAY_MS;
        let at = deposit + 60 * DAY_MS;
        assert_eq!(
            tacit_decision(
                S::EnInstruction,
                deposit,
                Some(60),
                TacitRule::Accord,
                before
            ),
            None
        );
        assert_eq!(
            tacit_decision(S::EnInstruction, deposit, Some(60), TacitRule::Accord, at),
            Some(S::Accepte)
        );
        assert_eq!(
            tacit_decision(S::Depose, deposit, Some(60), TacitRule::Rejet, at),
            Some(S::Refuse)
        );
        assert_eq!(
            tacit_decision(S::EnCorrection, deposit, Some(60), TacitRule::Accord, at),
            None
        );
        assert_eq!(
            tacit_decision(S::EnInstruction, deposit, Some(60), TacitRule::Aucune, at),
            None
        );
        assert_eq!(
            tacit_decision(S::Accepte, deposit, Some(60), TacitRule::Rejet, at),
            None
        );
    }
}
