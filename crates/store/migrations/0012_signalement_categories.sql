-- Categories of signalements per collectivité. A collectivité adjusts a platform category for
-- the reports it handles (extra questions, moderation) and may add categories of its own, which
-- it can switch off later (reports keep theirs). `signalements.answers` holds the answers to
-- the extra questions as a JSON list of [question, answer] pairs, in the order asked.
CREATE TABLE signalement_category_settings (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    category_id BIGINT NOT NULL REFERENCES signalement_categories(id),
    questions TEXT NOT NULL DEFAULT '[]',
    moderated BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, category_id)
);
ALTER TABLE signalement_categories ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
