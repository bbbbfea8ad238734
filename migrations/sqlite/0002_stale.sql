-- Router sessions lost keep their peers' routes: peers.state gains
-- 'stale' and peer_events gain 'lost' (see postgres/0002_redump.sql); the
-- stale timeout runs from `stale_since`, the time the peer became stale
-- (or the collector restarted). The embedded store rewrites re-dumped
-- routes, so it needs none of PostgreSQL's re-dump bookkeeping.
ALTER TABLE peers ADD COLUMN stale_since TEXT;
