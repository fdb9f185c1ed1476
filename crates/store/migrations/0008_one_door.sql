-- One door: the referential of competences (who holds which domain of local public action by
-- default under French law), overrides per territory, the national services the search also
-- finds (handled by the State, shown as links), and the synonyms of the search. All are seeded
-- here and then maintained by the operator (pages and CSV import/export).
CREATE TABLE competences (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    -- commune | epci | departement | region | etat
    level TEXT NOT NULL,
    -- The life situation the home page groups it under.
    situation TEXT NOT NULL,
    -- Comma-separated words residents use for it (searched).
    keywords TEXT NOT NULL DEFAULT ''
);

-- "For this territory, this competence is held by that entity": e.g. an EPCI holds waste
-- collection for its member communes (scope = the EPCI), a commune delegated school catering to
-- its EPCI (scope = the commune). The narrowest scope wins.
CREATE TABLE competence_overrides (
    id {{id}},
    competence TEXT NOT NULL REFERENCES competences(code),
    -- commune (INSEE) | epci (SIREN) | departement (code)
    scope_kind TEXT NOT NULL,
    scope_code TEXT NOT NULL,
    -- commune | epci | departement | region | etat
    holder_kind TEXT NOT NULL,
    holder_code TEXT NOT NULL DEFAULT '',
    UNIQUE (competence, scope_kind, scope_code)
);

CREATE TABLE national_services (
    id {{id}},
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    url TEXT NOT NULL,
    situation TEXT NOT NULL,
    keywords TEXT NOT NULL DEFAULT ''
);

-- One group of equivalent expressions per row, comma-separated.
CREATE TABLE synonyms (
    id {{id}},
    terms TEXT NOT NULL
);

