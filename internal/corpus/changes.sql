UPDATE everything SET c_mood = 'on fire', c_numerics = ARRAY[1.5]::numeric(6,2)[], c_numeric = c_numeric + 1 WHERE id % 10 = 0;
DELETE FROM everything WHERE id % 17 = 0;
INSERT INTO everything (c_char, c_code, c_mood) SELECT 'n' || g, 'Z' || g, 'busy' FROM generate_series(1, 20) g;
UPDATE payment SET region = 'us' WHERE region = 'eu' AND payment_id % 4 = 0;
UPDATE payment SET region = 'mars' WHERE region = 'apac' AND payment_id % 5 = 0;
DELETE FROM payment WHERE payment_id % 11 = 0;
UPDATE film SET description = description || ' (restored)' WHERE film_id % 7 = 0;
DELETE FROM film WHERE film_id % 13 = 0;
UPDATE language SET name = 'Klingon' WHERE name = 'German';
