-- The agents' search by the applicant's name reads a prefix as a range of this index, compared
-- byte by byte whatever the database's collation (a linguistic collation would not keep the
-- strings that begin with a prefix together).
DROP INDEX dossiers_applicant;
CREATE INDEX dossiers_applicant ON dossiers (tenant_id, applicant_folded{{bytes}});