-- The search index is rebuilt from these when they change; this counter tells every node.
CREATE TABLE search_generation (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO search_generation (id, generation) VALUES (1, 1);

INSERT INTO competences (code, label, level, situation, keywords) VALUES
    ('etat_civil', 'État civil : naissance, mariage, PACS, décès', 'commune', 'citoyennete', 'acte de naissance, acte de mariage, livret de famille, reconnaissance, changement de prénom, décès, pacs'),
    ('elections', 'Élections et listes électorales', 'commune', 'citoyennete', 'inscription sur les listes électorales, vote, procuration, carte électorale'),
    ('recensement_citoyen', 'Recensement citoyen', 'commune', 'citoyennete', 'recensement, 16 ans, journée défense et citoyenneté, jdc'),
    ('cimetieres', 'Cimetières et concessions funéraires', 'commune', 'citoyennete', 'concession, cimetière, inhumation, obsèques'),
    ('ecoles', 'Écoles maternelles et élémentaires', 'commune', 'famille_enfance', 'inscription scolaire, école, maternelle, élémentaire, dérogation scolaire'),
    ('restauration_scolaire', 'Restauration scolaire', 'commune', 'famille_enfance', 'cantine, repas, restaurant scolaire, menus, quotient familial'),
    ('periscolaire', 'Accueil périscolaire et de loisirs', 'commune', 'famille_enfance', 'garderie, périscolaire, centre de loisirs, mercredi, vacances, accueil du soir'),
    ('petite_enfance', 'Petite enfance', 'commune', 'famille_enfance', 'crèche, halte-garderie, multi-accueil, assistante maternelle, relais petite enfance'),
    ('voirie_communale', 'Voirie communale', 'commune', 'environnement_cadre_de_vie', 'rue, route communale, trottoir, chaussée abîmée, nid-de-poule, route abîmée, stationnement'),
    ('eclairage_public', 'Éclairage public', 'commune', 'environnement_cadre_de_vie', 'lampadaire, réverbère, éclairage, panne de lumière'),
    ('proprete_espaces_verts', 'Propreté et espaces verts', 'commune', 'environnement_cadre_de_vie', 'dépôt sauvage, tags, graffiti, arbre, parc, jardin, déchets abandonnés'),
    ('urbanisme', 'Urbanisme', 'commune', 'logement', 'permis de construire, déclaration préalable, certificat d''urbanisme, travaux, clôture, piscine, abri de jardin'),
    ('occupation_domaine_public', 'Occupation du domaine public', 'commune', 'entreprises_associations', 'terrasse, étalage, échafaudage, benne, déménagement, arrêté de stationnement'),
    ('vie_associative', 'Vie associative', 'commune', 'entreprises_associations', 'association, subvention, salle municipale, prêt de matériel'),
    ('collecte_dechets', 'Collecte et traitement des déchets', 'epci', 'environnement_cadre_de_vie', 'poubelle, bac, ordures ménagères, tri, déchetterie, encombrants, composteur'),
    ('eau_assainissement', 'Eau et assainissement', 'epci', 'logement', 'eau potable, compteur d''eau, fuite d''eau, assainissement, fosse septique, spanc'),
    ('transports_urbains', 'Transports urbains', 'epci', 'transports', 'bus, tramway, abonnement, navette, transport à la demande'),
    ('action_sociale', 'Action sociale et insertion', 'departement', 'solidarite_sante', 'rsa, revenu de solidarité active, insertion, aide sociale, fonds de solidarité'),
    ('autonomie', 'Autonomie des personnes âgées et handicapées', 'departement', 'solidarite_sante', 'apa, allocation personnalisée d''autonomie, pch, prestation de compensation du handicap, maison départementale des personnes handicapées, mdph, ehpad, maintien à domicile'),
    ('protection_enfance', 'Protection de l''enfance et PMI', 'departement', 'famille_enfance', 'pmi, protection maternelle et infantile, aide sociale à l''enfance, ase, agrément assistante maternelle, adoption'),
    ('colleges', 'Collèges', 'departement', 'famille_enfance', 'collège, bourse départementale, restauration au collège'),
    ('routes_departementales', 'Routes départementales', 'departement', 'transports', 'route départementale, rd, chaussée abîmée, nid-de-poule, route abîmée, déneigement, permission de voirie'),
    ('logement_aides', 'Aides au logement', 'departement', 'logement', 'fsl, fonds de solidarité logement, adaptation du logement, impayés de loyer'),
    ('lycees', 'Lycées', 'region', 'emploi_formation', 'lycée, manuels scolaires, carte avantages jeunes, aide aux lycéens'),
    ('transports_scolaires', 'Transports scolaires et interurbains', 'region', 'transports', 'car scolaire, transport scolaire, abonnement car, ligne interurbaine, ter'),
    ('formation_professionnelle', 'Formation professionnelle et apprentissage', 'region', 'emploi_formation', 'apprentissage, apprenti, formation, permis de conduire, reconversion, aide à la formation'),
    ('developpement_economique', 'Développement économique', 'region', 'entreprises_associations', 'aide aux entreprises, création d''entreprise, subvention entreprise, innovation'),
    ('routes_nationales', 'Routes nationales et autoroutes', 'etat', 'transports', 'route nationale, autoroute, rn, dir');

INSERT INTO national_services (title, description, url, situation, keywords) VALUES
    ('Passeport', 'Demande ou renouvellement de passeport : prendre rendez-vous dans une mairie équipée et faire une pré-demande en ligne.', 'https://passeport.ants.gouv.fr/', 'citoyennete', 'passeport, voyage, titre d''identité'),
    ('Carte nationale d''identité', 'Demande ou renouvellement de la carte d''identité : pré-demande en ligne, puis rendez-vous dans une mairie équipée.', 'https://passeport.ants.gouv.fr/demarches-en-ligne/faire-une-demande-de-carte-d-identite', 'citoyennete', 'cni, carte d''identité, pièce d''identité, titre d''identité'),
    ('Certificat d''immatriculation (carte grise)', 'Changement de titulaire, changement d''adresse, duplicata de la carte grise.', 'https://immatriculation.ants.gouv.fr/', 'transports', 'carte grise, immatriculation, vente de véhicule, voiture'),
    ('Permis de conduire (titre)', 'Inscription à l''examen, renouvellement, perte ou vol du permis de conduire.', 'https://permisdeconduire.ants.gouv.fr/', 'transports', 'permis, titre de conduite, perte de permis'),
    ('Extrait de casier judiciaire', 'Demande du bulletin n° 3 du casier judiciaire.', 'https://casier-judiciaire.justice.gouv.fr/', 'citoyennete', 'casier judiciaire, b3, bulletin n°3'),
    ('Impôts des particuliers', 'Déclaration de revenus, paiement, prélèvement à la source.', 'https://www.impots.gouv.fr/', 'entreprises_associations', 'impôt, déclaration de revenus, taxe foncière, avis d''imposition'),
    ('Allocations familiales et aides au logement (CAF)', 'Prestations familiales, APL, prime d''activité, auprès de la CAF.', 'https://www.caf.fr/', 'solidarite_sante', 'caf, apl, allocation logement, allocations familiales, prime d''activité'),
    ('Assurance maladie', 'Carte Vitale, remboursements, attestation de droits.', 'https://www.ameli.fr/', 'solidarite_sante', 'carte vitale, ameli, remboursement, sécurité sociale'),
    ('Retraite', 'Demande de retraite, relevé de carrière.', 'https://www.info-retraite.fr/', 'solidarite_sante', 'retraite, pension, relevé de carrière'),
    ('Inscription à France Travail', 'S''inscrire comme demandeur d''emploi, actualisation.', 'https://www.francetravail.fr/', 'emploi_formation', 'chômage, pôle emploi, demandeur d''emploi, allocation chômage'),
    ('Titre de séjour', 'Demande ou renouvellement d''un titre de séjour.', 'https://administration-etrangers-en-france.interieur.gouv.fr/', 'citoyennete', 'titre de séjour, étranger, naturalisation, visa'),
    ('Demande de logement social', 'Déposer ou renouveler une demande de logement social.', 'https://www.demande-logement-social.gouv.fr/', 'logement', 'hlm, logement social, demande de logement'),
    ('Aide MaPrimeRénov''', 'Aide de l''État à la rénovation énergétique du logement.', 'https://www.maprimerenov.gouv.fr/', 'logement', 'rénovation énergétique, isolation, chaudière, maprimerenov'),
    ('Création d''entreprise', 'Déclarer la création d''une entreprise ou d''une micro-entreprise.', 'https://formalites.entreprises.gouv.fr/', 'entreprises_associations', 'micro-entreprise, auto-entrepreneur, création d''entreprise, siret'),
    ('Procuration de vote', 'Faire établir une procuration en ligne (Ma procuration).', 'https://www.maprocuration.gouv.fr/', 'citoyennete', 'procuration, vote, élection');

INSERT INTO synonyms (terms) VALUES
    ('cni, carte d''identité, carte nationale d''identité, pièce d''identité'),
    ('cantine, restauration scolaire, repas scolaire'),
    ('apa, allocation personnalisée d''autonomie'),
    ('pch, prestation de compensation du handicap'),
    ('rsa, revenu de solidarité active'),
    ('carte grise, certificat d''immatriculation'),
    ('garderie, périscolaire, accueil périscolaire'),
    ('crèche, multi-accueil, petite enfance'),
    ('poubelle, bac, ordures ménagères, déchets'),
    ('nid-de-poule, trou dans la route, chaussée abîmée, route abîmée'),
    ('lampadaire, réverbère, éclairage public'),
    ('permis de construire, autorisation d''urbanisme'),
    ('fsl, fonds de solidarité logement'),
    ('pmi, protection maternelle et infantile'),
    ('apprenti, apprentissage, alternance'),
    ('car scolaire, transport scolaire, bus scolaire'),
    ('chômage, demandeur d''emploi, france travail, pôle emploi'),
    ('hlm, logement social');
