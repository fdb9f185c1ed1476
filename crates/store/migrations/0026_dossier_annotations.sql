-- Annotations privées: the agents' own fields of a dossier (an inspection report, a scoring grid,
-- an amount granted), as JSON like the answers; never shown to the usager.
ALTER TABLE dossiers ADD COLUMN annotations TEXT NOT NULL DEFAULT '{}';
