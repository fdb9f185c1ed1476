-- Open data: the datasets each collectivité (tenant_id) or the platform (tenant_id 0) publishes,
-- and their versions. A generated dataset gets a new version when its content changes; the
-- files of the last versions are kept, older versions keep their date, size and checksum.
CREATE TABLE datasets (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    slug TEXT NOT NULL,
    -- genere: made by the platform from what it holds; depose: uploaded by the collectivité.
    origin TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    licence TEXT NOT NULL,
    frequency TEXT NOT NULL,
    -- An uploaded dataset's Table Schema: a shipped SCDL schema's name, or the one given (JSON).
    schema_name TEXT,
    schema TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE dataset_versions (
    dataset_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    byte_size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- The CSV itself, while the version is among the last kept.
    csv TEXT,
    PRIMARY KEY (dataset_id, version)
);
