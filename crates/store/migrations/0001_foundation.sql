-- Foundation: territory referential and collectivités (tenants).
-- Portable SQL for SQLite and PostgreSQL. Placeholders filled per backend by migrate.rs:
--   {{id}}   auto-increment primary key;  {{blob}}  binary column.
-- Every *_at column is Unix time in milliseconds, UTC.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    nom TEXT NOT NULL,
    nom_folded TEXT NOT NULL,
    chef_lieu TEXT
);

CREATE TABLE departements (
    code TEXT PRIMARY KEY,
    region_code TEXT NOT NULL REFERENCES regions(code),
    nom TEXT NOT NULL,
    nom_folded TEXT NOT NULL,
    chef_lieu TEXT
);

CREATE TABLE epcis (
    siren TEXT PRIMARY KEY,
    nom TEXT NOT NULL,
    nom_folded TEXT NOT NULL,
    kind TEXT NOT NULL,
    population BIGINT
);

CREATE TABLE communes (
    insee TEXT NOT NULL,
    kind TEXT NOT NULL,
    nom TEXT NOT NULL,
    nom_folded TEXT NOT NULL,
    departement_code TEXT,
    region_code TEXT,
    siren TEXT,
    population BIGINT,
    parent_insee TEXT,
    epci_siren TEXT,
    PRIMARY KEY (insee, kind)
);
CREATE INDEX communes_nom_folded ON communes (nom_folded);
CREATE INDEX communes_siren ON communes (siren);
CREATE INDEX communes_epci ON communes (epci_siren);

CREATE TABLE commune_postal_codes (
    postal_code TEXT NOT NULL,
    insee TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (postal_code, insee, kind)
);
CREATE INDEX commune_postal_codes_commune ON commune_postal_codes (insee, kind);

CREATE TABLE territory_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A collectivité that joined the platform. The root of every tenant-owned table.
CREATE TABLE tenants (
    id {{id}},
    slug TEXT NOT NULL UNIQUE,
    entity_kind TEXT NOT NULL,
    entity_code TEXT NOT NULL,
    siren TEXT UNIQUE,
    name TEXT NOT NULL,
    contact_email TEXT,
    contact_phone TEXT,
    contact_address TEXT,
    website TEXT,
    status TEXT NOT NULL,
    is_operator BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (entity_kind, entity_code)
);
-- At most one operator (the région running the platform).
CREATE UNIQUE INDEX tenants_one_operator ON tenants (is_operator) WHERE is_operator = 1;
