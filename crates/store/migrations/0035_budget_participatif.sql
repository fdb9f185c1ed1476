-- Participatory budgets: a campaign, residents' projects (studied by the services: feasibility
-- and cost), one ballot per resident within the budget, the winners followed up.

CREATE TABLE budgets (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Euros.
    amount BIGINT NOT NULL,
    proposals_until BIGINT NOT NULL,
    vote_from BIGINT NOT NULL,
    vote_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX budgets_tenant ON budgets (tenant_id, created_at);

CREATE TABLE budget_projects (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    budget_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Where: an address or a place as the resident wrote it.
    place TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    -- propose | recevable | non_recevable
    review TEXT NOT NULL,
    cost BIGINT,
    review_note TEXT,
    votes BIGINT NOT NULL DEFAULT 0,
    -- Follow-up of a winner: a_l_etude | en_travaux | realise, and what was done.
    progress TEXT,
    progress_note TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX budget_projects_budget ON budget_projects (tenant_id, budget_id);

CREATE TABLE budget_ballots (
    tenant_id BIGINT NOT NULL,
    budget_id BIGINT NOT NULL,
    voter_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, budget_id, voter_hash)
);
