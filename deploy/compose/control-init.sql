-- The control server holds the catalog and the MSP-only warehouse.
CREATE DATABASE catalog;
CREATE DATABASE warehouse;
