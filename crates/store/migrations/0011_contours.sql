-- Commune contours, imported by `guichet territory import-contours`: a report's commune is found
-- from its coordinates when they are there. The bounding box narrows the candidates.
CREATE TABLE commune_contours (
    insee TEXT PRIMARY KEY,
    geometry TEXT NOT NULL,
    min_lat DOUBLE PRECISION NOT NULL,
    max_lat DOUBLE PRECISION NOT NULL,
    min_lon DOUBLE PRECISION NOT NULL,
    max_lon DOUBLE PRECISION NOT NULL
);
CREATE INDEX commune_contours_box ON commune_contours (min_lat, max_lat);
