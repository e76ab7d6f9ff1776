-- A version number of the registry, bumped in the same transaction as every change to the tables the plan's
-- registry facts are computed from. The plan keeps those facts in memory while the version stays the same, so a
-- registry change shows on the very next request and an unchanged registry is not scanned again.
CREATE TABLE data_versions (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO data_versions (name, version) VALUES ('registry', 0);

CREATE TRIGGER institutions_insert_bumps_registry AFTER INSERT ON institutions
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institutions_update_bumps_registry AFTER UPDATE ON institutions
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institutions_delete_bumps_registry AFTER DELETE ON institutions
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_history_insert_bumps_registry AFTER INSERT ON institution_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_history_update_bumps_registry AFTER UPDATE ON institution_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_history_delete_bumps_registry AFTER DELETE ON institution_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_tags_insert_bumps_registry AFTER INSERT ON institution_tags
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_tags_update_bumps_registry AFTER UPDATE ON institution_tags
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER institution_tags_delete_bumps_registry AFTER DELETE ON institution_tags
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupils_insert_bumps_registry AFTER INSERT ON pupils
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupils_update_bumps_registry AFTER UPDATE ON pupils
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupils_delete_bumps_registry AFTER DELETE ON pupils
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupil_history_insert_bumps_registry AFTER INSERT ON pupil_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupil_history_update_bumps_registry AFTER UPDATE ON pupil_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER pupil_history_delete_bumps_registry AFTER DELETE ON pupil_history
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_insert_bumps_registry AFTER INSERT ON staff
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_update_bumps_registry AFTER UPDATE ON staff
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_delete_bumps_registry AFTER DELETE ON staff
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_certificates_insert_bumps_registry AFTER INSERT ON staff_certificates
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_certificates_update_bumps_registry AFTER UPDATE ON staff_certificates
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER staff_certificates_delete_bumps_registry AFTER DELETE ON staff_certificates
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER population_insert_bumps_registry AFTER INSERT ON population
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER population_update_bumps_registry AFTER UPDATE ON population
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;

CREATE TRIGGER population_delete_bumps_registry AFTER DELETE ON population
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'registry';
END;
