-- A collectivité's information assets (patrimoine informationnel): every dataset it holds or
-- declares, open or not, with its owner service, purpose, legal basis, personal data, retention
-- and update frequency; exported in the SCDL `catalogue` schema.
CREATE TABLE information_assets (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    service TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    personal_data BIGINT NOT NULL,
    retention TEXT NOT NULL,
    frequency TEXT NOT NULL,
    is_open BIGINT NOT NULL,
    not_open_reason TEXT NOT NULL,
    theme TEXT NOT NULL,
    keywords TEXT NOT NULL,
    coverage_level TEXT NOT NULL,
    coverage_name TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    formats TEXT NOT NULL,
    url TEXT NOT NULL,
    licence TEXT NOT NULL,
    producer_siret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX information_assets_tenant ON information_assets (tenant_id, id);
