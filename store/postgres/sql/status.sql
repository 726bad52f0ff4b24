SELECT pending, inbox, ready, in_flight, retrying, dead, outbox, coalesce(oldest_age_s, 0), done_1m
  FROM {{queue_status}}
