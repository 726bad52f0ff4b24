SELECT agent, pending, in_flight, last_activity
  FROM {{agent_status}}
 ORDER BY agent
