SET search_path = ax;
CREATE TEMP TABLE IF NOT EXISTS stage_attrs (
    id int8, origin text, as_path text, origin_as int8, next_hop inet, med int8,
    local_pref int8, atomic_aggregate bool, aggregator text, communities text,
    ext_communities text, large_communities text, originator_id inet,
    cluster_list text, otc int8, other_attrs bytea, first_seen timestamptz
) ON COMMIT DELETE ROWS;
BEGIN;
INSERT INTO stage_attrs
SELECT (random() * 9e18)::int8, 'igp', '64512 3356 1299 ' || (random() * 400000)::int, (random() * 400000)::int8,
       ('192.0.2.' || (random() * 250)::int)::inet, NULL, 100, false, NULL,
       '65000:1 65001:2', NULL, NULL, NULL, NULL, NULL, NULL, now()
  FROM generate_series(1, 3500);
EXPLAIN (ANALYZE, BUFFERS, WAL)
INSERT INTO attribute_sets
SELECT id, origin, as_path, origin_as, next_hop, med, local_pref,
       atomic_aggregate, aggregator, string_to_array(communities, ' '),
       string_to_array(ext_communities, ' '), string_to_array(large_communities, ' '),
       originator_id, string_to_array(cluster_list, ' '), otc, other_attrs, first_seen
  FROM stage_attrs
 ORDER BY id;
COMMIT;
