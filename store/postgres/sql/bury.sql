-- Records the dead letters the file bridge refused itself, in order: one
-- array element each ($1 source, $2 ref, $3 agent, $4 verb or '' for none,
-- $5 frame, $6 code or '', $7 reason, $8 enqueued at in microseconds since
-- the epoch); $9 is when they died.
INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
SELECT NULL, u.source, u.ref, u.agent, nullif(u.verb, ''), u.frame, nullif(u.code, ''), u.reason, 0,
       timestamptz 'epoch' + u.enq * interval '1 microsecond', $9
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
       WITH ORDINALITY AS u(source, ref, agent, verb, frame, code, reason, enq, k)
 ORDER BY u.k
