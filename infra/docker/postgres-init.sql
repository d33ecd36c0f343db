-- Runs once, when the PostgreSQL volume is first created: one database per service.
CREATE DATABASE shop_payments;
CREATE DATABASE shop_orders;
