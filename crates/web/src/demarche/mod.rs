pub mod api;
pub mod conception;
pub mod editeur;
pub mod formulaire;
pub mod modele;
