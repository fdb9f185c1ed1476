-- A participatory budget's projects read a page at a time in id order (keyset pagination), and
-- the ones studied feasible on their own (the vote and the results): both by index, at tens of
-- thousands of proposals.
CREATE INDEX budget_projects_keyset ON budget_projects (tenant_id, budget_id, id);
CREATE INDEX budget_projects_review ON budget_projects (tenant_id, budget_id, review, id);
