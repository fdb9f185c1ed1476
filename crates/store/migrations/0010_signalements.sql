-- Signalements: problems in public space reported by residents, routed by competence to the
-- collectivité that holds it, processed with public notes.
CREATE TABLE signalement_categories (
    id {{id}},
    -- NULL: a category of the platform, offered everywhere; else a collectivité's own.
    tenant_id BIGINT REFERENCES tenants(id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    competence TEXT NOT NULL REFERENCES competences(code),
    -- 1: the resident says which kind of road, which decides the competence.
    road BIGINT NOT NULL DEFAULT 0,
    -- 1: reports wait for a moderator before they are public.
    moderated BIGINT NOT NULL DEFAULT 0,
    -- Extra questions (JSON list of labels).
    questions TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX signalement_categories_tenant ON signalement_categories (tenant_id, code);

CREATE TABLE signalements (
    -- The collectivité that handles it (changes with a transfer).
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    number TEXT NOT NULL UNIQUE,
    category_id BIGINT NOT NULL REFERENCES signalement_categories(id),
    competence TEXT NOT NULL,
    commune_insee TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    road_kind TEXT,
    road_number TEXT,
    description TEXT NOT NULL,
    -- JSON object: extra question label → answer.
    answers TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    reject_reason TEXT,
    reporter_user_id BIGINT REFERENCES users(id),
    reporter_email TEXT,
    confirm_token_hash TEXT,
    -- Hash of the reporter's IP address: for the anti-abuse limit only, never shown.
    reporter_ip_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX signalements_ip ON signalements (reporter_ip_hash, created_at);
CREATE INDEX signalements_tenant ON signalements (tenant_id, state, id);
CREATE INDEX signalements_commune ON signalements (commune_insee, state, id);
CREATE INDEX signalements_category ON signalements (category_id, state);

-- Public history: state changes with their note, transfers.
CREATE TABLE signalement_events (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    signalement_id BIGINT NOT NULL REFERENCES signalements(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    -- etat | transfert
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    body TEXT
);
CREATE INDEX signalement_events_of ON signalement_events (signalement_id, id);

-- People told of each public change: the reporter and those who said "moi aussi".
CREATE TABLE signalement_followers (
    signalement_id BIGINT NOT NULL REFERENCES signalements(id),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (signalement_id, email)
);

-- Photos, re-encoded as JPEG (resized, metadata dropped); the bytes live in the file store.
CREATE TABLE signalement_photos (
    id TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    signalement_id BIGINT NOT NULL REFERENCES signalements(id),
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX signalement_photos_of ON signalement_photos (signalement_id);

INSERT INTO signalement_categories (tenant_id, code, label, competence, road, moderated) VALUES
    (NULL, 'chaussee_degradee', 'Chaussée dégradée, nid-de-poule', 'voirie_communale', 1, 0),
    (NULL, 'signalisation', 'Signalisation (panneau, marquage, feu)', 'voirie_communale', 1, 0),
    (NULL, 'eclairage_public', 'Éclairage public en panne', 'eclairage_public', 0, 0),
    (NULL, 'depot_sauvage', 'Dépôt sauvage de déchets', 'proprete_espaces_verts', 0, 0),
    (NULL, 'tags', 'Tags et graffitis', 'proprete_espaces_verts', 0, 1),
    (NULL, 'arbre_espace_vert', 'Arbre ou espace vert', 'proprete_espaces_verts', 0, 0),
    (NULL, 'bac_collecte', 'Bac de collecte plein ou abîmé', 'collecte_dechets', 0, 0),
    (NULL, 'fuite_eau', 'Fuite d''eau sur la voie publique', 'eau_assainissement', 0, 0),
    (NULL, 'mobilier_urbain', 'Mobilier urbain abîmé (banc, abribus, potelet)', 'voirie_communale', 0, 0);

-- E-mail alerts for new public reports in a commune.
CREATE TABLE signalement_alerts (
    commune_insee TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (commune_insee, email)
);
