INSERT INTO language (name) SELECT l FROM unnest(ARRAY['English', 'Italian', 'Japanese', 'Mandarin', 'French', 'German']) AS l;
INSERT INTO everything (c_char, c_varchar, c_numeric, c_chars, c_varchars, c_numerics, c_code, c_codes, c_price, c_pos,
    c_short, c_mood, c_moods, c_address, c_addresses, c_int4range, c_tstzrange, c_numrange, c_multi, c_float, c_tsv,
    c_bit, c_varbit, c_interval, c_json, c_jsonb, c_uuid, c_bytea, c_money, c_bool, c_small, c_real, c_double, c_date,
    c_time, c_timetz, c_ts, c_tstz, c_inet, c_cidr, c_macaddr, c_point, c_xml, c_qchar, c_text)
SELECT 'a' || g, 'v ' || g, g * 1.125, ARRAY['x', 'yy', NULL]::character(3)[], ARRAY['p' || g, 'q']::character varying(5)[],
    ARRAY[g * 0.5, NULL, -1.25]::numeric(6,2)[], ('C' || g % 100)::code4, ARRAY[('D' || g % 10)::code4, 'E']::code4[], g * 0.01, g + 0.5,
    'short ' || g, (ARRAY['calm', 'busy', 'on fire'])[1 + g % 3]::mood, ARRAY['calm', 'on fire']::mood[],
    ROW(g || ' Main St, "quoted"', lpad(g::text, 5, '0'))::address,
    ARRAY[ROW('a', '1'), ROW(NULL, '22')]::address[], int4range(g, g + 10), tstzrange('2024-01-01 00:00+00', '2024-01-01 00:00+00'::timestamptz + g * interval '1 hour'),
    numrange(g / 3.0, g, '(]'), int4multirange(int4range(1, 3), int4range(g + 5, g + 9)), floatrange(0.1 * g, 1e10),
    to_tsvector('english', 'the quick brown fox ' || g), (g % 256)::bit(8), B'1011'::bit varying(16) || (g % 2)::bit(1),
    make_interval(months => g, days => g, secs => g * 1.5), json_build_object('g', g, 'pad', '  spaces  '), jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'x')),
    md5(g::text)::uuid, decode(md5(g::text), 'hex') || '\x00ff'::bytea, (g * 1.23)::numeric::money, g % 2 = 0, g::smallint, g / 7.0, g / 3.0,
    DATE '2020-02-29' + g, TIME '12:34:56.789' + g * interval '1 second', TIMETZ '01:02:03+05:30', TIMESTAMP '2000-01-01 00:00' + g * interval '1 day',
    TIMESTAMPTZ '2000-01-01 00:00+00' + g * interval '1 minute', ('10.0.' || g % 256 || '.1')::inet, '192.168.0.0/16', '08:00:2b:01:02:03', point(g, -g),
    ('<row id="' || g || '">é</row>')::xml, chr(65 + g % 26)::"char", 'text ' || g
FROM generate_series(1, 300) g;
INSERT INTO everything (c_char) VALUES (NULL);
INSERT INTO payment (payment_id, region, amount) SELECT g, (ARRAY['eu', 'us', 'apac'])[1 + g % 3], g % 500 + 0.99 FROM generate_series(1, 600) g;
INSERT INTO film (title, description, language_id, rating)
SELECT 'Film ' || g, 'A ' || (ARRAY['thrilling', 'boring', 'epic'])[1 + g % 3] || ' story of ' || g, 1 + g % 6, (ARRAY['calm', 'busy'])[1 + g % 2]::mood
FROM generate_series(1, 200) g;
