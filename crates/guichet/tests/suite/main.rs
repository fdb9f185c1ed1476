//! The integration suite of Guichet: one test binary, a fresh database per test, run on SQLite
//! by default and on PostgreSQL when GUICHET_TEST_DATABASE_URL is set.

mod aidants;
mod api;
mod architecture;
mod audit;
mod authz;
mod backup;
mod cli;
mod collectivites;
mod conseil;
mod counter;
mod donnees;
mod dossiers;
mod durability;
mod editor;
mod etat;
mod filing;
mod first_day;
mod franceconnect;
mod identity;
mod instruction;
mod modeles;
mod object_storage;
mod one_door;
mod open311;
mod participation;
mod personas;
mod pilotage;
mod regles;
mod security;
mod shutdown;
mod signalements;
mod support;
mod tell_us_once;
mod territory;
mod web;
