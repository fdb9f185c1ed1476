//! Démarches: the definition of a procedure (its form, deadlines and rules), the checks of a
//! definition, and the validation of what a usager typed against it.

pub mod definition;
pub mod diff;
pub mod edit;
pub mod fuzz;
pub mod modele;
pub mod tableau;
pub mod values;

pub use definition::{
    AgeBound, ApresCorrection, Comparaison, Condition, Definition, DefinitionError, Field,
    FieldKind, IdentityLevel, Ineligibilite, JourDeReference, Orientation, Page, Regle, TacitRule,
};
pub use values::{validate, Answers, FieldError};

#[cfg(test)]
mod regles_tests;
#[cfg(test)]
mod tests;
