//! FranceConnect's rules that do not depend on the protocol library: eIDAS levels and how the
//! identity claims become certified values of the profile.

/// Whether the level returned (`acr`) is at least the one asked: eidas1 < eidas2 < eidas3.
pub fn acr_satisfies(asked: &str, got: Option<&str>) -> bool {
    fn level(acr: &str) -> Option<u8> {
        acr.strip_prefix("eidas").and_then(|n| n.parse().ok())
    }
    if asked.is_empty() {
        return true;
    }
    match (level(asked), got.and_then(level)) {
        (Some(a), Some(g)) => g >= a,
        // An unknown scheme must match exactly.
        _ => got == Some(asked),
    }
}

/// FranceConnect's identity claims (OpenID Connect names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub given_name: String,
    pub family_name: String,
    /// Nom d'usage, when different from the birth name.
    pub preferred_username: Option<String>,
    /// YYYY-MM-DD
    pub birthdate: Option<String>,
    /// INSEE code of the commune of birth (empty when born abroad).
    pub birthplace: Option<String>,
    /// INSEE code of the country of birth (99100 for France).
    pub birthcountry: Option<String>,
    /// "female" | "male"
    pub gender: Option<String>,
    pub email: Option<String>,
}

impl Identity {
    /// The profile values it certifies.
    pub fn profile_values(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("identite.prenoms".to_string(), self.given_name.clone()),
            ("identite.nom".to_string(), self.family_name.clone()),
        ];
        let mut put = |key: &str, v: &Option<String>| {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                out.push((key.to_string(), v.to_string()));
            }
        };
        put("identite.nom_usage", &self.preferred_username);
        put("identite.naissance", &self.birthdate);
        put("identite.lieu_naissance", &self.birthplace);
        put("identite.pays_naissance", &self.birthcountry);
        let sex = match self.gender.as_deref() {
            Some("female") => Some("féminin".to_string()),
            Some("male") => Some("masculin".to_string()),
            _ => None,
        };
        put("identite.sexe", &sex);
        out.retain(|(_, v)| !v.trim().is_empty());
        out
    }

    /// How the person is called on Guichet.
    pub fn display_name(&self) -> String {
        let family = self
            .preferred_username
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.family_name);
        let first = self.given_name.split_whitespace().next().unwrap_or("");
        format!("{first} {family}").trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_returned_must_be_at_least_the_one_asked() {
        assert!(acr_satisfies("eidas1", Some("eidas1")));
        assert!(acr_satisfies("eidas1", Some("eidas2")));
        assert!(!acr_satisfies("eidas2", Some("eidas1")));
        assert!(!acr_satisfies("eidas1", None));
        assert!(!acr_satisfies("eidas1", Some("bricole")));
        assert!(acr_satisfies("", None));
    }

    #[test]
    fn claims_become_certified_profile_values() {
        let id = Identity {
            given_name: "Camille Marie".into(),
            family_name: "Dupont".into(),
            preferred_username: Some("Martin".into()),
            birthdate: Some("1985-04-12".into()),
            birthplace: Some("21231".into()),
            birthcountry: Some("99100".into()),
            gender: Some("female".into()),
            email: Some("c@exemple.fr".into()),
        };
        let v = id.profile_values();
        assert!(v.contains(&("identite.sexe".into(), "féminin".into())));
        assert!(v.contains(&("identite.nom_usage".into(), "Martin".into())));
        assert_eq!(id.display_name(), "Camille Martin");
        let no_usage = Identity {
            preferred_username: Some(String::new()),
            ..id
        };
        assert!(!no_usage
            .profile_values()
            .iter()
            .any(|(k, _)| k == "identite.nom_usage"));
    }
}
