//! Pure domain rules of Guichet. Nothing here does I/O or reads the clock: time and data are
//! passed in, so every rule can be tested on its own.

pub mod acces;
pub mod anchor;
pub mod coffre;
pub mod collectivite;
pub mod competence;
pub mod conseil;
pub mod contours;
pub mod delai;
pub mod demarche;
pub mod donnees;
pub mod dossier;
pub mod etat;
pub mod franceconnect;
pub mod journal;
pub mod mandat;
pub mod net;
pub mod open311;
pub mod participation;
pub mod password;
pub mod pilotage;
pub mod profil;
pub mod role;
pub mod signalement;
pub mod siren;
pub mod territoire;
pub mod text;
pub mod throttle;
